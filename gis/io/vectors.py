"""Reading vector layers: the 三调 parcels (DLTB), the plan zoning (用地用海), any layer.

Shapefile encodings (.cpg, GBK), FileGDB/GeoPackage/zip layers, the coded
fields (DLBM, YDYHFLDM) and their names, duplicate and missing identifiers.
"""

from __future__ import annotations

import codecs
import warnings
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GisError, ValidationError
from ..coverage import coverage_overlaps
from ..crs import to_working
from ..declared import honour_declared_crs
from ..landuse_codes import require_plan_standard, sandiao_codes
from ..ledger import Ledger
from .numbers import is_text, text_values
from .settings import io_settings
from .tables import must_exist

__all__ = [
    "no_sidecar_files",
    "read_layer",
    "code_text",
    "read_landuse",
    "read_plan",
    "layer_kind",
]


# ---------------------------------------------------------------- layers
def _dbf_and_cpg(path, layer=None):
    """The start of a Shapefile's .dbf and its .cpg text, on disk or inside a .zip.

    Returns ``(dbf bytes or None, cpg text or None, cpg name for messages)``.
    """
    import zipfile

    limit = 4 << 20
    if path.suffix.lower() == ".shp":
        dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
        cpg = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None)
        data = None
        if dbf is not None:
            with open(dbf, "rb") as fh:
                data = fh.read(limit)
        text = cpg.read_text(encoding="ascii", errors="replace").strip() if cpg is not None else None
        return data, text, cpg.name if cpg is not None else path.with_suffix(".cpg").name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return None, None, ""
    with zf:
        names = zf.namelist()
        dbfs = [n for n in names if n.lower().endswith(".dbf")]
        if layer is not None:
            dbfs = [n for n in dbfs if Path(n).stem.lower() == str(layer).lower()] or dbfs
        if len(dbfs) != 1:
            return None, None, ""
        stem = dbfs[0][:-4]
        with zf.open(dbfs[0]) as fh:
            data = fh.read(limit)
        cpg = next((n for n in names if n[:-4] == stem and n.lower().endswith(".cpg")), None)
        text = zf.read(cpg).decode("ascii", errors="replace").strip() if cpg else None
        return data, text, f"{path.name}/{cpg or stem + '.cpg'}"


def _decodes(data, encoding):
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _cpg_codec(text):
    """Python codec of a .cpg text (``UTF-8``, ``GBK``, ``936``, ``ANSI 936``), or None."""
    t = str(text or "").strip().upper().replace("ANSI", "").strip()
    t = {"65001": "utf-8"}.get(t, f"cp{t}" if t.isdigit() else t)
    try:
        return codecs.lookup(t).name
    except LookupError:
        return None


def _shapefile_encoding(path, encoding, settings, layer=None):
    """Encoding to pass for a Shapefile (.shp or .zip), and a note when the .cpg was wrong.

    Returns ``(encoding or None to let GDAL use the .cpg, note)``; ``note``
    is ``(cpg name, encoding used)`` when the .cpg names an encoding the
    .dbf does not decode as.  A single-byte .cpg (ISO-8859-1, 1252) over
    text that decodes as UTF-8 or GBK counts as wrong.

    Raises
    ------
    ValidationError
        Naming the .cpg when the text decodes in none of UTF-8, the
        fallback (``io.shapefile_fallback_encoding``) and GB18030.
    """
    if encoding is not None or path.suffix.lower() not in (".shp", ".zip"):
        return encoding, None
    data, cpg, cpg_name = _dbf_and_cpg(path, layer)
    if data is None:
        return None, None
    data = data[32:]  # the fixed header (record count, sizes, LDID)
    if data.isascii():
        return None, None
    tried = ["utf-8", codecs.lookup(settings["io"]["shapefile_fallback_encoding"]).name, "gb18030"]
    declared = _cpg_codec(cpg) if cpg is not None else None
    single_byte = declared in ("iso8859-1", "cp1252", "latin-1")
    if declared is not None and not single_byte and _decodes(data, declared):
        return None, None
    found = next((e for e in tried if _decodes(data, e)), None)
    if cpg is None:
        return found or tried[1], None  # GDAL would assume ISO-8859-1 without a .cpg
    if found is None:
        if single_byte:
            return None, None
        raise ValidationError(
            f"{cpg_name} declares '{cpg}' but the attribute table decodes as none of "
            f"{', '.join(dict.fromkeys([declared or cpg] + tried))}; fix the .cpg or pass encoding= / .cpg 声明的字符编码与属性表不符",
            source=path.name)
    return found, (cpg_name, cpg, found)


def _list_layers(path):
    import pyogrio

    try:
        with no_sidecar_files():
            return [str(x) for x in pyogrio.list_layers(path)[:, 0]]
    except Exception:
        return []


@contextmanager
def no_sidecar_files():
    """GDAL's PAM off while reading: nothing (``.aux.xml``) is written beside the user's input."""
    import pyogrio

    before = pyogrio.get_gdal_config_option("GDAL_PAM_ENABLED")
    pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": "NO"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": before})


def _zipped_shapefile(path, layer=None):
    """The path inside a .zip of its one shapefile (or the one named ``layer``) when it sits in a
    folder of the zip (GDAL reads only the zip's top level directly), else None."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
    except (zipfile.BadZipFile, OSError):
        return None
    if layer is not None:
        shps = [n for n in shps if Path(n).stem.lower() == str(layer).lower()]
    if len(shps) != 1 or "/" not in shps[0].strip("/"):
        return None
    return shps[0]


def _read_vector(path, layer, engine, encoding):
    import geopandas as gpd

    name = path.name
    suffix = path.suffix.lower()
    inner = _zipped_shapefile(path, layer) if suffix == ".zip" else None
    if inner is not None:  # a shapefile inside a folder of the zip: open it by its path in the zip
        path, layer, suffix = f"/vsizip/{path}/{inner}", None, ".shp"
    try:
        if suffix in (".parquet", ".geoparquet"):
            return gpd.read_parquet(path)
        if layer is None and suffix in (".gpkg", ".gdb", ".zip"):
            names = _list_layers(path)
            if len(names) > 1:
                raise ValidationError(
                    f"holds {len(names)} layers; name one with layer= / --layer: {', '.join(names)}",
                    source=name,
                )
        kwargs = {"engine": engine}
        if layer is not None:
            kwargs["layer"] = layer
        if encoding is not None:
            kwargs["encoding"] = encoding
        return gpd.read_file(path, **kwargs)
    except (ValidationError, ImportError):
        raise
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if layer is not None and "layer" in msg.lower():
            msg += f" (layers: {', '.join(_list_layers(path))})"
        raise ValidationError(f"cannot be read as a vector layer ({msg}) / 无法读取图层", source=name) from None


def read_layer(path, layer=None, engine="pyogrio", encoding=None, ledger=None, settings=None, upper_fields=False):
    """Read a vector layer into EPSG:4549, rejecting features without geometry.

    Parameters
    ----------
    path : str or Path
        GeoPackage, Shapefile, FileGDB (``.gdb`` folder), GeoJSON,
        GeoParquet or FlatGeobuf.
    layer : str, optional
        Layer name; required when a GeoPackage/FileGDB holds several.
    engine : {"pyogrio", "fiona"}
    encoding : str, optional
        Text encoding of a Shapefile's .dbf (also inside a ``.zip``).  By
        default the .cpg is used when the text decodes in it; otherwise (no
        .cpg, or a wrong one) the first of UTF-8, GBK/CP936 (setting
        ``io.shapefile_fallback_encoding``) and GB18030 that decodes it, a
        wrong .cpg being noted in the ledger (``encoding_mismatch``, row 0).
    ledger : gis.ledger.Ledger, optional
        Receives rejects (``no_geometry``) and notes
        (``invalid_geometry_repaired``, ``encoding_mismatch``); without one a
        warning says how many features were dropped.
    settings : dict, optional
    upper_fields : bool
        Upper-case the field names (三调 layers).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4549 (declared CRS checked against the coordinates;
        zone-prefixed eastings relabelled EPSG:4528; no CRS detected from the
        coordinates), RangeIndex, a ``source_row`` column (1-based feature
        number), invalid polygons repaired with ``shapely.make_valid``.

    Raises
    ------
    FileNotFoundError, ValidationError, CRSError
    """
    import shapely

    settings = io_settings(settings)
    path = must_exist(path)
    if engine not in ("pyogrio", "fiona"):
        raise GisError(f"engine must be 'pyogrio' or 'fiona', got {engine!r}")
    encoding, cpg_note = _shapefile_encoding(path, encoding, settings, layer)
    with no_sidecar_files():
        gdf = _read_vector(path, layer, engine, encoding)
    name = path.name
    lname = layer or ""
    if upper_fields:
        geo = gdf.geometry.name
        gdf = gdf.rename(columns={c: str(c).upper() for c in gdf.columns if c != geo})
    n = len(gdf)
    rows = np.arange(1, n + 1)
    gdf = gdf.reset_index(drop=True)
    gdf["source_row"] = rows
    led = Ledger()
    if cpg_note is not None:  # a file-level note: row 0
        led.add([True], "encoding_mismatch", file=name, layer=lname, rows=[0], column=".cpg",
                values=[f"{cpg_note[0]} ({cpg_note[1]})"], detail=cpg_note[2])
    geoms = gdf.geometry.values
    missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms), dtype=bool)
    led.add(missing, "no_geometry", file=name, layer=lname, rows=rows)
    invalid = ~missing & ~np.asarray(shapely.is_valid(geoms), dtype=bool)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        emptied = np.asarray(shapely.is_empty(fixed), dtype=bool)
        idx = np.flatnonzero(invalid)
        geoms = geoms.copy()
        geoms[idx] = fixed
        gdf = gdf.set_geometry(geoms, crs=gdf.crs)
        note = np.zeros(n, dtype=bool)
        note[idx[~emptied]] = True
        det = np.full(n, "", dtype=object)
        det[idx] = reasons
        led.add(note, "invalid_geometry_repaired", file=name, layer=lname, rows=rows, detail=det)
        gone = np.zeros(n, dtype=bool)
        gone[idx[emptied]] = True
        led.add(gone, "no_geometry", file=name, layer=lname, rows=rows,
                detail=np.where(gone, " (invalid, nothing left after make_valid)", ""))
        missing |= gone
    gdf = gdf.loc[~missing].reset_index(drop=True)
    gdf = honour_declared_crs(gdf, name, settings, led, lname)  # Beijing 1954 / Xian 1980
    gdf = to_working(gdf, source=name)
    names = _list_layers(path) if layer is None else [layer]
    gdf.attrs["layer"] = layer or (names[0] if len(names) == 1 else "")
    led.record(name, n, len(gdf), lname, kind="layer")
    led.check_balance(n, len(gdf), name, lname)
    _hand_over(led, ledger, f"{name}: {led.rejected_rows} features without geometry dropped", 2)
    return gdf


def _hand_over(led, ledger, warning, stacklevel):
    """Add ``led`` to the caller's ``ledger``; without one, warn about the rejected rows."""
    if ledger is not None:
        ledger.extend(led)
    elif led.rejected_rows:
        warnings.warn(f"{warning}; pass ledger=Ledger() to keep the list", stacklevel=stacklevel + 1)


def _required_fields(gdf, fields, name):
    missing = [f for f in fields if f not in gdf.columns]
    if missing:
        found = [c for c in gdf.columns if c not in (gdf.geometry.name, "source_row")]
        raise ValidationError(
            f"missing required fields / 缺少必填字段: {', '.join(missing)}; fields found: {', '.join(map(str, found))}",
            source=name,
        )


def _read_coded(path, layer, engine, encoding, settings, code_field):
    """A land layer read into its own ledger, upper-case fields, ``code_field`` required.

    Returns ``(gdf, sub_ledger, rows_read, file name, layer name, source rows)``.
    """
    sub = Ledger()
    gdf = read_layer(path, layer, engine, encoding, sub, settings, upper_fields=True)
    name, lname = Path(path).name, layer or ""
    _required_fields(gdf, [code_field], name)
    return gdf, sub, sub._sources[-1]["rows_read"], name, lname, gdf["source_row"].to_numpy()


def _finish(gdf, drop, sub, name, lname, rows_read_layer, ledger):
    out = gdf.loc[~np.asarray(drop, dtype=bool)].reset_index(drop=True)
    out.attrs["layer"] = gdf.attrs.get("layer", lname)
    total = Ledger()
    total.extend(sub)
    # the sub-ledger of read_layer recorded (rows read, loaded); replace it
    total.record(name, rows_read_layer, len(out), lname)
    total.check_balance()
    _hand_over(total, ledger, f"{name}: {total.rejected_rows} features rejected", 3)
    return out


def code_text(values, width=0, even=False):
    """Codes as text, undoing what a spreadsheet or GIS did when it stored them as numbers.

    ``601``, ``601.0`` and ``"601.0"`` become ``"601"``, left-padded with
    zeros to ``width`` (``"0601"`` for 三调 DLBM); ``even`` prepends one 0
    to an odd-length digit code (用地用海 ``701`` -> ``"0701"``).  Text codes
    (``"05H1"``) are kept as they are (stripped); blanks become NaN.

    Returns
    -------
    codes : pandas.Series of object
    changed : numpy.ndarray of bool
        Values that were stored as numbers or rewritten (padding, ``.0``).
    lossy : numpy.ndarray of bool
        Floats beyond 2**53: their last digits may already be lost.

    Examples
    --------
    >>> codes, changed, _ = code_text([601, 601.0, "0601", "601.0", "05H1", None], width=4)
    >>> codes.tolist(), changed.tolist()
    (['0601', '0601', '0601', '0601', '05H1', nan], [True, True, False, True, False, False])
    >>> code_text([701, 100101], even=True)[0].tolist()
    ['0701', '100101']
    """
    s = pd.Series(values, dtype=object).reset_index(drop=True)
    istext = is_text(s).to_numpy()
    if istext.sum() > 64 and (istext | s.isna().to_numpy()).all():
        # text codes (a GIS layer's): the work once per distinct code
        keys, distinct = pd.factorize(s.to_numpy(dtype=object))
        if 2 * len(distinct) <= len(s):
            codes, changed, _ = _code_text(pd.Series(distinct, dtype=object),
                                           np.ones(len(distinct), dtype=bool), width, even)
            present = keys >= 0
            out = np.where(present, codes.to_numpy(dtype=object)[keys], np.nan)
            return (pd.Series(out, dtype=object), present & changed[keys],
                    np.zeros(len(s), dtype=bool))
    return _code_text(s, istext, width, even)


def _code_text(s, istext, width, even):
    """:func:`code_text` of the Series ``s`` (index 0..n-1) whose text entries are ``istext``."""
    big = np.array([isinstance(v, (float, np.floating)) and v == v and abs(v) >= 1e15
                    and float(v).is_integer() for v in s], dtype=bool)
    text = text_values(s)
    # the shortest decimal that round-trips (3.30782101001e+18 -> 3307821010010000000)
    text[big] = [str(int(Decimal(repr(float(v))))) for v in s[big]]
    t = text.fillna("").str.replace(r"^(\d+)\.0*$", r"\1", regex=True)
    digits = t.str.fullmatch(r"\d+").to_numpy()
    if width:
        short = digits & (t.str.len().to_numpy() < width)
        t[short] = t[short].str.zfill(width)
    if even:
        odd = digits & (t.str.len().to_numpy() % 2 == 1)
        t[odd] = "0" + t[odd]
    present = text.notna().to_numpy()
    out = t.where(present, np.nan)
    changed = present & (~istext | (out.fillna("") != text.fillna("")).to_numpy())
    lossy = big & np.array([abs(float(v)) > 2 ** 53 for v in np.where(big, s, 0.0)], dtype=bool)
    return out, changed, lossy


def _code_notes(gdf, fields, sub, name, lname, rows):
    """Rewrite the code fields of ``gdf`` stored as numbers as text (in place); one ledger note per field.

    The note sits on the first rewritten row; its detail gives the number of
    rows and the first rewrite (``601 -> 0601``).
    """
    for field, spec in fields.items():
        if field not in gdf.columns:
            continue
        original = gdf[field].astype(object).to_numpy()
        codes, changed, lossy = code_text(original, width=0 if spec == "even" else int(spec or 0),
                                          even=spec == "even")
        gdf[field] = codes.to_numpy()
        if not changed.any():
            continue
        first = int(np.flatnonzero(changed)[0])
        shown = text_values(pd.Series([original[first]], dtype=object)).iloc[0]
        if isinstance(original[first], (float, np.floating)) and not lossy[first]:
            shown = repr(float(original[first]))
        detail = f"{int(changed.sum())} rows/行, {shown} -> {codes.iloc[first]}"
        if lossy.any():
            detail += "; 超过15位的数值末位可能已丢失 / over 15 digits: trailing digits may be lost"
        mask = np.zeros(len(gdf), dtype=bool)
        mask[first] = True
        sub.add(mask, "code_as_number", file=name, layer=lname, rows=rows, column=field,
                values=np.where(mask, shown, ""), detail=detail)


def _duplicates(gdf, keep, id_field, sub, name, lname, rows):
    """Reject repeated features among the rows in ``keep``: identical copies, then repeated ids.

    ``duplicate_feature``: every attribute and the geometry equal to an
    earlier row; ``duplicate_id``: ``id_field`` equal to an earlier row's.
    The first row is kept.  Returns the mask of rejected rows.
    """
    import shapely

    n = len(gdf)
    out = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(keep)
    if len(idx) < 2:
        return out
    geo = gdf.geometry.name
    attrs = gdf.drop(columns=[geo, "source_row"]).iloc[idx].astype(str)
    attrs["__wkb"] = shapely.to_wkb(gdf.geometry.values[idx], hex=True)
    key = pd.util.hash_pandas_object(attrs, index=False).to_numpy()
    first = pd.Series(idx).groupby(key).transform("first").to_numpy()
    copy = np.zeros(n, dtype=bool)
    copy[idx] = first != idx
    det = np.zeros(n, dtype=np.int64)
    det[idx] = rows[first]
    sub.add(copy, "duplicate_feature", file=name, layer=lname, rows=rows, detail=det.astype(str))
    out |= copy
    if id_field in gdf.columns:
        left = idx[~copy[idx]]
        ids = gdf[id_field].iloc[left]
        have = ids.notna().to_numpy()
        left, ids = left[have], ids[have].astype(str)
        first = pd.Series(left).groupby(ids.to_numpy()).transform("first").to_numpy()
        again = np.zeros(n, dtype=bool)
        again[left] = first != left
        det = np.zeros(n, dtype=np.int64)
        det[left] = rows[first]
        sub.add(again, "duplicate_id", file=name, layer=lname, rows=rows, column=id_field,
                values=gdf[id_field].astype(object).to_numpy(), detail=det.astype(str))
        out |= again
    return out


def _layer_default(path, layer, wanted):
    if layer is not None or Path(path).suffix.lower() not in (".gpkg", ".gdb", ".zip"):
        return layer
    names = _list_layers(path)
    for n in names:
        if n.upper() == wanted:
            return n
    return layer


def read_landuse(path, layer=None, engine="pyogrio", encoding=None, ledger=None, settings=None):
    """Read a 三调 地类图斑 (DLTB) layer: fields upper case, area checked.

    The area to use is ``TBDLMJ``; where it is missing, ``TBMJ − KCMJ``
    (KCMJ missing = 0); where both are missing, the planar area of the
    polygon in EPSG:4549 (recorded as a note ``area_from_geometry``).  Rows
    with a blank or malformed ``DLBM`` and rows with an area ≤ 0 are rejected;
    so are copies of an earlier parcel (``duplicate_feature``) and repeated
    ``BSM`` (``duplicate_id``), the first being kept.  Code fields stored as
    numbers are read back as codes (:func:`code_text`, setting
    ``io.landuse.code_fields``; one ``code_as_number`` note per field).

    Parameters
    ----------
    path, layer, engine, encoding, ledger, settings
        As :func:`read_layer`; in a GeoPackage/FileGDB the layer named
        ``DLTB`` is used by default.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4549, upper-case DLTB fields, ``DLBM`` as text, ``TBDLMJ``
        filled (m², float), ``source_row``.

    Raises
    ------
    ValidationError
        When ``DLBM`` is missing from the layer (listing the fields found).
    """
    settings = io_settings(settings)
    layer = _layer_default(path, layer, "DLTB")
    gdf, sub, rows_read, name, lname, rows = _read_coded(path, layer, engine, encoding,
                                                         settings, "DLBM")
    sandiao_codes(gdf, sub, name, lname, rows)  # 工业用地 / 06 + DLMC -> 0601, noted; else one line
    _code_notes(gdf, settings["io"]["landuse"]["code_fields"], sub, name, lname, rows)
    drop = np.zeros(len(gdf), dtype=bool)
    code = text_values(gdf["DLBM"].astype(object)).str.upper()
    gdf["DLBM"] = code
    miss = code.isna().to_numpy()
    sub.add(miss, "missing_value", file=name, layer=lname, rows=rows, column="DLBM")
    badc = (~miss) & ~code.fillna("").str.match(settings["io"]["landuse"]["dlbm_pattern"]).to_numpy()
    sub.add(badc, "bad_code", file=name, layer=lname, rows=rows, column="DLBM", values=code)
    drop |= miss | badc
    area = pd.to_numeric(gdf["TBDLMJ"], errors="coerce") if "TBDLMJ" in gdf else pd.Series(np.nan, index=gdf.index)
    if "TBMJ" in gdf:
        kc = pd.to_numeric(gdf["KCMJ"], errors="coerce").fillna(0.0) if "KCMJ" in gdf else 0.0
        area = area.fillna(pd.to_numeric(gdf["TBMJ"], errors="coerce") - kc)
    from_geom = area.isna().to_numpy()
    if from_geom.any():
        measured = gdf.geometry.area
        area = area.fillna(measured)
        sub.add(from_geom & ~drop, "area_from_geometry", file=name, layer=lname, rows=rows,
                column="TBDLMJ", values=measured.round(2))
    gdf["TBDLMJ"] = area.astype("float64")
    zero = (area <= 0).to_numpy() & ~drop
    sub.add(zero, "zero_area", file=name, layer=lname, rows=rows, column="TBDLMJ", values=area)
    drop |= zero
    drop |= _duplicates(gdf, ~drop, settings["io"]["landuse"]["id_field"], sub, name, lname, rows)
    drop |= coverage_overlaps(gdf, ~drop, "TBDLMJ", sub, name, lname, rows)  # never counted twice
    sub.mark("landuse")
    return _finish(gdf, drop, sub, name, lname, rows_read, ledger)


def read_plan(path, layer=None, engine="pyogrio", encoding=None, ledger=None, settings=None):
    """Read a plan-zoning layer (国土空间规划 用地用海): fields upper case, code checked.

    Rows with a blank or malformed ``YDYHFLDM`` are rejected.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4549, upper-case fields, ``YDYHFLDM`` as text, ``source_row``.

    Raises
    ------
    ValidationError
        When ``YDYHFLDM`` is missing from the layer.
    """
    settings = io_settings(settings)
    gdf, sub, rows_read, name, lname, rows = _read_coded(path, layer, engine, encoding,
                                                         settings, "YDYHFLDM")
    _code_notes(gdf, {"YDYHFLDM": "even"}, sub, name, lname, rows)
    code = text_values(gdf["YDYHFLDM"].astype(object))
    gdf["YDYHFLDM"] = code
    require_plan_standard(gdf, name)  # GB/T 21010-2017 codes are not 用地用海 codes
    miss = code.isna().to_numpy()
    sub.add(miss, "missing_value", file=name, layer=lname, rows=rows, column="YDYHFLDM")
    badc = (~miss) & ~code.fillna("").str.match(settings["io"]["landuse"]["ydyhfldm_pattern"]).to_numpy()
    sub.add(badc, "bad_code", file=name, layer=lname, rows=rows, column="YDYHFLDM", values=code)
    drop = miss | badc
    drop |= _duplicates(gdf, ~drop, None, sub, name, lname, rows)
    sub.mark("plan")
    return _finish(gdf, drop, sub, name, lname, rows_read, ledger)


def layer_kind(path, layer=None):
    """What a vector layer holds, from its field names.

    Returns
    -------
    str
        ``"landuse"`` (has DLBM: 三调 DLTB), ``"plan"`` (has YDYHFLDM) or
        ``"layer"`` (anything else, or fields that cannot be listed).
    """
    import pyogrio

    try:
        with warnings.catch_warnings(), no_sidecar_files():  # "more than one layer": read_landuse says so
            warnings.simplefilter("ignore")
            fields = pyogrio.read_info(path, layer=_layer_default(path, layer, "DLTB"))["fields"]
    except Exception:
        return "layer"
    upper = {str(f).upper() for f in fields}
    if "DLBM" in upper:
        return "landuse"
    if "YDYHFLDM" in upper:
        return "plan"
    return "layer"

"""The enterprise table: :func:`load_enterprises` reads, checks and places every row (or rejects it).

Coordinates in the declared or detected system (gcj02, wgs84, cgcs2000,
bd09, DMS, projected), credit codes, numbers and years; each refused value
goes to the ledger with its reason, totals rows are dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import GisError, ValidationError
from ..crs import WORKING_CRS, YIWU_LONLAT_BOUNDS, convert_lonlat, coord_system, to_working
from ..declared_units import column_units, split_unit_row, unit_lines
from ..identifiers import FULLWIDTH_TO_ASCII, normalise_uscc, uscc_problem
from ..identifiers import PROBLEMS as USCC_PROBLEMS
from ..ledger import Ledger
from ..schema import ENTERPRISE_ALIASES, ENTERPRISE_COLUMNS
from ..sheet_structure import structure_rows
from .numbers import (
    INVISIBLE,
    excel_errors,
    header_tokens,
    header_unit,
    is_text,
    number_cells,
    schema_unit,
    text_values,
    token_key,
    year_values,
)
from .settings import io_settings
from .tables import alias_lookup, column_mapping, header_scores, read_table
from .vectors import read_layer

__all__ = [
    "dms_degrees",
    "resolve_coords",
    "base_coords",
    "load_enterprises",
]


def _projected_table(lon, lat, have, share):
    """"EPSG:4549"/"EPSG:4528" when the lon/lat columns hold Gauss-Kruger metres, else None."""
    from ..crs import detect_crs

    big = have & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    if not have.any() or big.sum() < share * have.sum():
        return None
    # the median point decides: one stray point far outside (rejected as outside_yiwu later)
    # never makes the whole table unreadable
    mx, my = float(np.median(lon[big])), float(np.median(lat[big]))
    try:
        crs = detect_crs((mx, my, mx, my))
    except GisError:
        return None
    return crs if crs in ("EPSG:4549", "EPSG:4528") else None


# ---------------------------------------------------------------- boundary
def _county_outline(boundary, settings):
    """The county outline as one shapely geometry in EPSG:4549, or None (box)."""
    import geopandas as gpd
    import shapely

    if isinstance(boundary, str) and boundary == "bounds":
        return None
    if boundary is None:
        try:
            from .. import layers  # written by another module; optional here

            boundary = layers.load(settings["io"]["enterprises"]["boundary_layer"])
        except (ImportError, AttributeError):
            return None
    if isinstance(boundary, (str, Path)):
        boundary = read_layer(boundary)
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = to_working(boundary).geometry.values
        return shapely.union_all(geoms)
    if isinstance(boundary, shapely.Geometry):
        return boundary
    raise GisError(f"boundary must be a GeoDataFrame, a shapely geometry, a file or None, got {type(boundary).__name__}")


# ---------------------------------------------------------------- enterprises
_DMS = (r"^([nsew东西南北]?)(\d+(?:\.\d+)?)(?:°|º|度)(?:(\d+(?:\.\d+)?)(?:'|′|’|分))?"
        r"(?:(\d+(?:\.\d+)?)(?:\"|″|”|''|′′|’’|秒))?([nsew东西南北]?)$")

_LETTERED = r"^([nsew]?)(\d+(?:\.\d+)?)([nsew]?)$"
_HEMISPHERES = {"东经": "e", "西经": "w", "北纬": "n", "南纬": "s"}


def dms_degrees(values):
    """Degrees-minutes-seconds text as decimal degrees; other values unchanged.

    ``120°04'30"``, ``120°4′30″``, ``29度18分``, ``N29°18'``, ``东经120°04′30″``,
    ``北纬29.3``, ``E120.07`` are read (invisible padding such as zero-width
    spaces and a BOM removed);
    minutes or seconds of 60 or more are left as text (then not a number).

    >>> dms_degrees(["120°04'30\\"", "120°4′30″", "29度18分", 120.5, "29°75'"]).tolist()
    [120.075, 120.075, 29.3, 120.5, "29°75'"]
    """
    s = pd.Series(values, dtype=object).copy()
    istext = is_text(s)
    if not istext.any():
        return s
    text = (s[istext].astype(str).str.replace(INVISIBLE, "", regex=True).str.translate(FULLWIDTH_TO_ASCII)
            .str.replace(r"\s+", "", regex=True).str.lower())
    for word, letter in _HEMISPHERES.items():  # 东经120°04′30″, 北纬29.3
        text = text.str.replace(word, letter, regex=False)
    parts = text.str.extract(_DMS)
    bare = text.str.extract(_LETTERED)  # E120.07, 29.3N: decimal degrees with a hemisphere letter
    fill = parts[1].isna() & bare[1].notna()
    parts.loc[fill, [0, 1, 4]] = bare.loc[fill, [0, 1, 2]].to_numpy()
    deg = pd.to_numeric(parts[1], errors="coerce")
    mins = pd.to_numeric(parts[2], errors="coerce").fillna(0.0)
    secs = pd.to_numeric(parts[3], errors="coerce").fillna(0.0)
    ok = deg.notna() & (mins < 60) & (secs < 60)
    sign = np.where((parts[0] + parts[4]).fillna("").str.contains("[sw西南]"), -1.0, 1.0)
    value = (sign * (deg + mins / 60.0 + secs / 3600.0)).round(9)
    s[ok[ok].index] = value[ok].to_numpy()
    return s


_TOTALS = r"^(?:合\s*计|总\s*计|小\s*计|其\s*中)"


def _totals_rows(raw, mapping):
    """Rows that are totals (合计, 总计, 小计, 其中...) in the name column or the first column.

    Returns ``(mask, text)``: a boolean array and the text that says so.
    """
    n = len(raw)
    mask = np.zeros(n, dtype=bool)
    text = pd.Series([""] * n, dtype=object)
    heads = [mapping["name"]] if "name" in mapping else []
    heads += [raw.columns[0]] if len(raw.columns) else []
    for h in heads:
        v = text_values(raw[h].reset_index(drop=True))
        hit = v.fillna("").str.match(_TOTALS).to_numpy() & ~mask
        text[hit] = v[hit]
        mask |= hit
    return mask, text


def _require_header(raw, file, sheet, settings):
    """A one-line ValidationError when :func:`read_table` found no header row, naming the rows searched."""
    if raw.attrs.get("header_found", True):
        return
    where = f" of sheet '{sheet}'" if sheet else ""
    names = "、".join(ENTERPRISE_COLUMNS[c][0] for c in ENTERPRISE_COLUMNS if ENTERPRISE_COLUMNS[c][2])
    raise ValidationError(
        f"no header row found: rows 1–{raw.attrs.get('rows_searched')}{where} were searched and none names "
        f"at least {settings['io']['header_min_matches']} known columns ({names}); "
        "raise io.header_search_rows if the header is further down / 未找到表头行",
        source=file,
    )


#: the system a table is first read in under ``coords="auto"`` when the setting is auto too
AUTO_BASE = "gcj02"


def resolve_coords(coords=None, settings=None):
    """The coordinate system of a table's 经度/纬度 as asked: ``coords``, else the setting.

    The one place where a ``--coords`` argument (None when not given) meets
    the ``io.enterprises.coords`` setting; may return ``"auto"``.

    >>> resolve_coords(None, {"io": {"enterprises": {"coords": "wgs84"}}})
    'wgs84'
    >>> resolve_coords("BD-09", {"io": {"enterprises": {"coords": "wgs84"}}})
    'bd09'
    """
    settings = io_settings(settings)
    chosen = coords if coords is not None else settings["io"]["enterprises"]["coords"]
    return coord_system(chosen, allow_auto=True)


def base_coords(coords=None, settings=None):
    """The system a table is read in: :func:`resolve_coords`, with ``"auto"`` read as the setting's
    system (:data:`AUTO_BASE`, gcj02, when the setting is auto too).

    >>> base_coords("auto", {"io": {"enterprises": {"coords": "wgs84"}}})
    'wgs84'
    >>> base_coords("auto", {"io": {"enterprises": {"coords": "auto"}}})
    'gcj02'
    """
    chosen = resolve_coords(coords, settings)
    if chosen != "auto":
        return chosen
    fallback = resolve_coords(None, settings)
    return fallback if fallback != "auto" else AUTO_BASE


class _TableChecks:
    """The rows of one enterprise table, its ledger and which rows are rejected so far.

    A totals row is ledgered as ``totals_row`` only, an Excel error cell as
    ``excel_error`` only (never also "empty"): :meth:`reject` sees to it and
    :meth:`col` gives the column with error cells blanked.
    """

    def __init__(self, raw, mapping, file, layer):
        self.raw, self.mapping, self.file, self.layer = raw, mapping, file, layer
        self.rows = raw.index.to_numpy()
        self.units = {}  # {internal: unit declared by the header, a unit row or a 单位 line}
        self.projected = None  # set by _checked_points: "EPSG:4549"/"EPSG:4528" for X/Y in metres
        self.ledger = Ledger()
        self.bad = np.zeros(len(raw), dtype=bool)
        self.totals, totals_text = _totals_rows(raw, mapping)
        self.errors = {k: excel_errors(raw[h].reset_index(drop=True)) for k, h in mapping.items()}
        self.reject(self.totals, "totals_row", "name", totals_text)
        # a repeated header, a second table below the first: ledgered, never read as firms
        heads = header_scores(raw.to_numpy(dtype=object), alias_lookup(ENTERPRISE_ALIASES)) >= 2
        for mask, reason, detail in structure_rows(raw.to_numpy(dtype=object), self.rows, heads):
            self.reject(mask, reason, "name", self.col("name") if "name" in mapping else None, detail)
            self.totals |= mask  # no other reason for these rows
        for internal, err in self.errors.items():  # in every column, required or optional
            self.reject(err.notna(), "excel_error", internal, err, err.fillna(""))

    def reject(self, mask, reason, internal=None, values=None, detail=""):
        """Ledger the rows in ``mask`` with ``reason`` (column ``internal``) and mark them rejected."""
        mask = np.asarray(mask, dtype=bool)
        if reason != "totals_row":
            mask = mask & ~self.totals
        if internal in self.errors and reason != "excel_error":
            mask = mask & self.errors[internal].isna().to_numpy()
        col = self.mapping.get(internal, ENTERPRISE_COLUMNS.get(internal, (internal or "",))[0]) if internal else ""
        self.ledger.add(mask, reason, file=self.file, layer=self.layer, rows=self.rows, column=col,
                        values=values, detail=detail)
        self.bad |= mask

    def note(self, mask, reason, internal, values=None, detail=""):
        """Ledger a note (a repair or conversion, ``reason``) on the rows in ``mask``; rows stay loaded."""
        col = self.mapping.get(internal, internal)
        self.ledger.add(np.asarray(mask, dtype=bool), reason, file=self.file, layer=self.layer,
                        rows=self.rows, column=col, values=values, detail=detail)

    def col(self, internal):
        """The column of ``internal`` (error cells blank), or blanks when the table has none."""
        if internal in self.mapping:
            values = self.raw[self.mapping[internal]].reset_index(drop=True)
            return values.where(self.errors[internal].isna(), None)
        return pd.Series([None] * len(self.raw), dtype=object)


def load_enterprises(path, coords=None, boundary=None, settings=None, sheet=None, keep_extra=False,
                     year=None):
    """Read, check and geocode an enterprise table.

    Parameters
    ----------
    path : str or Path
        ``.xlsx``/``.csv`` with Chinese or English headers (see
        :data:`gis.schema.ENTERPRISE_ALIASES`); title rows above the header
        are skipped.
    coords : {"gcj02", "wgs84", "cgcs2000", "bd09"}, optional
        System of the 经度/纬度 columns; default the ``io.enterprises.coords``
        setting (gcj02: copied from AMap).  When (nearly) every row holds
        Gauss-Kruger metres instead (X/Y columns in EPSG:4549, or 4528 with
        the zone prefix), they are recognised and used as such.
    boundary : GeoDataFrame, GeoSeries, shapely geometry, path or "bounds", optional
        County outline for the ``outside_yiwu`` check.  Default
        ``gis.layers.load("yiwu")``; when that module is not available, the
        lon/lat box :data:`gis.crs.YIWU_LONLAT_BOUNDS`.  A bare shapely
        geometry is taken to be in EPSG:4549.
    settings : dict, optional
        From :func:`gis.config.load_settings`.
    sheet : str or int, optional
        Sheet to read (default: see :func:`read_table`).
    keep_extra : bool
        Keep columns that are not in the schema (under their own headers).
    year : int, optional
        Evaluation year: chooses among several firm-table sheets the one
        whose name carries it.

    Returns
    -------
    firms : geopandas.GeoDataFrame
        One row per loaded firm, RangeIndex, EPSG:4549 points, columns: every
        internal name of :data:`gis.schema.ENTERPRISE_COLUMNS` (absent
        optional columns as missing), ``lon``/``lat`` converted to WGS84,
        ``size_class`` as 规上/规下, ``chain`` filled from the industry code
        when blank, ``start_year`` Int64, flags boolean, ``source_row`` (the
        Excel row), ``geometry``.
    ledger : gis.ledger.Ledger
        The rejected rows (one entry per reason) and the counts;
        ``len(firms) + ledger.rejected_rows == rows read``.

    Raises
    ------
    FileNotFoundError, ValidationError, CRSError
        When the table cannot be used at all (unreadable, required columns
        missing, lon/lat swapped in the whole table, unknown ``coords``).

    Examples
    --------
    The workbook of the built-in sample (:func:`gis.demo.sample`): 23 rows,
    six of them planted problems that the loader rejects.

    >>> from gis.demo import sample
    >>> firms, ledger = load_enterprises(sample().enterprises, coords="gcj02")
    >>> len(firms), ledger.rejected_rows
    (17, 6)
    >>> ledger.rejects["reason"].value_counts().sort_index().to_dict()
    {'bad_uscc': 2, 'duplicate_uscc': 2, 'missing_value': 1, 'outside_yiwu': 1}
    >>> str(firms.crs), firms.loc[0, ["name", "size_class", "chain"]].tolist()
    ('EPSG:4549', ['义乌市利兴茂电器有限公司', '规上', '智能消费终端'])
    >>> firms.loc[0, ["land_mu", "tax", "source_row"]].astype(float).tolist()
    [7.91, 115.0, 2.0]
    """
    import geopandas as gpd

    settings = io_settings(settings)
    coords = base_coords(coords, settings)  # unknown systems fail before reading
    raw, header_row = read_table(path, sheet=sheet, settings=settings, year=year)
    file = Path(path).name
    layer = raw.attrs.get("sheet", "") or ""
    _require_header(raw, file, layer, settings)
    mapping = column_mapping(list(raw.columns), source=file, header_row=header_row)
    raw, unit_row = split_unit_row(raw, settings)  # (万元) 亩 ... under a merged header
    chk = _TableChecks(raw, mapping, file, layer)
    chk.units = column_units(raw, mapping, schema_unit, lambda h, i: header_unit(h, i, settings), settings,
                             file, unit_row, unit_lines(raw.attrs.get("preamble", []), settings))
    out = _checked_values(chk, settings)
    x, y = _checked_points(chk, out, coords, boundary, settings)
    # --- duplicates among the rows that passed every other check
    rows, uscc = chk.rows, out["uscc"]
    u = uscc.where(pd.Series(~chk.bad))
    dup = u.notna() & u.duplicated(keep="first")
    first_row = pd.Series(rows).groupby(u).transform("first")
    chk.reject(dup, "duplicate_uscc", "uscc", uscc, first_row.where(dup).astype("Int64"))
    # --- assemble
    keep = ~chk.bad
    frame = pd.DataFrame({c: out[c] for c in ENTERPRISE_COLUMNS})
    frame["source_row"] = rows.astype("int64")
    if keep_extra:
        used = set(mapping.values())
        for h in raw.columns:
            if h not in used:
                frame[h] = raw[h].to_numpy()
    frame = frame.loc[keep].reset_index(drop=True)
    firms = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x[keep], y[keep]), crs=WORKING_CRS)
    # coords: the system the 经度/纬度 were read in (an EPSG code when they held X/Y metres)
    firms.attrs.update(file=file, sheet=layer, coords=chk.projected or coords)
    n, led = len(raw), chk.ledger
    led.record(file, n, len(firms), layer, kind="enterprises")
    led.check_balance(n, len(firms), file, layer)
    return firms, led


def _checked_values(chk, settings):
    """Every column of the table read and checked (all but the coordinates' geocoding): ``out`` dict."""
    from ..chains import chain_of_codes

    cfg = settings["io"]["enterprises"]
    out = {}
    # --- text columns
    for internal in ("name", "industry_code", "chain"):
        out[internal] = text_values(chk.col(internal))
    for internal in ("name", "industry_code"):
        chk.reject(out[internal].isna(), "missing_value", internal)
    # --- numbers
    for internal, (_, kind, required) in ENTERPRISE_COLUMNS.items():
        if kind != "number":
            continue
        header = chk.mapping.get(internal)
        values = dms_degrees(chk.col(internal)) if internal in ("lon", "lat") else chk.col(internal)
        src_unit = chk.units.get(internal) if header else None  # header, unit row or 单位 line
        cells = number_cells(values, unit=schema_unit(internal), source_unit=src_unit, settings=settings)
        for why in ("not_a_number", "wrong_unit", "percent", "doubled_unit"):
            chk.reject(cells["reason"].eq(why), why, internal, chk.col(internal), cells["detail"])
        chk.note(cells["converted"], "unit_converted", internal, chk.col(internal),
                 cells["value"].map(lambda v: f"{v:,.6g} {schema_unit(internal)}"))
        out[internal] = cells["value"]
        out[f"_bad_{internal}"] = cells["reason"].notna()
    # a lessee (no own land, leased area above 0) may leave 用地面积 blank: 0
    lessee = bool(cfg["keep_lessees"]) & (out["leased_mu"].fillna(0) > 0)
    out["land_mu"] = out["land_mu"].where(~(lessee & out["land_mu"].isna() & ~out["_bad_land_mu"]), 0.0)
    for internal, (_, kind, required) in ENTERPRISE_COLUMNS.items():
        if kind == "number" and required:
            chk.reject(out[internal].isna() & ~out.pop(f"_bad_{internal}"), "missing_value", internal)
    # --- credit code
    raw_uscc = chk.col("uscc")
    uscc = normalise_uscc(raw_uscc)
    problem = uscc_problem(uscc)
    chk.reject(problem == "missing", "missing_value", "uscc")
    wrong = problem.notna() & (problem != "missing")
    detail_zh_en = problem.map({p: f"{zh} / {en}" for p, (zh, en) in USCC_PROBLEMS.items()}).fillna("")
    chk.reject(wrong, "bad_uscc", "uscc", raw_uscc, detail_zh_en)
    out["uscc"] = uscc
    # --- industry code
    code = out["industry_code"].str.upper().str.replace(r"\s+", "", regex=True)
    badcode = code.notna() & ~code.str.match(cfg["industry_code_pattern"]).fillna(False).astype(bool)
    chk.reject(badcode, "bad_industry_code", "industry_code", out["industry_code"])
    out["industry_code"] = code
    # --- 规上/规下
    size_raw = text_values(chk.col("size_class"))
    key = token_key(size_raw)
    above, below = key.isin(header_tokens(cfg["size_above"])), key.isin(header_tokens(cfg["size_below"]))
    chk.reject(size_raw.isna(), "missing_value", "size_class")
    chk.reject(size_raw.notna() & ~above & ~below, "bad_size_class", "size_class", size_raw)
    out["size_class"] = pd.Series(np.where(above, "规上", np.where(below, "规下", None)), dtype=object)
    # --- flags
    for internal in ("high_tech", "tech_sme"):
        v = text_values(chk.col(internal))
        k = token_key(v)
        yes, no = k.isin(header_tokens(cfg["flag_true"])), k.isin(header_tokens(cfg["flag_false"]))
        chk.reject(v.notna() & ~yes & ~no, "bad_flag", internal, v)
        out[internal] = pd.Series(np.where(yes, True, np.where(no, False, None)), dtype="boolean")
    # --- year
    years, badyear, yrange = year_values(chk.col("start_year"), settings)
    chk.reject(badyear, "bad_year", "start_year", chk.col("start_year"), yrange)
    out["start_year"] = years
    # --- land
    land = out["land_mu"]
    chk.reject(land.notna() & (land <= 0) & ~lessee, "zero_land_area", "land_mu", land)
    # --- chain from the industry code where blank
    blank_chain = out["chain"].isna() & out["industry_code"].notna()
    if blank_chain.any():
        out["chain"] = out["chain"].where(~blank_chain, chain_of_codes(out["industry_code"].fillna(""), settings=settings))
    return out


def _checked_points(chk, out, coords, boundary, settings):
    """经度/纬度 checked (invalid, swapped, outside Yiwu) and geocoded: EPSG:4549 ``x, y``.

    ``out["lon"]``/``out["lat"]`` become WGS84 (CGCS2000) degrees.
    """
    import shapely
    from pyproj import Transformer

    cfg = settings["io"]["enterprises"]
    n, mapping, file = len(chk.rows), chk.mapping, chk.file
    lon, lat = out["lon"].to_numpy(), out["lat"].to_numpy()
    have = np.isfinite(lon) & np.isfinite(lat)
    pair = pd.Series(out["lon"].astype(str) + ", " + out["lat"].astype(str))
    share = float(cfg["swapped_table_share"])
    projected = _projected_table(lon, lat, have, share)
    chk.projected = projected
    x0, y0, x1, y1 = YIWU_LONLAT_BOUNDS
    if projected:
        # 经度/纬度 columns hold Gauss-Kruger X/Y (metres): no lon/lat checks
        swapped = np.zeros(n, dtype=bool)
        invalid = have & ((np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    else:
        inbox = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        swapped = have & ~inbox & (lat >= x0) & (lat <= x1) & (lon >= y0) & (lon <= y1)
        invalid = have & ~swapped & ((np.abs(lon) > 180) | (np.abs(lat) > 90) | ((lon == 0) & (lat == 0)))
    chk.reject(invalid, "bad_coordinates", "lon", pair)
    usable = have & ~invalid
    if usable.sum() and swapped.sum() >= share * usable.sum():
        raise ValidationError(
            f"经度/纬度 look swapped in {int(swapped.sum())} of {int(usable.sum())} rows: the column "
            f"'{mapping['lon']}' holds latitudes ({np.nanmin(lon[usable]):.3f}–{np.nanmax(lon[usable]):.3f}); "
            "swap the two columns / 经纬度两列颠倒，请交换",
            source=file,
        )
    chk.reject(swapped, "swapped_coordinates", "lon", pair)
    ok = usable & ~swapped
    wlon = np.full(n, np.nan)
    wlat = np.full(n, np.nan)
    if projected:
        to_gk = Transformer.from_crs(projected, WORKING_CRS, always_xy=True)
        x, y = (np.asarray(v, dtype=float) for v in to_gk.transform(np.where(ok, lon, np.nan), np.where(ok, lat, np.nan)))
        wlon, wlat = (np.asarray(v, dtype=float) for v in
                      Transformer.from_crs(WORKING_CRS, "EPSG:4490", always_xy=True).transform(x, y))
    else:
        if ok.any():
            wlon[ok], wlat[ok] = convert_lonlat(lon[ok], lat[ok], coords)
        tr = Transformer.from_crs("EPSG:4490", WORKING_CRS, always_xy=True)
        x, y = (np.asarray(v, dtype=float) for v in tr.transform(wlon, wlat))
    outline = _county_outline(boundary, settings)
    if outline is None:
        inside = (wlon >= x0) & (wlon <= x1) & (wlat >= y0) & (wlat <= y1)
    else:
        tol = float(cfg["outside_tolerance_m"])
        area = shapely.buffer(outline, tol) if tol > 0 else outline
        shapely.prepare(area)
        inside = np.zeros(n, dtype=bool)
        if ok.any():
            inside[ok] = shapely.intersects_xy(area, x[ok], y[ok])
    chk.reject(ok & ~inside, "outside_yiwu", "lon", pair)
    out["lon"], out["lat"] = pd.Series(wlon), pd.Series(wlat)
    return x, y

"""The cadastral 宗地 layer (地籍 / 不动产登记) as an input: reading it and making it the land unit.

A 宗地 is the land-rights parcel a bureau decides on (domain.md §9): code
``ZDDM`` (宗地代码, 19 characters), holder ``QLR`` (权利人) with ``QLRZJH``
(证件号: the credit code when a firm holds it), use ``YT`` (用途, a code or a
name), area ``ZDMJ`` (㎡), registration and supply dates ``DJRQ`` / ``GYRQ``.

* :func:`read_cadastre` reads the layer through :func:`gis.io.read_layer`
  (encodings, declared CRS, invalid geometry) and adds the 宗地 checks: the
  field names bureaus use (``cadastre.aliases``, Chinese names too), blank or
  malformed ``ZDDM`` and repeated ``ZDDM`` rejected, ``ZDMJ`` missing taken
  from the polygon (noted), ``ZDMJ`` written in 亩 or 公顷 instead of ㎡ (a
  one-line stop naming the column), overlapping 宗地 noted, an invalid
  权利人 code noted (the 宗地 is then joined to firms by location only).  Rows
  read = loaded + rejected, recorded in the ledger (kind ``cadastre``).
* :func:`land_units` turns the 宗地 into the land units of the run: the
  columns the rest of the toolkit reads from a land layer (``BSM`` = the
  宗地代码, ``DLBM`` = its current use 现状地类 from the 三调 layer by area
  share, ``TBDLMJ`` = ``ZDMJ`` in ㎡) plus the 宗地's own fields and the
  evidence the 三调 layer gives (``current_share``, ``nonindustrial_share``,
  ``n_tuban``).
* :func:`holder_register` gives the (``uscc``, ``parcel_id``) links of the
  宗地 held by firms (by the holder's credit code), for
  :func:`gis.attach.evaluation_units`.

Settings: ``gis/defaults/cadastre.yaml`` (section ``cadastre``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ._errors import ValidationError
from .config import choice_problems, load_settings, number_problems
from .crs import M2_PER_MU
from .identifiers import is_valid_uscc, normalise_uscc
from .ledger import Ledger

__all__ = [
    "FIELDS",
    "settings_problems",
    "field_mapping",
    "read_cadastre",
    "is_id_card",
    "land_units",
    "holder_register",
]

#: the 宗地 fields, internal name -> Chinese name
FIELDS = {"ZDDM": "宗地代码", "QLR": "权利人", "QLRZJH": "权利人证件号", "YT": "用途",
          "ZDMJ": "宗地面积(㎡)", "DJRQ": "登记日期", "GYRQ": "供地日期"}

_M2_PER_HA = 10_000.0


def settings_problems(settings):
    """Problems of the ``cadastre`` settings (checked by :func:`gis.config.load_settings`).

    >>> from gis.config import default_settings
    >>> s = default_settings(); s["cadastre"]["zddm_length"] = 0
    >>> settings_problems(s)
    ['cadastre.zddm_length: must be >= 1, got 0']
    """
    cfg, w = settings["cadastre"], "cadastre"
    problems = number_problems(cfg, w, "zddm_length", low=1, integer=True)
    problems += number_problems(cfg, w, "unit_check_factor", above=1)
    problems += number_problems(cfg, w, "overlap_share", low=0, high=1)
    problems += choice_problems(cfg, w, "land_unit", ("图斑", "宗地"))
    aliases = cfg.get("aliases") or {}
    for key in FIELDS:
        names = aliases.get(key)
        if not isinstance(names, list) or not names:
            problems.append(f"cadastre.aliases.{key}: must be a list of field names")
    return problems


def _key(name):
    """A field name normalised for matching (NFKC, no spaces or brackets, upper case)."""
    from .io import normalise_header

    return normalise_header(name)[0].upper()


def field_mapping(columns, settings=None):
    """The layer's field for each 宗地 field (``cadastre.aliases``); absent ones left out.

    The first field of the layer matching an alias wins.

    Examples
    --------
    >>> field_mapping(["宗地代码", "权利人名称", "zdmj", "证件号码", "geometry"])
    {'ZDDM': '宗地代码', 'QLR': '权利人名称', 'QLRZJH': '证件号码', 'ZDMJ': 'zdmj'}
    """
    settings = settings or load_settings()
    aliases = settings["cadastre"]["aliases"]
    keys = {}
    for c in columns:
        keys.setdefault(_key(c), c)
    out = {}
    for field in FIELDS:
        for alias in aliases[field]:
            if _key(alias) in keys:
                out[field] = keys[_key(alias)]
                break
    return out


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))


def is_id_card(codes):
    """Whether each code is a valid 18-character 居民身份证号 (GB 11643, ISO 7064 MOD 11-2).

    A natural person's 证件号 is not a firm's credit code: it is not checked
    as one.

    Examples
    --------
    >>> is_id_card(["11010519491231002X", "110105194912310021", "91330782147634358J"]).tolist()
    [True, False, False]
    """
    s = pd.Series(list(codes), dtype=object).astype(str).str.upper()
    ok = s.str.fullmatch(r"\d{17}[\dX]").to_numpy()
    out = np.zeros(len(s), dtype=bool)
    if ok.any():
        digits = np.array([list(v[:17]) for v in s[ok]], dtype=int)
        check = _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
        out[ok] = check == s[ok].str[17].to_numpy()
    return out


def _unit_stop(zdmj, geom_m2, column, name, lname, factor):
    """Stop when ZDMJ reads as 亩 or 公顷 rather than ㎡ (median ratio to the polygon area)."""
    ok = (zdmj > 0) & (geom_m2 > 0)
    if ok.sum() < 3:
        return
    ratio = float(np.median(zdmj[ok] / geom_m2[ok]))
    for unit, expect, to_m2 in (("亩", 1 / M2_PER_MU, M2_PER_MU), ("公顷", 1 / _M2_PER_HA, _M2_PER_HA)):
        if expect / factor <= ratio <= expect * factor:
            where = f"{name} [{lname}]" if lname else name
            raise ValidationError(
                f"{where} 列「{column}」(宗地面积): 数值约为图形面积(㎡)的 {ratio:.5f} 倍"
                f"（中位数，{int(ok.sum())} 宗），是以{unit}填写的；宗地面积应为平方米，"
                f"请乘以 {to_m2:g} 后再运行 / column '{column}' (ZDMJ) is in {unit}, not m²: "
                f"its median is {ratio:.5f} × the polygon area; multiply by {to_m2:g}")


def _overlaps(geoms, codes, rows, share, name, lname, led):
    """Note each 宗地 overlapping an earlier one by more than ``share`` of the smaller."""
    n = len(geoms)
    if n < 2:
        return
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return
    inter = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    small = np.minimum(shapely.area(geoms[a]), shapely.area(geoms[b]))
    frac = np.where(small > 0, inter / np.where(small > 0, small, 1.0), 0.0)
    hit = frac > share
    if not hit.any():
        return
    first = pd.DataFrame({"later": b[hit], "other": a[hit], "frac": frac[hit]}) \
        .sort_values(["later", "frac"], ascending=[True, False]).drop_duplicates("later")
    mask = np.zeros(n, dtype=bool)
    mask[first["later"].to_numpy()] = True
    det = np.full(n, "", dtype=object)
    det[first["later"].to_numpy()] = [f"{codes[o]}（重叠 {f:.0%}）"
                                      for o, f in zip(first["other"], first["frac"])]
    led.add(mask, "zongdi_overlap", file=name, layer=lname, rows=rows, column="ZDDM",
            values=codes, detail=det)


def read_cadastre(path, layer=None, ledger=None, settings=None, encoding=None):
    """Read a 宗地 layer: fields mapped, codes, areas, holders and overlaps checked.

    Parameters
    ----------
    path : str or Path
        GeoPackage, Shapefile, FileGDB, GeoJSON... (:func:`gis.io.read_layer`).
    layer : str, optional
        Default: ``cadastre.layer`` (ZD) when the file holds it, else its
        only layer.
    ledger : gis.ledger.Ledger, optional
        Receives the rejects and notes and the balance line (kind
        ``cadastre``).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4549, one row per 宗地: ``ZDDM`` (text), ``QLR``, ``QLRZJH``
        (normalised), ``uscc`` (the holder's credit code when it is a valid
        one, else missing), ``YT``, ``ZDMJ`` (㎡, float; the polygon area
        where the field is blank or ≤ 0), ``DJRQ``, ``GYRQ`` (dates),
        ``source_row``.

    Raises
    ------
    ValidationError
        ``ZDDM`` absent (the fields found are listed); ``ZDMJ`` written in
        亩 or 公顷 (one line naming the column).
    """
    from .io import code_text, parse_numbers, read_layer

    settings = settings or load_settings()
    cfg = settings["cadastre"]
    path = Path(path)
    if layer is None and path.suffix.lower() in (".gpkg", ".gdb", ".zip"):
        import pyogrio

        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
        layer = next((n for n in names if n.upper() == str(cfg["layer"]).upper()), None)
    sub = Ledger()
    gdf = read_layer(path, layer, encoding=encoding, ledger=sub, settings=settings)
    name, lname = path.name, layer or ""
    rows_read = int(sub.balance()["rows_read"].iloc[-1])
    mapping = field_mapping([c for c in gdf.columns if c not in (gdf.geometry.name, "source_row")],
                            settings)
    if "ZDDM" not in mapping:
        found = ", ".join(str(c) for c in gdf.columns if c not in (gdf.geometry.name, "source_row"))
        raise ValidationError(f"{name}: 没有宗地代码字段 ZDDM（或其别名 cadastre.aliases.ZDDM）；"
                              f"图层字段为: {found} / no ZDDM field")
    gdf = gdf.rename(columns={v: k for k, v in mapping.items()})
    rows = gdf["source_row"].to_numpy()
    n = len(gdf)
    drop = np.zeros(n, dtype=bool)
    # 宗地代码: text, 19 characters, unique
    code, _, _ = code_text(gdf["ZDDM"].astype(object).to_numpy())
    code = code.str.upper()
    gdf["ZDDM"] = code.to_numpy()
    miss = code.isna().to_numpy()
    sub.add(miss, "missing_value", file=name, layer=lname, rows=rows, column=mapping["ZDDM"])
    width = int(cfg["zddm_length"])
    bad = ~miss & (code.fillna("").str.len() != width).to_numpy()
    sub.add(bad, "bad_zddm", file=name, layer=lname, rows=rows, column=mapping["ZDDM"],
            values=code.to_numpy(), detail=str(width))
    drop |= miss | bad
    left = np.flatnonzero(~drop)
    first = pd.Series(left).groupby(code.iloc[left].to_numpy()).transform("first").to_numpy()
    again = np.zeros(n, dtype=bool)
    again[left] = first != left
    det = np.zeros(n, dtype=np.int64)
    det[left] = rows[first]
    sub.add(again, "duplicate_id", file=name, layer=lname, rows=rows, column=mapping["ZDDM"],
            values=code.to_numpy(), detail=det.astype(str))
    drop |= again
    # 宗地面积 ㎡: the unit checked against the polygons, blanks from the polygon
    geom_m2 = np.asarray(gdf.geometry.area, dtype=float)
    if "ZDMJ" in gdf:
        zdmj = np.asarray(parse_numbers(gdf["ZDMJ"].astype(object))[0], dtype=float)
        _unit_stop(zdmj[~drop], geom_m2[~drop], mapping["ZDMJ"], name, lname,
                   float(cfg["unit_check_factor"]))
    else:
        zdmj = np.full(n, np.nan)
    blank = ~(zdmj > 0)
    sub.add(blank & ~drop, "area_from_geometry", file=name, layer=lname, rows=rows,
            column=mapping.get("ZDMJ", "ZDMJ"), values=np.round(geom_m2, 2))
    gdf["ZDMJ"] = np.where(blank, geom_m2, zdmj)
    # 权利人 and 证件号: a valid credit code joins the 宗地 to its firm
    for f in ("QLR", "QLRZJH", "YT"):
        if f not in gdf:
            gdf[f] = None
    zjh = normalise_uscc(gdf["QLRZJH"].astype(object))
    gdf["QLRZJH"] = zjh.to_numpy()
    has = zjh.notna().to_numpy()
    valid = np.zeros(n, dtype=bool)
    valid[has] = np.asarray(is_valid_uscc(zjh[has]), dtype=bool)
    person = np.zeros(n, dtype=bool)
    person[has] = is_id_card(zjh[has])
    wrong = has & ~valid & ~person & ~drop
    sub.add(wrong, "bad_holder_code", file=name, layer=lname, rows=rows,
            column=mapping.get("QLRZJH", "QLRZJH"), values=zjh.to_numpy())
    gdf["uscc"] = np.where(valid, zjh.to_numpy(), None)
    for f in ("DJRQ", "GYRQ"):
        gdf[f] = pd.to_datetime(gdf[f], errors="coerce") if f in gdf else pd.NaT
    keep = ~drop
    _overlaps(np.asarray(gdf.geometry.values)[keep], gdf["ZDDM"].to_numpy()[keep], rows[keep],
              float(cfg["overlap_share"]), name, lname, sub)
    out = gdf.loc[keep].reset_index(drop=True)
    out.attrs["layer"] = lname
    total = Ledger()
    total.extend(sub)
    total.record(name, rows_read, len(out), lname, kind="cadastre")
    total.check_balance()
    if ledger is not None:
        ledger.extend(total)
    return out


def _codes_by_share(zd, landuse, code_col="DLBM"):
    """Per 宗地: its largest 三调 class by area share, that share, the 图斑 it crosses, the
    share on non-industrial classes."""
    from .attach import industrial_parcels

    n = len(zd)
    zg = np.asarray(zd.geometry.values)
    lg = np.asarray(landuse.geometry.values)
    codes = landuse[code_col].astype(object).to_numpy()
    ind = np.asarray(industrial_parcels(landuse), dtype=bool)
    tree = shapely.STRtree(lg)
    a, b = tree.query(zg, predicate="intersects")
    area = shapely.area(shapely.intersection(zg[a], lg[b])) if len(a) else np.zeros(0)
    pos = area > 0.1  # ㎡: shared edges leave slivers of floating-point noise, not land
    a, b, area = a[pos], b[pos], area[pos]
    own = shapely.area(zg)
    t = pd.DataFrame({"z": a, "code": codes[b], "area": area, "ind": ind[b]})
    by = t.groupby(["z", "code"], sort=True)["area"].sum().reset_index()
    by = by.sort_values(["z", "area", "code"], ascending=[True, False, True]).drop_duplicates("z")
    dlbm = np.full(n, None, dtype=object)
    dlbm[by["z"].to_numpy()] = by["code"].to_numpy()
    share = np.zeros(n)
    share[by["z"].to_numpy()] = by["area"].to_numpy() / np.where(own[by["z"]] > 0, own[by["z"]], 1)
    nt = np.bincount(a, minlength=n)
    nonind = np.bincount(a, weights=np.where(t["ind"].to_numpy(), 0.0, area), minlength=n)
    nonind = np.where(own > 0, nonind / np.where(own > 0, own, 1.0), 0.0)
    return dlbm, share, nt, nonind


def land_units(zd, landuse=None, settings=None):
    """The 宗地 as the land units of the run (the columns a land layer carries).

    Parameters
    ----------
    zd : GeoDataFrame
        :func:`read_cadastre` output.
    landuse : GeoDataFrame, optional
        The 三调 图斑 (``DLBM``): each 宗地's current use (现状地类) is the
        三调 class covering the largest part of it; without it (or where no
        图斑 overlaps) the 宗地's ``YT`` when it is a 三调 code.

    Returns
    -------
    GeoDataFrame
        ``zd``'s columns plus ``BSM`` (= ``ZDDM``, the land-unit id the
        toolkit joins on), ``DLBM`` (现状地类), ``current_share`` (share of
        the 宗地 under that class), ``n_tuban`` (三调 图斑 it crosses),
        ``nonindustrial_share`` (share on non-industrial 三调 classes: evidence
        of 非工业使用) and ``TBDLMJ`` (= ``ZDMJ``, ㎡, the land unit's own area).
        ``GYRQ`` is kept as it is: it is not the renewal rules'
        ``supply_date``, whose rule also needs the start of construction.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> zd = gpd.GeoDataFrame({"ZDDM": ["a"], "ZDMJ": [400.0], "YT": ["0601"]},
    ...                       geometry=[box(0, 0, 20, 20)], crs="EPSG:4549")
    >>> sd = gpd.GeoDataFrame({"BSM": ["t1", "t2"], "DLBM": ["0601", "0702"]},
    ...                       geometry=[box(0, 0, 15, 20), box(15, 0, 30, 20)], crs="EPSG:4549")
    >>> u = land_units(zd, sd)
    >>> u[["BSM", "DLBM", "current_share", "n_tuban", "nonindustrial_share", "TBDLMJ"]].values.tolist()
    [['a', '0601', 0.75, 2, 0.25, 400.0]]
    """
    out = zd.copy()
    out["BSM"] = out["ZDDM"]
    yt = out["YT"].astype(object) if "YT" in out else pd.Series(None, index=out.index, dtype=object)
    yt_code = yt.where(yt.astype(str).str.fullmatch(r"\d{4}[A-Z]?"), None)
    if landuse is not None and len(landuse):
        dlbm, share, nt, nonind = _codes_by_share(out, landuse)
        out["DLBM"] = pd.Series(dlbm, index=out.index).where(pd.notna(dlbm), yt_code)
        out["current_share"] = share
        out["n_tuban"] = nt
        out["nonindustrial_share"] = nonind
    else:
        out["DLBM"] = yt_code
    out["TBDLMJ"] = pd.to_numeric(out["ZDMJ"], errors="coerce").astype(float)
    return out


def holder_register(zd):
    """(``uscc``, ``parcel_id``) links of the 宗地 held by firms (valid holder credit codes).

    >>> holder_register(pd.DataFrame({"ZDDM": ["a", "b"], "uscc": ["X", None]})).values.tolist()
    [['X', 'a']]
    """
    reg = pd.DataFrame({"uscc": zd["uscc"].to_numpy(), "parcel_id": zd["ZDDM"].to_numpy()})
    return reg.dropna().reset_index(drop=True)

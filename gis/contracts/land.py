"""Attach each contract to a land unit, and to its holder's figures of the year.

The land is any GeoDataFrame of land units (EPSG:4549) with an id column and
an area: today's 三调 parcels (``BSM``), or a cadastral 宗地 layer with its
宗地代码 (``ZDDM``).  A contract is attached, in this order:

1. by 宗地代码, when the contract gives one and the land layer has a code
   column (``code_col``); a code the layer does not hold is land that does
   not exist: the row is rejected (``unknown_land``);
2. by location: the land unit holding its 经纬度 / X-Y point;
3. by the holder's credit code through the firm table: the land unit the
   firm was attached to (its ``parcel_id``).

A contract attached by none of them is rejected (``unknown_land``), and the
file's balance 读取 = 载入 + 拒绝 is recorded again.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..crs import M2_PER_MU, WORKING_CRS, convert_lonlat
from ..labels import code_labels
from .check import FIGURES

__all__ = ["LAND_BY_ZH", "contract_points", "firm_land", "attach_contracts", "holder_figures"]

#: how a contract found its land
LAND_BY_ZH = code_labels("land_by")


def contract_points(contracts, coords="gcj02"):
    """Each contract's point in EPSG:4549 (X/Y metres as given, or 经纬度 in ``coords``); None where none.

    >>> c = pd.DataFrame({"x": [500000.0, None], "y": [3240000.0, None]})
    >>> [None if p is None else (p.x, p.y) for p in contract_points(c)]
    [(500000.0, 3240000.0), None]
    """
    from pyproj import Transformer

    n = len(contracts)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if {"lon", "lat"} <= set(contracts.columns):
        lon, lat = contracts["lon"].to_numpy(float), contracts["lat"].to_numpy(float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if ok.any():
            wl, wb = convert_lonlat(lon[ok], lat[ok], coords)
            tx = Transformer.from_crs("EPSG:4326", WORKING_CRS, always_xy=True)
            x[ok], y[ok] = tx.transform(wl, wb)
    if {"x", "y"} <= set(contracts.columns):
        gx, gy = contracts["x"].to_numpy(float), contracts["y"].to_numpy(float)
        ok = np.isfinite(gx) & np.isfinite(gy)
        x[ok], y[ok] = gx[ok], gy[ok]
    pts = gpd.points_from_xy(x, y)
    return np.array([None if not (np.isfinite(a) and np.isfinite(b)) else p for p, a, b in zip(pts, x, y)],
                    dtype=object)


def firm_land(firms, land, id_col):
    """credit code -> id of the land unit holding the firm: its ``parcel_id`` when the firms
    carry one, else the unit its point lies in (the firm table's own point, so that every
    engine finds the same)."""
    f = firms.dropna(subset=["uscc"]).drop_duplicates("uscc")
    if "parcel_id" in f.columns:
        return f.dropna(subset=["parcel_id"]).set_index("uscc")["parcel_id"].astype(str)
    if not isinstance(f, gpd.GeoDataFrame) or not len(f):
        return pd.Series(dtype=object)
    pts = gpd.GeoDataFrame({"uscc": f["uscc"].to_numpy()}, geometry=f.geometry.to_numpy(), crs=f.crs)
    j = gpd.sjoin(pts, land[[id_col, land.geometry.name]], predicate="within", how="inner")
    return j.drop_duplicates("uscc").set_index("uscc")[id_col].astype(str)


def attach_contracts(contracts, land, id_col, ledger=None, firms=None, code_col=None, area_col=None,
                     coords="gcj02"):
    """Attach contracts to land units; reject those whose land does not exist.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`gis.contracts.load.load_contracts`.
    land : GeoDataFrame
        Land units in EPSG:4549 with ``id_col``.
    id_col : str
        Id of a land unit (``BSM`` of 三调 parcels, ``ZDDM`` of 宗地).
    ledger : gis.ledger.Ledger, optional
        The contract file's ledger: rejects are added and its balance recorded again.
    firms : DataFrame, optional
        Firms with ``uscc`` and ``parcel_id`` (the land unit they were attached to) or their
        points (:func:`firm_land`).
    code_col : str, optional
        Column of ``land`` holding 宗地代码 (matched to ``land_code``).
    area_col : str, optional
        Column of ``land`` with its area in 亩 (default: the geometry's area).

    Returns
    -------
    GeoDataFrame
        The attached contracts, geometry the land unit's polygon (EPSG:4549),
        with ``land_id``, ``land_by`` (:data:`LAND_BY_ZH` values), ``land_mu``
        (the contract's 出让面积, else the land unit's area).
    """
    n = len(contracts)
    ids = land[id_col].astype(str).to_numpy(object)
    pos = pd.Series(np.arange(len(land)), index=ids)
    pos = pos[~pos.index.duplicated()]
    where = np.full(n, -1)
    by = np.full(n, "", dtype=object)
    unknown = np.zeros(n, bool)
    detail = np.full(n, "", dtype=object)
    if code_col is not None and code_col in land.columns and "land_code" in contracts.columns:
        cpos = pd.Series(np.arange(len(land)), index=land[code_col].astype(str).to_numpy(object))
        cpos = cpos[~cpos.index.duplicated()]
        code = contracts["land_code"]
        hit = code.map(cpos).to_numpy(float)
        given = code.notna().to_numpy()
        ok = given & np.isfinite(hit)
        where[ok], by[ok] = hit[ok].astype(int), LAND_BY_ZH["code"]
        unknown = given & ~ok
        detail[unknown] = "宗地代码 " + code[unknown].astype(str).to_numpy(object) + " 不在宗地图层中"
    pts = contract_points(contracts, coords)
    todo = (where < 0) & ~unknown & np.array([p is not None for p in pts])
    if todo.any():
        gp = gpd.GeoDataFrame({"i": np.flatnonzero(todo)}, geometry=list(pts[todo]), crs=WORKING_CRS)
        j = gpd.sjoin(gp, land[[land.geometry.name]].reset_index(drop=True), predicate="within",
                      how="inner").drop_duplicates("i")
        where[j["i"].to_numpy()] = j["index_right"].to_numpy()
        by[j["i"].to_numpy()] = LAND_BY_ZH["point"]
        missed = todo.copy()
        missed[j["i"].to_numpy()] = False
        detail[missed] = "坐标不在任何地块内"
    if firms is not None and "uscc" in contracts.columns:
        home = firm_land(firms, land, id_col)
        todo = (where < 0) & ~unknown & contracts["uscc"].notna().to_numpy()
        pid = contracts["uscc"].map(home)
        hit = pid.map(lambda v: pos.get(str(v), -1) if isinstance(v, str) else -1).to_numpy(int)
        ok = todo & (hit >= 0)
        where[ok], by[ok] = hit[ok], LAND_BY_ZH["holder"]
        detail[todo & ~ok] = np.where(detail[todo & ~ok] != "", detail[todo & ~ok] + "，", "") + \
            "受让人信用代码在企业名录中无所在地块"
    lost = where < 0
    detail[lost & (detail == "")] = "无宗地代码、坐标或信用代码可定位"
    if ledger is not None:
        rows = contracts["source_row"].to_numpy() if "source_row" in contracts else np.arange(n) + 1
        file, layer = contracts.attrs.get("file", ""), contracts.attrs.get("sheet", "")
        ledger.add(lost, "unknown_land", file=file, layer=layer, rows=rows,
                   column="宗地代码" if "land_code" in contracts else "", detail=detail,
                   values=contracts["contract_id"].to_numpy(object))
        src = ledger.sources()
        src = src[(src["file"] == file) & (src["layer"] == layer)]
        total = int(src["rows_read"].iloc[-1]) if len(src) else n
        loaded = n - int(lost.sum())  # the rows that reached here were loaded
        ledger.record(file, total, loaded, layer)
        ledger.check_balance(total, loaded, file, layer)
    keep = ~lost
    out = contracts.loc[keep].reset_index(drop=True)
    w = where[keep]
    unit = land.iloc[w]
    out["land_id"] = unit[id_col].astype(str).to_numpy(object)
    out["land_by"] = by[keep]
    area = (pd.to_numeric(unit[area_col], errors="coerce").to_numpy(float) if area_col
            else unit.geometry.area.to_numpy(float) / M2_PER_MU)
    given = out["land_mu"].to_numpy(float) if "land_mu" in out else np.full(len(out), np.nan)
    out["land_mu"] = np.where(np.isfinite(given) & (given > 0), given, area)
    gdf = gpd.GeoDataFrame(out, geometry=unit.geometry.to_numpy(), crs=land.crs or WORKING_CRS)
    gdf.attrs.update(contracts.attrs)
    return gdf


def holder_figures(contracts, firms):
    """The holder's figures of the year for the contract's land: columns ``a_<figure>``.

    Joined by credit code; a holder with more land than the contract's gets
    the share ``contract 亩 / the firm's 用地面积`` of each figure (tax,
    investment, floor area ... are summed over its land; the ratios 单位能耗
    增加值, R&D 占比 are unchanged by the share).  No credit code or no firm:
    NaN (the check says 缺数据).

    >>> c = pd.DataFrame({"uscc": ["A", "B", None], "land_mu": [10.0, 20.0, 5.0]})
    >>> f = pd.DataFrame({"uscc": ["A", "B"], "land_mu": [40.0, 10.0], "tax": [400.0, 300.0]})
    >>> holder_figures(c, f)["a_tax"].tolist()
    [100.0, 300.0, nan]
    """
    out = contracts.copy()
    if firms is None or "uscc" not in contracts.columns:
        for f in FIGURES:
            out[f"a_{f}"] = np.nan
        return out
    fr = pd.DataFrame(firms).drop_duplicates("uscc").set_index("uscc")
    firm_mu = contracts["uscc"].map(pd.to_numeric(fr.get("land_mu"), errors="coerce")).to_numpy(float) \
        if "land_mu" in fr else np.full(len(contracts), np.nan)
    mu = contracts["land_mu"].to_numpy(float) if "land_mu" in contracts else np.full(len(contracts), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(np.isfinite(firm_mu) & (firm_mu > 0) & np.isfinite(mu), np.minimum(1.0, mu / firm_mu),
                         1.0)
    for f in FIGURES:
        v = contracts["uscc"].map(pd.to_numeric(fr[f], errors="coerce")).to_numpy(float) if f in fr \
            else np.full(len(contracts), np.nan)
        out[f"a_{f}"] = v * share
    return out

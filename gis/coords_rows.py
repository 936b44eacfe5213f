"""The coordinate system of each row, not only of the whole table.

:func:`gis.attach.coordinate_check` decides the system of a firm table as
a whole.  A table where one row in four was copied from a WGS-84 (or
Baidu) source among GCJ-02 rows passes that check, and those firms land
about 500 m off, on someone else's parcel or none.  Row by row:

* a firm that is on no industrial parcel (nor within ``attach.snap_m`` of
  one) in the table's system but is on one under exactly one other system
  is named in the ledger (``coords_other_system``: "looks copied from
  wgs84");
* under ``--coords auto`` it is read in that system instead, with a note
  (``coords_per_row``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["row_hits", "other_system_rows", "per_row_systems"]


def row_hits(firms, parcels, used, systems=None, settings=None):
    """Which firms land on (or within ``attach.snap_m`` of) an industrial parcel under each system.

    Returns
    -------
    DataFrame
        One bool column per system, index as ``firms``.
    """
    import shapely
    from pyproj import Transformer

    from .attach import CHECKED_SYSTEMS, industrial_parcels
    from .config import load_settings
    from .crs import WORKING_CRS, convert_lonlat, lonlat_from_wgs84

    settings = settings or load_settings()
    systems = systems or CHECKED_SYSTEMS
    ind = np.asarray(industrial_parcels(parcels, settings), dtype=bool)
    tree = shapely.STRtree(np.asarray(parcels.geometry.values)[ind])
    lon = pd.to_numeric(firms["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(firms["lat"], errors="coerce").to_numpy(dtype=float)
    have = np.isfinite(lon) & np.isfinite(lat)
    raw_lon, raw_lat = lonlat_from_wgs84(lon[have], lat[have], used)
    to_gk = Transformer.from_crs("EPSG:4490", WORKING_CRS, always_xy=True)
    snap = max(float(settings["attach"]["snap_m"]), 0.0)
    out = pd.DataFrame(False, index=firms.index, columns=list(systems))
    for system in systems:
        x, y = to_gk.transform(*convert_lonlat(raw_lon, raw_lat, system))
        hit = np.zeros(int(have.sum()), dtype=bool)
        idx, _ = tree.query(shapely.points(x, y), predicate="dwithin", distance=snap)
        hit[np.unique(idx)] = True
        col = np.zeros(len(firms), dtype=bool)
        col[have] = hit
        out[system] = col
    return out


def other_system_rows(firms, parcels, used, settings=None):
    """Firms on industrial land only under one system other than ``used``: that system, else None.

    Returns
    -------
    pandas.Series of object
        Index as ``firms``; the other system's name where it alone places
        the firm on industrial land and ``used`` does not.
    """
    base = "wgs84" if used == "cgcs2000" else used
    hits = row_hits(firms, parcels, base, settings=settings)
    others = hits.drop(columns=[base])
    alone = ~hits[base] & (others.sum(axis=1) == 1)
    return pd.Series(np.where(alone, others.idxmax(axis=1), None), index=firms.index, dtype=object)


def per_row_systems(firms, ledger, parcels, used, auto, settings=None):
    """Name (and under ``auto`` re-read) the rows that look copied from another system.

    Parameters
    ----------
    firms : GeoDataFrame
        From :func:`gis.io.load_enterprises` (read as ``used``).
    ledger : gis.ledger.Ledger
        Receives one note per such row.
    parcels : GeoDataFrame or None
    used : str
        The system the table was read in.
    auto : bool
        ``--coords auto``: move those rows to the other system.

    Returns
    -------
    GeoDataFrame
        ``firms``, with those rows' ``lon``/``lat`` and points changed under ``auto``.
    """
    from pyproj import Transformer

    from .crs import WORKING_CRS, convert_lonlat, lonlat_from_wgs84

    if parcels is None or not len(parcels) or firms is None or not len(firms) \
            or str(firms.attrs.get("coords", "")).upper().startswith("EPSG:"):
        return firms
    other = other_system_rows(firms, parcels, used, settings)
    mask = other.notna().to_numpy()
    if not mask.any():
        return firms
    file, sheet = firms.attrs.get("file", ""), firms.attrs.get("sheet", "")
    rows = firms["source_row"].to_numpy()
    pair = (firms["lon"].round(6).astype(str) + ", " + firms["lat"].round(6).astype(str)).to_numpy()
    detail = np.where(mask, other.fillna("").to_numpy(dtype=object), "")
    if not auto:
        ledger.add(mask, "coords_other_system", file=file, layer=sheet, rows=rows, column="经度/纬度",
                   values=pair, detail=np.where(mask, [f"{used} → {d}" for d in detail], ""))
        return firms
    firms = firms.copy()
    base = "wgs84" if used == "cgcs2000" else used
    to_gk = Transformer.from_crs("EPSG:4490", WORKING_CRS, always_xy=True)
    idx = np.flatnonzero(mask)
    lon = firms["lon"].to_numpy(dtype=float)
    lat = firms["lat"].to_numpy(dtype=float)
    raw_lon, raw_lat = lonlat_from_wgs84(lon[idx], lat[idx], base)
    new_lon, new_lat = np.empty(len(idx)), np.empty(len(idx))
    for system in set(detail[idx]):
        k = detail[idx] == system
        new_lon[k], new_lat[k] = convert_lonlat(raw_lon[k], raw_lat[k], system)
    x, y = to_gk.transform(new_lon, new_lat)
    import shapely

    geoms = np.asarray(firms.geometry.values).copy()
    geoms[idx] = shapely.points(x, y)
    firms["lon"] = firms["lon"].astype(float)
    firms["lat"] = firms["lat"].astype(float)
    firms.iloc[idx, firms.columns.get_loc("lon")] = new_lon
    firms.iloc[idx, firms.columns.get_loc("lat")] = new_lat
    firms = firms.set_geometry(geoms, crs=firms.crs)
    ledger.add(mask, "coords_per_row", file=file, layer=sheet, rows=rows, column="经度/纬度",
               values=pair, detail=np.where(mask, [f"{used} → {d}" for d in detail], ""))
    return firms

"""Which zone holds the largest part of each polygon (largest-overlap join).

One function, :func:`largest_overlap`, answers "which platform / park /
township is this parcel (block, cluster hull) in?" for every caller, so a
parcel is placed in the same zone by the workbook, the maps, the renewal
rules and the GeoPackage.  It works in the working CRS (EPSG:4549, metres)
with one STRtree query and vectorised shapely intersections; there is no
loop over rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


__all__ = ["largest_overlap"]


def _geoms(frame):
    geo = getattr(frame, "geometry", frame)
    return np.asarray(getattr(geo, "values", geo), dtype=object)


def _check(parts, zones, zone_col):
    """``zones`` in the CRS of ``parts`` (the CRS policy of :mod:`gis.crs`)."""
    from .crs import require_frame

    require_frame(parts, "largest_overlap(parts)")
    return require_frame(zones, "largest_overlap(zones)", [zone_col], reproject=True)


def largest_overlap(parts, zones, zone_col, *, min_share=0.0):
    """The zone covering the largest share of each polygon, and that share.

    Parameters
    ----------
    parts : GeoDataFrame or GeoSeries
        Polygons (parcels, blocks, hulls) in the working CRS (EPSG:4549).
    zones : GeoDataFrame
        Zone polygons of ONE layer (call once per layer: a parcel may lie in
        a platform and a park at once), with ``zone_col``; reprojected to
        EPSG:4549 when in another CRS (see :func:`gis.crs.require_frame`).
    zone_col : str
        Column of ``zones`` whose value is returned (e.g. ``"name_zh"``).
    min_share : float, default 0.0
        A part gets a zone only when that zone covers at least this share
        of the part's area (0.5: more than half, or exactly half); 0 means
        any overlap of positive area.  Touching (zero-area) overlaps never
        count.

    Returns
    -------
    DataFrame
        Indexed like ``parts``, columns ``[zone_col, "share"]``: the zone
        with the largest overlap (missing when no zone reaches
        ``min_share``) and ``share`` = overlap area / part area of the
        largest overlap (reported even when below ``min_share``; 0.0 where
        no zone overlaps or the part has no area).  Ties go to the zone
        listed first in ``zones``.

    Raises
    ------
    CRSError
        ``parts`` not in EPSG:4549, or a layer without CRS.
    ValidationError
        ``zone_col`` missing from ``zones``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parts = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(50, 50, 60, 60)],
    ...                          crs="EPSG:4549")
    >>> zones = gpd.GeoDataFrame({"name_zh": ["甲", "乙"]}, crs="EPSG:4549",
    ...                          geometry=[box(-5, -5, 3, 20), box(3, -5, 30, 20)])
    >>> largest_overlap(parts, zones, "name_zh")
      name_zh  share
    0       乙    0.7
    1    None    0.0
    >>> largest_overlap(parts, zones, "name_zh", min_share=0.8)["name_zh"].tolist()
    [None, None]
    """
    zones = _check(parts, zones, zone_col)
    index = getattr(parts, "index", pd.RangeIndex(len(_geoms(parts))))
    pg, zg = _geoms(parts), _geoms(zones)
    name = np.full(len(pg), None, dtype=object)
    share = np.zeros(len(pg), dtype=float)
    if len(pg) and len(zg):
        src, tgt = shapely.STRtree(zg).query(pg, predicate="intersects")
        if len(src):
            parea = shapely.area(pg)
            # a part wholly inside a zone overlaps it by its own area: only the
            # pairs crossing a zone boundary need an intersection
            shapely.prepare(zg)
            inter = parea[src].copy()
            cross = ~shapely.contains_properly(zg[tgt], pg[src])
            if cross.any():
                inter[cross] = shapely.area(shapely.intersection(pg[src[cross]], zg[tgt[cross]]))
            keep = inter > 0
            src, tgt, inter = src[keep], tgt[keep], inter[keep]
            # per part: largest overlap first, then the zone listed first
            order = np.lexsort((tgt, -inter, src))
            src, tgt, inter = src[order], tgt[order], inter[order]
            first = np.r_[True, src[1:] != src[:-1]] if len(src) else np.zeros(0, bool)
            src, tgt, inter = src[first], tgt[first], inter[first]
            best = np.divide(inter, parea[src], out=np.zeros(len(src)), where=parea[src] > 0)
            share[src] = best
            ok = best >= min_share
            name[src[ok]] = zones[zone_col].to_numpy()[tgt[ok]]
    return pd.DataFrame({zone_col: pd.Series(name, index=index, dtype=object),
                         "share": pd.Series(share, index=index)})

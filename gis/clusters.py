"""Where industries cluster: hot spots, density-based clusters, location quotients.

* :func:`grid_cells` counts points (and sums a weight) in square cells in
  metres; :func:`gi_star` computes Getis-Ord Gi* on any cells (square grid
  or hexagons) with binary weights including the cell itself, two-sided
  normal p-values, Benjamini-Hochberg FDR q-values and hot/cold classes at
  90/95/99 %; :func:`gi_star_array` does the same on a 2-D array by
  convolution (millions of cells in a second); :func:`hot_spots` chains
  counting and Gi* for a point layer.
* :func:`dbscan_labels` / :func:`dbscan_clusters`: DBSCAN on metre
  coordinates, returned as cluster polygons with members, chains, tax,
  output and the platform/park each overlaps most.
* :func:`location_quotient`, :func:`share_in_planned_platform` and
  :func:`clark_evans` (nearest-neighbour index) per industry chain.

All inputs are in EPSG:4549 (reprojected when they carry another CRS).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._errors import ValidationError
from .config import load_settings
from .crs import M2_PER_MU, WORKING_CRS, area_in_working, require_frame
from .density import point_xy, grid_spec
from .labels import column_labels
from .overlap import largest_overlap

__all__ = [
    "LABELS_ZH",
    "GI_CLASSES",
    "fdr_bh",
    "gi_classes",
    "gi_star_array",
    "count_array",
    "grid_cells",
    "gi_star",
    "hot_spots",
    "dbscan_labels",
    "dbscan_clusters",
    "location_quotient",
    "share_in_planned_platform",
    "clark_evans",
]

#: gi_bin -> Chinese class label (ArcGIS "Gi_Bin" convention).
GI_CLASSES = {
    3: "热点 (99%置信)",
    2: "热点 (95%置信)",
    1: "热点 (90%置信)",
    0: "不显著",
    -1: "冷点 (90%置信)",
    -2: "冷点 (95%置信)",
    -3: "冷点 (99%置信)",
}

UNCLASSIFIED = "未分类"



#: Chinese headers of the cluster, hot-spot, LQ and Clark-Evans tables
LABELS_ZH = column_labels("clusters", [
    "cluster", "n_firms", "dominant_chain", "dominant_share", "chain_counts", "tax", "output",
    "area_mu", "platform", "platform_share", "park", "park_share", "zone", "zone_kind", "chain",
    "value", "zone_total", "chain_total", "total", "lq", "platforms", "n_in_platform",
    "share_firms", "output_in_platform", "share_output", "n", "area_km2", "mean_nn_m",
    "expected_nn_m", "R", "z", "p", "pattern", "count", "gi_z", "gi_p", "gi_q", "gi_bin",
    "gi_class"])

def _cfg(settings, section):
    return (settings or load_settings())["density"][section]


def _in_working(gdf, who="gis.clusters"):
    return require_frame(gdf, who, reproject=True)


def _require(df, cols, who):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValidationError(
            f"{who}: column(s) {', '.join(missing)} not found "
            f"(columns: {', '.join(map(str, df.columns))})"
        )


def _chains(points, chain_col):
    c = points[chain_col].astype(object)
    return c.where(c.notna() & (c.astype(str) != ""), UNCLASSIFIED).astype(str)


# --------------------------------------------------------------------------- Gi*


def fdr_bh(p):
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN.

    A cell is significant at false-discovery rate ``alpha`` when ``q < alpha``
    (equivalent to the BH step-up rule at ``alpha``).

    Examples
    --------
    >>> fdr_bh([0.01, 0.04, 0.03, 0.5]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.5]
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    q[ok] = out
    return q


def gi_classes(z, p, confidence=(0.90, 0.95, 0.99)):
    """Hot/cold class of each cell: +3..-3 (99/95/90 % hot, 0, cold).

    Parameters
    ----------
    z, p : array-like
        z-scores and (adjusted) two-sided p-values.
    confidence : sequence of three floats
        Increasing confidence levels for bins 1, 2, 3.

    Returns
    -------
    numpy.ndarray of int8
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    out = np.zeros(z.shape, dtype=np.int8)
    sign = np.sign(np.nan_to_num(z)).astype(np.int8)
    for level, conf in enumerate(sorted(confidence), start=1):
        sig = np.nan_to_num(p, nan=1.0) < (1.0 - conf)
        out = np.where(sig, sign * level, out).astype(np.int8)
    return out


def _gi_from_sums(x, lag, wsum, n):
    """Getis-Ord Gi* z-scores with binary weights (self included)."""
    from scipy.special import ndtr  # the normal cdf (scipy.stats takes long to import)

    xbar = x.sum() / n
    s = np.sqrt(max((x * x).sum() / n - xbar * xbar, 0.0))
    var = (n * wsum - wsum * wsum) / (n - 1)
    den = s * np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, (lag - xbar * wsum) / den, np.nan)
    p = 2.0 * ndtr(-np.abs(z))
    return z, p


def _footprint(neighbours, cell):
    if neighbours in ("queen", None):
        return np.ones((3, 3), dtype=bool)
    if neighbours == "rook":
        return np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)
    try:
        dist = float(neighbours)
    except (TypeError, ValueError):
        raise ValidationError(
            f"neighbours must be 'queen', 'rook' or a distance in metres, got {neighbours!r}"
        ) from None
    if cell is None:
        raise ValidationError("a distance-band neighbourhood needs the cell size (cell=...)")
    k = int(np.floor(dist / cell + 1e-9))
    off = np.arange(-k, k + 1)
    d2 = off[:, None] ** 2 + off[None, :] ** 2
    return d2 * cell * cell <= dist * dist * (1 + 1e-12)


def gi_star_array(values, neighbours=None, cell=None, fdr=None, confidence=None, settings=None):
    """Getis-Ord Gi* on a 2-D grid of counts or values, by convolution.

    Parameters
    ----------
    values : numpy.ndarray (rows, cols) or DensityGrid-like
        Cell values; NaN marks cells outside the study area (neither counted
        in ``n`` nor neighbours).  An object with ``.array`` and
        ``.transform`` (e.g. :class:`gis.density.DensityGrid`) is accepted.
    neighbours : "queen", "rook" or float
        Binary weights, the cell itself included: the 8 (queen) or 4 (rook)
        adjacent cells, or all cells whose centres are within this distance
        in metres.  Default ``density.hotspots.neighbours``.
    cell : float, optional
        Cell size in metres (for a distance band; taken from ``.transform``).
    fdr : bool, optional
        Classify on Benjamini-Hochberg q-values (default ``density.hotspots.fdr``).
    confidence : sequence of float, optional
        Default ``density.hotspots.confidence``.
    settings : dict, optional

    Returns
    -------
    dict of numpy.ndarray
        ``z``, ``p`` (two-sided normal), ``q`` (BH-adjusted p), ``bin``
        (int8, +3..-3, see :data:`GI_CLASSES`), each shaped like ``values``;
        NaN (bin 0) outside the study area.
    """
    from scipy import ndimage

    cfg = _cfg(settings, "hotspots")
    neighbours = cfg["neighbours"] if neighbours is None else neighbours
    fdr = cfg["fdr"] if fdr is None else fdr
    confidence = confidence or cfg["confidence"]
    if hasattr(values, "array") and hasattr(values, "transform"):
        cell = cell or abs(values.transform.a)
        values = values.array
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValidationError(f"gi_star_array: values must be 2-D, got shape {x.shape}")
    valid = ~np.isnan(x)
    n = int(valid.sum())
    if n < 3:
        raise ValidationError(f"gi_star_array: needs at least 3 cells with values, got {n}")
    x0 = np.where(valid, x, 0.0)
    fp = _footprint(neighbours, cell).astype(float)
    if fp.shape[0] <= 15:
        lag = ndimage.correlate(x0, fp, mode="constant", cval=0.0)
        wsum = ndimage.correlate(valid.astype(float), fp, mode="constant", cval=0.0)
    else:
        from .density import convolve_same

        lag = convolve_same(x0, fp[::-1, ::-1])
        wsum = np.rint(convolve_same(valid.astype(float), fp[::-1, ::-1]))
    z = np.full(x.shape, np.nan)
    p = np.full(x.shape, np.nan)
    z[valid], p[valid] = _gi_from_sums(x0[valid], lag[valid], wsum[valid], n)
    q = fdr_bh(p) if fdr else p.copy()
    return {"z": z, "p": p, "q": q, "bin": gi_classes(z, q, confidence)}


def count_array(points, cell=None, bounds=None, weight=None, settings=None):
    """Number of points (or sum of ``weight``) per square cell, as an array.

    The light-weight form of :func:`grid_cells` for millions of cells (no
    polygons): feed it to :func:`gi_star_array`.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
    cell : float, optional
        Cell size in metres (default ``density.hotspots.cell_m``).
    bounds : tuple, optional
        ``(minx, miny, maxx, maxy)``, snapped outwards to multiples of
        ``cell``; default the points' bounds.  Points outside are ignored.
    weight : str or array-like, optional

    Returns
    -------
    (numpy.ndarray, affine.Affine)
        float64 array ``(rows, cols)``, row 0 north, and its transform.
    """
    from .density import point_weights

    cell = float(cell or _cfg(settings, "hotspots")["cell_m"])
    x, y = point_xy(points, "count_array")
    if bounds is None:
        if not len(x):
            raise ValidationError("count_array: no points and no bounds")
        bounds = (x.min(), y.min(), x.max() + 1e-6, y.max() + 1e-6)
    transform, rows, cols = grid_spec(bounds, cell)
    w = None if weight is None else point_weights(points, weight, "count_array")[0]
    return _bin_cells(x, y, w, transform, rows, cols).reshape(rows, cols), transform


def _bin_cells(x, y, w, transform, rows, cols):
    cell = transform.a
    col = np.floor((x - transform.c) / cell).astype(np.int64)
    row = np.floor((transform.f - y) / cell).astype(np.int64)
    ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    return np.bincount(
        row[ok] * cols + col[ok], weights=None if w is None else w[ok], minlength=rows * cols
    ).astype(float)


def grid_cells(points, cell=None, weight=None, bounds=None, area=None, keep_empty=True, settings=None):
    """Square cells in metres with the number of points (and a weight sum).

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points (EPSG:4549).
    cell : float, optional
        Cell size in metres (default ``density.hotspots.cell_m``, 250).
        Cell edges are multiples of it.
    weight : str, optional
        Column summed per cell into ``value`` (e.g. ``"tax"``).
    bounds : tuple, optional
        ``(minx, miny, maxx, maxy)``; default the bounds of ``area`` or of
        the points.
    area : GeoDataFrame or geometry, optional
        Keep only cells whose centre lies in it (the study area: cells with
        no firm inside the county count as zeros for Gi*).
    keep_empty : bool
        Keep cells with no point (needed for Gi* on counts).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``row``, ``col`` (north-up grid position), ``x``, ``y``
        (centre), ``count``, ``value`` (weight sum, when ``weight`` is given)
        and the square ``geometry``, in EPSG:4549.  ``attrs["transform"]``
        holds the grid's affine transform.
    """
    import geopandas as gpd
    import shapely

    from .density import grid_clip_mask, point_weights

    cfg = _cfg(settings, "hotspots")
    cell = float(cell or cfg["cell_m"])
    x, y = point_xy(points, "grid_cells")
    if bounds is None:
        if area is not None:
            a = area_in_working(area, "grid_cells(area)")
            bounds = tuple(a.total_bounds) if hasattr(a, "total_bounds") else a.bounds
        elif len(x):
            bounds = (x.min(), y.min(), x.max() + 1e-6, y.max() + 1e-6)
        else:
            raise ValidationError("grid_cells: no points and no bounds")
    transform, rows, cols = grid_spec(bounds, cell)
    counts = _bin_cells(x, y, None, transform, rows, cols).astype(np.int64)
    vals = None
    if weight is not None:
        w, _ = point_weights(points, weight, "grid_cells")
        vals = _bin_cells(x, y, w, transform, rows, cols)
    keep = np.ones(rows * cols, dtype=bool)
    if area is not None:
        keep &= grid_clip_mask(area, transform, rows, cols).ravel()
    if not keep_empty:
        keep &= counts > 0
    idx = np.flatnonzero(keep)
    r, c = np.divmod(idx, cols)
    x0 = transform.c + c * cell
    y1 = transform.f - r * cell
    data = {
        "row": r.astype(np.int32),
        "col": c.astype(np.int32),
        "x": x0 + cell / 2,
        "y": y1 - cell / 2,
        "count": counts[idx].astype(np.int64),
    }
    if vals is not None:
        data["value"] = vals[idx]
    out = gpd.GeoDataFrame(data, geometry=shapely.box(x0, y1 - cell, x0 + cell, y1), crs=WORKING_CRS)
    out.attrs["transform"] = transform
    out.attrs["shape"] = (rows, cols)
    return out


def _sparse_weights(cells, neighbours):
    """Binary weights (self included) between polygons, as a CSR matrix."""
    import shapely
    from scipy import sparse

    geoms = np.asarray(cells.geometry.values)
    tree = shapely.STRtree(geoms)
    if neighbours in ("queen", "rook", None):
        i, j = tree.query(geoms, predicate="intersects")
        if neighbours == "rook":
            inter = shapely.intersection(geoms[i], geoms[j])
            keep = (i == j) | (shapely.get_dimensions(inter) >= 1)
            i, j = i[keep], j[keep]
    else:
        try:
            dist = float(neighbours)
        except (TypeError, ValueError):
            raise ValidationError(
                f"gi_star: neighbours must be 'queen', 'rook' or a distance in metres, got {neighbours!r}"
            ) from None
        cent = shapely.centroid(geoms)
        i, j = tree.query(cent, predicate="dwithin", distance=dist)  # polygons near each centre
        keep = shapely.distance(cent[i], cent[j]) <= dist
        i, j = i[keep], j[keep]
    n = len(geoms)
    w = sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    w.data[:] = 1.0  # duplicates collapse to binary
    return w


def gi_star(cells, value_col="count", neighbours=None, fdr=None, confidence=None, settings=None):
    """Getis-Ord Gi* hot and cold spots of cells (square grid or hexagons).

    Binary weights with the cell itself included (Gi*), z-scores as esda's
    ``G_Local(star=True, transform="B")``, two-sided normal p-values (esda's
    ``p_norm`` is the one-sided half of them), Benjamini-Hochberg q-values.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        One row per cell of the study area, zeros included (see
        :func:`grid_cells`).  Cells from :func:`grid_cells` (columns ``row``
        and ``col`` and ``attrs["shape"]``) use the fast array path; other
        polygons (e.g. H3 hexagons) get sparse weights from an STRtree.
    value_col : str
        Counts or values (e.g. ``"count"``, ``"value"``, 亩均税收).
    neighbours : "queen", "rook" or float
        Touching cells (edges or corners), cells sharing an edge, or cells
        whose centroids are within this many metres.  Default
        ``density.hotspots.neighbours``.
    fdr, confidence, settings
        As :func:`gi_star_array`.

    Returns
    -------
    pandas.DataFrame
        (A 2-D array or a DensityGrid given as ``cells`` is passed on to
        :func:`gi_star_array`, which returns a dict of arrays.)
        Aligned to ``cells.index``: ``gi_z``, ``gi_p``, ``gi_q`` (FDR-adjusted
        when ``fdr``, else equal to ``gi_p``), ``gi_bin`` (+3..-3) and
        ``gi_class`` (Chinese label, :data:`GI_CLASSES`).
    """
    if isinstance(cells, np.ndarray) or (hasattr(cells, "array") and hasattr(cells, "transform")):
        return gi_star_array(cells, neighbours, fdr=fdr, confidence=confidence, settings=settings)
    cfg = _cfg(settings, "hotspots")
    neighbours = cfg["neighbours"] if neighbours is None else neighbours
    fdr = cfg["fdr"] if fdr is None else fdr
    confidence = confidence or cfg["confidence"]
    _require(cells, [value_col], "gi_star")
    x = cells[value_col].to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(x).any():
        bad = list(cells.index[np.isnan(x)][:10])
        raise ValidationError(f"gi_star: '{value_col}' is missing in rows {bad}; fill or drop them")
    n = len(x)
    if n < 3:
        raise ValidationError(f"gi_star: needs at least 3 cells, got {n}")
    shape = cells.attrs.get("shape")
    transform = cells.attrs.get("transform")
    if shape is not None and {"row", "col"} <= set(cells.columns):
        grid = np.full(shape, np.nan)
        r = cells["row"].to_numpy()
        c = cells["col"].to_numpy()
        grid[r, c] = x
        cell = abs(transform.a) if transform is not None else None
        res = gi_star_array(grid, neighbours, cell, fdr=False, settings=settings)
        z, p = res["z"][r, c], res["p"][r, c]
    else:
        w = _sparse_weights(_in_working(cells), neighbours)
        lag = w @ x
        wsum = np.asarray(w.sum(axis=1)).ravel()
        z, p = _gi_from_sums(x, lag, wsum, n)
    q = fdr_bh(p) if fdr else p
    b = gi_classes(z, q, confidence)
    return pd.DataFrame(
        {"gi_z": z, "gi_p": p, "gi_q": q, "gi_bin": b, "gi_class": pd.Series(b).map(GI_CLASSES).to_numpy()},
        index=cells.index,
    )


def hot_spots(points, cell=None, weight=None, area=None, neighbours=None, fdr=None, settings=None):
    """Gi* hot and cold spots of a point layer on square cells.

    Counts (or sums ``weight`` over) the points per cell with
    :func:`grid_cells` (all cells of ``area``, empty ones included) and
    runs :func:`gi_star` on ``count`` (or ``value``).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`grid_cells` plus those of :func:`gi_star`.
    """
    cells = grid_cells(points, cell=cell, weight=weight, area=area, settings=settings)
    gi = gi_star(cells, "value" if weight is not None else "count", neighbours, fdr, settings=settings)
    out = cells.join(gi)
    out.attrs.update(cells.attrs)
    return out


# --------------------------------------------------------------------------- DBSCAN


def _dbscan(xy, eps, min_samples, weights=None):
    """DBSCAN labels of the rows of ``xy`` (-1 noise), as scikit-learn's ``DBSCAN`` gives them.

    Neighbours are the points within ``eps`` (the point itself included,
    squared distances compared with ``eps**2`` as sklearn's k-d tree does);
    a point is core when its neighbours (or their ``weights``) reach
    ``min_samples``.  Clusters are the connected groups of core points,
    numbered by their first core point; a border point joins the
    lowest-numbered cluster among its core neighbours, as sklearn's
    depth-first expansion (cluster after cluster, in that order) leaves it.
    scipy's k-d tree instead of sklearn's: scikit-learn (with scipy.stats)
    takes half a second to import.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(xy)
    pairs = cKDTree(xy).query_pairs(eps, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    mass = w + np.bincount(i, weights=w[j], minlength=n) + np.bincount(j, weights=w[i], minlength=n)
    core = mass >= min_samples
    both = core[i] & core[j]
    graph = coo_matrix((np.ones(int(both.sum()), dtype=np.int8), (i[both], j[both])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    labels = np.full(n, -1, dtype=np.int64)
    core_idx = np.flatnonzero(core)
    if len(core_idx):
        # clusters numbered in the order of their first (lowest-index) core point
        _, first = np.unique(comp[core_idx], return_index=True)
        number = np.empty(comp.max() + 1, dtype=np.int64)
        number[comp[core_idx[np.sort(first)]]] = np.arange(len(first))
        labels[core_idx] = number[comp[core_idx]]
        border = np.full(n, np.iinfo(np.int64).max)
        for a, b in ((i, j), (j, i)):  # a core, b not: b may join a's cluster
            hit = core[a] & ~core[b]
            np.minimum.at(border, b[hit], labels[a[hit]])
        reached = ~core & (border < np.iinfo(np.int64).max)
        labels[reached] = border[reached]
    return labels


def dbscan_labels(points, eps=None, min_samples=None, snap=None, settings=None):
    """DBSCAN cluster of each point, on metre coordinates.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
    eps : float, optional
        Neighbourhood radius in metres (default ``density.dbscan.eps_m``).
    min_samples : int, optional
        Points (self included) within ``eps`` of a core point
        (default ``density.dbscan.min_samples``).
    snap : None, False or float
        ``False``: exact DBSCAN.  A number: snap points to cells of that many
        metres and run DBSCAN on the occupied cells weighted by their counts
        (positions move by up to 0.71 cell; memory then scales with occupied
        cells, not points).  ``None``: snap to ``snap_fraction * eps`` only
        above ``snap_above_n`` points.

    Returns
    -------
    pandas.Series of int
        Aligned to ``points.index``; ``-1`` is noise, clusters are numbered
        from 0 by decreasing size.

    Notes
    -----
    Exact DBSCAN stores every point's neighbourhood: with ~1000 firms
    within ``eps`` of each other (Yiwu's market districts at 1e6 entities)
    that is 1e9 pairs, hence the snapping above ``snap_above_n``.
    """
    cfg = _cfg(settings, "dbscan")
    eps = float(eps or cfg["eps_m"])
    min_samples = int(min_samples or cfg["min_samples"])
    x, y = point_xy(points, "dbscan_labels")
    n = len(x)
    if n == 0:
        return pd.Series([], index=points.index, dtype=np.int64, name="cluster")
    if snap is None:
        snap = cfg["snap_fraction"] * eps if n > cfg["snap_above_n"] else False
    if snap:
        snap = float(snap)
        ix = np.floor(x / snap).astype(np.int64)
        iy = np.floor(y / snap).astype(np.int64)
        key = (ix - ix.min()) * (int(iy.max() - iy.min()) + 1) + (iy - iy.min())
        uniq, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
        first = np.zeros(len(uniq), dtype=np.int64)
        first[inv[::-1]] = np.arange(n)[::-1]
        xy = np.column_stack([(ix[first] + 0.5) * snap, (iy[first] + 0.5) * snap])
        lab = _dbscan(xy, eps, min_samples, weights=cnt)[inv]
    else:
        lab = _dbscan(np.column_stack([x, y]), eps, min_samples)
    # renumber by decreasing size
    ok = lab >= 0
    if ok.any():
        sizes = np.bincount(lab[ok])
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        lab = np.where(ok, rank[np.where(ok, lab, 0)], -1)
    return pd.Series(lab.astype(np.int64), index=points.index, name="cluster")


def dbscan_clusters(
    points,
    eps=None,
    min_samples=None,
    platforms=None,
    parks=None,
    chain_col="chain",
    tax_col="tax",
    output_col="revenue",
    zone_col="name_zh",
    hull=None,
    snap=None,
    settings=None,
):
    """Density-based clusters of enterprises as polygons.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Enterprises in EPSG:4549 with ``chain_col``, ``tax_col`` and
        ``output_col`` (missing columns give NaN sums / 未分类).
    eps, min_samples, snap
        As :func:`dbscan_labels`.
    platforms, parks : geopandas.GeoDataFrame, optional
        Area layers with a ``zone_col`` name column; each cluster gets the
        one it overlaps most.
    hull : {"convex", "concave"}, optional
        Outline of the members (default ``density.dbscan.hull``), buffered by
        ``density.dbscan.hull_buffer_m``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cluster (ordered by size, noise excluded), EPSG:4549:
        ``cluster``, ``n_firms``, ``dominant_chain``, ``dominant_share``
        (of members), ``chain_counts`` (e.g. ``"光电显示 12、纺织服装 3"``),
        ``tax``, ``output`` (sums of ``tax_col``/``output_col``),
        ``area_mu``, and when given ``platform``/``platform_share`` and
        ``park``/``park_share`` (share of the cluster area inside it).
    """
    import geopandas as gpd
    import shapely

    cfg = _cfg(settings, "dbscan")
    hull = hull or cfg["hull"]
    if hull not in ("convex", "concave"):
        raise ValidationError(f"dbscan_clusters: hull must be 'convex' or 'concave', got {hull!r}")
    lab = dbscan_labels(points, eps, min_samples, snap, settings).to_numpy()
    member = lab >= 0
    x, y = point_xy(points, "dbscan_clusters")
    k = int(lab.max()) + 1 if member.any() else 0
    cols = ["cluster", "n_firms", "dominant_chain", "dominant_share", "chain_counts", "tax", "output", "area_mu"]
    if k == 0:
        empty = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=WORKING_CRS)
        return empty
    lm = lab[member]
    order = np.argsort(lm, kind="stable")
    mp = shapely.multipoints(np.column_stack([x[member], y[member]])[order], indices=lm[order])
    if hull == "convex":
        geom = shapely.convex_hull(mp)
    else:
        geom = shapely.concave_hull(mp, ratio=float(cfg["concave_ratio"]))
    buf = float(cfg["hull_buffer_m"])
    if buf > 0:
        geom = shapely.buffer(geom, buf)
    n_firms = np.bincount(lm, minlength=k)

    chains = _chains(points, chain_col) if chain_col in points.columns else pd.Series(
        UNCLASSIFIED, index=points.index
    )
    ct = pd.crosstab(lm, chains.to_numpy()[member])
    ct = ct.reindex(range(k), fill_value=0)
    long = ct.stack()
    long = long[long > 0].reset_index()
    long.columns = ["cluster", "chain", "n"]
    long = long.sort_values(["cluster", "n", "chain"], ascending=[True, False, True])
    counts_txt = long.assign(t=long["chain"].astype(str) + " " + long["n"].astype(str)).groupby(
        "cluster"
    )["t"].agg("、".join)
    dom = long.drop_duplicates("cluster").set_index("cluster")

    def _sum(col):
        if col not in points.columns:
            return np.full(k, np.nan)
        v = points[col].to_numpy(dtype=float, na_value=np.nan)[member]
        return np.bincount(lm, weights=np.nan_to_num(v), minlength=k)

    out = gpd.GeoDataFrame(
        {
            "cluster": np.arange(k),
            "n_firms": n_firms,
            "dominant_chain": dom["chain"].reindex(range(k)).to_numpy(),
            "dominant_share": (dom["n"].reindex(range(k)).to_numpy() / n_firms),
            "chain_counts": counts_txt.reindex(range(k)).to_numpy(),
            "tax": _sum(tax_col),
            "output": _sum(output_col),
            "area_mu": shapely.area(geom) / M2_PER_MU,
        },
        geometry=geom,
        crs=WORKING_CRS,
    )
    for label, layer in (("platform", platforms), ("park", parks)):
        if layer is not None:
            layer = _in_working(layer)
            _require(layer, [zone_col], "dbscan_clusters")
            best = largest_overlap(out.geometry, layer, zone_col)
            out[label] = best[zone_col].to_numpy()
            out[f"{label}_share"] = best["share"].to_numpy()
    return out


# --------------------------------------------------------------------------- LQ


def _zone_pairs(points, zones, zone_col, who):
    """(point position, zone name) for every point inside a zone."""
    import shapely

    zones = _in_working(zones)
    _require(zones, [zone_col], who)
    x, y = point_xy(points, who)
    pts = shapely.points(x, y)
    i, j = shapely.STRtree(np.asarray(zones.geometry.values)).query(pts, predicate="intersects")
    return i, j, zones


def location_quotient(points, zones, chain_col="chain", zone_col="name_zh", measure="count"):
    """Location quotient of each industry chain in each zone.

    ``LQ_ij = (e_ij / e_i) / (E_j / E)``: the chain's share of the zone's
    firms (or output) over its share in the whole study area, where the
    study area is all the ``points`` given (e.g. the county), including
    points outside every zone.  LQ > 1: the chain is over-represented.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Enterprises with ``chain_col`` (and the ``measure`` column).
    zones : geopandas.GeoDataFrame
        Platforms, parks or townships with a ``zone_col`` name.
    measure : "count" or str
        Count firms, or sum a column such as ``"revenue"``, ``"tax"``
        (missing values count 0).

    Returns
    -------
    pandas.DataFrame
        One row per zone × chain (zeros included): ``zone_col``, ``chain``,
        ``value`` (e_ij), ``zone_total`` (e_i), ``chain_total`` (E_j),
        ``total`` (E), ``lq`` (NaN when the zone holds nothing).  Points in
        overlapping zones count in each.
    """
    _require(points, [chain_col] + ([] if measure == "count" else [measure]), "location_quotient")
    chains = _chains(points, chain_col)
    if measure == "count":
        v = np.ones(len(points))
    else:
        v = np.nan_to_num(points[measure].to_numpy(dtype=float, na_value=np.nan))
    i, j, zones = _zone_pairs(points, zones, zone_col, "location_quotient")
    zname = zones[zone_col].astype(str).to_numpy()
    chain_total = pd.Series(v).groupby(chains.to_numpy()).sum()
    total = float(v.sum())
    pairs = pd.DataFrame({"zone": zname[j], "chain": chains.to_numpy()[i], "v": v[i]})
    e_ij = pairs.groupby(["zone", "chain"])["v"].sum()
    zones_u = pd.unique(zname)
    full = pd.MultiIndex.from_product([zones_u, chain_total.index], names=["zone", "chain"])
    e_ij = e_ij.reindex(full, fill_value=0.0)
    out = e_ij.rename("value").reset_index()
    out["zone_total"] = out.groupby("zone")["value"].transform("sum")
    out["chain_total"] = out["chain"].map(chain_total).astype(float)
    out["total"] = total
    with np.errstate(divide="ignore", invalid="ignore"):
        lq = (out["value"] / out["zone_total"]) / (out["chain_total"] / total)
    out["lq"] = lq.where(out["zone_total"] > 0)
    return out.rename(columns={"zone": zone_col})


def _lead_list(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, (list, tuple, set, np.ndarray, pd.Series)):
        return [str(s).strip() for s in v if str(s).strip()]
    return [s.strip() for s in re.split(r"[、,，;；/|]+", str(v)) if s.strip()]


def share_in_planned_platform(
    points,
    platforms,
    chain_col="chain",
    lead_col="lead_industries",
    zone_col="name_zh",
    output_col="revenue",
):
    """Share of each chain's firms and output inside its planned platform(s).

    A firm counts as "in its planned platform" when it lies in a platform
    whose ``lead_col`` lists its chain (e.g. 光电显示 in 光电创新城).

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Enterprises with ``chain_col`` and ``output_col``.
    platforms : geopandas.GeoDataFrame
        With ``zone_col`` and ``lead_col`` (a list, or text separated by
        、 , ; / |).

    Returns
    -------
    pandas.DataFrame
        One row per chain found in the points or planned anywhere:
        ``chain``, ``platforms`` (planned platforms, 、-joined; empty when
        none), ``n_firms``, ``n_in_platform``, ``share_firms``, ``output``,
        ``output_in_platform``, ``share_output`` (NaN when the chain has no
        planned platform or no firm/output).
    """
    _require(points, [chain_col], "share_in_planned_platform")
    i, j, platforms = _zone_pairs(points, platforms, zone_col, "share_in_planned_platform")
    _require(platforms, [lead_col], "share_in_planned_platform")
    leads = platforms[lead_col].map(_lead_list).to_numpy()
    names = platforms[zone_col].astype(str).to_numpy()
    plan = pd.DataFrame(
        [(p, c) for p, lst in enumerate(leads) for c in lst], columns=["j", "chain"]
    )  # one row per (platform, lead chain): a short list, not per firm
    chains = _chains(points, chain_col).to_numpy()
    out_v = (
        np.nan_to_num(points[output_col].to_numpy(dtype=float, na_value=np.nan))
        if output_col in points.columns
        else np.full(len(points), np.nan)
    )
    pairs = pd.DataFrame({"i": i, "j": j, "chain": chains[i]}).merge(plan, on=["j", "chain"])
    inside = np.zeros(len(points), dtype=bool)
    inside[pairs["i"].unique()] = True
    df = pd.DataFrame({"chain": chains, "inside": inside, "out": out_v})
    g = df.groupby("chain")
    res = pd.DataFrame(
        {
            "n_firms": g.size(),
            "n_in_platform": g["inside"].sum(),
            "output": g["out"].sum(min_count=1),
            "output_in_platform": df[df["inside"]].groupby("chain")["out"].sum(min_count=1),
        }
    )
    planned = plan.assign(name=names[plan["j"].to_numpy()] if len(plan) else []).groupby("chain")["name"].agg(
        lambda s: "、".join(dict.fromkeys(s))
    )
    res = res.reindex(res.index.union(planned.index))
    res["n_firms"] = res["n_firms"].fillna(0).astype(int)
    res["n_in_platform"] = res["n_in_platform"].fillna(0).astype(int)
    if output_col in points.columns:
        res["output_in_platform"] = res["output_in_platform"].fillna(0.0)
    res["platforms"] = planned.reindex(res.index).fillna("")
    has_plan = res["platforms"] != ""
    with np.errstate(divide="ignore", invalid="ignore"):
        res["share_firms"] = (res["n_in_platform"] / res["n_firms"]).where(has_plan & (res["n_firms"] > 0))
        res["share_output"] = (res["output_in_platform"] / res["output"]).where(has_plan & (res["output"] > 0))
    res.index.name = "chain"
    cols = ["platforms", "n_firms", "n_in_platform", "share_firms", "output", "output_in_platform", "share_output"]
    return res[cols].reset_index()


# --------------------------------------------------------------------------- Clark-Evans


def clark_evans(points, area, chain_col="chain", edge_correction=None, include_all=True, settings=None):
    """Clark-Evans nearest-neighbour index per chain: does it cluster at all?

    ``R = r_A / r_E`` with ``r_A`` the mean distance of each firm to its
    nearest firm of the same chain and ``r_E = 0.5 / sqrt(n / A)`` its
    expectation under complete spatial randomness; ``z = (r_A - r_E) / SE``
    with ``SE = 0.26136 / sqrt(n^2 / A)``.  R < 1 clustered, R ≈ 1 random,
    R > 1 dispersed (2.149 for a hexagonal lattice).

    With ``edge_correction="donnelly"`` (Donnelly 1978, needs the area's
    perimeter P): ``r_E = 0.5 sqrt(A/n) + (0.0514 + 0.041/sqrt(n)) P / n``
    and ``SE = sqrt(0.0703 A / n^2 + 0.037 P sqrt(A / n^5))``.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points inside ``area`` (not filtered here).
    area : float, GeoDataFrame or geometry
        Study area, in m² when a number.
    chain_col : str or None
        Group by this column; ``None``: all points as one group.
    edge_correction : {"none", "donnelly"}, optional
        Default ``density.clark_evans.edge_correction``.
    include_all : bool
        Add a row ``"全部"`` for all points together.

    Returns
    -------
    pandas.DataFrame
        Indexed by chain: ``n``, ``area_km2``, ``mean_nn_m``,
        ``expected_nn_m``, ``R``, ``z``, ``p`` (two-sided), ``pattern``
        (聚集 / 随机 / 均匀, at ``density.clark_evans.alpha``).  NaN for
        fewer than 2 points.
    """
    from scipy.spatial import cKDTree
    from scipy.special import ndtr

    cfg = _cfg(settings, "clark_evans")
    corr = edge_correction or cfg["edge_correction"]
    if corr not in ("none", "donnelly"):
        raise ValidationError(f"clark_evans: edge_correction must be 'none' or 'donnelly', got {corr!r}")
    alpha = float(cfg["alpha"])
    if isinstance(area, (int, float, np.floating)):
        A, P = float(area), np.nan
        if corr == "donnelly":
            raise ValidationError("clark_evans: the Donnelly correction needs an area geometry (perimeter)")
    else:
        import shapely

        g = area_in_working(area, "clark_evans(area)")
        geom = g.union_all() if hasattr(g, "union_all") else g
        A, P = float(shapely.area(geom)), float(shapely.length(geom))
    if not A > 0:
        raise ValidationError(f"clark_evans: the study area must be positive, got {A} m²")
    x, y = point_xy(points, "clark_evans")
    xy = np.column_stack([x, y])
    groups = []
    if include_all or chain_col is None:
        groups.append(("全部", np.ones(len(xy), dtype=bool)))
    if chain_col is not None:
        _require(points, [chain_col], "clark_evans")
        ch = _chains(points, chain_col).to_numpy()
        for c in pd.unique(ch):
            groups.append((str(c), ch == c))
    rows = []
    for name, sel in groups:
        n = int(sel.sum())
        rec = {"chain": name, "n": n, "area_km2": A / 1e6}
        if n >= 2:
            d, _ = cKDTree(xy[sel]).query(xy[sel], k=2)
            r_a = float(d[:, 1].mean())
            if corr == "donnelly":
                r_e = 0.5 * np.sqrt(A / n) + (0.0514 + 0.041 / np.sqrt(n)) * P / n
                se = np.sqrt(0.0703 * A / n**2 + 0.037 * P * np.sqrt(A / n**5))
            else:
                r_e = 0.5 / np.sqrt(n / A)
                se = 0.26136 / np.sqrt(n * n / A)
            z = (r_a - r_e) / se
            p = float(2 * ndtr(-abs(z)))
            pattern = "随机" if p >= alpha else ("聚集" if r_a < r_e else "均匀")
            rec.update(mean_nn_m=r_a, expected_nn_m=float(r_e), R=r_a / r_e, z=float(z), p=p, pattern=pattern)
        else:
            rec.update(mean_nn_m=np.nan, expected_nn_m=np.nan, R=np.nan, z=np.nan, p=np.nan, pattern="点数不足")
        rows.append(rec)
    return pd.DataFrame(rows).set_index("chain")

"""Classification of a layer's values for colouring, and hexagons for layers over budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .._errors import ConfigError, CRSError
from .text import map_text

__all__ = [
    "column_values",
    "categorical_colours",
    "natural_breaks_spread",
    "classified_colours",
    "hex_aggregate",
    "hexagons_over_budget",
]


def column_values(series):
    """Return a column's values as JSON-ready Python values (dates as text, floats rounded, None for missing)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series.dt.strftime("%Y-%m-%d")
    if pd.api.types.is_float_dtype(series):
        series = series.round(6)
    obj = series.astype(object)
    return obj.where(series.notna(), None).tolist()


def categorical_colours(values, colours, missing, labels=None):
    """(codes, palette, legend entries) for a categorical column."""
    values = pd.Series(values)
    cats = [c for c in colours if (values == c).any()]
    extra = sorted(set(values.dropna().astype(str)) - {str(c) for c in cats})
    codes = pd.Categorical(values, categories=cats).codes.astype(int)
    palette = [colours[c] for c in cats]
    entries = [[colours[c], (labels or {}).get(c, str(c))] for c in cats]
    if extra or (codes < 0).any():
        codes = np.where(codes < 0, len(palette), codes)
        palette.append(missing)
        entries.append([missing, labels.get("__missing__", "其他") if labels else "其他"])
    return codes, palette, entries


def _natural_breaks(values, k):
    """Upper bounds of the ``k`` classes of ``values`` with the least within-class sum of squares.

    Jenks natural breaks, exact: the optimum that mapclassify's
    ``NaturalBreaks`` (the best of 10 randomly started k-means) looks for,
    found deterministically by dynamic programming over the sorted values,
    each layer by divide and conquer (the best start of the last class moves
    right with its end): O(k n log n), 0.15 s for 30 000 values.

    Parameters
    ----------
    values : array-like of float
        Finite values with at least ``k`` distinct ones.
    k : int

    Returns
    -------
    numpy.ndarray
        The ``k`` class maxima, increasing.

    Examples
    --------
    >>> _natural_breaks([1, 2, 3, 10, 11, 12, 30], 3).tolist()
    [3.0, 12.0, 30.0]
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    c = x - x.mean()
    s1 = np.concatenate([[0.0], np.cumsum(c)])
    s2 = np.concatenate([[0.0], np.cumsum(c * c)])

    def cost(j, i):  # sum of squares of x[j..i] about their mean
        d = s1[i + 1] - s1[j]
        return np.maximum(s2[i + 1] - s2[j] - d * d / (i - j + 1), 0.0)

    best = cost(np.zeros(n, dtype=np.int64), np.arange(n))  # x[:i+1] in one class
    starts = []
    for layer in range(1, k):  # x[:i+1] in layer+1 classes, the last one x[j..i]
        new, start = np.full(n, np.inf), np.zeros(n, dtype=np.int64)
        lo, hi, jlo, jhi = (np.array([v]) for v in (layer, n - 1, layer, n - 1))
        while len(lo):  # every open range of ends [lo, hi] at once: solve its middle end
            mid = (lo + hi) // 2
            cnt = np.minimum(jhi, mid) - jlo + 1
            seg = np.repeat(np.arange(len(mid)), cnt)
            j = jlo[seg] + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            val = best[j - 1] + cost(j, mid[seg])
            low = np.minimum.reduceat(val, np.cumsum(cnt) - cnt)
            at = np.flatnonzero(val == low[seg])
            bj = j[at[np.searchsorted(seg[at], np.arange(len(mid)))]]  # first best start
            new[mid], start[mid] = low, bj
            left, right = lo < mid, mid < hi
            lo, hi = np.concatenate([lo[left], mid[right] + 1]), np.concatenate([mid[left] - 1, hi[right]])
            jlo, jhi = np.concatenate([jlo[left], bj[right]]), np.concatenate([bj[left], jhi[right]])
        best = new
        starts.append(start)
    ends = [n - 1]
    for start in reversed(starts):
        ends.append(start[ends[-1]] - 1)
    return x[ends[::-1]]


def natural_breaks_spread(values, k):
    """Exact Jenks breaks (:func:`_natural_breaks`) with no empty or one-value class.

    ``k`` classes when each holds at least two distinct values, else the
    most classes (down to 2) that do; 2 classes are kept as they are (a lone
    far outlier then stays a class of its own).

    Examples
    --------
    >>> natural_breaks_spread([1, 1.1, 1.2, 5, 5.1, 5.2, 9, 9.1, 12], 4).tolist()  # {12} alone at 4
    [1.2, 5.2, 12.0]
    >>> natural_breaks_spread([1, 1.1, 1.2, 5, 5.1, 5.2, 100], 3).tolist()
    [5.2, 100.0]
    >>> natural_breaks_spread([1, 2, 3, 10, 11, 12, 30, 31], 3).tolist()
    [3.0, 12.0, 31.0]
    """
    v = np.asarray(values, dtype=float)
    for kk in range(int(k), 1, -1):
        bins = _natural_breaks(v, kk)
        cls = np.searchsorted(bins, v, side="left")
        distinct = [len(np.unique(v[cls == c])) for c in range(len(bins))]
        if min(distinct) >= 2:
            return bins
    return _natural_breaks(v, 2)


def classified_colours(values, s, lang, cmap=None, unit=""):
    """(codes, palette, legend entries) for a continuous column (mapclassify; NaturalBreaks exact)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(v)
    codes = np.full(len(v), -1)
    palette, entries = [], []
    if ok.any():
        k = int(min(s["classify_k"], len(np.unique(v[ok]))))
        if k >= 2:
            scheme = s["classify_scheme"]
            if str(scheme).lower().replace("_", "") == "naturalbreaks":
                # deterministic, and no scikit-learn (half a second to import) to run; fewer
                # classes while one would hold a single value (a legend "17.67 – 17.67")
                bins = natural_breaks_spread(v[ok], k)
                codes[ok] = np.searchsorted(bins, v[ok], side="left")  # (bins[c-1], bins[c]] -> c
            else:
                bins, codes[ok] = _mapclassify(v[ok], scheme, k)
        else:
            bins = np.array([v[ok].max()])
            codes[ok] = 0
        cm = colormaps[cmap or s["value_cmap"]]
        nb = len(bins)
        palette = [to_hex(cm(0.15 + 0.85 * i / max(nb - 1, 1))) for i in range(nb)]
        lows = np.concatenate([[v[ok].min()], bins[:-1]])
        entries = [[palette[i], f"{lows[i]:,.2f} – {bins[i]:,.2f}" + (f" {unit}" if unit else "")]
                   for i in range(nb)]
    if (~ok).any():
        codes = np.where(codes < 0, len(palette), codes)
        palette.append(s["missing_colour"])
        entries.append([s["missing_colour"], map_text("missing", lang)])
    return codes, palette, entries


def _mapclassify(v, scheme, k):
    """(class upper bounds, class of each value) by a mapclassify scheme."""
    import mapclassify
    from threadpoolctl import threadpool_limits

    try:
        # one OpenMP thread: sklearn's k-means (in some schemes) otherwise spins
        # threads for a few thousand values, 10-100x the CPU on a busy machine
        with threadpool_limits(limits=1, user_api="openmp"):
            cls = mapclassify.classify(v, scheme, k=k)
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"maps.classify_scheme: {scheme!r} failed ({exc})") from None
    return np.asarray(cls.bins, dtype=float), np.asarray(cls.yb)


def hex_aggregate(gdf, side_m, category=None, value=None):
    """Aggregate features to hexagons (by their centroid), in EPSG:4549.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Points or polygons in a projected CRS (metres).
    side_m : float
        Side length of the (pointy-top) hexagons in metres.
    category : str, optional
        A column; each hexagon gets the category covering most area (or the
        most points) in ``dominant``.
    value : str, optional
        A numeric column; each hexagon gets its mean in ``mean_value``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied hexagon: ``n`` (features), ``area_mu`` (summed
        area of the features, 0 for points), ``dominant``, ``mean_value``
        (when asked), hexagon geometry; same CRS as ``gdf``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0, 10, 5000], [0, 10, 0]), crs="EPSG:4549")
    >>> h = hex_aggregate(pts, 1000)
    >>> sorted(h["n"].tolist())
    [1, 2]
    """
    import geopandas as gpd

    from ..crs import M2_PER_MU

    if gdf.crs is not None and gdf.crs.is_geographic:
        raise CRSError("hex_aggregate: project the layer to EPSG:4549 first")
    geoms = gdf.geometry.values
    c = shapely.centroid(np.asarray(geoms))
    x, y = shapely.get_x(c), shapely.get_y(c)
    side = float(side_m)
    q = (np.sqrt(3) / 3 * x - y / 3) / side
    r = (2 / 3 * y) / side
    s_ = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s_)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s_)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    area = np.asarray(shapely.area(np.asarray(geoms))) / M2_PER_MU
    df = pd.DataFrame({"q": rq.astype(np.int64), "r": rr.astype(np.int64), "area_mu": area})
    agg = {"n": ("area_mu", "size"), "area_mu": ("area_mu", "sum")}
    if value is not None:
        df["v"] = pd.to_numeric(gdf[value], errors="coerce").to_numpy()
        agg["mean_value"] = ("v", "mean")
    out = df.groupby(["q", "r"]).agg(**agg).reset_index()
    if category is not None:
        df["cat"] = gdf[category].to_numpy()
        weight = np.where(df["area_mu"] > 0, df["area_mu"], 1.0)
        by = df.assign(w=weight).groupby(["q", "r", "cat"], dropna=False)["w"].sum().reset_index()
        top = by.sort_values("w", ascending=False).drop_duplicates(["q", "r"])
        out = out.merge(top[["q", "r", "cat"]].rename(columns={"cat": "dominant"}), on=["q", "r"], how="left")
    cx = side * np.sqrt(3) * (out["q"].to_numpy() + out["r"].to_numpy() / 2)
    cy = side * 1.5 * out["r"].to_numpy()
    ang = np.deg2rad(30 + 60 * np.arange(7))
    ring = np.stack([cx[:, None] + side * np.cos(ang), cy[:, None] + side * np.sin(ang)], axis=-1)
    polys = shapely.polygons(ring)
    return gpd.GeoDataFrame(out.drop(columns=["q", "r"]), geometry=polys, crs=gdf.crs)


def _aggregate_to_budget(g, budget, st, category=None, value=None):
    side = float(st["settings"]["hex_side_m"])
    agg = hex_aggregate(g, side, category=category, value=value)
    while len(agg) > budget:
        side *= 2
        agg = hex_aggregate(g, side, category=category, value=value)
    return agg, side


def hexagons_over_budget(g, name, budget, st, *, points, category, value, unit):
    """A layer over its display budget, aggregated to hexagons, and how to show it.

    Returns
    -------
    tuple
        ``(hexagons, note, fields, category, value, unit, count_title)``:
        the renamed hexagon frame, the note shown under the legend, the
        popup fields, the columns to colour by (``_dom`` / ``_mean`` /
        ``_n``), and the legend title when the hexagons are coloured by
        their count (None otherwise).
    """
    lang = st["lang"]
    agg, side = _aggregate_to_budget(g, budget, st, category=category, value=value)
    word = "家" if points else "个"
    note = (f"{name}: {len(g):,} {word}要素超过显示上限 {budget:,},已按边长 {side:,.0f} m 六边形汇总"
            if lang != "en" else
            f"{name}: {len(g):,} features exceed the display budget of {budget:,}; "
            f"aggregated to hexagons of side {side:,.0f} m")
    hexes = agg.rename(columns={"n": "_n", "area_mu": "_area_mu", "mean_value": "_mean", "dominant": "_dom"})
    fields = [["_n", map_text("n_features", lang), "", 0]]
    if not points:
        fields.append(["_area_mu", map_text("area_mu", lang), "亩" if lang != "en" else "mu", 1])
    count_title = None
    if category is not None:
        fields.append(["_dom", map_text("dominant", lang), "", None])
        category = "_dom"
    if value is not None:
        fields.append(["_mean", map_text("mean_value", lang), unit, 2])
        value = "_mean"
    elif category is None:
        value, unit = "_n", ""
        count_title = f"{name} ({map_text('count', lang)})"
    return hexes, note, fields, category, value, unit, count_title

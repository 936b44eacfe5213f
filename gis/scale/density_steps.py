"""Kernel density from partitioned points: sparse binning per partition, one grid.

Each partition bins its points on the one global grid; the binned masses
are summed pairwise on the workers and convolved band of rows by band.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np

from .._errors import ValidationError
from ..config import load_settings
from ..crs import WORKING_CRS
from .cluster import engine_settings, submit_each, partition_futures
from .partitions import ORD

__all__ = ["density_grids", "density_of_parts", "points_task"]



def _bin_task(points, chain_col, spec):
    """Counts per chain of one partition, linearly binned on the global padded grid.

    Returns ``({name: binned}, {chain: first row})`` where ``binned`` is the
    sparse ``(flat index, mass)`` of :func:`gis.density.linear_bin_sparse`
    (``"全部"``) or ``((flat index, mass), n_points)`` (a chain): memory
    follows the points, never the province-wide grid.
    """
    from .. import density

    if points is None or not len(points):
        return {}, {}
    x, y = density.point_xy(points)
    chains = points[chain_col].astype(object).where(points[chain_col].notna(), "未分类")
    x0, ytop, cell, rows, cols = spec
    out, first = {}, {}
    w = np.ones(len(x))
    out["全部"] = density.linear_bin_sparse(x, y, w, x0, ytop, cell, rows, cols)
    ords = points[ORD].to_numpy()
    codes, names = chains.factorize()
    for c, name in enumerate(names):
        sel = codes == c
        out[str(name)] = (
            density.linear_bin_sparse(x[sel], y[sel], w[sel], x0, ytop, cell, rows, cols),
            int(sel.sum()))
        first[str(name)] = int(ords[sel].min())
    return out, first


def _merge_bins(a, b):
    """Sum of two :func:`_bin_task` results (sparse binned masses, counts, first rows)."""
    def add(u, v):  # two sorted sets of cells: the union, masses added
        idx = np.union1d(u[0], v[0])
        mass = np.zeros(len(idx))
        mass[np.searchsorted(idx, u[0])] += u[1]
        mass[np.searchsorted(idx, v[0])] += v[1]
        return idx, mass

    out, first = dict(a[0]), dict(a[1])
    for name, val in b[0].items():
        if name not in out:
            out[name] = val
        elif name == "全部":
            out[name] = add(out[name], val)
        else:
            out[name] = (add(out[name][0], val[0]), out[name][1] + val[1])
    for name, f in b[1].items():
        first[name] = min(first.get(name, f), f)
    return out, first


def _bounds_task(points):
    from .. import density

    if points is None or not len(points):
        return None
    x, y = density.point_xy(points)
    return (x.min(), y.min(), x.max(), y.max())


def density_grids(client, points, chain_col="chain", clip=None, bounds=None, settings=None,
                  npartitions=None, write_dir=None):
    """Kernel density per chain (and ``"全部"``) as :func:`gis.density.density_by_chain`.

    Each partition bins its points on the one global grid (sparse: only the
    non-empty cells); the binned masses are summed pairwise on the workers
    and convolved by :mod:`gis.density` band of rows by band of rows (the
    summed mass is handed to it as points at the cell centres, where linear
    binning is exact).  Equal to the in-memory grids within float32 rounding.

    Parameters
    ----------
    client : distributed.Client
    points : GeoDataFrame or dask_geopandas.GeoDataFrame
        Points (EPSG:4549) with ``chain_col``.
    clip, bounds, settings
        As :func:`gis.density.density_by_chain` (counts, no weight).
    npartitions : int, optional
        Partitions when ``points`` is in memory (Hilbert order); default
        ``engine.hilbert_partitions`` or 4 × workers.
    write_dir : str or Path, optional
        The workers write each grid as GeoTIFF here (``000.tif`` = ``"全部"``,
        then the chains in output order), band by band, and nothing but a
        summary reaches the client: for grids larger than memory.

    Returns
    -------
    dict of str -> DensityGrid
        ``"全部"`` first, then chains by decreasing number of points; with
        ``write_dir``, ``{chain: {"chain", "n_points", "path", "mass"}}``
        (read a grid back with :func:`gis.density.read_geotiff`).
    """
    settings = settings or load_settings()
    cfg = engine_settings(settings)
    if isinstance(points, gpd.GeoDataFrame):
        import dask_geopandas

        pts = points[[chain_col, points.geometry.name]].copy()
        pts[ORD] = np.arange(len(pts), dtype=np.int64)
        pts.attrs = {}
        n = int(npartitions or cfg.get("hilbert_partitions")
                or 4 * max(len(client.scheduler_info()["workers"]), 1))
        ddf = dask_geopandas.from_geopandas(pts, npartitions=max(1, min(n, len(pts) or 1)))
    else:
        ddf = points
        if ORD not in ddf.columns:
            raise ValidationError(f"density_grids: dask points need an '{ORD}' column "
                                  "(see write_partitioned)")
    parts = partition_futures(client, ddf)
    return density_of_parts(client, parts, chain_col, clip, bounds, settings, write_dir)


def _one_chain(result, name):
    """One chain's entry of a :func:`_merge_bins` result (what its grid task needs)."""
    return {name: result[0][name]}, {}


def _bin_counts(result):
    binned, first = result
    counts = {n: v[1] for n, v in binned.items() if n != "全部"}
    return counts, first


#: cells per band when a large density grid is convolved band by band
_BAND_CELLS = 500_000


#: GDAL in worker threads (``processes=False``): one density GeoTIFF at a time
_GDAL_LOCK = threading.Lock()


def _chain_grid(result, name, n_points, spec, transform, rows, cols, kde, clip, path=None):
    """One chain's density from the summed binned masses, convolved band of rows by band.

    The bands never hold more than ~:data:`_BAND_CELLS` cells (plus the
    kernel's padding), so a province-wide grid is computed in bounded
    memory; masses sit at cell centres, where linear binning is exact, so
    each band equals its window of the whole-grid convolution.

    Returns
    -------
    DensityGrid, or dict
        The grid; with ``path``, written there as GeoTIFF band by band
        (never whole in memory) and ``{"chain", "n_points", "path", "mass"}``
        returned instead.
    """
    from .. import density

    binned = result[0]
    if name in binned:
        idx, w = binned[name] if name == "全部" else binned[name][0]
    else:
        idx, w = np.zeros(0, dtype=np.int64), np.zeros(0)
    if len(idx) > 1 and not (np.diff(idx) >= 0).all():  # row-major order: bands are slices
        order = np.argsort(idx, kind="stable")
        idx, w = idx[order], w[order]
    cell, pcols = spec[2], spec[4]
    pad = (spec[3] - rows) // 2  # padding rows of the binned grid (kernel half-width + 1)
    tile = int(kde["tile"])
    band = max(8 * pad, int(_BAND_CELLS // max(cols, 1)))
    band = -(-band // tile) * tile  # whole GeoTIFF tiles per band
    args = (float(kde["radius_m"]), kde["kernel"], float(kde.get("gaussian_truncate", 4.0)),
            kde["source"])
    with contextlib.ExitStack() as stack:
        write = arr = None
        if path is not None:
            stack.enter_context(_GDAL_LOCK)
            write = stack.enter_context(density.geotiff_rows(path, transform, rows, cols))
        else:
            arr = np.empty((rows, cols), dtype=np.float32)
        mass_in, shown, meta = 0.0, 0.0, None
        for r0 in range(0, rows, band):
            r1 = min(rows, r0 + band)
            # the band's padded rows r0 .. r1 + 2·pad of the binned grid: one slice
            lo, hi = np.searchsorted(idx, [r0 * pcols, (r1 + 2 * pad) * pcols])
            jj, ii = np.divmod(idx[lo:hi], pcols)
            t = transform @ transform.translation(0, r0)
            mask = density.grid_clip_mask(clip, t, r1 - r0, cols) if clip is not None else None
            gb = density.density_on_grid(spec[0] + (ii + 0.5) * cell, spec[1] - (jj + 0.5) * cell,
                                  w[lo:hi], "count", t, r1 - r0, cols, *args, mask)
            mass_in += gb.metadata["mass_in_grid"]
            shown += float(np.nansum(gb.array, dtype=np.float64))
            meta = gb.metadata
            if write is not None:
                write(r0, gb.array)
            else:
                arr[r0:r1] = gb.array
        if rows > band:  # the whole grid's totals, not the last band's
            total = float(w.sum())
            loss = total - mass_in
            if abs(loss) <= 1e-6 * max(abs(total), 1.0):
                loss = 0.0
            meta = dict(meta, total=total, mass_in_grid=mass_in, edge_loss=loss)
        meta = dict(meta, n_points=int(n_points), chain=name)
        if write is None:
            return density.DensityGrid(arr, transform, WORKING_CRS, meta)
        write.finish(meta)
    return {"chain": name, "n_points": int(n_points), "path": str(path),
            "mass": shown * cell * cell / 1e6}


def density_of_parts(client, parts, chain_col, clip, bounds, settings, write_dir=None):
    """:func:`density_grids` of point partitions given as futures.

    The partitions' binned masses are summed pairwise on the workers.
    ``write_dir``: the grids are convolved and written as GeoTIFF
    (``<k>.tif``, ``k`` in output order) by the workers, and
    ``{chain: {"n_points", "path", "mass"}}`` is returned instead of grids.
    """
    from .. import density

    s = density.density_settings(settings)["kde"]
    cell, radius, kernel = float(s["cell_m"]), float(s["radius_m"]), s["kernel"]
    truncate = float(s.get("gaussian_truncate", 4.0))
    pad = radius if kernel == "quartic" else truncate * radius
    if bounds is None or bounds == "points":
        if (bounds or s.get("extent", "county")) == "points":
            bb = [b for b in client.gather(client.map(_bounds_task, parts)) if b is not None]
            bb = np.asarray(bb)
            xs = np.r_[bb[:, 0], bb[:, 2]] if len(bb) else np.zeros(0)
            ys = np.r_[bb[:, 1], bb[:, 3]] if len(bb) else np.zeros(0)
            ext = density.grid_extent("points", xs, ys, pad, s)
        else:
            ext = density.grid_extent(None, np.zeros(0), np.zeros(0), pad, s)
    else:
        ext = density.grid_extent(bounds, np.zeros(0), np.zeros(0), pad, s)
    transform, rows, cols = density.grid_spec(ext, cell)
    k = density.kernel_weights(cell, radius, kernel, truncate).shape[0] // 2
    p = k + 1
    spec = (transform.c - p * cell, transform.f + p * cell, cell, rows + 2 * p, cols + 2 * p)
    level = submit_each(client, _bin_task, parts, chain_col, spec)
    while len(level) > 1:
        nxt = [client.submit(_merge_bins, level[k], level[k + 1], pure=False)
               for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    counts, first = client.submit(_bin_counts, level[0], pure=False).result()
    if not counts:
        raise ValidationError("density_grids: no points")
    names = ["全部"] + sorted(counts, key=lambda c: (-counts[c], first[c]))
    ns = [sum(counts.values())] + [counts[n] for n in names[1:]]
    if write_dir is not None:
        futs = [client.submit(_chain_grid, client.submit(_one_chain, level[0], name, pure=False),
                              name, n, spec, transform, rows, cols, s, clip,
                              str(Path(write_dir) / f"{k:03d}.tif"), pure=False)
                for k, (name, n) in enumerate(zip(names, ns))]
        del level
        return {r["chain"]: r for r in client.gather(futs)}
    summed = level[0].result()
    return {name: _chain_grid(summed, name, n, spec, transform, rows, cols, s, clip)
            for name, n in zip(names, ns)}


def points_task(ev, chain_col):
    """Return the firm points of one partition: chain, geometry and order columns (None stays None)."""
    if ev is None:
        return None
    ok = ev.geometry.notna() & ~ev.geometry.is_empty
    return ev.loc[ok, [chain_col, ev.geometry.name, ORD]]

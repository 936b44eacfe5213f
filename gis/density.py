"""Kernel density of enterprise points on a grid, and GeoTIFF output.

Density is computed by *binning and convolution*, never by pairwise kernel
sums: the points are linearly binned (each point shared between the four
nearest cell centres) onto a grid in EPSG:4549 whose origin is a multiple of
the cell size, and the binned grid is convolved by FFT with the discretised
kernel, normalised so that ``kernel.sum() * cell_area == 1``.  Mass is
therefore conserved exactly: ``density.sum() * cell_area`` equals the weight
total minus what the kernel carries over the edge of the grid, and that loss
is reported as ``metadata["edge_loss"]``.

Densities are per km² (firms per km², or weight units per km² when a weight
column is given).

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> pts = gpd.GeoDataFrame(geometry=[Point(500_000, 3_300_000)] * 4, crs="EPSG:4549")
>>> g = density_grid(pts, cell=100, radius=500, bounds=(498_000, 3_298_000, 502_000, 3_302_000))
>>> g.shape, g.transform.c, g.transform.f
((40, 40), 498000.0, 3302000.0)
>>> round(float(g.array.sum()) * g.cell_area_km2, 6)
4.0
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._errors import ValidationError
from .config import choice_problems, load_settings, number_problems
from .crs import WORKING_CRS, area_in_working, require_frame

__all__ = [
    "grid_extent", "point_xy", "grid_clip_mask", "density_on_grid", "point_weights",
    "settings_problems",
    "DensityGrid",
    "KERNELS",
    "grid_spec",
    "kernel_weights",
    "convolve_same",
    "density_grid",
    "density_by_chain",
    "write_geotiff",
    "read_geotiff",
    "linear_bin_sparse",
    "geotiff_rows",
    "density_settings",
]

KERNELS = ("quartic", "gaussian")
UNITS = "per km²"


@dataclass
class DensityGrid:
    """A north-up density raster in EPSG:4549.

    Attributes
    ----------
    array : numpy.ndarray
        float32, shape ``(rows, cols)``, row 0 is the northern edge.
        Density per km²; NaN where there is no data (outside a clip area).
    transform : affine.Affine
        Pixel -> EPSG:4549 coordinates of the upper-left corners.
    crs : str
        Always ``"EPSG:4549"``.
    metadata : dict
        ``kernel``, ``radius``, ``cell``, ``weight``, ``units``, ``date``,
        ``source``, ``n_points``, ``total``, ``mass_in_grid``, ``edge_loss``.
    """

    array: np.ndarray
    transform: object
    crs: str = WORKING_CRS
    metadata: dict = field(default_factory=dict)

    @property
    def shape(self):
        """``(rows, cols)``."""
        return self.array.shape

    @property
    def cell(self):
        """Cell size in metres."""
        return float(self.transform.a)

    @property
    def cell_area_km2(self):
        """Area of one cell in km²."""
        return abs(self.transform.a * self.transform.e) / 1e6

    @property
    def bounds(self):
        """``(minx, miny, maxx, maxy)`` of the grid in metres."""
        rows, cols = self.array.shape
        t = self.transform
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    def centres(self):
        """Return the x (cols,) and y (rows,) coordinates of cell centres."""
        rows, cols = self.array.shape
        t = self.transform
        x = t.c + (np.arange(cols) + 0.5) * t.a
        y = t.f + (np.arange(rows) + 0.5) * t.e
        return x, y

    def sample(self, x, y):
        """Density of the cell that holds each point ``(x, y)`` (NaN outside)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        t = self.transform
        col = np.floor((x - t.c) / t.a).astype(np.int64)
        row = np.floor((y - t.f) / t.e).astype(np.int64)
        rows, cols = self.array.shape
        ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        out = np.full(x.shape, np.nan)
        out[ok] = self.array[row[ok], col[ok]]
        return out

    def total_mass(self):
        """``sum(density) * cell area``: the weight held inside the grid."""
        return float(np.nansum(self.array, dtype=np.float64)) * self.cell_area_km2


# --------------------------------------------------------------------------- inputs


def _neighbour_problems(hs):
    v = hs.get("neighbours")
    if v in ("queen", "rook") or (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
        return []
    return [f"density.hotspots.neighbours: must be queen, rook or a distance in metres > 0, got {v!r}"]


def settings_problems(settings):
    """Problems of the ``density`` settings (kernel density, hot spots, clusters).

    Checked by :func:`gis.config.load_settings`.

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["density"]["kde"]["radius_m"] = -1000
    >>> settings_problems(s)
    ['density.kde.radius_m: must be > 0, got -1000']
    """
    d = settings["density"]
    kde, hs, db, ce = (d.get(k) or {} for k in ("kde", "hotspots", "dbscan", "clark_evans"))
    problems = []
    for key in ("cell_m", "radius_m", "gaussian_truncate"):
        problems += number_problems(kde, "density.kde", key, above=0)
    problems += choice_problems(kde, "density.kde", "kernel", KERNELS)
    problems += choice_problems(kde, "density.kde", "extent", ("county", "points"))
    problems += number_problems(kde, "density.kde", "tile", above=0, integer=True)
    problems += number_problems(hs, "density.hotspots", "cell_m", above=0)
    problems += _neighbour_problems(hs)
    conf = hs.get("confidence")
    if not isinstance(conf, list) or len(conf) != 3 or not all(
            isinstance(c, (int, float)) and not isinstance(c, bool) and 0 < c < 1 for c in conf):
        problems.append(f"density.hotspots.confidence: must be 3 levels between 0 and 1, got {conf!r}")
    for key in ("eps_m", "hull_buffer_m"):
        problems += number_problems(db, "density.dbscan", key, above=0 if key == "eps_m" else None,
                                    low=0 if key != "eps_m" else None)
    problems += number_problems(db, "density.dbscan", "min_samples", low=1, integer=True)
    problems += choice_problems(db, "density.dbscan", "hull", ("convex", "concave"))
    problems += number_problems(db, "density.dbscan", "concave_ratio", low=0, high=1)
    problems += number_problems(db, "density.dbscan", "snap_fraction", above=0, high=1)
    problems += choice_problems(ce, "density.clark_evans", "edge_correction", ("none", "donnelly"))
    problems += number_problems(ce, "density.clark_evans", "alpha", above=0, high=1)
    return problems


def density_settings(settings):
    """Return the ``density`` section of the settings (loaded when None)."""
    return (settings or load_settings())["density"]


def point_xy(points, who="density_grid"):
    """Coordinates (EPSG:4549) of a GeoDataFrame/GeoSeries of points."""
    import shapely

    geoms = points.geometry if hasattr(points, "geometry") else points
    geoms = require_frame(geoms, who, reproject=True)
    arr = np.asarray(geoms.values if hasattr(geoms, "values") else geoms)
    bad = shapely.is_missing(arr) | shapely.is_empty(arr)
    bad |= shapely.get_type_id(arr) != 0
    if bad.any():
        rows = list(points.index[bad][:10])
        raise ValidationError(
            f"{who}: {int(bad.sum())} row(s) have no point geometry "
            f"(index {rows}{' ...' if bad.sum() > 10 else ''}); drop or fix them first"
        )
    return shapely.get_x(arr), shapely.get_y(arr)


def point_weights(points, weight, who="density_grid"):
    """``(weights, name)`` of the points: 1 each (``"count"``) or the column ``weight``, checked."""
    if weight is None:
        return np.ones(len(points)), "count"
    if isinstance(weight, str):
        if weight not in points.columns:
            raise ValidationError(
                f"{who}: weight column '{weight}' not found "
                f"(columns: {', '.join(map(str, points.columns))})"
            )
        w = points[weight].to_numpy(dtype=float, na_value=np.nan)
        name = weight
    else:
        w = np.asarray(weight, dtype=float)
        name = getattr(weight, "name", None) or "weight"
        if w.shape != (len(points),):
            raise ValidationError(f"{who}: weight has {w.size} values for {len(points)} points")
    bad = ~np.isfinite(w)
    if bad.any():
        rows = list(points.index[bad][:10])
        raise ValidationError(
            f"{who}: weight '{name}' is missing or not finite in {int(bad.sum())} row(s) "
            f"(index {rows}{' ...' if bad.sum() > 10 else ''}); fill them (e.g. with 0) or drop them"
        )
    return w, name


def _county_bounds():
    try:
        from . import layers  # written alongside; optional at import time
    except ImportError:
        return None
    outline = require_frame(layers.load("yiwu"), "density_grid(county outline)", reproject=True)
    return tuple(outline.total_bounds)


def grid_extent(bounds, x, y, pad, settings_kde):
    """Resolve ``bounds`` to ``(minx, miny, maxx, maxy)`` in metres."""
    if bounds is None:
        bounds = settings_kde.get("extent", "county")
    if isinstance(bounds, str):
        if bounds == "county":
            b = _county_bounds()
            if b is None:
                warnings.warn(
                    "gis.layers is not available: density extent falls back to the "
                    "points' bounds padded by the radius",
                    stacklevel=3,
                )
                bounds = "points"
            else:
                return (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
        if bounds == "points":
            if len(x) == 0:
                raise ValidationError("density_grid: no points and no bounds to define the grid")
            return (x.min() - pad, y.min() - pad, x.max() + pad, y.max() + pad)
        raise ValidationError(
            f"density_grid: bounds must be 'county', 'points', a (minx, miny, maxx, maxy) "
            f"tuple or a GeoDataFrame, got {bounds!r}"
        )
    if hasattr(bounds, "total_bounds"):
        bounds = area_in_working(bounds, "density_grid(bounds)")
        return tuple(float(v) for v in bounds.total_bounds)
    if hasattr(bounds, "bounds") and not isinstance(bounds, (tuple, list, np.ndarray)):
        return tuple(float(v) for v in bounds.bounds)  # a shapely geometry
    b = tuple(float(v) for v in bounds)
    if len(b) != 4 or not (b[2] > b[0] and b[3] > b[1]):
        raise ValidationError(f"density_grid: bounds {bounds!r} are not (minx, miny, maxx, maxy)")
    return b


def grid_spec(bounds, cell):
    """Snap ``bounds`` outwards to multiples of ``cell``.

    Parameters
    ----------
    bounds : tuple
        ``(minx, miny, maxx, maxy)`` in metres.
    cell : float
        Cell size in metres.

    Returns
    -------
    (affine.Affine, int, int)
        The north-up transform, number of rows and of columns.

    Examples
    --------
    >>> t, rows, cols = grid_spec((1020, 2010, 1190, 2240), 50)
    >>> (t.c, t.f, t.a, t.e), rows, cols
    ((1000.0, 2250.0, 50.0, -50.0), 5, 4)
    """
    from affine import Affine

    minx, miny, maxx, maxy = bounds
    x0 = math.floor(minx / cell) * cell
    y0 = math.floor(miny / cell) * cell
    x1 = math.ceil(maxx / cell) * cell
    y1 = math.ceil(maxy / cell) * cell
    cols = max(int(round((x1 - x0) / cell)), 1)
    rows = max(int(round((y1 - y0) / cell)), 1)
    return Affine(float(cell), 0.0, float(x0), 0.0, -float(cell), float(y0 + rows * cell)), rows, cols


def kernel_weights(cell, radius, kernel="quartic", truncate=4.0):
    """The discretised kernel, as density per m² of a unit mass at the centre.

    Parameters
    ----------
    cell : float
        Cell size (m).
    radius : float
        Quartic: support radius (m).  Gaussian: standard deviation (m).
    kernel : {"quartic", "gaussian"}
    truncate : float
        Gaussian support, in standard deviations.

    Returns
    -------
    numpy.ndarray
        Square array of odd side ``2 K + 1`` with ``sum() * cell**2 == 1``.

    Examples
    --------
    >>> k = kernel_weights(50, 1000)
    >>> k.shape, round(float(k.sum()) * 50 * 50, 12)
    ((41, 41), 1.0)
    """
    if kernel not in KERNELS:
        raise ValidationError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if not (cell > 0 and radius > 0):
        raise ValidationError(f"cell ({cell}) and radius ({radius}) must be positive")
    support = radius if kernel == "quartic" else truncate * radius
    k = int(math.floor(support / cell))
    off = np.arange(-k, k + 1) * float(cell)
    d2 = off[:, None] ** 2 + off[None, :] ** 2
    if kernel == "quartic":
        u = 1.0 - d2 / (radius * radius)
        kern = np.where(u > 0, u * u, 0.0)
    else:
        kern = np.exp(-0.5 * d2 / (radius * radius))
        kern[d2 > support * support] = 0.0
    return kern / (kern.sum() * cell * cell)


def _bin_corners(x, y, w, x0, ytop, cell, rows, cols):
    """Flat cell index and mass of each point's four linear-binning corners.

    Yields ``(flat_index, mass)`` per corner (points whose corner falls
    outside the ``rows`` × ``cols`` grid dropped).
    """
    u = (x - x0) / cell - 0.5  # column coordinate of cell centres
    v = (ytop - y) / cell - 0.5  # row coordinate (row 0 = north)
    i0 = np.floor(u)
    j0 = np.floor(v)
    fu = u - i0
    fv = v - j0
    i0 = i0.astype(np.int64)
    j0 = j0.astype(np.int64)
    for di, wu in ((0, 1.0 - fu), (1, fu)):
        ii = i0 + di
        okc = (ii >= 0) & (ii < cols)
        for dj, wv in ((0, 1.0 - fv), (1, fv)):
            jj = j0 + dj
            ok = okc & (jj >= 0) & (jj < rows)
            yield jj[ok] * cols + ii[ok], (w * wu * wv)[ok]


def _linear_bin(x, y, w, x0, ytop, cell, rows, cols):
    """Linear binning onto cell centres: the binned grid (rows × cols)."""
    grid = np.zeros(rows * cols, dtype=np.float64)
    for idx, mass in _bin_corners(x, y, w, x0, ytop, cell, rows, cols):
        grid += np.bincount(idx, weights=mass, minlength=rows * cols)
    return grid.reshape(rows, cols)


def linear_bin_sparse(x, y, w, x0, ytop, cell, rows, cols):
    """Linear binning as the non-empty cells only: memory follows the points, not the grid.

    Returns
    -------
    (ndarray of int64, ndarray of float64)
        Sorted flat cell indices (``row * cols + col``) and their binned mass.

    Examples
    --------
    A point half-way between the centres of cells (1, 0) and (1, 1) of a
    4 × 4 grid of 100 m cells:

    >>> idx, m = linear_bin_sparse(np.array([100.0]), np.array([-150.0]), np.array([1.0]),
    ...                            0.0, 0.0, 100.0, 4, 4)
    >>> idx.tolist(), m.tolist()
    ([4, 5, 8, 9], [0.5, 0.5, 0.0, 0.0])
    """
    pieces = list(_bin_corners(x, y, w, x0, ytop, cell, rows, cols))
    idx = np.concatenate([p[0] for p in pieces])
    mass = np.concatenate([p[1] for p in pieces])
    uniq, inv = np.unique(idx, return_inverse=True)
    return uniq, np.bincount(inv, weights=mass, minlength=len(uniq))


#: the last kernel transformed by :func:`_kernel_fft` (key, transform): the
#: densities of a run (all firms, each chain) share one kernel and grid
_KERNEL_FFT = [None, None]


def _kernel_fft(kern, shape):
    """``scipy.fft.rfft2(kern, shape)``, reused while the kernel and shape stay the same."""
    from scipy import fft

    kern = np.ascontiguousarray(kern)
    key = (kern.shape, kern.dtype.str, tuple(shape), kern.tobytes())
    last_key, last = _KERNEL_FFT
    if last_key != key:
        last = fft.rfft2(kern, shape)
        _KERNEL_FFT[:] = [key, last]
    return last


def convolve_same(grid, kern):
    """``grid`` convolved with ``kern`` by FFT, the size of ``grid`` (centred, as ``mode="same"``).

    Uses :mod:`scipy.fft` only (``scipy.signal`` takes most of a second to import).

    >>> convolve_same(np.eye(3), np.ones((1, 3))).round(12).tolist()
    [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    """
    from scipy import fft

    full = [a + b - 1 for a, b in zip(grid.shape, kern.shape)]
    shape = [fft.next_fast_len(n, real=True) for n in full]
    out = fft.irfft2(fft.rfft2(grid, shape) * _kernel_fft(kern, shape), shape)
    r0, c0 = (kern.shape[0] - 1) // 2, (kern.shape[1] - 1) // 2
    return out[r0:r0 + grid.shape[0], c0:c0 + grid.shape[1]]


def _convolve(binned, kern):
    return convolve_same(binned, kern)


def density_on_grid(x, y, w, weight_name, transform, rows, cols, radius, kernel, truncate, source, clip_mask=None):
    """Kernel density of weighted points ``(x, y, w)`` on the grid ``(transform, rows, cols)``.

    Binned linearly, convolved with the kernel (``radius`` m, ``kernel``,
    ``truncate``), clipped by ``clip_mask``; returns a :class:`DensityGrid`
    in units per km² with its metadata (mass in grid, edge loss, ``source``).
    """
    cell = transform.a
    kern = kernel_weights(cell, radius, kernel, truncate)
    k = kern.shape[0] // 2
    pad = k + 1
    binned = _linear_bin(
        x, y, w, transform.c - pad * cell, transform.f + pad * cell, cell, rows + 2 * pad, cols + 2 * pad
    )
    dens = _convolve(binned, kern)[pad : pad + rows, pad : pad + cols] * 1e6  # per km²
    if (w >= 0).all():
        np.maximum(dens, 0.0, out=dens)  # FFT round-off (~1e-16) below zero
    cell_km2 = cell * cell / 1e6
    total = float(w.sum())
    mass = float(dens.sum()) * cell_km2
    loss = total - mass
    if abs(loss) <= 1e-9 * max(abs(total), 1.0):
        loss = 0.0  # float round-off, not a loss
    arr = dens.astype(np.float32)
    if clip_mask is not None:
        arr[~clip_mask] = np.nan
    meta = {
        "kernel": kernel,
        "radius": float(radius),
        "cell": float(cell),
        "weight": weight_name,
        "units": UNITS if weight_name == "count" else f"{weight_name} {UNITS}",
        "date": _dt.date.today().isoformat(),
        "source": source,
        "n_points": int(len(x)),
        "total": total,
        "mass_in_grid": mass,
        "edge_loss": loss,
    }
    if kernel == "gaussian":
        meta["truncate"] = float(truncate)
    return DensityGrid(arr, transform, WORKING_CRS, meta)


def grid_clip_mask(area, transform, rows, cols):
    """Cells whose centre lies in ``area`` (a GeoDataFrame/GeoSeries/geometry)."""
    from rasterio.features import geometry_mask

    geoms = area_in_working(area, "clip area")
    if not hasattr(geoms, "__iter__"):
        geoms = [geoms]
    return geometry_mask(list(geoms), out_shape=(rows, cols), transform=transform, invert=True)


def _prepare(points, cell, radius, kernel, bounds, settings):
    s = density_settings(settings)["kde"]
    cell = float(cell if cell is not None else s["cell_m"])
    radius = float(radius if radius is not None else s["radius_m"])
    kernel = kernel or s["kernel"]
    if kernel not in KERNELS:
        raise ValidationError(f"density_grid: kernel must be one of {KERNELS}, got {kernel!r}")
    if not (cell > 0 and radius > 0):
        raise ValidationError(f"density_grid: cell ({cell}) and radius ({radius}) must be positive")
    truncate = float(s.get("gaussian_truncate", 4.0))
    x, y = point_xy(points)
    pad = radius if kernel == "quartic" else truncate * radius
    ext = grid_extent(bounds, x, y, pad, s)
    transform, rows, cols = grid_spec(ext, cell)
    return s, cell, radius, kernel, truncate, x, y, transform, rows, cols


def density_grid(
    points,
    cell=None,
    radius=None,
    kernel=None,
    weight=None,
    bounds=None,
    clip=None,
    source=None,
    settings=None,
):
    """Kernel density of points on a north-up grid in EPSG:4549.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Point geometries (reprojected to EPSG:4549 if in another CRS).
    cell : float, optional
        Cell size in metres (default ``density.kde.cell_m``, 50).
    radius : float, optional
        Quartic support radius, or Gaussian standard deviation, in metres
        (default ``density.kde.radius_m``, 1000).
    kernel : {"quartic", "gaussian"}, optional
        Default ``density.kde.kernel``.
    weight : str or array-like, optional
        Column (e.g. ``"tax"``, ``"revenue"``, ``"employees"``) or values to
        weight each point by; default: each point counts 1.
    bounds : None, "county", "points", tuple, GeoDataFrame or geometry
        Grid extent, snapped outwards to multiples of ``cell``.  A tuple or
        an area layer is used as is; ``"county"`` is the Yiwu outline and
        ``"points"`` the points' bounds, both padded by the kernel support.
        Default ``density.kde.extent``.
    clip : GeoDataFrame or geometry, optional
        Cells whose centre is outside it are set to NaN (nodata).  Mass
        conservation is reported before clipping.
    source : str, optional
        Recorded in the metadata (default ``density.kde.source``).
    settings : dict, optional
        From :func:`gis.config.load_settings`.

    Returns
    -------
    DensityGrid
        ``metadata["edge_loss"]`` is the weight carried outside the grid.

    Raises
    ------
    ValidationError
        No point geometry, or a missing/non-finite weight (rows named).
    CRSError
        Points without a CRS.
    """
    s, cell, radius, kernel, truncate, x, y, transform, rows, cols = _prepare(
        points, cell, radius, kernel, bounds, settings
    )
    w, name = point_weights(points, weight)
    mask = grid_clip_mask(clip, transform, rows, cols) if clip is not None else None
    return density_on_grid(
        x, y, w, name, transform, rows, cols, radius, kernel, truncate, source or s["source"], mask
    )


def density_by_chain(
    points,
    chain_col="chain",
    include_all=False,
    cell=None,
    radius=None,
    kernel=None,
    weight=None,
    bounds=None,
    clip=None,
    source=None,
    settings=None,
):
    """Kernel density per industry chain, all on the same grid.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        With a ``chain_col`` column.
    chain_col : str
        Column naming the chain of each point.
    include_all : bool
        Also return the density of all points under the key ``"全部"``.
    cell, radius, kernel, weight, bounds, clip, source, settings
        As :func:`density_grid`.

    Returns
    -------
    dict of str -> DensityGrid
        In order of decreasing number of points; ``metadata["chain"]`` names
        the chain.
    """
    if chain_col not in points.columns:
        raise ValidationError(f"density_by_chain: column '{chain_col}' not found")
    s, cell, radius, kernel, truncate, x, y, transform, rows, cols = _prepare(
        points, cell, radius, kernel, bounds, settings
    )
    w, name = point_weights(points, weight, "density_by_chain")
    mask = grid_clip_mask(clip, transform, rows, cols) if clip is not None else None
    chains = points[chain_col].astype(object).where(points[chain_col].notna(), "未分类")
    codes, names = chains.factorize()
    counts = np.bincount(codes, minlength=len(names))
    out = {}
    if include_all:
        g = density_on_grid(x, y, w, name, transform, rows, cols, radius, kernel, truncate, source or s["source"], mask)
        g.metadata["chain"] = "全部"
        out["全部"] = g
    for c in np.argsort(-counts, kind="stable"):
        sel = codes == c
        g = density_on_grid(
            x[sel], y[sel], w[sel], name, transform, rows, cols, radius, kernel, truncate,
            source or s["source"], mask,
        )
        g.metadata["chain"] = str(names[c])
        out[str(names[c])] = g
    return out


# --------------------------------------------------------------------------- GeoTIFF

_TAG_KEYS = ("kernel", "radius", "cell", "weight", "units", "date", "source", "chain",
             "n_points", "total", "mass_in_grid", "edge_loss", "truncate")


def _profile(path, transform, rows, cols, crs, nodata, settings):
    """The rasterio profile of a density GeoTIFF (float32, deflate, tiled); makes the folder."""
    s = density_settings(settings)["kde"]
    tile = int(s["tile"])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return dict(
        driver="GTiff", width=cols, height=rows, count=1, dtype="float32", crs=crs,
        transform=transform, nodata=float(s["nodata"] if nodata is None else nodata),
        compress="deflate", predictor=3, tiled=True, blockxsize=tile, blockysize=tile,
    )


def _describe(dst, metadata):
    """Write the grid's metadata tags and band description into an open dataset."""
    tags = {k: str(metadata[k]) for k in _TAG_KEYS if k in metadata}
    units = tags.get("units", UNITS)
    dst.update_tags(**tags)
    dst.set_band_description(1, f"核密度 {metadata.get('chain', '')} ({units})".replace("  ", " "))
    dst.update_tags(1, units=units)
    dst.units = (units,)  # the band's unit (GDAL unit type): QGIS and servers show it


#: GDAL block cache (MB) while a GeoTIFF is written band by band
_WRITE_CACHE_MB = 16


@contextlib.contextmanager
def geotiff_rows(path, transform, rows, cols, crs=None, nodata=None, settings=None):
    """Write a density GeoTIFF band of rows by band of rows (the grid never whole in memory).

    Yields a ``write(row0, array)`` function; call ``write.finish(metadata)``
    once the last rows are written to store the tags (as :func:`write_geotiff`).
    NaN cells are written as ``nodata``.

    Examples
    --------
    >>> import tempfile, rasterio.transform
    >>> t = rasterio.transform.from_origin(0, 1000, 100, 100)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with geotiff_rows(f"{d}/a.tif", t, 10, 10) as write:
    ...         write(0, np.ones((4, 10), np.float32))
    ...         write(4, np.full((6, 10), 2, np.float32))
    ...         write.finish({"chain": "全部"})
    ...     float(read_geotiff(f"{d}/a.tif").array.sum())
    160.0
    """
    import rasterio
    from rasterio.windows import Window

    profile = _profile(path, transform, rows, cols, crs or WORKING_CRS, nodata, settings)
    fill = np.float32(profile["nodata"])
    # a small block cache: finished tiles go to disk instead of piling up in
    # GDAL's cache (5 % of the machine's memory by default)
    with rasterio.Env(GDAL_CACHEMAX=_WRITE_CACHE_MB), \
            rasterio.open(path, "w", BIGTIFF="IF_SAFER", **profile) as dst:
        def write(row0, arr):
            arr = np.where(np.isnan(arr), fill, np.asarray(arr, dtype=np.float32))
            dst.write(arr, 1, window=Window(0, int(row0), cols, arr.shape[0]))

        write.finish = lambda metadata: _describe(dst, metadata)
        yield write


def write_geotiff(grid, path, cog=False, nodata=None, settings=None):
    """Write a :class:`DensityGrid` as a GeoTIFF (float32, deflate, tiled).

    Parameters
    ----------
    grid : DensityGrid
    path : str or Path
        Parent folders are created.
    cog : bool
        Write a Cloud-Optimised GeoTIFF (GDAL's COG driver, or a tiled
        GeoTIFF with internal overviews when the driver is missing).
    nodata : float, optional
        Default ``density.kde.nodata`` (-9999); NaN cells are written as it.
    settings : dict, optional

    Returns
    -------
    pathlib.Path
    """
    import rasterio
    import rasterio.shutil
    from rasterio.io import MemoryFile

    path = Path(path)
    arr = np.asarray(grid.array, dtype=np.float32)
    profile = _profile(path, grid.transform, *arr.shape, grid.crs, nodata, settings)
    arr = np.where(np.isnan(arr), np.float32(profile["nodata"]), arr)
    rows, cols = arr.shape
    tile = profile["blockxsize"]

    def _fill(dst):
        dst.write(arr, 1)
        _describe(dst, grid.metadata)

    if not cog:
        with geotiff_rows(path, grid.transform, rows, cols, grid.crs, nodata, settings) as write:
            write(0, arr)
            write.finish(grid.metadata)
        return path
    with rasterio.Env() as env:
        has_cog = "COG" in env.drivers()
    with MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            _fill(tmp)
            if not has_cog:
                from rasterio.enums import Resampling

                factors = [f for f in (2, 4, 8, 16, 32) if min(rows, cols) // f >= tile // 2]
                if factors:
                    tmp.build_overviews(factors, Resampling.average)
        with mem.open() as src:
            if has_cog:
                rasterio.shutil.copy(
                    src, path, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES",
                    BLOCKSIZE=str(tile), OVERVIEW_RESAMPLING="AVERAGE", BIGTIFF="IF_SAFER",
                )
            else:
                rasterio.shutil.copy(
                    src, path, driver="GTiff", COPY_SRC_OVERVIEWS="YES", TILED="YES",
                    BLOCKXSIZE=str(tile), BLOCKYSIZE=str(tile), COMPRESS="DEFLATE",
                )
    return path


def read_geotiff(path):
    """Read a GeoTIFF written by :func:`write_geotiff` back as a :class:`DensityGrid`.

    Nodata cells become NaN; numeric tags are converted back to numbers.
    """
    import rasterio

    with rasterio.open(path) as src:
        arr = src.read(1).astype(np.float32)
        if src.nodata is not None:
            arr[arr == np.float32(src.nodata)] = np.nan
        tags = src.tags()
        crs = src.crs.to_string() if src.crs else None
        transform = src.transform
    meta = {}
    for k, v in tags.items():
        if k not in _TAG_KEYS:
            continue
        if k in ("radius", "cell", "total", "mass_in_grid", "edge_loss", "truncate"):
            meta[k] = float(v)
        elif k == "n_points":
            meta[k] = int(v)
        else:
            meta[k] = v
    return DensityGrid(arr, transform, crs, meta)


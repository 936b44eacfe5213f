"""Partitioned input: 三调 parcels as GeoParquet, one file per township / county / Hilbert bucket.

Every row keeps its position in the whole table (:data:`ORD`) and its
partition key (:data:`PART`); a partition's neighbours (halos) are the
partitions within a distance of its hull.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .._errors import ValidationError
from ..config import load_settings
from .cluster import engine_settings, need_dask

__all__ = ["ORD", "PART", "partition_keys", "write_partitioned", "partition_landuse",
           "read_partitioned", "firm_homes", "write_firm_partitions", "in_order", "neighbour_partitions", "with_halo", "partition_hulls", "is_partitioned", "restore_index"]



#: column carrying the row's position in the original table (global order)
ORD = "_ord"


#: column carrying the partition key (township / county code, Hilbert bucket)
PART = "_part"


def partition_keys(parcels, by=None, settings=None, n=None):
    """The partition key of each parcel: township / county code or Hilbert bucket.

    A township (county) holding more than ``engine.max_parcels_per_partition``
    parcels is cut into that many-parcel pieces along the Hilbert curve
    (keys ``<code>.000``, ``<code>.001``...), so that no task has to hold more
    than a worker's memory allows however dense the data.

    Parameters
    ----------
    parcels : GeoDataFrame
        三调 DLTB with ``ZLDWDM`` (坐落单位代码) for administrative keys.
    by : {"township", "county", "hilbert"}, optional
        Default ``engine.partition_by``; falls back to ``hilbert`` when
        ``ZLDWDM`` is missing.
    n : int, optional
        Number of Hilbert buckets (default ``engine.hilbert_partitions`` or 8;
        more when the parcels exceed ``max_parcels_per_partition`` per bucket).

    Returns
    -------
    Series of str aligned to ``parcels.index``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"ZLDWDM": ["330782001001", "330782002007"]},
    ...                      geometry=[shapely.box(0, 0, 1, 1)] * 2, crs="EPSG:4549")
    >>> partition_keys(p, "township").tolist()
    ['330782001', '330782002']
    >>> partition_keys(p, "county").tolist()
    ['330782', '330782']

    Five parcels of one township, at most two per partition: three pieces
    of 2, 2 and 1 parcels.

    >>> from gis.config import default_settings
    >>> s = default_settings(); s["engine"]["max_parcels_per_partition"] = 2
    >>> p = gpd.GeoDataFrame({"ZLDWDM": ["330782001001"] * 5},
    ...                      geometry=[shapely.box(x, 0, x + 1, 1) for x in (40, 0, 30, 10, 20)])
    >>> partition_keys(p, "township", settings=s).value_counts().sort_index().to_dict()
    {'330782001.000': 2, '330782001.001': 2, '330782001.002': 1}
    """
    cfg = engine_settings(settings)
    by = by or cfg["partition_by"]
    limit = cfg.get("max_parcels_per_partition")
    if by in ("township", "county") and "ZLDWDM" in parcels.columns:
        digits = int(cfg["township_digits"] if by == "township" else cfg["county_digits"])
        code = parcels["ZLDWDM"].astype(str).str.strip().str.slice(0, digits)
        if not code.str.fullmatch(r"\d{%d}" % digits).all():
            bad = parcels.index[~code.str.fullmatch(r"\d{%d}" % digits)][:10].tolist()
            raise ValidationError(
                [f"column 'ZLDWDM' must start with {digits} digits for partition_by={by}; "
                 f"rows {bad}"], source="parcels")
        return _split_large(code.rename(PART), parcels.geometry, limit)
    n = int(n or cfg.get("hilbert_partitions") or 8)
    if limit:
        n = max(n, -(-len(parcels) // int(limit)))
    return pd.Series(_hilbert_buckets(parcels.geometry, n, "h{:04d}"), index=parcels.index,
                     name=PART)


def _hilbert_buckets(geoms, n, fmt):
    """``n`` buckets of (nearly) equal size along the Hilbert curve of ``geoms``: labels."""
    if len(geoms) == 0:
        return np.array([], dtype=object)
    h = geoms.hilbert_distance(total_bounds=geoms.total_bounds)
    rank = h.rank(method="first").to_numpy() - 1
    bucket = (rank * n // max(len(h), 1)).astype(int)
    return np.array([fmt.format(b) for b in bucket], dtype=object)


def _split_large(keys, geoms, limit):
    """Keys of groups over ``limit`` rows cut into ``<key>.000``, ``<key>.001``... (Hilbert)."""
    if not limit:
        return keys
    sizes = keys.value_counts()
    big = sizes[sizes > int(limit)]
    if big.empty:
        return keys
    keys = keys.astype(object).copy()
    for key, size in big.items():  # the few oversized townships, not rows
        rows = (keys == key).to_numpy()
        pieces = -(-int(size) // int(limit))
        keys[rows] = _hilbert_buckets(geoms[rows], pieces, str(key) + ".{:03d}")
    return keys


def _write_parts(gdf, folder, keys, offset=0, fileno=0, taken=()):
    """Write ``gdf`` one GeoParquet file per key; :data:`ORD` continues from ``offset``.

    A key already ``taken`` (by an earlier file) gets ``.<fileno>`` appended,
    so every partition's key stays unique.  Returns the keys written.
    """
    out = gdf.copy()
    out[ORD] = offset + np.arange(len(out), dtype=np.int64)
    out[PART] = pd.Series(keys, index=gdf.index).astype(str).to_numpy()
    written = []
    for key, part in out.groupby(PART, sort=True):
        if key in taken:
            key = f"{key}.{fileno:05d}"
            part = part.assign(**{PART: key})
        part.to_parquet(Path(folder) / f"part.{fileno:05d}.{key}.parquet", index=True)
        written.append(key)
        fileno += 1
    return written


def firm_homes(firms, hulls):
    """The partition each firm is stored in: the nearest parcel partition's hull.

    A firm inside a hull is in it (distance 0); a firm without a point goes
    to partition 0.  This decides only where a firm is *stored*; the
    partition that evaluates it is where its parcel is (see
    :func:`gis.scale.scores.firm_scores`).

    Returns
    -------
    ndarray of int64, one per firm.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np, shapely
    >>> hulls = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    >>> f = gpd.GeoDataFrame(geometry=[shapely.Point(5, 5), shapely.Point(19, 5), None])
    >>> firm_homes(f, hulls).tolist()
    [0, 1, 0]
    """
    pts = np.asarray(firms.geometry.values)
    ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    home = np.zeros(len(pts), dtype=np.int64)
    if ok.any() and len(hulls):
        home[ok] = shapely.STRtree(np.asarray(hulls)).nearest(pts[ok])
    return home


def write_firm_partitions(firms, hulls, folder):
    """Write the firms as GeoParquet, one file per parcel partition they lie in.

    Each firm keeps its index and its position in the whole table
    (:data:`ORD`), so the per-partition results come back in the input's
    order; the file of partition ``k`` is ``part.<k>.parquet`` (see
    :func:`firm_homes`), partitions without firms have none.  The dask path
    writes the loaded firms so, then lets them go: the workers read them.

    Parameters
    ----------
    firms : GeoDataFrame
        From :func:`gis.pipeline.load_firms` (working CRS); index unique.
    hulls : array of shapely geometries
        The parcel partitions' hulls (``ddf.spatial_partitions``).
    folder : str or Path
        Emptied of ``part.*.parquet`` first.

    Returns
    -------
    Path
        The folder.
    """
    if not firms.index.is_unique:
        raise ValidationError("write_firm_partitions: the firms' index must be unique")
    folder = _clear_parts(folder)
    out = firms.assign(**{ORD: np.arange(len(firms), dtype=np.int64)})
    out.attrs = {}
    home = firm_homes(firms, hulls)
    order = np.argsort(home, kind="stable")
    cuts = np.flatnonzero(np.diff(home[order])) + 1
    for rows in np.split(order, cuts):
        if len(rows):
            out.iloc[rows].to_parquet(folder / f"part.{int(home[rows[0]]):05d}.parquet", index=True)
    return folder


def _clear_parts(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part.*.parquet"):
        old.unlink()
    return folder


def write_partitioned(gdf, path, keys):
    """Write ``gdf`` as GeoParquet, one file per key (sorted), original order kept.

    Adds :data:`ORD` (the row position) and :data:`PART` (the key).  The
    index is stored (``_index``) so results can be aligned to the input.

    Returns
    -------
    Path
        The folder (``part.<k>.<key>.parquet`` files).
    """
    path = _clear_parts(path)
    _write_parts(gdf, path, keys)
    return path


def partition_landuse(sources, folder, by=None, settings=None, ledger=None, echo=None):
    """Validate 三调 DLTB layers one at a time into one partitioned GeoParquet folder.

    Each source (a county's FileGDB, GeoPackage, Shapefile...) is read and
    validated by :func:`gis.io.read_landuse` (rejected rows go to
    ``ledger``), keyed by :func:`partition_keys` and written; only one source
    is in memory at a time, so a province is prepared on a small machine.
    Row order (:data:`ORD`) runs on across the sources, as if they were one
    table.  :func:`run_dask` takes the folder as ``landuse``.

    Parameters
    ----------
    sources : str, Path or list of them
    folder : str or Path
        Emptied of earlier ``part.*.parquet`` files first.
    by : {"township", "county", "hilbert"}, optional
        Default ``engine.partition_by``.
    ledger : gis.ledger.Ledger, optional
    echo : callable, optional
        Progress lines (e.g. ``print``).

    Returns
    -------
    dict
        ``folder``, ``parcels`` (rows written), ``partitions``.

    Raises
    ------
    ValidationError
        When a parcel id (``attach.parcel_id_col``) of a source repeats one
        of an earlier source (ids must identify parcels across the province).
    """
    from .. import io

    settings = settings or load_settings()
    idc = settings["attach"]["parcel_id_col"]
    sources = [sources] if isinstance(sources, (str, Path)) else list(sources)
    folder = _clear_parts(folder)
    keys, hashes, offset = [], np.zeros(0, dtype=np.uint64), 0
    for src in sources:
        parcels = io.read_landuse(src, ledger=ledger, settings=settings)
        if idc in parcels.columns:
            h = pd.util.hash_array(parcels[idc].astype(str).to_numpy(dtype=object))
            again = np.isin(h, hashes)
            if again.any():
                ids = parcels.loc[again, idc].astype(str).head(5).tolist()
                raise ValidationError(
                    [f"{Path(src).name}: column '{idc}': {int(again.sum())} parcel ids already "
                     f"used by an earlier file, e.g. {ids}; parcel ids must be unique across "
                     "the files (prefix them with the county code)"], source=str(src))
            hashes = np.concatenate([hashes, h])
        parcels.index = pd.RangeIndex(offset, offset + len(parcels))  # unique across files
        k = partition_keys(parcels, by, settings)
        keys += _write_parts(parcels, folder, k, offset, len(keys), set(keys))
        offset += len(parcels)
        if echo:
            echo(f"{Path(src).name}: {len(parcels)} 图斑 → {len(keys)} 个分区")
        del parcels
    return {"folder": str(folder), "parcels": int(offset), "partitions": len(keys)}


def read_partitioned(path):
    """A dask-geopandas GeoDataFrame of a :func:`write_partitioned` folder.

    One partition per file, spatial partitions (hulls) calculated.
    """
    need_dask()
    import dask_geopandas

    files = sorted(str(p) for p in Path(path).glob("part.*.parquet"))
    if not files:
        raise ValidationError(f"read_partitioned: no part.*.parquet files in {path}")
    ddf = dask_geopandas.read_parquet(files)
    if ddf.npartitions != len(files):  # one partition per file, always
        ddf = dask_geopandas.read_parquet(files, split_row_groups=False)
    ddf.calculate_spatial_partitions()
    return ddf


def partition_hulls(ddf):
    """Return the spatial hull of each partition of ``ddf`` (computed when not known)."""
    hulls = ddf.spatial_partitions
    if hulls is None:
        ddf.calculate_spatial_partitions()
        hulls = ddf.spatial_partitions
    return np.asarray(hulls.values)


def neighbour_partitions(hulls, dist):
    """For each partition, the other partitions within ``dist`` of its hull."""
    tree = shapely.STRtree(hulls)
    ok = ~shapely.is_empty(hulls)
    i, j = tree.query(np.where(ok, hulls, None), predicate="dwithin", distance=float(dist))
    keep = i != j
    out = [[] for _ in range(len(hulls))]
    for a, b in zip(i[keep], j[keep]):  # pairs of partitions: few, not rows
        out[a].append(int(b))
    return out


def with_halo(own, others, hull, dist):
    """``own`` parcels plus those of ``others`` within ``dist`` of ``hull``, in global order."""
    parts = [own]
    zone = shapely.buffer(hull, dist) if dist > 0 else hull
    for o in others:
        if len(o):
            parts.append(o[shapely.intersects(o.geometry.values, zone)])
    out = pd.concat(parts) if len(parts) > 1 else own
    return out.sort_values(ORD, kind="stable")


def is_partitioned(path):
    """Whether ``path`` is a folder of ``part.*.parquet`` files (see :func:`partition_landuse`)."""
    try:
        return Path(path).is_dir() and any(Path(path).glob("part.*.parquet"))
    except TypeError:  # a GeoDataFrame
        return False


def restore_index(gdf):
    """Drop the engine's bookkeeping columns and restore the stored index."""
    out = gdf.drop(columns=[c for c in (ORD, PART) if c in gdf.columns])
    return out


def in_order(pieces):
    """Per-partition frames (``None`` skipped) as one frame in :data:`ORD` order."""
    got = [x for x in pieces if x is not None]
    if not got:
        return pd.DataFrame({ORD: np.zeros(0, dtype=np.int64)})
    return pd.concat(got).sort_values(ORD, kind="stable")

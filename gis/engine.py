"""The same pipeline on dask-geopandas over dask.distributed (province scale).

Parcels (三调 DLTB) are stored as GeoParquet, one partition per township
(first 9 digits of ``ZLDWDM``; county or Hilbert partitions as settings),
with the partitions' spatial hulls known (dask-geopandas
``calculate_spatial_partitions``) so each task only receives the
neighbouring partitions it needs.  Every task calls the package's own
functions (:func:`gis.attach.evaluation_units`, :func:`gis.efficiency.evaluate`,
:func:`gis.pipeline.parcel_facts`, :func:`gis.renewal.rule_results`,
:func:`gis.renewal.renewal_blocks`, the density binning): there is no second
implementation of the rules.  Work crossing partition edges is handled:

* **attach**: each township task receives the parcels within ``halo_m`` of
  its hull and the firms holding land on them, so firm→parcel matches,
  shared parcels and inferred 一企多地 links are those of the whole county;
* **efficiency**: benchmarks (county/province averages) and the
  missing-indicator average are computed globally from the partitions'
  indicators *before* scoring; ranks and classes are global;
* **renewal**: chain benchmarks are global; blocks are merged per partition,
  then the blocks within ``block_gap_m`` across partition edges are merged
  again; priorities and ranks are global;
* **density**: each partition bins its points into the one global grid; the
  binned arrays are summed and convolved once.

The firm table (10⁵–10⁶ rows even for a province) is held by the client,
which sends each task only the firms near its partition; parcels and
density points stay partitioned on the workers.  Steps that need every row
in the global order (benchmarks, ranks and classes, chain benchmarks,
candidate ranks) run as one task on a worker.

With ``output_dir=`` (keep-on-workers mode, :func:`run_kept`) the results
are not gathered either: the workers write the evaluated firms, facts, rules,
candidates and blocks of each partition as GeoParquet and the density grids
as GeoTIFF (convolved and written band by band); the client receives only
per-partition summaries (blocks near partition edges, counts, benchmarks).
:func:`read_output` and :func:`read_density` read them back in the default
mode's order.  Parcels prepared by :func:`partition_landuse` (``gis
partition``, one county file at a time) are never loaded whole.

Typical use::

    from gis import engine, pipeline
    inputs = pipeline.demo_inputs(scale=0.1)
    result = engine.run_dask(**inputs, workers=2)     # a pipeline.Run
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import ConfigError, ValidationError
from .config import choice_problems, load_settings, number_problems
from .crs import WORKING_CRS
from .ledger import Ledger

__all__ = [
    "settings_problems",
    "ORD",
    "PART",
    "dask_client",
    "partition_keys",
    "write_partitioned",
    "partition_landuse",
    "read_partitioned",
    "firm_scores",
    "renewal_results",
    "density_grids",
    "run_kept",
    "read_output",
    "read_density",
    "run_dask",
]

#: column carrying the row's position in the original table (global order)
ORD = "_ord"
#: column carrying the partition key (township / county code, Hilbert bucket)
PART = "_part"

_STAGES = ("efficiency", "renewal", "density")


def _need_dask():
    try:
        import dask_geopandas  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "the dask engine needs dask-geopandas and dask.distributed: "
            'pip install "dask[distributed]" dask-geopandas'
        ) from exc


def settings_problems(settings):
    """Problems of the ``engine`` settings (checked by :func:`gis.config.load_settings`).

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["engine"]["halo_m"] = -1
    >>> settings_problems(s)
    ['engine.halo_m: must be >= 0, got -1']
    """
    cfg = settings.get("engine") or {}
    problems = choice_problems(cfg, "engine", "partition_by", ("township", "county", "hilbert"))
    problems += number_problems(cfg, "engine", "halo_m", low=0)
    problems += number_problems(cfg, "engine", "workers", low=1, integer=True, allow_none=True)
    problems += number_problems(cfg, "engine", "threads_per_worker", low=1, integer=True,
                                allow_none=True)
    return problems


def _cfg(settings):
    settings = settings or load_settings()
    problems = settings_problems(settings)
    if problems:
        raise ConfigError(problems, source="gis/defaults/engine.yaml")
    return dict(settings.get("engine") or {})


# --------------------------------------------------------------------- cluster
@contextlib.contextmanager
def dask_client(workers=None, scheduler=None, processes=None, memory_limit=None, settings=None):
    """A dask.distributed ``Client``: to ``scheduler`` if given, else a LocalCluster.

    Parameters
    ----------
    workers : int, optional
        Workers of the LocalCluster (default ``engine.workers``).
    scheduler : str, optional
        Address of a running scheduler (default ``engine.scheduler``).
    processes : bool, optional
        Process workers (default ``engine.processes``); ``False`` = threads.
    memory_limit : str, optional
        Per worker (default ``engine.memory_limit``).

    Yields
    ------
    distributed.Client
        Closed (and the LocalCluster stopped) on exit.
    """
    _need_dask()
    from distributed import Client, LocalCluster

    cfg = _cfg(settings)
    scheduler = scheduler if scheduler is not None else cfg.get("scheduler")
    if scheduler:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=int(workers if workers is not None else cfg["workers"]),
        threads_per_worker=int(cfg.get("threads_per_worker", 1)),
        processes=bool(cfg["processes"] if processes is None else processes),
        memory_limit=memory_limit if memory_limit is not None else cfg["memory_limit"],
        dashboard_address=None,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# ------------------------------------------------------------------ partitions
def partition_keys(parcels, by=None, settings=None, n=None):
    """The partition key of each parcel: township / county code or Hilbert bucket.

    Parameters
    ----------
    parcels : GeoDataFrame
        三调 DLTB with ``ZLDWDM`` (坐落单位代码) for administrative keys.
    by : {"township", "county", "hilbert"}, optional
        Default ``engine.partition_by``; falls back to ``hilbert`` when
        ``ZLDWDM`` is missing.
    n : int, optional
        Number of Hilbert buckets (default ``engine.hilbert_partitions`` or 8).

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
    """
    cfg = _cfg(settings)
    by = by or cfg["partition_by"]
    if by in ("township", "county") and "ZLDWDM" in parcels.columns:
        digits = int(cfg["township_digits"] if by == "township" else cfg["county_digits"])
        code = parcels["ZLDWDM"].astype(str).str.strip().str.slice(0, digits)
        if not code.str.fullmatch(r"\d{%d}" % digits).all():
            bad = parcels.index[~code.str.fullmatch(r"\d{%d}" % digits)][:10].tolist()
            raise ValidationError(
                [f"column 'ZLDWDM' must start with {digits} digits for partition_by={by}; "
                 f"rows {bad}"], source="parcels")
        return code.rename(PART)
    n = int(n or cfg.get("hilbert_partitions") or 8)
    geoms = parcels.geometry
    if len(geoms) == 0:
        return pd.Series([], index=parcels.index, dtype=object, name=PART)
    h = geoms.hilbert_distance(total_bounds=geoms.total_bounds)
    rank = h.rank(method="first").to_numpy() - 1
    bucket = (rank * n // max(len(h), 1)).astype(int)
    return pd.Series([f"h{b:04d}" for b in bucket], index=parcels.index, name=PART)


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
    from . import io

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
    _need_dask()
    import dask_geopandas

    files = sorted(str(p) for p in Path(path).glob("part.*.parquet"))
    if not files:
        raise ValidationError(f"read_partitioned: no part.*.parquet files in {path}")
    ddf = dask_geopandas.read_parquet(files)
    if ddf.npartitions != len(files):  # one partition per file, always
        ddf = dask_geopandas.read_parquet(files, split_row_groups=False)
    ddf.calculate_spatial_partitions()
    return ddf


def _hulls(ddf):
    hulls = ddf.spatial_partitions
    if hulls is None:
        ddf.calculate_spatial_partitions()
        hulls = ddf.spatial_partitions
    return np.asarray(hulls.values)


def _neighbours(hulls, dist):
    """For each partition, the other partitions within ``dist`` of its hull."""
    tree = shapely.STRtree(hulls)
    ok = ~shapely.is_empty(hulls)
    i, j = tree.query(np.where(ok, hulls, None), predicate="dwithin", distance=float(dist))
    keep = i != j
    out = [[] for _ in range(len(hulls))]
    for a, b in zip(i[keep], j[keep]):  # pairs of partitions: few, not rows
        out[a].append(int(b))
    return out


def _with_halo(own, others, hull, dist):
    """``own`` parcels plus those of ``others`` within ``dist`` of ``hull``, in global order."""
    parts = [own]
    zone = shapely.buffer(hull, dist) if dist > 0 else hull
    for o in others:
        if len(o):
            parts.append(o[shapely.intersects(o.geometry.values, zone)])
    out = pd.concat(parts) if len(parts) > 1 else own
    return out.sort_values(ORD, kind="stable")


def _is_partitioned(path):
    """Whether ``path`` is a folder of ``part.*.parquet`` files (see :func:`partition_landuse`)."""
    try:
        return Path(path).is_dir() and any(Path(path).glob("part.*.parquet"))
    except TypeError:  # a GeoDataFrame
        return False


def _restore(gdf):
    """Drop the engine's bookkeeping columns and restore the stored index."""
    out = gdf.drop(columns=[c for c in (ORD, PART) if c in gdf.columns])
    return out


# -------------------------------------------------------------- efficiency tasks
def _home_task(own, others, hull, firms, settings):
    """Home parcel of the firms near this partition whose parcel is one of ``own``.

    Returns a DataFrame: the firm's :data:`ORD` and its parcel's (``__pord``).
    """
    from . import attach

    snap = float(settings["attach"]["snap_m"])
    near = firms[shapely.dwithin(firms.geometry.values, hull, snap)]
    if not len(near) or not len(own):
        return pd.DataFrame({ORD: np.zeros(0, np.int64), "__pord": np.zeros(0, np.int64)})
    parcels = _with_halo(own, others, hull, 2 * snap + 1.0)
    m = attach.firm_parcels(near, parcels, settings=settings)
    idc = settings["attach"]["parcel_id_col"]
    pos = pd.Series(own[ORD].to_numpy(), index=own[idc].to_numpy())
    pos = pos[~pos.index.duplicated()]
    mine = m["parcel_id"].isin(pos.index).to_numpy()
    return pd.DataFrame({ORD: near.loc[m.index[mine], ORD].to_numpy(),
                         "__pord": pos.reindex(m.loc[mine, "parcel_id"]).to_numpy(np.int64)})


def _attach_task(own, others, hull, firms, k, layers, settings, halo):
    """Attach (evaluation units) of the firms whose home is partition ``k`` (``own``).

    ``firms`` holds the firms homed in this partition or a neighbouring one
    (a superset of those the halo's parcels can link to), with their home
    partition (``__home``: where their parcel is, else the nearest) and home
    parcel (``__pord``, the parcel's :data:`ORD`, -1 when unmatched).
    """
    from . import attach

    parcels = _with_halo(own, others, hull, halo)
    own_firms = firms["__home"].to_numpy() == k
    guests = firms["__pord"].isin(parcels[ORD]).to_numpy()
    sub = firms[own_firms | guests].sort_values(ORD, kind="stable")
    if not len(sub):
        return None
    units = attach.evaluation_units(
        sub.drop(columns=[ORD, "__home", "__pord"]), parcels.drop(columns=[ORD, PART]),
        layers.get("platforms"), layers.get("parks"), layers.get("townships"), settings=settings,
    )
    units[ORD] = sub[ORD]
    return units.loc[sub.index[sub["__home"].to_numpy() == k]]


def _bench_task(units, settings, year):
    """Indicators, scope and raw columns of one partition (for the global benchmarks)."""
    from . import efficiency

    if units is None or not len(units):
        return None
    ind = efficiency.indicators(units)
    sc = efficiency.evaluation_scope(units, settings, year)
    raw = sorted({c for k in ind.columns for c in efficiency.INDICATORS[k][:2]
                  if c in units.columns and c != efficiency.LAND} | {"land_mu", "size_class"})
    out = pd.concat([ind, units[raw]], axis=1)
    out["__scope"] = sc["scope"] if isinstance(sc, pd.DataFrame) else sc
    out[ORD] = units[ORD]
    return out


def _fixed_settings(settings, bm):
    """``settings`` with ``benchmark_method: fixed`` and the global benchmarks."""
    s = dict(settings)
    eff = dict(s["efficiency"])
    eff["benchmark_method"] = "fixed"
    eff["benchmarks"] = {
        size: {k: float(v) for k, v in row.items() if pd.notna(v)} for size, row in bm.iterrows()
    }
    s["efficiency"] = eff
    return s


def _evaluate_task(units, settings, year, averages):
    """:func:`gis.efficiency.evaluate` of one partition with global benchmarks.

    ``averages`` ({indicator: term}) replaces the partition's own average
    for 规上 firms missing an ``average_if_missing`` indicator.
    """
    from . import efficiency

    if units is None or not len(units):
        return None
    ev = efficiency.evaluate(units.drop(columns=[ORD]), settings=settings, year=year)
    scored = ev["scope"].isin(["graded", "scored_not_graded"])
    if averages:
        for k, avg in averages.items():
            # the firms gis.efficiency.scores chose to average (its note says so)
            zh = efficiency.INDICATORS[k][3]
            pat = re.compile(re.escape(zh) + r"缺失, 取规上平均得分(?:-?[0-9.]+(?:e[-+]?\d+)?|nan)")
            miss = scored & ev["score_note"].astype(str).str.contains(pat)
            if not miss.any():
                continue
            ev.loc[miss, f"score_{k}"] = avg
            repl = f"{zh}缺失, 取规上平均得分{avg:.2f}"
            ev.loc[miss, "score_note"] = ev.loc[miss, "score_note"].map(lambda t: pat.sub(repl, t))
        cols = [c for c in ev.columns if c.startswith("score_") and c != "score_note"]
        ev["score"] = ev[cols].sum(axis=1, min_count=1).where(scored)
    ev[ORD] = units[ORD]
    ev.attrs = {}  # the benchmarks are global, kept by firm_scores
    return ev


def _each(client, fn, items, *args):
    """``fn(item, *args)`` for each item (a future) on the cluster: futures, in order."""
    return [client.submit(fn, it, *args, pure=False) for it in items]


def _scatter_layers(client, layers):
    """Zone layers on every worker: a dict of futures (plain ``{}`` when empty)."""
    layers = {k: v for k, v in (layers or {}).items() if v is not None}
    return client.scatter(layers, broadcast=True) if layers else {}


def _partitions(client, ddf):
    """Futures of the partitions of ``ddf`` (kept on the workers)."""
    return client.compute(ddf.to_delayed())


def _firm_subset(client, firms, pos, extra=None):
    """Rows ``pos`` of ``firms`` with their global position (:data:`ORD`), sent to a worker."""
    sub = firms.iloc[pos]
    sub = sub.assign(**{ORD: np.asarray(pos, dtype=np.int64)}, **(extra or {}))
    sub.attrs = {}
    return client.scatter(sub)


def _attached(client, firms, parcels_ddf, layers, settings, halo):
    """Evaluation units per partition (futures).

    Each task receives only the firms it can need (never the whole table):
    the firms within ``snap_m`` of its hull to find their home parcel, then
    the firms homed in it or in a neighbouring partition to attach.
    """
    import distributed

    hulls = _hulls(parcels_ddf)
    parts = _partitions(client, parcels_ddf)
    snap = float(settings["attach"]["snap_m"])
    nb_snap = _neighbours(hulls, 2 * snap + 1.0)
    nb_halo = _neighbours(hulls, halo)
    pts = firms.geometry.values
    ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    hi, fi = shapely.STRtree(pts).query(np.where(~shapely.is_empty(hulls), hulls, None),
                                        predicate="dwithin", distance=snap)
    by = np.argsort(hi, kind="stable")
    near = np.split(fi[by], np.searchsorted(hi[by], np.arange(1, len(hulls))))
    homes = client.gather([
        client.submit(_home_task, parts[i], [parts[j] for j in nb_snap[i]], hulls[i],
                      _firm_subset(client, firms, np.sort(near[i])), settings, pure=False)
        for i in range(len(parts))
    ])
    # the home partition of each firm: where its parcel is, else the nearest hull
    # (an unmatched firm's result does not depend on the parcels it is given)
    home_p = np.full(len(firms), -1, dtype=np.int64)
    pord = np.full(len(firms), -1, dtype=np.int64)
    for i, h in enumerate(homes):
        home_p[h[ORD].to_numpy()] = i
        pord[h[ORD].to_numpy()] = h["__pord"].to_numpy()
    del homes, near
    loose = (home_p < 0) & ok
    if loose.any():
        home_p[loose] = shapely.STRtree(hulls).nearest(pts[loose])
    home_p[home_p < 0] = 0  # no geometry (load_firms rejects those): any partition
    order = np.argsort(home_p, kind="stable")
    bounds = np.searchsorted(home_p[order], np.arange(len(parts) + 1))
    lfut = _scatter_layers(client, layers)
    units = []
    for i in range(len(parts)):
        mine = np.concatenate([order[bounds[j]:bounds[j + 1]] for j in [i] + nb_halo[i]])
        mine = np.sort(mine)
        sub = _firm_subset(client, firms, mine, {"__home": home_p[mine], "__pord": pord[mine]})
        units.append(client.submit(_attach_task, parts[i], [parts[j] for j in nb_halo[i]],
                                   hulls[i], sub, i, lfut, settings, halo, pure=False))
    distributed.wait(units)
    return units, parts, hulls, nb_halo


def _attached_inputs(client, firms, parcels_ddf, layers, settings, year):
    """Attach per partition, then the county-wide benchmarks.

    Returns ``(settings, cfg, units, parts, hulls, neighbours, bm, averages)``.
    The benchmarks need every firm's indicators in :data:`ORD` order; they
    are put together and computed by one task on a worker
    (:func:`_benchmarks_task`), so the client never holds them.
    """
    settings = settings or load_settings()
    cfg = _cfg(settings)
    if settings["attach"]["multi_parcel"] != "per_firm":
        raise ConfigError("the dask engine supports attach.multi_parcel: per_firm only "
                          "(gis/defaults/attach.yaml)")
    if not firms.index.is_unique:
        raise ValidationError("firm_scores: the firms' index must be unique")
    units, parts, hulls, nb = _attached(client, firms, parcels_ddf, layers, settings,
                                        float(cfg["halo_m"]))
    pieces = _each(client, _bench_task, units, settings, year)
    bm, averages = client.submit(_benchmarks_task, settings, *pieces, pure=False).result()
    return settings, cfg, units, parts, hulls, nb, bm, averages


def _in_order(pieces):
    """Per-partition frames (``None`` skipped) as one frame in :data:`ORD` order."""
    got = [x for x in pieces if x is not None]
    if not got:
        return pd.DataFrame({ORD: np.zeros(0, dtype=np.int64)})
    return pd.concat(got).sort_values(ORD, kind="stable")


def _benchmarks_task(settings, *pieces):
    """:func:`_global_benchmarks` of the partitions' :func:`_bench_task` pieces (on a worker)."""
    return _global_benchmarks(_in_order(pieces), settings)


def _global_benchmarks(allf, settings):
    """County-wide benchmarks and missing-data averages from every firm's indicators.

    Returns ``(benchmarks, averages)``: what each partition's
    :func:`gis.efficiency.evaluate` needs fixed so that scores equal the
    in-memory engine's.
    """
    from . import efficiency

    ecfg = efficiency._cfg(settings)
    scope = allf["__scope"]
    scored = scope.isin(["graded", "scored_not_graded"])
    pop = scope.eq("graded") if ecfg["benchmark_population"] == "graded" else scored
    ind_cols = [c for c in efficiency.INDICATORS if c in allf.columns]
    bm = efficiency.benchmarks(allf[ind_cols], allf, pop, settings)
    averages = {}
    big = pop & allf["size_class"].eq("规上")
    if big.any():
        terms = efficiency.scores(allf.loc[big, ind_cols], allf.loc[big], bm, settings,
                                  population=pop[big])
        for k in ecfg["average_if_missing"]:
            if f"score_{k}" in terms and k in allf:
                have = terms.loc[allf.loc[big, k].notna(), f"score_{k}"]
                averages[k] = float(have.mean()) if len(have) else 0.0
    return bm, averages


def firm_scores(client, firms, parcels_ddf, layers, settings=None, year=None, ledger=None,
                source=""):
    """亩均 evaluation of ``firms`` on partitioned parcels: same as :func:`gis.pipeline.evaluate_firms`.

    Attach runs per township partition (with a halo); indicators and scope
    per partition; benchmarks and the missing-indicator average globally;
    scores per partition with those benchmarks; ranks and classes globally.

    Parameters
    ----------
    client : distributed.Client
    firms : GeoDataFrame
        From :func:`gis.pipeline.load_firms` (EPSG:4549, unique index).
    parcels_ddf : dask_geopandas.GeoDataFrame
        From :func:`read_partitioned`.
    layers : dict
        From :func:`gis.pipeline.planning_layers`.

    Returns
    -------
    (GeoDataFrame, dict)
        The evaluation (index and columns of
        :func:`gis.pipeline.evaluate_firms`, ``attrs["benchmarks"]``) and the
        per-partition futures (``parts``, ``hulls``, ``neighbours``) reused
        by :func:`renewal_results`.
    """
    from . import pipeline

    # --- attach, then global benchmarks from every partition's indicators
    settings, cfg, units, parts, hulls, nb, bm, averages = _attached_inputs(
        client, firms, parcels_ddf, layers, settings, year)
    # --- scores per partition with the global benchmarks
    fixed = _fixed_settings(settings, bm)
    evs = client.gather(_each(client, _evaluate_task, units, fixed, year, averages))
    ev = pd.concat([e for e in evs if e is not None]).sort_values(ORD, kind="stable")
    ev = ev.drop(columns=[ORD])
    # --- global ranks and classes (as gis.efficiency.evaluate does)
    for col, values in _global_classes(ev, settings).items():
        ev[col] = values
    ev = gpd.GeoDataFrame(ev, geometry="geometry", crs=firms.crs)
    # as gis.efficiency.evaluate stores them: a plain nested dict
    ev.attrs["benchmarks"] = {str(k): {str(c): float(v) for c, v in row.items()}
                              for k, row in bm.to_dict(orient="index").items()}
    pipeline._unmatched_notes(firms.loc[ev.index], ev, ledger, source)
    return ev, {"parts": parts, "hulls": hulls, "neighbours": nb}


# ----------------------------------------------------------------- renewal tasks
_FACT_COLS = ("parcel_id", "parcel_ids", "tax", "value_added", "floor_area", "chain",
              "size_class", "start_year", "class", "industry_code", "lessee", "land_mu",
              "table_mu", "leased_mu", "class_previous")


def _facts_task(own, others, hull, ev, layers, settings, year, halo):
    """:func:`gis.pipeline.parcel_facts` of this partition's parcels (zones attached)."""
    from . import attach, pipeline

    if not len(own):
        return None
    idc = settings["attach"]["parcel_id_col"]
    parcels = _with_halo(own, others, hull, halo)
    ids = set(parcels[idc])
    pids = ev["parcel_ids"].fillna(ev["parcel_id"]).astype(str).str.split(";").explode()
    linked = pids.isin(ids).groupby(level=0).any().reindex(ev.index, fill_value=False)
    sub = ev[linked.to_numpy(bool)]
    zoned = attach.attach_zones(parcels.drop(columns=[PART]), layers.get("platforms"),
                                layers.get("parks"), layers.get("townships"), settings=settings)
    facts = pipeline.parcel_facts(sub, zoned, year, settings=settings)  # keeps the ORD column
    return facts[facts[idc].isin(set(own[idc]))]


def _no_attrs(df):
    out = pd.DataFrame(df)
    out.attrs = {}
    return out


def _plain_facts(f):
    """Facts of the parcels with firms, no geometry: all the chain benchmarks and the
    previous-year rules read (parcels without firms carry no chain, tax or grade)."""
    f = _facts_with_firms(f)
    return None if f is None else _no_attrs(f.drop(columns="geometry", errors="ignore"))


#: the facts columns :func:`gis.renewal.chain_benchmarks` reads
_BENCH_COLS = ("chain", "tax", "value_added", "area_mu", "firms")


def _bench_facts(plain):
    """Plain facts (:func:`_plain_facts`) reduced to what the chain benchmarks read."""
    if plain is None:
        return None
    return plain[[ORD] + [c for c in _BENCH_COLS if c in plain.columns]]


def _chain_bench_task(settings, n, *pieces):
    """:func:`gis.renewal.chain_benchmarks` of this year's (first ``n``) and last
    year's :func:`_bench_facts` pieces (on a worker)."""
    from . import renewal

    now = _in_order(pieces[:n]).drop(columns=[ORD])
    prev = _in_order(pieces[n:]).drop(columns=[ORD]) if len(pieces) > n else None
    return renewal.chain_benchmarks(now, settings, previous=prev)


def _facts_with_firms(f):
    if f is None:
        return None
    return f[pd.to_numeric(f["firms"], errors="coerce").fillna(0) > 0]


def _first_ord(blocks, flagged):
    """Position of each block's first member parcel in the global order."""
    if not len(blocks):
        return np.zeros(0, dtype=np.int64)
    first = pd.Series(flagged[ORD].to_numpy(), index=flagged["parcel_id"].to_numpy())
    first = first[~first.index.duplicated()]
    ex = blocks["parcel_ids"].explode()
    return ex.map(first).groupby(level=0).min().reindex(blocks.index).to_numpy(np.int64)


def _rules_task(facts, plan, prev, bench, settings, year, gap, layers):
    """Rules, candidates and this partition's own blocks."""
    from . import renewal

    if facts is None or not len(facts):
        return None
    hull = shapely.box(*facts.total_bounds)
    p = None
    if plan is not None:
        p = plan[shapely.intersects(plan.geometry.values, hull)]
    f = facts.drop(columns=[ORD])
    rules = renewal.rule_results(f, settings, plan=p, year=year, previous=prev, benchmarks=bench)
    cands = renewal.candidates(f, rules)
    cands[ORD] = facts.loc[cands.index, ORD]
    flagged = cands[cands["status"] == "候选"]
    blocks = renewal.renewal_blocks(flagged.drop(columns=[ORD]), gap_m=gap, settings=settings,
                                    platforms=layers.get("platforms"), parks=layers.get("parks"))
    blocks["__first"] = _first_ord(blocks, flagged)
    pos = pd.Series(facts[ORD].to_numpy(), index=facts["parcel_id"].to_numpy())
    rules[ORD] = rules["parcel_id"].map(pos[~pos.index.duplicated()]).to_numpy()
    return rules, cands, blocks


def _merge_blocks(pieces, cands, settings, layers, gap, raw=False):
    """Blocks of all partitions, re-merged where they touch across partition edges."""
    from . import renewal

    parts = [(k, b) for k, b in enumerate(pieces) if b is not None and len(b)]
    if not parts and raw:
        return None, 0
    if not parts:
        flagged = cands[cands["status"] == "候选"]
        return renewal.renewal_blocks(flagged, gap_m=gap, settings=settings,
                                      platforms=layers.get("platforms"), parks=layers.get("parks")), 0
    allb = pd.concat([b.assign(__src=k) for k, b in parts], ignore_index=True)
    geoms = allb.geometry.values
    tree = shapely.STRtree(geoms)
    i, j = (tree.query(geoms, predicate="dwithin", distance=gap) if gap > 0
            else tree.query(geoms, predicate="intersects"))
    src = allb["__src"].to_numpy()
    cross = src[i] != src[j]
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(allb)
    g = coo_matrix((np.ones(int(cross.sum()), dtype=np.int8), (i[cross], j[cross])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    size = np.bincount(lab)
    joined = size[lab] > 1
    keep = allb[~joined]
    flagged = cands[cands["status"] == "候选"]
    ids = set(x for lst in allb.loc[joined, "parcel_ids"] for x in lst) if joined.any() else set()
    plat, park = layers.get("platforms"), layers.get("parks")
    # blocks kept from their partition: zones from the layers (as in memory)
    pieces = [keep.drop(columns=["__src"])]
    if ids:
        sub = flagged[flagged["parcel_id"].isin(ids)].sort_values(ORD, kind="stable")
        again = renewal.renewal_blocks(sub.drop(columns=[ORD]), gap_m=gap, settings=settings,
                                       platforms=plat, parks=park)
        again["__first"] = _first_ord(again, sub)
        pieces.append(again)
    out = pd.concat(pieces, ignore_index=True)
    out.attrs = {}
    remerged = int(len(pieces[1])) if len(pieces) > 1 else 0
    if raw:  # keep-on-workers mode: the caller orders them with the interior blocks
        return gpd.GeoDataFrame(out, geometry="geometry", crs=cands.crs), remerged
    out = out.sort_values(["__first"], kind="stable").sort_values("area_mu", ascending=False,
                                                                  kind="stable")
    out["block_id"] = [f"RB{k:04d}" for k in range(1, len(out) + 1)]
    out = out.drop(columns=["__first"]).reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=cands.crs), remerged


def renewal_results(client, ev, parcels_ddf, plan=None, year=None, previous_ev=None, layers=None,
                    settings=None, handles=None):
    """Renewal on partitioned parcels: same outputs as :func:`gis.pipeline.renewal_outputs`.

    Parcel facts, rules, candidates and blocks per partition (each with its
    halo); chain benchmarks global (passed to every partition); blocks
    touching across partition edges merged again; priorities, ranks and the
    yearly check global.

    Returns
    -------
    dict
        ``rules``, ``renewal_parcels``, ``renewal_blocks``, ``benchmarks``,
        ``plan_check`` (as :func:`gis.pipeline.renewal_outputs`), ``facts`` (the
        :func:`gis.pipeline.parcel_facts` rows of parcels with firms) and
        ``engine`` (``partitions``, ``blocks_across_partitions``: blocks made by
        merging blocks of different partitions).
    """
    from . import renewal

    settings = settings or load_settings()
    layers = layers or {}
    cfg = _cfg(settings)
    halo = float(cfg["halo_m"])
    if handles is None:
        parts = _partitions(client, parcels_ddf)
        hulls = _hulls(parcels_ddf)
        nb = _neighbours(hulls, halo)
    else:
        parts, hulls, nb = handles["parts"], handles["hulls"], handles["neighbours"]
    if previous_ev is not None:  # C two years running: last year's class by credit code
        from .figures import previous_class

        ev = ev.assign(class_previous=previous_class(ev, previous_ev).to_numpy())
    cols = [c for c in _FACT_COLS if c in ev.columns]
    efut = client.scatter(_no_attrs(ev[cols]), broadcast=True)
    lfut = _scatter_layers(client, layers)
    facts = [client.submit(_facts_task, parts[i], [parts[j] for j in nb[i]], hulls[i], efut,
                           lfut, settings, year, halo, pure=False) for i in range(len(parts))]
    prev_facts = None
    if previous_ev is not None:
        pfut = client.scatter(_no_attrs(previous_ev[[c for c in _FACT_COLS if c in previous_ev]]),
                              broadcast=True)
        prev_facts = [client.submit(_facts_task, parts[i], [parts[j] for j in nb[i]], hulls[i],
                                    pfut, lfut, settings, None if year is None else year - 1,
                                    halo, pure=False) for i in range(len(parts))]
    # global chain benchmarks from the partitions' facts (no geometry)
    plain = [f for f in client.gather(_each(client, _plain_facts, facts)) if f is not None]
    allfacts = pd.concat(plain).sort_values(ORD, kind="stable").drop(columns=[ORD])
    prev = None
    prev_parts = [None] * len(parts)
    if prev_facts is not None:
        pp = client.gather(_each(client, _plain_facts, prev_facts))
        prev = pd.concat([p for p in pp if p is not None]).sort_values(ORD, kind="stable").drop(
            columns=[ORD])
        prev_parts = [None if p is None else p.drop(columns=[ORD]) for p in pp]
    bench = renewal.chain_benchmarks(allfacts, settings, previous=prev)
    gap = float(settings["renewal"]["block_gap_m"])
    pl = client.scatter(plan, broadcast=True) if plan is not None else None
    out = client.gather([
        client.submit(_rules_task, facts[i], pl, prev_parts[i], bench, settings, year, gap,
                      lfut, pure=False) for i in range(len(parts))
    ])
    got = [o for o in out if o is not None]
    rules = pd.concat([o[0] for o in got], ignore_index=True) if got else pd.DataFrame()
    if len(rules):
        rules = rules.sort_values(ORD, kind="stable").drop(columns=[ORD]).reset_index(drop=True)
    cands = pd.concat([o[1] for o in got]).sort_values(ORD, kind="stable")
    cands = gpd.GeoDataFrame(cands, geometry="geometry", crs=WORKING_CRS)
    blocks, remerged = _merge_blocks([o[2] for o in got], cands, settings, layers, gap)
    cands = cands.drop(columns=[ORD])
    cands = cands.join(renewal.benchmark_gain(cands, bench))
    cands = cands.join(renewal.priority(cands, settings, benchmarks=bench, blocks=blocks))
    blocks = blocks.join(renewal.priority(blocks, settings, benchmarks=bench)).sort_values("rank")
    check = renewal.yearly_plan_check(blocks, settings=settings)
    fgeo = pd.concat([f for f in client.gather(_each(client, _facts_with_firms, facts))
                      if f is not None]).sort_values(ORD, kind="stable")
    return {"rules": rules, "renewal_parcels": cands, "renewal_blocks": blocks,
            "benchmarks": bench, "plan_check": check, "facts": _restore(fgeo),
            "engine": {"partitions": len(parts), "blocks_across_partitions": remerged}}


# ----------------------------------------------------------------- density tasks
def _bin_task(points, chain_col, spec):
    """Counts per chain of one partition, linearly binned on the global padded grid.

    Returns ``({name: binned}, {chain: first row})`` where ``binned`` is the
    sparse ``(flat index, mass)`` of :func:`gis.density.linear_bin_sparse`
    (``"全部"``) or ``((flat index, mass), n_points)`` (a chain): memory
    follows the points, never the province-wide grid.
    """
    from . import density

    if points is None or not len(points):
        return {}, {}
    x, y = density._point_xy(points)
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
    from . import density

    if points is None or not len(points):
        return None
    x, y = density._point_xy(points)
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
    cfg = _cfg(settings)
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
    parts = _partitions(client, ddf)
    return _density_of_parts(client, parts, chain_col, clip, bounds, settings, write_dir)


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
    from . import density

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
            mask = density._clip_mask(clip, t, r1 - r0, cols) if clip is not None else None
            gb = density._density(spec[0] + (ii + 0.5) * cell, spec[1] - (jj + 0.5) * cell,
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


def _density_of_parts(client, parts, chain_col, clip, bounds, settings, write_dir=None):
    """:func:`density_grids` of point partitions given as futures.

    The partitions' binned masses are summed pairwise on the workers.
    ``write_dir``: the grids are convolved and written as GeoTIFF
    (``<k>.tif``, ``k`` in output order) by the workers, and
    ``{chain: {"n_points", "path", "mass"}}`` is returned instead of grids.
    """
    from . import density

    s = density._settings(settings)["kde"]
    cell, radius, kernel = float(s["cell_m"]), float(s["radius_m"]), s["kernel"]
    truncate = float(s.get("gaussian_truncate", 4.0))
    pad = radius if kernel == "quartic" else truncate * radius
    if bounds is None or bounds == "points":
        if (bounds or s.get("extent", "county")) == "points":
            bb = [b for b in client.gather(client.map(_bounds_task, parts)) if b is not None]
            bb = np.asarray(bb)
            xs = np.r_[bb[:, 0], bb[:, 2]] if len(bb) else np.zeros(0)
            ys = np.r_[bb[:, 1], bb[:, 3]] if len(bb) else np.zeros(0)
            ext = density._extent("points", xs, ys, pad, s)
        else:
            ext = density._extent(None, np.zeros(0), np.zeros(0), pad, s)
    else:
        ext = density._extent(bounds, np.zeros(0), np.zeros(0), pad, s)
    transform, rows, cols = density.grid_spec(ext, cell)
    k = density.kernel_weights(cell, radius, kernel, truncate).shape[0] // 2
    p = k + 1
    spec = (transform.c - p * cell, transform.f + p * cell, cell, rows + 2 * p, cols + 2 * p)
    level = _each(client, _bin_task, parts, chain_col, spec)
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


# ------------------------------------------------------- keep-on-workers mode
#
# With ``run_dask(..., output_dir=...)`` the per-partition results are written
# as GeoParquet by the workers and never gathered: the client only receives
# global summaries (indicators for the benchmarks, the scores for the global
# ranks, the chain-benchmark facts without geometry, the blocks near partition
# edges, the priority inputs of blocks and candidates, the density masses
# summed tree-wise on the workers).  Every written file keeps the :data:`ORD`
# column (firms: row in the input table; rules, candidates, facts: parcel
# row), so ``concat`` + ``sort_values(ORD)`` gives the default mode's tables;
# blocks carry their global ``block_id`` and ``rank``.

def _write_task(df, path):
    """Write one partition's result (GeoParquet when it has geometry); its row count."""
    if df is None or not len(df):
        return 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = df.copy()
    out.attrs = {}
    if isinstance(out, gpd.GeoDataFrame) and out.geometry.name in out.columns:
        out.to_parquet(path, index=True)
    else:
        pd.DataFrame(out).to_parquet(path, index=True)
    return len(out)


def read_output(folder, what):
    """Read back a keep-on-workers output table (``firms``, ``rules``,
    ``renewal_parcels``, ``facts``, ``renewal_blocks``), concatenated in the
    default mode's order (``ORD``; blocks by ``rank``); ``ORD`` dropped."""
    files = sorted(Path(folder, what).glob("part.*.parquet"))
    if not files:
        return None
    parts = []
    for f in files:
        try:
            parts.append(gpd.read_parquet(f))
        except ValueError:  # no geometry column
            parts.append(pd.read_parquet(f))
    out = pd.concat(parts)
    out.attrs = {}
    if what == "renewal_blocks":
        return out.sort_values("rank", kind="stable").reset_index(drop=True)
    out = out.sort_values(ORD, kind="stable").drop(columns=[ORD])
    if what == "rules":
        out = out.reset_index(drop=True)
    return out


def read_density(folder):
    """Read back the keep-on-workers density grids: ``{chain: DensityGrid}`` in output order."""
    from . import density

    out = {}
    for f in sorted(Path(folder, "density").glob("*.tif")):
        g = density.read_geotiff(f)
        out[g.metadata.get("chain", f.stem)] = g
    return out


def _rank_inputs(ev, k):
    if ev is None:
        return None
    out = pd.DataFrame({ORD: ev[ORD], "score": ev["score"], "scope": ev["scope"],
                        "size_class": ev["size_class"]}, index=ev.index)
    out["__p"] = k
    return out


def _global_classes(r, settings):
    """Ranks and A/B/C/D classes over every firm, as :func:`gis.efficiency.evaluate`.

    ``r`` has ``score``, ``scope`` and ``size_class`` for every firm (global
    order); returns ``rank``, ``rank_n``, ``class``, ``class_zh``.
    """
    from . import efficiency

    graded = r["scope"].eq("graded")
    size = r["size_class"]
    gs = r["score"].where(graded)
    group = size if efficiency._cfg(settings)["rank_by_size_class"] else None
    out = pd.DataFrame(index=r.index)
    out["rank"] = efficiency.ranks(gs, group)
    if group is None:
        rank_n = pd.Series(gs.notna().sum(), index=gs.index, dtype=float)
    else:
        rank_n = gs.notna().groupby(size).transform("sum").astype(float)
    out["rank_n"] = rank_n.where(graded)
    cls = efficiency.classes(gs, group=group, settings=settings)
    out["class"] = cls
    out["class_zh"] = cls.map(efficiency.CLASS_ZH).astype(object)
    return out


def _ranks_task(settings, *pieces):
    """Global ranks and classes of the partitions' :func:`_rank_inputs` (on a worker).

    Returns the per-firm columns (with the partition ``__p``) and a summary.
    """
    r = _in_order(pieces)
    out = _global_classes(r, settings)
    out["__p"] = r["__p"]
    info = {"firms": int(len(r)), "graded": int(r["scope"].eq("graded").sum()),
            "score_sum": float(r["score"].sum()),
            "classes": {str(k): int(v) for k, v in
                        out["class"].value_counts().sort_index().items()}}
    return out, info


def _second(pair):
    return pair[1]


def _unmatched_rows(ev):
    if ev is None or "match" not in ev:
        return None
    mask = (ev["match"] == "unmatched") & ~ev.get("lessee", False)
    return pd.DataFrame(ev.loc[mask, [ORD, "match", "match_note"]])


def _assign_task(ev, ranks, k):
    """Partition ``k``'s evaluation with its global ranks and classes (:func:`_ranks_task`)."""
    if ev is None:
        return None
    cols = ranks[0]
    cols = cols[cols["__p"].to_numpy() == k].drop(columns="__p")
    ev = ev.copy()
    for c in cols.columns:
        ev[c] = cols[c]
    ev.attrs = {}
    return gpd.GeoDataFrame(ev, geometry="geometry", crs=WORKING_CRS)


def firm_scores_kept(client, firms, parcels_ddf, layers, settings=None, year=None, ledger=None,
                     source=""):
    """:func:`firm_scores` whose evaluation stays on the workers.

    Returns
    -------
    (list of futures, dict, dict)
        The evaluation per partition (columns of :func:`firm_scores` plus
        :data:`ORD`), the handles, and ``{"benchmarks", "firms", "classes"}``.
    """
    from . import pipeline

    settings, cfg, units, parts, hulls, nb, bm, averages = _attached_inputs(
        client, firms, parcels_ddf, layers, settings, year)
    fixed = _fixed_settings(settings, bm)
    evs = _each(client, _evaluate_task, units, fixed, year, averages)
    del units
    # --- global ranks and classes from (score, scope, size class), on one worker
    ranks = client.submit(_ranks_task, settings,
                          *[client.submit(_rank_inputs, e, k, pure=False)
                            for k, e in enumerate(evs)], pure=False)
    evf = [client.submit(_assign_task, e, ranks, k, pure=False) for k, e in enumerate(evs)]
    info = client.submit(_second, ranks, pure=False).result()
    info["benchmarks"] = {str(k): {str(c): float(v) for c, v in row.items()}
                          for k, row in bm.to_dict(orient="index").items()}
    del ranks
    if ledger is not None:
        um = [u for u in client.gather(_each(client, _unmatched_rows, evf)) if u is not None]
        um = pd.concat(um).sort_values(ORD, kind="stable") if um else None
        if um is not None and len(um):
            pipeline._unmatched_notes(firms.loc[um.index], um, ledger, source)
    return evf, {"parts": parts, "hulls": hulls, "neighbours": nb}, info


def _facts_task_kept(own, others, hull, evs, layers, settings, year, halo, prev_evs=None):
    """:func:`_facts_task` given the evaluation pieces of the nearby partitions.

    ``prev_evs``: last year's pieces of the same partitions; each firm's class
    last year is joined by its credit code (C two years running).
    """
    from .figures import previous_class

    evs = [e for e in evs if e is not None]
    if not len(own):
        return None
    if evs:
        full = [e for e in evs if len(e)] or evs[:1]
        ev = pd.concat(full).sort_values(ORD, kind="stable")
        prev = [e for e in (prev_evs or []) if e is not None and len(e)]
        if prev:
            ev = ev.assign(class_previous=previous_class(ev, pd.concat(prev)).to_numpy())
        ev = ev[[c for c in _FACT_COLS if c in ev.columns]]
    else:
        ev = pd.DataFrame({c: pd.Series([], dtype=object) for c in _FACT_COLS})
    return _facts_task(own, others, hull, _no_attrs(ev), layers, settings, year, halo)


def _edge_split(out, k, hulls, gap):
    """Blocks of partition ``k`` within ``gap`` of another partition (with their
    flagged members) and the priority inputs of its interior blocks."""
    if out is None:
        return None
    _, cands, blocks = out
    if not len(blocks):
        return None
    others = np.array([h for j, h in enumerate(hulls) if j != k and h is not None
                       and not shapely.is_empty(h)], dtype=object)
    edge = np.zeros(len(blocks), dtype=bool)
    if len(others):
        tree = shapely.STRtree(others)
        bi, _ = tree.query(blocks.geometry.values, predicate="dwithin", distance=max(gap, 1e-9))
        edge[np.unique(bi)] = True
    eb = blocks[edge]
    ids = set(x for lst in eb["parcel_ids"] for x in lst)
    flagged = cands[(cands["status"] == "候选") & cands["parcel_id"].isin(ids)]
    inner = blocks.loc[~edge, [c for c in ("area_mu", "tax", "chain", "platform", "__first")
                               if c in blocks.columns]].copy()
    inner["__p"] = k
    inner["__i"] = np.flatnonzero(~edge)
    return eb, flagged, _no_attrs(inner)


def _cands_terms(out, bench, settings, edge_area):
    """Candidates of one partition with benchmark gain and priority terms (rank global)."""
    from . import renewal

    if out is None:
        return None
    _, cands, blocks = out
    c = cands.drop(columns=[ORD])
    c = c.join(renewal.benchmark_gain(c, bench))
    inner = blocks[["parcel_ids", "area_mu"]] if len(blocks) else blocks
    m = inner.explode("parcel_ids").set_index("parcel_ids")["area_mu"] if len(inner) else None
    m = pd.concat([x for x in (m, edge_area) if x is not None and len(x)]) if (
        m is not None or edge_area is not None) else None
    if m is not None:
        m = m[~m.index.duplicated(keep="last")]  # re-merged areas win
        fake = pd.DataFrame({"parcel_ids": [[p] for p in m.index], "area_mu": m.to_numpy()})
    else:
        fake = None
    pr = renewal.priority(c, settings, benchmarks=bench, blocks=fake)
    c = c.join(pr.drop(columns=["rank"]))
    c[ORD] = cands[ORD]
    return c


def _cand_ranks_task(*pieces):
    """Global candidate ranks (priority, then area, then parcel order), on a worker.

    Returns the rank by parcel :data:`ORD` and ``(rows, flagged)`` counts.
    """
    pi = _in_order(pieces)
    if not len(pi):
        return pd.Series([], dtype=int), (0, 0)
    order = np.lexsort((np.arange(len(pi)), -pi["area"].to_numpy(), -pi["priority"].to_numpy()))
    rank = np.empty(len(pi), dtype=int)
    rank[order] = np.arange(1, len(pi) + 1)
    return pd.Series(rank, index=pi[ORD].to_numpy()), (int(len(pi)), int(pi["cand"].sum()))


def _finish_cands(c, ranks, path):
    if c is None:
        return 0
    c = c.copy()
    c["rank"] = ranks[0].reindex(c[ORD].to_numpy()).to_numpy()
    return _write_task(gpd.GeoDataFrame(c, geometry="geometry", crs=WORKING_CRS), path)


def _finish_blocks(out, assign, path):
    if out is None or assign is None or not len(assign):
        return 0
    b = out[2].iloc[assign["__i"].to_numpy()].copy()
    b = b.drop(columns=["__first"])
    for col in assign.columns.drop("__i"):
        b[col] = assign[col].to_numpy()
    b = b.reset_index(drop=True)
    return _write_task(gpd.GeoDataFrame(b, geometry="geometry", crs=WORKING_CRS), path)


def _rules_out(out):
    return None if out is None else out[0]


def _prio_inputs(c):
    if c is None:
        return None
    return pd.DataFrame({ORD: c[ORD].to_numpy(), "priority": c["priority"].to_numpy(),
                         "cand": (c["status"] == "候选").to_numpy(),
                         "area": pd.to_numeric(c["area_mu"], errors="coerce").fillna(0).to_numpy(
                             float)})


def _drop_ord(f):
    return None if f is None else f.drop(columns=[ORD])


def renewal_kept(client, evf, handles, plan, year, layers, settings, out_dir, prev_evf=None):
    """:func:`renewal_results` with the per-partition results written by the workers."""
    import distributed

    from . import renewal

    layers = layers or {}
    cfg = _cfg(settings)
    halo = float(cfg["halo_m"])
    parts, hulls, nb = handles["parts"], handles["hulls"], handles["neighbours"]
    nb2 = _neighbours(hulls, 2 * halo)  # firms homed there may hold parcels in the halo
    lfut = _scatter_layers(client, layers)
    facts = [client.submit(_facts_task_kept, parts[i], [parts[j] for j in nb[i]], hulls[i],
                           [evf[i]] + [evf[j] for j in nb2[i]], lfut, settings, year, halo,
                           None if prev_evf is None else [prev_evf[i]] + [prev_evf[j] for j in nb2[i]],
                           pure=False) for i in range(len(parts))]
    now = _each(client, _bench_facts, _each(client, _plain_facts, facts))
    prev, prev_parts = [], [None] * len(parts)
    if prev_evf is not None:
        pf = [client.submit(_facts_task_kept, parts[i], [parts[j] for j in nb[i]], hulls[i],
                            [prev_evf[i]] + [prev_evf[j] for j in nb2[i]], lfut, settings,
                            None if year is None else year - 1, halo, pure=False)
              for i in range(len(parts))]
        plain = _each(client, _plain_facts, pf)  # once: the rules and the benchmarks read it
        prev = _each(client, _bench_facts, plain)
        prev_parts = _each(client, _drop_ord, plain)
        del plain
    # the chain benchmarks read every parcel with firms: one task on a worker
    bench = client.submit(_chain_bench_task, settings, len(now), *now, *prev,
                          pure=False).result()
    del now, prev
    gap = float(settings["renewal"]["block_gap_m"])
    pl = client.scatter(plan, broadcast=True) if plan is not None else None
    outs = [client.submit(_rules_task, facts[i], pl, prev_parts[i], bench, settings, year, gap, lfut,
                          pure=False) for i in range(len(parts))]
    out_dir = Path(out_dir)
    writes = [client.submit(_write_task, client.submit(_facts_with_firms, facts[i], pure=False),
                            str(out_dir / "facts" / f"part.{i:05d}.parquet"), pure=False)
              for i in range(len(parts))]
    writes += [client.submit(_write_task, client.submit(_rules_out, outs[i], pure=False),
                             str(out_dir / "rules" / f"part.{i:05d}.parquet"), pure=False)
               for i in range(len(parts))]
    # --- blocks: only those near partition edges travel, for the re-merge
    splits = client.gather([client.submit(_edge_split, outs[i], i, list(hulls), gap, pure=False)
                            for i in range(len(parts))])
    edge_pieces = [None if sp is None else sp[0] for sp in splits]
    edge_flag = [sp[1] for sp in splits if sp is not None and len(sp[1])]
    inner = pd.concat([sp[2] for sp in splits if sp is not None] or [pd.DataFrame()])
    edge_blocks, remerged = None, 0
    if edge_flag:
        ecands = gpd.GeoDataFrame(pd.concat(edge_flag).sort_values(ORD, kind="stable"),
                                  geometry="geometry", crs=WORKING_CRS)
        edge_blocks, remerged = _merge_blocks(edge_pieces, ecands, settings, layers, gap, raw=True)
    del splits, edge_pieces, edge_flag
    cols = ["area_mu", "tax", "chain", "platform", "__first"]
    frames = []
    if len(inner):
        frames.append(inner)
    if edge_blocks is not None and len(edge_blocks):
        e = pd.DataFrame(edge_blocks[[c for c in cols if c in edge_blocks.columns]])
        e["__p"] = -1
        e["__i"] = np.arange(len(e))
        frames.append(e)
    allb = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {c: [] for c in cols + ["__p", "__i"]})
    allb = allb.sort_values(["__first"], kind="stable").sort_values(
        "area_mu", ascending=False, kind="stable").reset_index(drop=True)
    allb["block_id"] = [f"RB{k:04d}" for k in range(1, len(allb) + 1)]
    pr = renewal.priority(allb.assign(parcel_ids=None), settings, benchmarks=bench)
    allb = allb.join(pr)
    check = renewal.yearly_plan_check(allb.sort_values("rank"), settings=settings)
    acols = ["__i", "block_id"] + list(pr.columns)
    for k in range(len(parts)):
        a = allb.loc[allb["__p"].eq(k), acols]
        if len(a):
            writes.append(client.submit(_finish_blocks, outs[k], a,
                                        str(out_dir / "renewal_blocks" / f"part.{k:05d}.parquet"),
                                        pure=False))
    edge_area = None
    if edge_blocks is not None and len(edge_blocks):
        a = allb.loc[allb["__p"].eq(-1), acols].sort_values("__i")
        eb = edge_blocks.drop(columns=["__first"]).copy()
        for col in a.columns.drop("__i"):
            eb[col] = a[col].to_numpy()
        _write_task(eb.reset_index(drop=True),
                    out_dir / "renewal_blocks" / "part.edge.parquet")
        edge_area = eb[["parcel_ids", "area_mu"]].explode("parcel_ids").set_index(
            "parcel_ids")["area_mu"]
    nblocks = int(len(allb))
    block_mu = float(allb.sort_values("rank")["area_mu"].sum()) if nblocks else 0.0
    del allb, edge_blocks
    # --- candidates: priority terms per partition, ranks global
    efut = client.scatter(edge_area, broadcast=True) if edge_area is not None else None
    ct = [client.submit(_cands_terms, outs[i], bench, settings, efut, pure=False)
          for i in range(len(parts))]
    rfut = client.submit(_cand_ranks_task, *_each(client, _prio_inputs, ct), pure=False)
    ncands, nflag = client.submit(_second, rfut, pure=False).result()
    writes += [client.submit(_finish_cands, ct[i], rfut,
                             str(out_dir / "renewal_parcels" / f"part.{i:05d}.parquet"),
                             pure=False) for i in range(len(parts))]
    distributed.wait(writes)
    client.gather(writes)  # raise a worker's write error here
    return {"benchmarks": bench, "plan_check": check, "facts_futures": facts,
            "engine": {"partitions": len(parts), "blocks_across_partitions": remerged},
            "counts": {"candidate_rows": ncands, "candidates": nflag, "blocks": nblocks,
                       "block_mu": block_mu}}


def _trim_memory(lean=False):
    """Give freed heap memory back to the system (glibc ``malloc_trim``; else nothing).

    ``lean``: from now on, blocks of 64 KiB or more are mapped and unmapped
    on their own (``mallopt``), so freed frames leave the process at once.
    """
    import ctypes
    import gc

    gc.collect()  # frames in reference cycles first
    try:
        libc = ctypes.CDLL("libc.so.6")
        if lean:
            libc.mallopt(-3, 65536)  # M_MMAP_THRESHOLD
            libc.mallopt(-1, 65536)  # M_TRIM_THRESHOLD
        return int(libc.malloc_trim(0))
    except (OSError, AttributeError):  # not glibc
        return 0


def _release_memory(client, lean=False):
    """Between stages: freed memory of the client and the workers back to the system.

    Large gathered frames are freed but glibc keeps their pages; dask
    documents the same remedy for its workers ("memory not released back to
    the OS").  ``lean``: see :func:`_trim_memory` (used by :func:`run_kept`,
    whose client must stay small however large the data).
    """
    _trim_memory(lean)
    client.run(_trim_memory, lean)


def _points_task(ev, chain_col):
    if ev is None:
        return None
    ok = ev.geometry.notna() & ~ev.geometry.is_empty
    return ev.loc[ok, [chain_col, ev.geometry.name, ORD]]


def run_kept(client, firms, parcels_ddf, layers, settings, year, out_dir, plan=None,
             stages=_STAGES, ledger=None, source="", clip=None, timings=None, previous=None):
    """Efficiency, renewal and density with the results kept on the workers.

    The workers write ``firms``, ``facts``, ``rules``, ``renewal_parcels``
    and ``renewal_blocks`` under ``out_dir`` (one GeoParquet per partition,
    see :func:`read_output`); the client keeps only global summaries.

    Returns
    -------
    dict
        ``efficiency`` (benchmarks, counts), ``renewal`` (benchmarks,
        plan_check, engine, counts), ``density`` (grids), ``out_dir``.
    """
    timings = {} if timings is None else timings
    out_dir = Path(out_dir)
    for what in ("firms", "previous_firms", "facts", "rules", "renewal_parcels", "renewal_blocks"):
        for old in (out_dir / what).glob("part.*.parquet"):
            old.unlink()
    t = time.perf_counter()
    _release_memory(client, lean=True)
    evf, handles, info = firm_scores_kept(client, firms, parcels_ddf, layers, settings, year,
                                          ledger, source)
    fw = [client.submit(_write_task, e, str(out_dir / "firms" / f"part.{k:05d}.parquet"),
                        pure=False) for k, e in enumerate(evf)]
    client.gather(fw)
    prev_evf = None
    if previous is not None and "renewal" in stages:
        prev_evf, _, _ = firm_scores_kept(client, previous, parcels_ddf, layers, settings,
                                          None if year is None else year - 1)
        client.gather([client.submit(_write_task, e, str(out_dir / "previous_firms" /
                                                         f"part.{k:05d}.parquet"), pure=False)
                       for k, e in enumerate(prev_evf)])
    timings["efficiency"] = time.perf_counter() - t
    # the density points now (small), so the evaluation can leave after renewal
    pts = [client.submit(_points_task, e, "chain", pure=False) for e in evf] \
        if "density" in stages else []
    _release_memory(client)
    res = {"efficiency": info, "out_dir": str(out_dir)}
    if "renewal" in stages:
        t = time.perf_counter()
        ren = renewal_kept(client, evf, handles, plan, year, layers, settings, out_dir,
                           prev_evf)
        ren.pop("facts_futures", None)
        res["renewal"] = ren
        timings["renewal"] = time.perf_counter() - t
    del handles, prev_evf, evf  # the parcels and evaluations leave the workers' memory
    if "density" in stages:
        t = time.perf_counter()
        _release_memory(client)
        ddir = out_dir / "density"
        for old in ddir.glob("*.tif"):
            old.unlink()
        res["density"] = {"written": _density_of_parts(client, pts, "chain", clip, None,
                                                       settings, write_dir=ddir)}
        timings["density"] = time.perf_counter() - t
    return res


# ------------------------------------------------------------------------ runner
def run_dask(enterprises, year, landuse=None, plan=None, previous=None, coords=None,
             settings=None, workers=None, scheduler=None, processes=None, memory_limit=None,
             stages=_STAGES, catalogue=None, work_dir=None, client=None, echo=None,
             output_dir=None, keep_on_workers=None, sheet=None, **_ignored):
    """The pipeline's efficiency, renewal and density stages on dask.

    Loading and validation are those of the in-memory path
    (:func:`gis.pipeline.load_firms`, :func:`gis.pipeline.load_land`); the
    parcels are then written as GeoParquet partitioned by township
    (``engine.partition_by``) and processed on a dask.distributed cluster.

    Parameters
    ----------
    enterprises, year, landuse, plan, previous, coords, catalogue, sheet
        As :func:`gis.pipeline.run` (``previous``: last year's table, used
        for the renewal rules).  ``landuse`` may also be a folder written by
        :func:`partition_landuse` (``gis partition``): the parcels are then
        never loaded whole by this process.
    workers : int, optional
        Workers of the LocalCluster (default ``engine.workers``).
    scheduler : str, optional
        Address of a running dask scheduler instead of a LocalCluster.
    processes, memory_limit
        LocalCluster options (default ``engine.processes``,
        ``engine.memory_limit`` per worker).
    stages : tuple of str
        Any of ``efficiency``, ``renewal``, ``density`` (efficiency always runs).
    work_dir : str or Path, optional
        Where the GeoParquet partitions go (default ``engine.work_dir`` or
        a temporary folder, removed afterwards).
    client : distributed.Client, optional
        Use this client (nothing started or stopped).
    output_dir : str or Path, optional
        Keep-on-workers mode (default ``engine.output_dir``): the workers write
        the per-partition results (``firms``, ``facts``, ``rules``,
        ``renewal_parcels``, ``renewal_blocks``) as GeoParquet under this
        folder (read them back with :func:`read_output`) and only global
        summaries reach the client: ``firms`` and ``tables`` are then
        ``None``/empty, ``renewal`` holds ``benchmarks``, ``plan_check``,
        ``engine`` and ``counts``, ``density`` the grids.
    keep_on_workers : bool, optional
        Default: true when ``output_dir`` is given (``engine.keep_on_workers``).

    Returns
    -------
    gis.pipeline.Run
        ``firms`` (evaluation), ``parcels`` (with zones), ``tables``,
        ``renewal`` (incl. ``facts``), ``density`` (``grids`` only),
        ``ledger``, ``timings`` (seconds per step), ``summary``.
    """
    from . import pipeline

    _need_dask()
    echo = echo or (lambda *_: None)
    if settings is None or isinstance(settings, (str, Path)):
        settings = load_settings(settings)
    cfg = _cfg(settings)
    unknown = set(stages) - set(_STAGES)
    if unknown:
        raise ValueError(f"run_dask: unknown stages {sorted(unknown)}; known: {', '.join(_STAGES)}")
    if landuse is None:
        raise ValidationError("run_dask: the dask engine partitions the 三调 parcels: give landuse")
    output_dir = output_dir if output_dir is not None else cfg.get("output_dir")
    keep = bool(output_dir) if keep_on_workers is None else bool(keep_on_workers)
    if keep and not output_dir:
        raise ConfigError("run_dask: keep_on_workers needs output_dir (or engine.output_dir)")
    t0 = time.perf_counter()
    timings = {}
    layers = pipeline.planning_layers(catalogue)
    result = pipeline.Run(year=int(year), settings=settings, layers=layers)
    firms, ledger = pipeline.load_firms(enterprises, coords, layers["boundary"], settings, sheet=sheet,
                                        year=year)
    pipeline.stop_if_nothing_loaded(firms, ledger, enterprises)
    parted = _is_partitioned(landuse)  # prepared by partition_landuse: never loaded whole
    land_ledger = Ledger()
    parcels, plan_gdf = pipeline.load_land(None if parted else landuse, plan, ledger=land_ledger,
                                           settings=settings)
    firms, ledger, check = pipeline.firms_in_best_system(firms, ledger, parcels, coords, enterprises,
                                                         layers["boundary"], settings, sheet=sheet,
                                                         year=year)
    coords = check["best"] if check["auto"] else check["used"]
    ledger.extend(land_ledger)
    result.ledger, result.plan, result.parcels = ledger, plan_gdf, parcels
    rows_read = ledger.counts("enterprises")["rows_read"]
    timings["load"] = time.perf_counter() - t0
    tmp = None
    folder = work_dir or cfg.get("work_dir")
    if folder is None:
        tmp = tempfile.mkdtemp(prefix="gis_dask_")
        folder = tmp
    try:
        t = time.perf_counter()
        if parted:
            pddf = read_partitioned(landuse)
            if not keep:  # the gathering mode returns the parcels too
                parcels = _restore(pddf.compute().sort_values(ORD, kind="stable"))
                result.parcels = parcels
            echo(f"三调图斑: 分区 {pddf.npartitions} 个 ({landuse})")
        else:
            path = write_partitioned(parcels, Path(folder) / "parcels",
                                     partition_keys(parcels, settings=settings))
            pddf = read_partitioned(path)
            echo(f"三调图斑 {len(parcels)} 个, 分区 {pddf.npartitions} 个 ({cfg['partition_by']})")
        timings["partition"] = time.perf_counter() - t
        ctx = contextlib.nullcontext(client) if client is not None else dask_client(
            workers, scheduler, processes, memory_limit, settings)
        if keep:
            prev = None
            if previous and "renewal" in stages:
                prev, _ = pipeline.load_firms(previous, coords, layers["boundary"], settings)
            with ctx as cl:
                area = layers["boundary"].geometry.union_all()
                kept = run_kept(cl, firms, pddf, layers, settings, result.year, output_dir,
                                plan_gdf, stages, ledger, enterprises, area, timings, prev)
            result.renewal = kept.get("renewal", {})
            result.density = kept.get("density", {})
            result.paths = {k: str(Path(output_dir) / k) for k in
                            ("firms", "facts", "rules", "renewal_parcels", "renewal_blocks",
                             "density")}
            result.timings = {k: round(v, 3) for k, v in timings.items()}
            info = kept["efficiency"]
            result.summary = {"engine": "dask", "keep_on_workers": True,
                              "output_dir": str(output_dir), "firms_read": rows_read,
                              "firms_evaluated": info["firms"], "firms_graded": info["graded"],
                              "classes": info["classes"], "benchmarks": info["benchmarks"],
                              "seconds": round(time.perf_counter() - t0, 1)}
            return result
        with ctx as cl:
            t = time.perf_counter()
            ev, handles = firm_scores(cl, firms, pddf, layers, settings, result.year, ledger,
                                      enterprises)
            result.firms = ev
            result.tables = pipeline.efficiency_tables(ev, parcels, layers, settings=settings)
            prev_ev = None
            if previous and "renewal" in stages:
                prev, _ = pipeline.load_firms(previous, coords, layers["boundary"], settings)
                prev_ev, _ = firm_scores(cl, prev, pddf, layers, settings, result.year - 1)
                result.tables["previous_firms"] = prev_ev
            timings["efficiency"] = time.perf_counter() - t
            if "renewal" in stages:
                t = time.perf_counter()
                result.renewal = renewal_results(cl, ev, pddf, plan_gdf, result.year, prev_ev,
                                                 layers, settings, handles)
                timings["renewal"] = time.perf_counter() - t
            if "density" in stages:
                t = time.perf_counter()
                pts = ev[ev.geometry.notna() & ~ev.geometry.is_empty]
                area = layers["boundary"].geometry.union_all()
                result.density = {"grids": density_grids(cl, pts, clip=area, settings=settings)}
                timings["density"] = time.perf_counter() - t
        result.parcels = pipeline._parcels_with_zones(result)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    result.timings = {k: round(v, 3) for k, v in timings.items()}
    result.summary = pipeline.run_summary(result.firms, ledger, rows_read, result.parcels,
                                          source=enterprises, year=year, settings=settings)
    result.summary["engine"] = "dask"
    result.summary.update({"coords": coords, "coords_check": check["note"]})
    result.summary["seconds"] = round(time.perf_counter() - t0, 1)
    return result

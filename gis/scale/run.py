"""The one distributed path: process and write every partition on the workers, then publish.

:func:`run_partitions` writes the evaluated firms, parcel facts, rules,
candidates and blocks per partition (GeoParquet) and the density grids
(GeoTIFF); :func:`run_dask` loads and partitions the inputs, runs it, and
publishes the outputs a planner receives from the written partitions with
the in-memory path's own publishing functions.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .._errors import ConfigError, GisError, ValidationError
from ..config import load_settings
from ..crs import WORKING_CRS
from .cluster import engine_settings, need_dask, release_memory, write_task, dask_client
from .density_steps import density_of_parts, points_task
from .partitions import (ORD, partition_hulls, is_partitioned, restore_index, partition_keys, read_partitioned,
                         write_firm_partitions, write_partitioned)
from .renewal_steps import renewal_results
from .scores import firm_scores

__all__ = ["run_partitions", "results_from_partitions", "read_output", "read_density", "run_dask"]



_STAGES = ("efficiency", "renewal", "density")


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
    for c in out.columns:  # text as the tables hold it: object, missing as None
        if isinstance(out[c].dtype, pd.StringDtype) or out[c].dtype == object:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
        if out[c].dtype == object and len(out) and isinstance(out[c].iloc[0], np.ndarray):
            out[c] = [list(v) for v in out[c]]  # lists (parcel ids) come back as arrays
    if what == "renewal_blocks":  # indexed by area order (block_id), listed by rank
        out = out.sort_values("block_id", kind="stable").reset_index(drop=True)
        return out.sort_values("rank", kind="stable")
    out = out.sort_values(ORD, kind="stable").drop(columns=[ORD])
    if what == "rules":
        out = out.reset_index(drop=True)
    return out


def read_density(folder):
    """Read back the keep-on-workers density grids: ``{chain: DensityGrid}`` in output order."""
    from .. import density

    out = {}
    for f in sorted(Path(folder, "density").glob("*.tif")):
        g = density.read_geotiff(f)
        out[g.metadata.get("chain", f.stem)] = g
    return out


def run_partitions(client, firms, parcels_ddf, layers, settings, year, out_dir, plan=None,
                   stages=_STAGES, ledger=None, source="", clip=None, timings=None, previous=None,
                   contract_verdicts=None):
    """Efficiency, renewal and density, every partition processed and written by the workers.

    The workers write ``firms``, ``facts``, ``rules``, ``renewal_parcels``
    and ``renewal_blocks`` under ``out_dir`` (one GeoParquet per partition,
    see :func:`read_output`); the client keeps only global summaries.
    ``firms`` and ``previous`` (last year's firms, for the renewal rules)
    are GeoDataFrames or folders of firm parts
    (:func:`gis.scale.write_firm_partitions`): from a folder the workers read
    the firms and the client never holds them.

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
    release_memory(client, lean=True)
    evf, handles, info = firm_scores(client, firms, parcels_ddf, layers, settings, year,
                                          ledger, source)
    fw = [client.submit(write_task, e, str(out_dir / "firms" / f"part.{k:05d}.parquet"),
                        pure=False) for k, e in enumerate(evf)]
    client.gather(fw)
    prev_evf = None
    if previous is not None and "renewal" in stages:
        prev_evf, _, _ = firm_scores(client, previous, parcels_ddf, layers, settings,
                                          None if year is None else year - 1)
        client.gather([client.submit(write_task, e, str(out_dir / "previous_firms" /
                                                         f"part.{k:05d}.parquet"), pure=False)
                       for k, e in enumerate(prev_evf)])
    timings["efficiency"] = time.perf_counter() - t
    # the density points now (small), so the evaluation can leave after renewal
    pts = [client.submit(points_task, e, "chain", pure=False) for e in evf] \
        if "density" in stages else []
    release_memory(client)
    res = {"efficiency": info, "out_dir": str(out_dir)}
    if "renewal" in stages:
        t = time.perf_counter()
        ren = renewal_results(client, evf, handles, plan, year, layers, settings, out_dir,
                           prev_evf, contract_verdicts=contract_verdicts)
        ren.pop("facts_futures", None)
        res["renewal"] = ren
        timings["renewal"] = time.perf_counter() - t
    del handles, prev_evf, evf  # the parcels and evaluations leave the workers' memory
    if "density" in stages:
        t = time.perf_counter()
        release_memory(client)
        ddir = out_dir / "density"
        for old in ddir.glob("*.tif"):
            old.unlink()
        res["density"] = {"written": density_of_parts(client, pts, "chain", clip, None,
                                                       settings, write_dir=ddir)}
        timings["density"] = time.perf_counter() - t
    return res


def _lost_work():
    """The errors of work lost with a worker (killed, restarted, cancelled)."""
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    return (FutureCancelledError, KilledWorker)


def _lost_work_message(cfg, exc):
    """What to do when a worker died mid-run (mostly: over its memory limit)."""
    return ("dask: 计算进程中断, 多为内存不足 / a worker died during the run, most often over its "
            f"memory limit (engine.memory_limit: {cfg.get('memory_limit')}): give the workers "
            "more memory, or smaller partitions (engine.max_parcels_per_partition: "
            f"{cfg.get('max_parcels_per_partition')}); nothing was published. "
            f"({type(exc).__name__})")


def _partitioned_parcels(landuse, parcels, folder, settings, echo):
    """The parcels as a dask-geopandas frame: a :func:`gis partition` folder, or written now."""
    if is_partitioned(landuse):  # prepared by partition_landuse: never loaded whole
        pddf = read_partitioned(landuse)
        echo(f"三调图斑: 分区 {pddf.npartitions} 个 ({landuse})")
        return pddf
    path = write_partitioned(parcels, Path(folder) / "parcels",
                             partition_keys(parcels, settings=settings))
    pddf = read_partitioned(path)
    echo(f"三调图斑 {len(parcels)} 个, 分区 {pddf.npartitions} 个 ({engine_settings(settings)['partition_by']})")
    return pddf


def results_from_partitions(result, out_dir, pddf=None, rules=True):
    """Fill a :class:`gis.pipeline.Run` from the partitions :func:`run_partitions` wrote.

    The tables come back in the in-memory path's order (:func:`read_output`),
    so :func:`gis.pipeline.publish` writes the same workbook, report, maps
    and GeoPackage as a county run.  ``pddf``: the partitioned parcels, read
    back when ``result.parcels`` is not loaded.  ``rules``: also read the
    rules table (one row per parcel and rule, the largest table read back
    and one no output shows; False leaves it on disk, for
    :func:`read_output`).

    Returns
    -------
    gis.pipeline.Run
    """
    from .. import changes, pipeline, renewal

    ev = read_output(out_dir, "firms")
    ev = gpd.GeoDataFrame(ev, geometry="geometry", crs=WORKING_CRS)
    ev.attrs["benchmarks"] = result.summary.get("benchmarks", {})
    result.firms = ev
    if result.parcels is None and pddf is not None:
        result.parcels = restore_index(pddf.compute().sort_values(ORD, kind="stable"))
    result.tables = pipeline.efficiency_tables(ev, result.parcels, result.layers,
                                               settings=result.settings)
    prev = read_output(out_dir, "previous_firms")
    if prev is not None:
        prev = gpd.GeoDataFrame(prev, geometry="geometry", crs=WORKING_CRS)
        result.tables["previous_firms"] = prev
        result.changes = changes.year_changes(ev, prev)
    if result.renewal:
        tables = ("rules",) if rules else ()
        for what in tables + ("renewal_parcels", "renewal_blocks", "facts"):
            t = read_output(out_dir, what)
            if t is not None and what != "rules":
                t = gpd.GeoDataFrame(t, geometry="geometry", crs=WORKING_CRS)
            result.renewal[what] = t
        result.renewal.pop("counts", None)
        # the yearly check over the blocks as written (the workers' check saw lean rows)
        result.renewal["plan_check"] = renewal.yearly_plan_check(
            result.renewal["renewal_blocks"], settings=result.settings)
    if result.density:
        result.density = {"grids": read_density(out_dir)}
    result.parcels = pipeline.parcels_with_zones(result)
    return result


def _summary(result, info, rows_read, source, output_dir, t0):
    """The run summary: the in-memory path's when the tables are back, else the partitions' own."""
    from .. import pipeline

    if result.firms is not None:
        s = pipeline.run_summary(result.firms, result.ledger, rows_read, result.parcels,
                                 source=source, year=result.year, settings=result.settings)
    else:
        s = {"firms_read": rows_read, "firms_evaluated": info["firms"],
             "firms_graded": info["graded"], "classes": info["classes"]}
    s.update({"engine": "dask", "output_dir": str(output_dir), "benchmarks": info["benchmarks"],
              "seconds": round(time.perf_counter() - t0, 1)})
    return s


def _land_of_partitions(folder):
    """The parcels of a partitions folder as one frame (for the few 标准地 contracts to find their land)."""
    files = sorted(Path(folder).glob("part.*.parquet"))
    whole = pd.concat([gpd.read_parquet(f) for f in files])
    if ORD in whole.columns:
        whole = whole.sort_values(ORD, kind="stable")
    return restore_index(whole).reset_index(drop=True)


def _checked_arguments(settings, stages, landuse, results, output_dir, cadastre):
    """The settings of a :func:`run_dask` call, after checking its arguments (before any work).

    With a 宗地 layer (``cadastre``) the 宗地 are the land units, partitioned
    like 三调 parcels (:func:`gis.land_figures.zongdi_settings`).
    """
    if settings is None or isinstance(settings, (str, Path)):
        settings = load_settings(settings)
    cfg = engine_settings(settings)
    unknown = set(stages) - set(_STAGES)
    if unknown:
        raise ValueError(f"run_dask: unknown stages {sorted(unknown)}; known: {', '.join(_STAGES)}")
    if landuse is None:
        raise ValidationError("run_dask: the dask engine partitions the 三调 parcels: give landuse")
    if not results and not (output_dir or cfg.get("output_dir")):
        raise ConfigError("run_dask: results=False needs output_dir (or engine.output_dir): "
                          "the results stay there")
    if not cadastre:
        return settings
    if is_partitioned(landuse):
        raise ValidationError("run_dask: with a 宗地 layer give the 三调 layer itself, not its "
                              "partitions: the 宗地 are what is partitioned")
    from ..land_figures import zongdi_settings

    return zongdi_settings(settings)


def run_dask(enterprises, year, *, landuse=None, plan=None, previous=None, coords=None,
             settings=None, workers=None, scheduler=None, processes=None, memory_limit=None,
             stages=_STAGES, catalogue=None, work_dir=None, client=None, echo=None,
             output_dir=None, results=True, demo=False, sheet=None, cadastre=None,
             contracts=None):
    """The pipeline's efficiency, renewal and density stages on dask: the one distributed path.

    Loading and validation are those of the in-memory path
    (:func:`gis.pipeline.load_firms`, :func:`gis.pipeline.load_land`); the
    parcels are written as GeoParquet partitioned by township
    (``engine.partition_by``); every partition is processed and its results
    written by the workers (:func:`run_partitions`); with ``results`` the
    written tables are read back (:func:`results_from_partitions`) so that
    :func:`gis.pipeline.publish` writes the outputs a planner receives.

    Parameters
    ----------
    enterprises, year, landuse, plan, previous, coords, catalogue, sheet
        As :func:`gis.pipeline.run` (``previous``: last year's table, used
        for the renewal rules).  ``landuse`` may also be a folder written by
        :func:`partition_landuse` (``gis partition``): the parcels are then
        never loaded whole by the run itself.
    contracts : str or Path, optional
        The 标准地 contract ledger: checked on the client (few rows) as by
        :func:`gis.pipeline.contracts_stage` (from a partitions folder the
        parcels are read for it); the land's verdict goes to the workers'
        renewal rules.
    workers, scheduler, processes, memory_limit
        The cluster (:func:`dask_client`); a running ``scheduler`` address
        instead of a LocalCluster.
    stages : tuple of str
        Any of ``efficiency``, ``renewal``, ``density`` (efficiency always runs).
    work_dir : str or Path, optional
        Where the input partitions go (default ``engine.work_dir`` or a
        temporary folder, removed afterwards).
    client : distributed.Client, optional
        Use this client (nothing started or stopped).
    output_dir : str or Path, optional
        Where the workers write the results per partition (default
        ``engine.output_dir``, else inside the work folder).
    results : bool, default True
        Read the written tables back (county to city scale).  False: the
        returned Run holds the summaries and ``paths`` only (read a table
        with :func:`read_output`), for data larger than this process.  With
        an ``output_dir`` the rules table (no output shows it) stays there
        and is not read back; ``renewal["rules"]`` is then missing.
    demo : bool
        The inputs are the synthetic demo data (said so in the outputs).

    Returns
    -------
    gis.pipeline.Run
    """
    from .. import pipeline

    need_dask()
    echo = echo or (lambda *_: None)
    settings = _checked_arguments(settings, stages, landuse, results, output_dir, cadastre)
    cfg = engine_settings(settings)
    t0 = time.perf_counter()
    timings = {}
    layers = pipeline.planning_layers(catalogue)
    result = pipeline.Run(year=int(year), settings=settings, layers=layers)
    result.inputs = pipeline.input_roles(enterprises, previous, landuse, plan, cadastre, contracts)
    inputs = {"enterprises": enterprises, "previous": previous, "coords": coords, "sheet": sheet,
              "cadastre": cadastre, "contracts": contracts}
    # read and checked exactly as the in-memory path does (one ledger, per-file balances)
    pipeline.load_inputs(result, inputs, None if is_partitioned(landuse) else landuse, plan,
                         output_dir)
    ledger = result.ledger
    rows_read = ledger.counts("enterprises")["rows_read"]
    timings["load"] = time.perf_counter() - t0
    if contracts:
        t = time.perf_counter()
        pipeline.contracts_stage(result, inputs, None if result.parcels is not None
                                 else _land_of_partitions(landuse))
        timings["contracts"] = time.perf_counter() - t
    with contextlib.ExitStack() as stack:
        folder = work_dir or cfg.get("work_dir") or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="gis_dask_"))
        kept_on_disk = bool(output_dir or cfg.get("output_dir"))
        output_dir = Path(output_dir or cfg.get("output_dir") or Path(folder) / "results")
        t = time.perf_counter()
        pddf = _partitioned_parcels(landuse, result.parcels, folder, settings, echo)
        # the firms too: written by parcel partition, then only the workers read them
        firms = write_firm_partitions(result.firms, partition_hulls(pddf), Path(folder) / "firms")
        prev = inputs.pop("previous_firms", None)
        prev = None if prev is None or "renewal" not in stages else write_firm_partitions(
            prev, partition_hulls(pddf), Path(folder) / "previous_firms")
        result.firms = None
        timings["partition"] = time.perf_counter() - t
        cl = client if client is not None else stack.enter_context(
            dask_client(workers, scheduler, processes, memory_limit, settings))
        area = layers["boundary"].geometry.union_all()
        try:
            kept = run_partitions(cl, firms, pddf, layers, settings, result.year, output_dir,
                                  result.plan, stages, ledger, enterprises, area, timings, prev,
                                  contract_verdicts=(result.contracts or {}).get("verdicts"))
        except _lost_work() as exc:
            raise GisError(_lost_work_message(cfg, exc)) from exc
        result.renewal = kept.get("renewal", {})
        result.density = kept.get("density", {})
        result.summary = {"benchmarks": kept["efficiency"]["benchmarks"]}
        if results:
            t = time.perf_counter()
            # written partitions that outlive the run keep the rules; a temporary folder does not
            results_from_partitions(result, output_dir, pddf, rules=not kept_on_disk)
            timings["read_back"] = time.perf_counter() - t
    result.paths = {k: str(output_dir / k) for k in
                    ("firms", "facts", "rules", "renewal_parcels", "renewal_blocks", "density")}
    result.timings = {k: round(v, 3) for k, v in timings.items()}
    result.summary = _summary(result, kept["efficiency"], rows_read, enterprises, output_dir, t0)
    result.summary.update({"demo": bool(demo), **inputs["summary"]})
    return result

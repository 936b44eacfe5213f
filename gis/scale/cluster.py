"""The dask.distributed side of the scale engine: client, task helpers, memory.

Settings (``gis/defaults/engine.yaml``) are checked here, the cluster is
started or joined by :func:`dask_client`, and the small helpers every stage
uses to submit work and move frames live here.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .._errors import ConfigError
from ..config import choice_problems, load_settings, number_problems

__all__ = ["settings_problems", "dask_client", "engine_settings", "submit_each", "partition_futures", "need_dask", "without_attrs", "scatter_layers", "second", "write_task", "release_memory"]



def need_dask():
    """Raise an ImportError naming the packages when dask-geopandas or distributed is missing."""
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
    problems += choice_problems(cfg, "engine", "parallel_maps", (True, False))
    problems += number_problems(cfg, "engine", "max_parcels_per_partition", low=1, integer=True,
                                allow_none=True)
    problems += number_problems(cfg, "engine", "workers", low=1, integer=True, allow_none=True)
    problems += number_problems(cfg, "engine", "threads_per_worker", low=1, integer=True,
                                allow_none=True)
    return problems


def engine_settings(settings):
    """Return the checked ``engine`` section of the settings (loaded when None)."""
    settings = settings or load_settings()
    problems = settings_problems(settings)
    if problems:
        raise ConfigError(problems, source="gis/defaults/engine.yaml")
    return dict(settings.get("engine") or {})


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
    need_dask()
    from distributed import Client, LocalCluster

    cfg = engine_settings(settings)
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


def submit_each(client, fn, items, *args):
    """``fn(item, *args)`` for each item (a future) on the cluster: futures, in order."""
    return [client.submit(fn, it, *args, pure=False) for it in items]


def scatter_layers(client, layers):
    """Zone layers on every worker: a dict of futures (plain ``{}`` when empty)."""
    layers = {k: v for k, v in (layers or {}).items() if v is not None}
    return client.scatter(layers, broadcast=True) if layers else {}


def partition_futures(client, ddf):
    """Futures of the partitions of ``ddf`` (kept on the workers)."""
    return client.compute(ddf.to_delayed())


def without_attrs(df):
    """Return ``df`` as a plain DataFrame with empty ``attrs`` (cheap to send between workers)."""
    out = pd.DataFrame(df)
    out.attrs = {}
    return out


def second(pair):
    """Return the second item of a pair (a picklable task for the workers)."""
    return pair[1]


def write_task(df, path):
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


def release_memory(client, lean=False):
    """Between stages: freed memory of the client and the workers back to the system.

    Large gathered frames are freed but glibc keeps their pages; dask
    documents the same remedy for its workers ("memory not released back to
    the OS").  ``lean``: see :func:`_trim_memory` (used by :func:`run_kept`,
    whose client must stay small however large the data).
    """
    _trim_memory(lean)
    client.run(_trim_memory, lean)

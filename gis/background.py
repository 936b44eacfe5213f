"""A second process for a stage that needs nothing from the stages beside it.

The maps of a run depend only on the evaluated tables; the report and the
GeoPackage do not read them.  On a machine with two or more cores
:func:`gis.pipeline.run` therefore draws the maps in a second process while
this one writes the report (``engine.parallel_maps``).  The process is
*spawned* (a fresh interpreter), never forked: forking after GDAL, PROJ or
pyarrow have started threads can deadlock on a lock one of them held.  It
is started when the run starts, so its imports overlap the loading.

Warnings raised in the second process are raised again here; its errors
come back as the same exception with the same message.

Examples
--------
>>> with Background() as bg:
...     job = bg.submit(divmod, (17, 5))
...     value, seconds = bg.result(job)
>>> value
(3, 2)
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

__all__ = ["Background", "BrokenProcessPool", "worth_it"]


def worth_it(settings):
    """Whether a second process can run beside this one (``engine.parallel_maps``, 2+ cores).

    Examples
    --------
    >>> worth_it({"engine": {"parallel_maps": False}})
    False
    """
    wanted = bool((settings.get("engine") or {}).get("parallel_maps", True))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return wanted and (cores or 1) >= 2


def _warm(modules):
    """Import ``modules`` in the second process (while the first one loads the data)."""
    for name in modules:
        importlib.import_module(name)


def _ready():
    return True


def _call(fn, args, kwargs):
    """``fn(*args, **kwargs)`` with its warnings recorded and its wall time measured."""
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(*args, **kwargs)
    seen = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
    return value, seen, time.perf_counter() - t


class Background:
    """One spawned worker process, started at once, for one or a few calls.

    Parameters
    ----------
    modules : tuple of str
        Modules the process imports as soon as it starts.
    """

    def __init__(self, modules=()):
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(1, mp_context=ctx, initializer=_warm,
                                         initargs=(tuple(modules),))
        self._pool.submit(_ready)  # the process starts now, not at the first real call

    def submit(self, fn, args=(), kwargs=None):
        """Run ``fn(*args, **kwargs)`` in the second process; a future for :meth:`result`.

        ``fn`` must be importable there (a module-level function); ``args``
        and ``kwargs`` are pickled.
        """
        return self._pool.submit(_call, fn, tuple(args), dict(kwargs or {}))

    @staticmethod
    def result(future):
        """Wait for a :meth:`submit` call: ``(value, seconds it took there)``.

        Its warnings are raised again in this process; its exception, if
        any, is raised here.
        """
        value, seen, seconds = future.result()
        for message, category, filename, lineno in seen:
            warnings.warn_explicit(message, category, filename, lineno)
        return value, seconds

    def close(self):
        """Stop the process (calls not started are cancelled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

"""Former home of the dask engine: now :mod:`gis.scale` (kept so ``gis.engine.run_dask`` still works)."""

from .scale import *  # noqa: F401,F403
from .scale import __all__  # noqa: F401

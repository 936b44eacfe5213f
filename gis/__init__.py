"""Yiwu spatial-planning GIS toolkit.

Land efficiency (亩均效益), renewal candidates (低效工业用地), cluster
density and offline Folium maps over the planning layers of 义乌.

Every stage is a plain function on GeoDataFrames; the command line
(``gis``), the notebooks and the report script all call the same functions.
"""

from ._errors import ConfigError, CRSError, GisError, ValidationError

__version__ = "0.1.0"
__all__ = ["ValidationError", "ConfigError", "CRSError", "GisError", "WORKING_CRS", "__version__"]


def __getattr__(name):
    """``gis.WORKING_CRS`` on first use: importing ``gis`` loads no numerical library."""
    if name == "WORKING_CRS":
        from .crs import WORKING_CRS

        return WORKING_CRS
    raise AttributeError(f"module 'gis' has no attribute {name!r}")

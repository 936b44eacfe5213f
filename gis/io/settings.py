"""The ``io`` settings (column aliases, missing tokens, units, coordinate systems) and their checks at load."""

from __future__ import annotations

import codecs
import re

from .._errors import GisError
from ..config import load_settings, number_problems
from ..crs import coord_system
from ..declared import settings_problems as _declared_problems

__all__ = [
    "io_settings",
    "settings_problems",
]


def io_settings(settings):
    """Return the settings, loaded when None."""
    return settings if settings is not None else load_settings()


def _regex_problems(cfg, where, keys):
    problems = []
    for key in keys:
        try:
            re.compile(str(cfg.get(key, "")))
        except re.error as exc:
            problems.append(f"{where}.{key}: not a valid regular expression ({exc})")
    return problems


def settings_problems(settings):
    """Problems of the ``io`` settings (checked by :func:`gis.config.load_settings`).

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["io"]["shapefile_fallback_encoding"] = "gbkk"
    >>> settings_problems(s)
    ["io.shapefile_fallback_encoding: unknown text encoding 'gbkk'"]
    """
    cfg = settings["io"]
    problems = []
    for key, names in (("shapefile_fallback_encoding", [cfg.get("shapefile_fallback_encoding")]),
                       ("csv_encodings", cfg.get("csv_encodings") or [])):
        for enc in names:
            try:
                codecs.lookup(str(enc))
            except LookupError:
                problems.append(f"io.{key}: unknown text encoding '{enc}'")
    coords = (cfg.get("enterprises") or {}).get("coords")
    try:
        coord_system(coords, allow_auto=True)
    except (GisError, ValueError, TypeError, AttributeError):
        problems.append(f"io.enterprises.coords: must be wgs84, cgcs2000, gcj02, bd09 or auto, got {coords!r}")
    problems += _regex_problems(cfg.get("enterprises") or {}, "io.enterprises", ["industry_code_pattern"])
    problems += _declared_problems(cfg)
    problems += number_problems(cfg, "io", "header_search_rows", low=1, integer=True)
    problems += number_problems(cfg, "io", "header_min_matches", low=1, integer=True)
    land = cfg.get("landuse") or {}
    problems += _regex_problems(land, "io.landuse", ["dlbm_pattern", "ydyhfldm_pattern"])
    for field, width in (land.get("code_fields") or {}).items():
        if not (isinstance(width, int) and not isinstance(width, bool) and width >= 0):
            problems.append(f"io.landuse.code_fields.{field}: must be a width >= 0 (0 = not padded), "
                            f"got {width!r}")
    return problems

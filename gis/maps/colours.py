"""The colours of the maps: 亩均 classes, industry chains, firms by category; the ``maps`` settings.

:func:`class_colours` is the one source of the class colours: maps, QGIS
styles and charts read them here.
"""

from __future__ import annotations

import re

import pandas as pd

from .._errors import ConfigError
from ..config import load_settings
from .text import GRADE_TEXT, STATUS_TEXT, map_text

__all__ = [
    "maps_settings",
    "check_colour",
    "class_colours",
    "chain_colours",
    "firm_categories",
    "grade_labels",
]


_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")


def maps_settings(settings):
    """Return the ``maps`` section of the settings (loaded when None; a section passed as is)."""
    s = settings if settings is not None else load_settings()
    if "maps" in s:
        s = s["maps"]
    return s


def check_colour(c, key):
    """Return ``c`` when it is a colour (#rrggbb or a CSS name), else raise a ConfigError naming ``maps.<key>``."""
    if not isinstance(c, str) or not _COLOUR.match(c):
        raise ConfigError(f"maps.{key}: {c!r} is not a colour (#rrggbb or a CSS name)")
    return c


def class_colours(settings=None, ungraded=True):
    """The colours of the 亩均 classes A/B/C/D (and of firms without a class).

    The one source of these colours: maps, QGIS styles and charts read them
    here (settings ``maps.grade_colours`` and ``maps.status_colours``).

    Parameters
    ----------
    settings : dict, optional
    ungraded : bool
        Add the colours of firms without a class, keyed by evaluation scope
        (``lessee``, ``scored_not_graded``, ``out_of_scope``).

    Returns
    -------
    dict
        ``{"A": "#rrggbb", ..., "D": ..., "lessee": ..., ...}`` in that order.

    Examples
    --------
    >>> list(class_colours())
    ['A', 'B', 'C', 'D', 'lessee', 'scored_not_graded', 'out_of_scope']
    """
    s = maps_settings(settings)
    out = {k: check_colour(s["grade_colours"][k], f"grade_colours.{k}") for k in "ABCD"}
    if ungraded:
        for k in STATUS_TEXT:
            out[k] = check_colour(s["status_colours"][k], f"status_colours.{k}")
    return out


def chain_colours(chains=None, settings=None):
    """One distinct colour per industry chain (``maps.chain_colours``, up to 12).

    Parameters
    ----------
    chains : iterable of str, optional
        Chain names on the map.  A chain of ``chains.yaml`` always gets the
        colour of its place there (so it keeps its colour from year to year);
        other names take the colours left free; "其他" and names beyond the
        palette get ``maps.other_chain_colour``.  Default: every chain of
        ``chains.yaml``.
    settings : dict, optional

    Returns
    -------
    dict
        ``{chain: "#rrggbb"}``.
    """
    s = maps_settings(settings)
    full = settings if settings is not None and "maps" in settings else None
    from ..chains import chain_names

    known = [c for c in chain_names(full) if c != "其他"]
    pal = [check_colour(c, "chain_colours") for c in s["chain_colours"]]
    other = check_colour(s.get("other_chain_colour", "#9e9e9e"), "other_chain_colour")
    fixed = {c: pal[i] for i, c in enumerate(known) if i < len(pal)}
    fixed["其他"] = other
    if chains is None:
        return {c: fixed.get(c, other) for c in known + ["其他"]}
    present = [c for c in dict.fromkeys(chains) if c is not None]
    # chains not in chains.yaml take the colours no chain on this map uses
    free = [p for p in pal if p not in {fixed[c] for c in present if c in fixed}]
    return {c: fixed[c] if c in fixed else (free.pop(0) if free else other) for c in present}


def firm_categories(firms, lang="zh", settings=None):
    """The map category of each firm: its class A–D, or why it has none.

    Parameters
    ----------
    firms : DataFrame
        With ``grade`` (or ``class``) and, for firms without one, ``scope``
        (:func:`gis.efficiency.evaluation_scope`: lessee, scored_not_graded,
        out_of_scope).
    lang : {"zh", "en"}
    settings : dict, optional

    Returns
    -------
    (Series, dict, dict)
        The category codes (A–D or a scope code, aligned to ``firms``), the
        colours ``{code: colour}`` and the legend labels ``{code: label}``.
    """
    full = settings if settings is not None and "maps" in settings else load_settings()
    grade = firms["grade"] if "grade" in firms else firms.get("class")
    cat = pd.Series(grade, index=firms.index, dtype=object)
    if "scope" in firms:
        cat = cat.where(cat.notna() & firms["scope"].eq("graded"), firms["scope"].where(
            firms["scope"].isin(list(STATUS_TEXT))))
        cat = cat.where(cat.notna(), pd.Series(grade, index=firms.index, dtype=object))
    eff = full.get("efficiency", {})
    fill = {"years": f"{eff.get('new_firm_years', 3):g}", "land": f"{eff.get('min_land_mu', 3):g}"}
    labels = grade_labels(lang)
    i = 1 if lang == "en" else 0
    labels.update({k: v[i].format(**fill) for k, v in STATUS_TEXT.items()})
    return cat, class_colours(settings), labels


def grade_labels(lang):
    """Return the legend labels of the classes A-D (and of missing) in ``lang``."""
    from ..labels import class_label

    out = {g: (v[1] if lang == "en" else class_label(g)) for g, v in GRADE_TEXT.items()}
    out["__missing__"] = map_text("missing", lang)
    return out

"""Industry chains ("4+4+X"): which chain a GB/T 4754 industry code belongs to."""

from __future__ import annotations

import pandas as pd

from .config import load_settings, number_problems

__all__ = ["chain_of_codes", "chain_names", "chain_kinds", "settings_problems", "unknown_chains"]

#: kinds of chain (``chains.chains.<name>.kind``)
KINDS = ("战略性新兴", "传统优势", "其他")


def unknown_chains(names, settings, where):
    """Problems for the names in ``names`` that are not chains of ``settings``.

    >>> from gis.config import default_settings
    >>> unknown_chains(["光电显示", "光电显视"], default_settings(), "renewal.far_exempt_chains")
    ["renewal.far_exempt_chains: unknown chain '光电显视'"]
    """
    known = (settings.get("chains") or {}).get("chains") or {}
    return [f"{where}: unknown chain '{n}'" for n in names or [] if n not in known]


def settings_problems(settings):
    """Problems of the ``chains`` settings (checked by :func:`gis.config.load_settings`).

    Examples
    --------
    >>> from gis.config import default_settings
    >>> s = default_settings(); s["chains"]["targets_2030_yi"]["光电"] = 5
    >>> settings_problems(s)
    ["chains.targets_2030_yi: unknown chain '光电'"]
    """
    cfg = settings["chains"]
    problems = []
    for name, spec in (cfg.get("chains") or {}).items():
        where = f"chains.chains.{name}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a mapping with kind and codes, got {spec!r}")
            continue
        if spec.get("kind", "其他") not in KINDS:
            problems.append(f"{where}.kind: must be one of {', '.join(KINDS)}, got {spec.get('kind')!r}")
        if not isinstance(spec.get("codes", []) or [], list):
            problems.append(f"{where}.codes: must be a list of industry codes, got {spec.get('codes')!r}")
    targets = cfg.get("targets_2030_yi") or {}
    problems += unknown_chains(list(targets), settings, "chains.targets_2030_yi")
    for name in targets:
        problems += number_problems(targets, "chains.targets_2030_yi", name, low=0, allow_none=True)
    return problems


def _normalise(code):
    s = str(code).strip().upper().replace(" ", "")
    if s and s[0].isdigit():
        s = "C" + s  # manufacturing codes are often written without the letter
    return s


def chain_names(settings=None):
    """Return the chain names in configuration order."""
    settings = settings or load_settings()
    return list(settings["chains"]["chains"])


def chain_kinds(settings=None):
    """Return ``{chain: kind}`` (战略性新兴, 传统优势, 其他)."""
    settings = settings or load_settings()
    return {k: v.get("kind", "其他") for k, v in settings["chains"]["chains"].items()}


def chain_of_codes(codes, settings=None, other="其他"):
    """Map industry codes to chain names by the longest matching prefix.

    Parameters
    ----------
    codes : array-like of str
        GB/T 4754-2017 codes, with or without the section letter.
    settings : dict, optional
        Settings from :func:`gis.config.load_settings`.
    other : str
        Name given to codes of no chain.

    Returns
    -------
    pandas.Series of str

    Examples
    --------
    >>> list(chain_of_codes(["C3974", "3973", "C1811", "C2682", "C4411"]))
    ['光电显示', '新型半导体', '纺织服装', '化妆品', '其他']
    """
    settings = settings or load_settings()
    prefixes = []
    for name, spec in settings["chains"]["chains"].items():
        for c in spec.get("codes", []) or []:
            prefixes.append((_normalise(c), name))
    prefixes.sort(key=lambda p: -len(p[0]))
    codes = pd.Series(codes)
    norm = codes.map(_normalise)
    out = pd.Series(other, index=codes.index, dtype=object)
    done = pd.Series(False, index=codes.index)
    for prefix, name in prefixes:
        hit = ~done & norm.str.startswith(prefix)
        out[hit] = name
        done |= hit
    return out

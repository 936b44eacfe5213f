"""Industry chains ("4+4+X"): which chain a GB/T 4754 industry code belongs to."""

from __future__ import annotations

import pandas as pd

from .config import load_settings

__all__ = ["chain_of_codes", "chain_names", "chain_kinds"]


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

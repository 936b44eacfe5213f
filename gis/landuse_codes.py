"""Land-use codes read under the standard they follow, and 三调 read as a coverage.

* **三调 DLBM** (GB/T 21010-2017, level two: ``0601``).  A class *name*
  instead of a code (``工业用地``) is mapped to its code with a note
  (``code_from_name``) when exactly one level-two class has that name; a
  level-one code (``06``) is mapped with a note when the row's ``DLMC``
  names a level-two class inside it.  Anything else stops the load with one
  line (never padded into nonsense such as ``0006``).
* **Plan codes** (``YDYHFLDM``): 用地用海 2023 (``1001`` 工业用地) and the
  older GB/T 21010-2017 codes (``0601`` 工业用地, where 用地用海 ``0601``
  is a village road) are told apart from the codes (and the names, when a
  name field is present).  A plan coded in GB/T 21010 is refused with one
  line: read as 用地用海 it would put every industrial parcel "against the
  plan".

Overlapping patches (三调 is a coverage) are handled by :mod:`gis.coverage`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._errors import ValidationError

__all__ = ["NAME_FIELDS", "sandiao_codes", "plan_standard", "require_plan_standard"]

#: fields that may hold a class name beside the code
NAME_FIELDS = ("DLMC", "YDYHFLMC", "YDYHMC", "FLMC")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _names(system):
    from .landuse import code_table

    t = code_table(system)
    return {str(k): str(v) for k, v in t["name"].items()}


def _unique_name_codes(system, level2=True):
    """``{name: code}`` for names that exactly one (level-two) code carries."""
    by_name = {}
    for code, name in _names(system).items():
        if level2 and len(code) < 4:
            continue
        by_name.setdefault(name, set()).add(code)
    return {n: next(iter(c)) for n, c in by_name.items() if len(c) == 1}


def _text(values):
    s = pd.Series(values, dtype=object)
    out = s.where(s.notna(), None).map(lambda v: None if v is None else str(v).strip())
    # numbers a GIS stored: 6.0 -> "6"
    return out.map(lambda v: v[:-2] if isinstance(v, str) and re.fullmatch(r"\d+\.0", v) else v)


def sandiao_codes(gdf, ledger, file, layer, rows):
    """Rewrite name-only and level-one ``DLBM`` values of a 三调 layer (in place), with notes.

    Parameters
    ----------
    gdf : GeoDataFrame
        Upper-case fields, ``DLBM`` as read (before any padding).
    ledger : gis.ledger.Ledger
    file, layer : str
    rows : array of int
        Source rows.

    Raises
    ------
    ValidationError
        One line, when names or level-one codes cannot be mapped to one
        level-two code.
    """
    raw = _text(gdf["DLBM"].to_numpy())
    present = raw.notna().to_numpy()
    named = present & raw.fillna("").str.contains(_CJK).to_numpy()
    level1 = present & raw.fillna("").str.fullmatch(r"\d{1,2}").to_numpy()
    if not (named.any() or level1.any()):
        return
    new = raw.copy()
    bad = []
    if named.any():
        table = _unique_name_codes("sandiao")
        mapped = raw[named].map(lambda v: table.get(re.sub(r"\s+", "", v)))
        new[named] = mapped
        if mapped.isna().any():
            left = raw[named][mapped.isna()].value_counts()
            bad.append(f"{int(left.sum())} rows hold names that name no single 三调 class "
                       f"({', '.join(f'{k} ×{v}' for k, v in left.head(4).items())})")
        ok = named.copy()
        ok[np.flatnonzero(named)[mapped.isna().to_numpy()]] = False
        ledger.add(ok, "code_from_name", file=file, layer=layer, rows=rows, column="DLBM",
                   values=raw.to_numpy(dtype=object), detail=new.fillna("").to_numpy(dtype=object))
    if level1.any():
        field = next((f for f in NAME_FIELDS if f in gdf.columns), None)
        table = _unique_name_codes("sandiao")
        one = raw[level1].str.zfill(2)
        if field is not None:
            guess = _text(gdf[field].to_numpy())[level1].map(
                lambda v: table.get(re.sub(r"\s+", "", v)) if isinstance(v, str) else None)
        else:
            guess = pd.Series(None, index=one.index, dtype=object)
        fits = guess.notna() & (guess.fillna("").str[:2] == one)
        new[level1] = guess.where(fits)
        if not fits.all():
            left = one[~fits].value_counts()
            bad.append(f"{int(left.sum())} rows hold level-one codes ({', '.join(f'{k} ×{v}' for k, v in left.head(4).items())})"
                       + (f" and {field} does not name a level-two class inside them" if field else " and no DLMC")
                       + "; 三调 needs level-two codes such as 0601 工业用地 / 地类编码应为二级类")
        ok = level1.copy()
        ok[np.flatnonzero(level1)[~fits.to_numpy()]] = False
        ledger.add(ok, "code_from_name", file=file, layer=layer, rows=rows, column="DLBM",
                   values=raw.to_numpy(dtype=object), detail=new.fillna("").to_numpy(dtype=object))
    if bad:
        raise ValidationError("DLBM: " + "; ".join(bad), source=file)
    gdf["DLBM"] = new.to_numpy(dtype=object)


def plan_standard(codes, names=None):
    """``"ydyh"`` (用地用海 2023) or ``"gbt21010"`` (GB/T 21010-2017) for a plan layer's codes.

    Decided by the codes only one of the two standards has (``05H1``,
    ``0508``, ``08H2`` ... vs ``100101``, ``1208``, ``13``-``24`` ...) and, when
    names are given, by which standard's name the (code, name) pairs agree
    with.

    >>> plan_standard(["0601", "0508", "05H1", "0701"])
    'gbt21010'
    >>> plan_standard(["1001", "0701", "1207"], ["工业用地", "城镇住宅用地", "城镇道路用地"])
    'ydyh'
    """
    y, s = _names("ydyh"), _names("sandiao")
    c = _text(codes).dropna().str.upper()
    if names is not None:
        n = _text(names).reindex(c.index).fillna("").str.replace(r"\s+", "", regex=True)
        agree_y = int((c.map(y).fillna("") == n).sum())
        agree_s = int((c.map(s).fillna("") == n).sum())
        if agree_y != agree_s and max(agree_y, agree_s) >= 0.5 * len(c):
            return "ydyh" if agree_y > agree_s else "gbt21010"
    only_s = c.isin(set(s) - set(y)) | c.str.contains("H")
    only_y = c.isin(set(y) - set(s)) | c.str.fullmatch(r"(1[3-9]|2[0-4])\d*")
    return "gbt21010" if int(only_s.sum()) > int(only_y.sum()) else "ydyh"


def require_plan_standard(gdf, file):
    """Refuse (one line) a plan layer whose ``YDYHFLDM`` follows GB/T 21010-2017, not 用地用海 2023."""
    field = next((f for f in NAME_FIELDS if f in gdf.columns), None)
    names = gdf[field].to_numpy() if field else None
    if plan_standard(gdf["YDYHFLDM"].to_numpy(), names) == "gbt21010":
        raise ValidationError(
            "YDYHFLDM holds GB/T 21010-2017 land-use codes (0601 工业用地, 0508, 05H1 ...), not 国土空间调查、"
            "规划、用途管制用地用海分类 (2023) codes (1001 工业用地): read as 用地用海 they would put industrial "
            "land under village roads; supply the plan in 用地用海 codes / 规划图层编码为旧标准，请提供用地用海分类代码",
            source=file)

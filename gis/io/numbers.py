"""Reading numbers from table cells: thousands separators, units (万元, 亩, m²), Excel errors, years."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..declared_units import unit_token
from ..identifiers import FULLWIDTH_TO_ASCII
from ..schema import ENTERPRISE_COLUMNS
from .settings import io_settings
from .tables import normalise_header

__all__ = [
    "is_text",
    "text_values",
    "EXCEL_ERRORS",
    "INVISIBLE",
    "excel_errors",
    "number_cells",
    "parse_numbers",
    "schema_unit",
    "header_unit",
    "token_key",
    "header_tokens",
    "year_values",
]


# ---------------------------------------------------------------- values
def is_text(s):
    """Mask of the entries of an object Series that are str."""
    if isinstance(s.dtype, pd.StringDtype):
        return s.notna()
    values = s.to_numpy(dtype=object)
    return pd.Series(np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values)), index=s.index)


def text_values(s):
    """Cell values as stripped text; numbers without a spurious '.0'; blanks -> NaN."""
    s = pd.Series(s, dtype=object)
    out = pd.Series(np.nan, index=s.index, dtype=object)
    istext = is_text(s)
    out[istext] = s[istext].astype(str).str.strip()
    other = s.notna() & ~istext
    if other.any():
        num = pd.to_numeric(s[other], errors="coerce")
        integral = num.notna() & (num == np.floor(num)) & (num.abs() < 1e15)
        conv = s[other].astype(str)
        conv[integral] = num[integral].astype("int64").astype(str)
        out[other] = conv
    out[out == ""] = np.nan
    return out


def _unit_key(unit):
    return None if unit is None else normalise_header(unit)[0]


#: the error values Excel writes into a cell (kept as text by :func:`read_table`)
EXCEL_ERRORS = ("#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA",
                "#SPILL!", "#CALC!")

#: characters that print as nothing (zero-width space/joiners, marks, word joiner, BOM, soft hyphen)
INVISIBLE = "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]"

#: a multiplier written after a number (in the unit that follows, or the column's)
_MULTIPLIERS = {"十万": 1e5, "百万": 1e6, "千万": 1e7, "万": 1e4, "亿": 1e8}


def excel_errors(values):
    """The Excel error of each cell (``"#DIV/0!"``...) or None.

    >>> excel_errors(["#DIV/0!", " #n/a ", "12", None]).tolist()
    ['#DIV/0!', '#N/A', None, None]
    """
    s = pd.Series(values, dtype=object)
    out = pd.Series([None] * len(s), index=s.index, dtype=object)
    if not any(isinstance(v, str) and "#" in v for v in s.to_numpy()):  # every error starts with #
        return out
    istext = is_text(s)
    if istext.any():
        up = s[istext].astype(str).str.strip().str.upper()
        hit = up.isin(EXCEL_ERRORS)
        out[up.index[hit]] = up[hit]
    return out


def _unit_table(settings):
    """``{target unit: {unit: factor}}`` with normalised keys, each target also to itself."""
    table = {}
    for target, factors in settings["io"]["unit_factors"].items():
        t = _unit_key(target)
        table[t] = {_unit_key(a): float(b) for a, b in factors.items()}
        table[t][t] = 1.0
    return table


def number_cells(values, unit=None, source_unit=None, settings=None, percent=False):
    """Parse the cells of a number column, saying why a cell could not be read.

    Parameters
    ----------
    values : array-like
        Cell values (numbers or text).
    unit : str, optional
        The unit the toolkit uses for the column (e.g. ``"万元"``).
    source_unit : str, optional
        The unit named in the file's header, when different.
    settings : dict, optional
    percent : bool
        Read ``"5%"`` as 0.05; by default a percentage is refused (reason
        ``percent``): money, land and counts are never percentages.

    Returns
    -------
    DataFrame
        ``value`` (float in ``unit``; NaN where missing or refused),
        ``reason`` (None, ``"not_a_number"``, ``"wrong_unit"``, ``"doubled_unit"`` (``1.2亿万元``),
        ``"percent"``, ``"excel_error"``), ``detail`` (the unit or the
        error) and ``converted`` (True where a unit or 万/亿 written in the
        cell changed the number: worth a note), index as ``values``.

    Notes
    -----
    A unit written in the cell is converted to the column's unit with the
    ``io.unit_factors`` setting (``300元`` under 万元 is 0.03,
    ``2公顷`` under 亩 is 30); a known unit that cannot apply to the column
    (``2公顷`` under 万元) is ``wrong_unit``.  万, 十万, 百万, 千万 and 亿
    multiply the unit that follows, or the column's unit; in a column whose
    unit already starts with 万 (万元, 万千瓦时) a bare ``12.5万`` is 12.5
    of that unit and ``3千万`` is 3 000 万.

    Examples
    --------
    >>> t = number_cells(["300元", "3千万", "2公顷", "5%", "#REF!", "12.5万"], unit="万元")
    >>> t["value"].round(4).tolist()[:2], t["reason"].tolist()[2:5]
    ([0.03, 3000.0], ['wrong_unit', 'percent', 'excel_error'])
    >>> t["converted"].tolist()
    [True, True, False, False, False, False]
    >>> number_cells(["12万元", "1,200"], unit="万元")["converted"].tolist()
    [False, False]
    >>> number_cells(["10000平方米", "2公顷", "1.5万平方米"], unit="亩")["value"].round(6).tolist()
    [15.0, 30.0, 22.5]
    """
    settings = io_settings(settings)
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    istext = is_text(s)
    value = pd.to_numeric(s.where(~istext), errors="coerce").astype("float64")
    reason = pd.Series([None] * len(s), index=s.index, dtype=object)
    detail = pd.Series([""] * len(s), index=s.index, dtype=object)
    converted = pd.Series(False, index=s.index)
    reason[s.notna() & ~istext & value.isna()] = "not_a_number"  # e.g. a date in a number column
    # zero-width spaces, BOM, soft hyphens, word joiners: invisible padding copied from web pages
    text = s[istext].astype(str).str.replace(INVISIBLE, "", regex=True)
    # fast path: plain numbers written as text ("1234.5", "1e3") parse in C
    quick = pd.to_numeric(text, errors="coerce")
    done = np.isfinite(quick.to_numpy(dtype="float64"))
    value[text.index[done]] = quick[done].to_numpy()
    text = text[~done]
    header_factor = _unit_factor(unit, source_unit, settings)
    value = value * header_factor  # numbers without a unit of their own: the header's unit
    errors = excel_errors(text)
    reason[errors.dropna().index] = "excel_error"
    detail[errors.dropna().index] = errors.dropna()
    text = text[errors.isna()]
    if text.empty:  # every cell a number (or blank, or an Excel error): nothing left to parse
        value[errors.dropna().index] = np.nan
        return pd.DataFrame({"value": value, "reason": reason, "detail": detail,
                             "converted": converted})
    # full-width digits, signs and separators -> ASCII (vectorised str.translate)
    text = text.str.translate(FULLWIDTH_TO_ASCII).str.strip().str.lower()
    missing_tokens = {str(t).lower() for t in settings["io"]["missing_tokens"]}
    missing = (text == "") | text.isin(missing_tokens)
    text = text.str.replace(r"[\s,_']", "", regex=True)
    table = _unit_table(settings)
    target = _unit_key(unit)
    known = sorted({u for f in table.values() for u in f} | {target or ""} - {""}, key=len, reverse=True)
    units = "|".join(map(re.escape, known)) or "(?!)"
    mults = "|".join(map(re.escape, _MULTIPLIERS))
    parts = text.str.extract(rf"^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)({mults})?({units})?(%)?$")
    num = pd.to_numeric(parts[0], errors="coerce")
    src = _unit_key(source_unit) or target or ""
    mult = parts[1].map(_MULTIPLIERS).fillna(1.0).astype(float)
    written = parts[2]
    # a bare multiplier in a 万 column: the 万 is the column's (12.5万 under 万元 = 12.5 万元)
    mult = mult.where(~(written.isna() & parts[1].notna() & src.startswith("万")), mult / 1e4)
    factor = pd.Series(header_factor, index=text.index)
    has_unit = written.notna()
    conv = written[has_unit].map(lambda u: table.get(target, {}).get(u, 1.0 if u == target else np.nan))
    factor[has_unit] = conv.to_numpy(dtype=float)
    wrong = has_unit & factor.isna() & num.notna()
    pct = parts[3].eq("%") & num.notna()
    factor[pct] = factor[pct] / 100.0
    failed = num.isna() & ~missing
    # 1.2亿万元, 3万万元: a multiplier before a unit that is itself a multiple -- 1.2 亿元 or 1.2×10⁸ 万元?
    doubled = parts[1].notna() & written.fillna("").str.match("^[万亿]") & num.notna() & ~wrong
    wrong = wrong | doubled
    val = (num * mult * factor).where(~(failed | wrong | (pct & ~percent)))
    value[text.index] = val.to_numpy()
    value[errors.dropna().index] = np.nan
    reason[text.index[failed.to_numpy()]] = "not_a_number"
    reason[text.index[wrong.to_numpy()]] = "wrong_unit"
    detail[text.index[wrong.to_numpy()]] = written[wrong]
    reason[text.index[doubled.to_numpy()]] = "doubled_unit"
    detail[text.index[doubled.to_numpy()]] = (parts[1] + written)[doubled]
    if not percent:
        reason[text.index[pct.to_numpy()]] = "percent"
    # a unit or multiplier of the cell's own changed the number (12.5万, 12万元 under 万元 do not)
    own = (has_unit | parts[1].notna()) & ~np.isclose(mult * factor, header_factor, rtol=1e-12)
    converted[text.index] = (own & val.notna()).to_numpy()
    return pd.DataFrame({"value": value, "reason": reason, "detail": detail,
                         "converted": converted})


def parse_numbers(values, unit=None, source_unit=None, settings=None, percent=False):
    """Parse numbers written as text, vectorised (see :func:`number_cells` for the reasons).

    Parameters
    ----------
    values : array-like
        Cell values (numbers or text).
    unit : str, optional
        The unit the toolkit uses for the column (e.g. ``"万元"``).
    source_unit : str, optional
        The unit named in the file's header, when different.
    settings : dict, optional
    percent : bool
        Read ``"5%"`` as 0.05 (default: refused).

    Returns
    -------
    numbers : pandas.Series of float
        NaN where missing or unparseable.
    bad : pandas.Series of bool
        True where a value was present but could not be read.

    Examples
    --------
    >>> n, bad = parse_numbers(["1,234.5", "12.5万", "１２３", "", "-", "5%", "abc"], unit="亩")
    >>> n.tolist()[:3], bad.tolist()
    ([1234.5, 125000.0, 123.0], [False, False, False, False, False, True, True])
    >>> parse_numbers(["12.5万", "3万元", "1.2亿"], unit="万元")[0].tolist()
    [12.5, 3.0, 12000.0]
    """
    t = number_cells(values, unit, source_unit, settings, percent)
    return t["value"], t["reason"].notna()


def _unit_factor(unit, source_unit, settings):
    t, f = _unit_key(unit), _unit_key(source_unit)
    if t is None or f is None or t == f:
        return 1.0
    table = {_unit_key(k): {_unit_key(a): b for a, b in v.items()} for k, v in settings["io"]["unit_factors"].items()}
    return float(table.get(t, {}).get(f, 1.0))


def schema_unit(internal):
    """Return the unit written in the schema's Chinese header of column ``internal``."""
    return normalise_header(ENTERPRISE_COLUMNS[internal][0])[1]


def header_unit(header, internal, settings):
    """Unit named in the file's header when it is a known alternative unit."""
    unit = unit_token(normalise_header(header)[1])  # 税收(单位：元) names 元
    target = schema_unit(internal)
    if unit is None or target is None:
        return None
    known = {_unit_key(k) for k in settings["io"]["unit_factors"].get(target, {})}
    if _unit_key(unit) == _unit_key(target) or _unit_key(unit) in known:
        return unit
    return None


def token_key(s):
    """Vectorised key for matching spellings: ASCII-folded, lower case, no spaces."""
    s = s.fillna("").astype(str)
    uniq = pd.Series(pd.unique(s), dtype=object)  # a handful of spellings: normalise those
    keys = uniq.str.translate(FULLWIDTH_TO_ASCII).str.lower().str.replace(r"\s+", "", regex=True)
    return s.map(dict(zip(uniq, keys)))


def header_tokens(values):
    """Return the normalised header texts of ``values`` (a set)."""
    return {normalise_header(str(v))[0] for v in values}


def year_values(values, settings):
    """Return ``(years as Int64, bad mask, accepted range text)`` of a column of years."""
    s = text_values(values)
    cfg = settings["io"]["enterprises"]
    missing = s.isna() | s.str.lower().isin({str(t).lower() for t in settings["io"]["missing_tokens"]})
    year = pd.to_numeric(s, errors="coerce")  # fast path: 2015, "2015"
    year = year.where(year == np.floor(year))
    slow = year.isna() & s.notna()
    if slow.any():  # "2015年", "2015-06-01", "2015.6"
        year[slow] = pd.to_numeric(s[slow].str.extract(r"(?<!\d)(\d{4})(?!\d)")[0], errors="coerce")
    lo = int(cfg["year_min"])
    hi = cfg["year_max"]
    if hi is None:
        hi = pd.Timestamp.now().year + 1
    bad_form = ~missing & year.isna()
    bad_range = ~missing & year.notna() & ((year < lo) | (year > hi))
    year = year.where(~(bad_form | bad_range))
    return year.astype("Int64"), bad_form | bad_range, f"{lo}–{hi}"

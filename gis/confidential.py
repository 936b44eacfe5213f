"""What is confidential, and the public form of every output: the one place.

A firm's **tax** (税收), **value added** (工业增加值), **revenue** (营业收入),
**energy** use (综合能耗), **emission** (排放量) and **electricity** use
(用电量) are confidential, and so is every figure computed from them (亩均税收,
亩均增加值, 单位能耗增加值, 单位电耗税收, scores, benchmark gains, a zone's
sums and ratios ...).  They may appear in internal outputs (marked
内部资料 · 注意保密) and never in a public one (marked 公开版).

Every output that has a public edition goes through this module:

- :func:`marking` is the label every map, report and workbook shows on its
  face;
- :func:`public_frame` turns any table or layer into its public form: it
  drops the confidential columns (:func:`confidential_columns`) and rewrites
  the text columns (:func:`public_text`; renewal evidence through
  :func:`public_evidence`), so a figure cannot travel inside a sentence such
  as ``"亩均税收 4.74 < 6.75 万元/亩"``;
- :func:`mentions_confidential` tells whether a text names a confidential
  quantity (for titles, legends, layer names, chart labels);
- :func:`confidential_needles` and :func:`find_leaks` check a written file
  (used by the tests on the whole demo).

Settings may add columns (``maps.public_drop_columns`` /
``maps.public_drop_fragments``); they cannot remove any of this module's.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd

from .labels import column_labels

__all__ = [
    "CONFIDENTIAL_QUANTITIES",
    "CONFIDENTIAL_WORDS",
    "CONFIDENTIAL_COLUMNS",
    "CONFIDENTIAL_FRAGMENTS",
    "MARKING_INTERNAL",
    "MARKING_PUBLIC",
    "NAME_COLUMNS",
    "WITHHELD",
    "marking",
    "confidential_columns",
    "mentions_confidential",
    "public_rule_name",
    "public_text",
    "public_evidence",
    "public_frame",
    "confidential_needles",
    "find_leaks",
    "POLICY_OPEN",
    "POLICY_CLOSE",
]

#: markers around the method's indicator table in a public report: the method is
#: policy (indicator names and weights), so its words are not a leak; numbers are
#: still searched there (:func:`find_leaks`)
POLICY_OPEN, POLICY_CLOSE = "<!--gis:policy-->", "<!--/gis:policy-->"
_POLICY = re.compile(re.escape(POLICY_OPEN) + r".*?" + re.escape(POLICY_CLOSE), re.S)

#: confidential quantity (internal column) -> Chinese name
CONFIDENTIAL_QUANTITIES = column_labels(
    "short", ["tax", "value_added", "revenue", "energy", "emission", "electricity"])

#: words that name a confidential quantity in a text (a clause holding one of
#: them is not public)
CONFIDENTIAL_WORDS = ("税收", "税金", "增加值", "营收", "营业收入", "产值", "能耗", "排放",
                      "电耗", "用电")

#: columns never in a public output: the quantities and the figures derived
#: from them (gis.efficiency indicators and scores, renewal gains ...)
CONFIDENTIAL_COLUMNS = (
    "tax", "value_added", "revenue", "energy", "emission", "electricity", "output",
    "tax_per_mu", "va_per_mu", "revenue_per_mu", "va_per_energy", "va_per_emission",
    "tax_per_kwh", "labour_productivity", "rd", "rd_share", "rd_ratio", "score",
    "gain_tax", "gain_value_added", "benchmark_tax_per_mu", "benchmark_value_added_per_mu",
    "tax_avg_previous",
)

#: a column whose name contains one of these (case-insensitive) is confidential
CONFIDENTIAL_FRAGMENTS = (
    "tax", "revenue", "value_added", "va_per", "energy", "emission", "electric", "kwh",
    "output", "per_mu", "score", "税", "营收", "收入", "增加值", "产值", "能耗", "排放",
    "电耗", "用电", "得分",
)

#: the marking of internal outputs
MARKING_INTERNAL = "内部资料 · 注意保密"
#: the marking of public outputs
MARKING_PUBLIC = "公开版"

#: columns that identify a thing (names, codes): kept as they are in public
#: outputs, never rewritten
NAME_COLUMNS = ("name", "name_zh", "credit_code", "BSM", "parcel_id", "block_id", "企业名称",
                "统一社会信用代码")

#: what a public text shows in place of a withheld clause
WITHHELD = "（公开版不含此项数据）"

# renewal rules and exemptions whose Chinese name names a confidential
# quantity -> public name (by gis.renewal rule / exemption id)
_PUBLIC_RULE_NAMES = {
    "low_tax": "亩均效益偏低",
    "idle": "闲置(无企业或无产出)",
    "far_exempt": "允许低容积率产业且亩均效益高",
}
_VERDICT = "不达标"
_CLAUSE = re.compile(r"(；|;|\n)")
_WORDS = re.compile("|".join(map(re.escape, CONFIDENTIAL_WORDS)))


def marking(public):
    """The marking an output shows on its face.

    Parameters
    ----------
    public : bool
        True for a public edition.

    Returns
    -------
    str
        ``"公开版"`` for a public output, ``"内部资料 · 注意保密"`` for an
        internal one.  Every map title, report header and workbook shows it.

    Examples
    --------
    >>> marking(True), marking(False)
    ('公开版', '内部资料 · 注意保密')
    """
    return MARKING_PUBLIC if public else MARKING_INTERNAL


def _extra(settings):
    """Columns and fragments the settings add (``maps.public_drop_*``)."""
    if settings is None:
        from .config import load_settings

        settings = load_settings()
    s = settings.get("maps", settings) if isinstance(settings, dict) else {}
    return list(s.get("public_drop_columns") or []), list(s.get("public_drop_fragments") or [])


def confidential_columns(columns, settings=None):
    """The columns a public output must not contain.

    Parameters
    ----------
    columns : iterable of str
    settings : dict, optional
        May add names (``maps.public_drop_columns``) and fragments
        (``maps.public_drop_fragments``) to :data:`CONFIDENTIAL_COLUMNS` and
        :data:`CONFIDENTIAL_FRAGMENTS`; it cannot remove any.

    Returns
    -------
    list of str
        Those of ``columns`` named exactly (case-insensitive) or containing a
        fragment, in their order.

    Examples
    --------
    >>> confidential_columns(["name", "tax_per_mu", "grade", "能耗_吨", "area_mu"])
    ['tax_per_mu', '能耗_吨']
    """
    more_cols, more_frags = _extra(settings)
    exact = {str(c).lower() for c in (*CONFIDENTIAL_COLUMNS, *more_cols)}
    frags = [str(f).lower() for f in (*CONFIDENTIAL_FRAGMENTS, *more_frags)]
    return [c for c in columns
            if str(c).lower() in exact or any(f in str(c).lower() for f in frags)]


def mentions_confidential(text):
    """True when ``text`` names a confidential quantity (:data:`CONFIDENTIAL_WORDS`).

    Examples
    --------
    >>> mentions_confidential("亩均税收偏低"), mentions_confidential("容积率偏低")
    (True, False)
    """
    return isinstance(text, str) and _WORDS.search(text) is not None


@functools.lru_cache(maxsize=1)
def _rule_names():
    """{internal Chinese name: public name} of the renewal rules and exemptions."""
    from .renewal import EXEMPTIONS, RULES

    names = {**RULES, **EXEMPTIONS}
    return {names[k]: v for k, v in _PUBLIC_RULE_NAMES.items() if k in names}


def public_rule_name(name):
    """The public name of a renewal rule or exemption (Chinese name in, Chinese name out).

    Examples
    --------
    >>> public_rule_name("亩均税收偏低"), public_rule_name("容积率偏低")
    ('亩均效益偏低', '容积率偏低')
    """
    return _rule_names().get(name, name)


def _renamed(text):
    for old, new in _rule_names().items():
        text = text.replace(old, new)
    return text


def public_text(text):
    """The public form of a text: rule names made public, confidential clauses withheld.

    A clause (text between "；", ";" or line breaks) that still names a
    confidential quantity after the renewal rule names are replaced by their
    public names is replaced by :data:`WITHHELD` (once per text).

    Parameters
    ----------
    text : str or any
        Anything that is not a str is returned as it is.

    Returns
    -------
    str or any

    Examples
    --------
    >>> public_text("亩均税收偏低 3；容积率偏低 1")
    '亩均效益偏低 3；容积率偏低 1'
    >>> public_text("年产值(亿元) ≥200")
    '（公开版不含此项数据）'
    """
    if not isinstance(text, str):
        return text
    text = _renamed(text)
    if not mentions_confidential(text):
        return text
    parts = _CLAUSE.split(text)
    out, withheld = [], False
    for i in range(0, len(parts), 2):
        clause = parts[i]
        sep = parts[i + 1] if i + 1 < len(parts) else ""
        if mentions_confidential(clause):
            if withheld:
                continue
            clause, withheld = WITHHELD, True
        out.append(clause + sep)
    return "".join(out).rstrip("；;\n")


def public_evidence(reasons, evidence):
    """Public evidence of a renewal candidate: the rule and the verdict, no measured value.

    ``reasons`` and ``evidence`` are the texts of
    :func:`gis.renewal.candidates` (flagged rules and their evidence, both
    joined by "；", in the same order).  A piece of evidence that names a
    confidential quantity becomes ``"<public rule name>：不达标"``; the others
    (容积率, 房屋安全鉴定, 规划 ...) are kept.

    Examples
    --------
    >>> public_evidence("容积率偏低；亩均税收偏低",
    ...                 "容积率 0.62 < 1.00；亩均税收 4.74 < 6.75 万元/亩")
    '容积率 0.62 < 1.00；亩均效益偏低：不达标'
    """
    if not isinstance(evidence, str):
        return evidence
    rules = reasons.split("；") if isinstance(reasons, str) else []
    pieces = evidence.split("；")
    if len(rules) != len(pieces):  # not a candidates' pair: the generic rule
        return public_text(evidence)
    return "；".join(
        f"{public_rule_name(r)}：{_VERDICT}" if mentions_confidential(p) else _renamed(p)
        for r, p in zip(rules, pieces))


def _text_columns(df):
    geom = getattr(df, "_geometry_column_name", None)
    return [c for c in df.columns
            if c != geom and c not in NAME_COLUMNS
            and (df[c].dtype == object or pd.api.types.is_string_dtype(df[c]))]


def public_frame(df, settings=None):
    """The public form of a table or layer.

    Drops :func:`confidential_columns` and rewrites every text column
    (except the names and codes of :data:`NAME_COLUMNS`): ``evidence`` with
    :func:`public_evidence` (paired with ``reasons``), the others with
    :func:`public_text`.  Column labels that name a confidential quantity are
    dropped too.  The geometry is kept.

    Parameters
    ----------
    df : DataFrame or GeoDataFrame
    settings : dict, optional
        See :func:`confidential_columns`.

    Returns
    -------
    DataFrame or GeoDataFrame
        A new frame; ``df`` is not changed.
    """
    geom = getattr(df, "_geometry_column_name", None)
    drop = confidential_columns([c for c in df.columns if c != geom], settings)
    drop += [c for c in df.columns if c != geom and c not in drop and mentions_confidential(str(c))]
    out = df.drop(columns=drop)
    for col in _text_columns(out):
        s = out[col]
        hit = s.map(mentions_confidential).astype(bool)  # the old rule names name one too
        if not hit.any():
            continue
        if col == "evidence" and "reasons" in df.columns:
            new = [public_evidence(r, e) for r, e in zip(df.loc[hit, "reasons"], s[hit])]
        else:
            new = [public_text(v) for v in s[hit]]
        s = s.astype(object).copy()
        s[hit.to_numpy()] = np.asarray(new, dtype=object)
        out[col] = s
    return out


# ----------------------------------------------------------------- leak checks
def _significant(s):
    digits = re.sub(r"\D", "", s).lstrip("0")
    return len(digits)


def confidential_needles(values, min_significant=5):
    """The texts under which confidential numbers could appear in an output.

    Each finite value is written the ways the outputs write numbers: 1–3
    decimals, with and without thousands separators, whole with thousands
    separators (from 1 000), as a JSON float (full and rounded to 6
    decimals) and with ``%g``.  Texts with fewer than
    ``min_significant`` significant digits are left out: "4.7" or "65.57"
    occur by chance in any page (a share in a legend, a land area); five
    significant digits compared with whole numbers of the file (see
    :func:`find_leaks`) do not.

    Parameters
    ----------
    values : iterable of float
    min_significant : int

    Returns
    -------
    set of str
    """
    out = set()
    for v in values:
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(v) or v == 0:
            continue
        v = abs(v)  # numbers are compared without their sign
        forms = {f"{v:.1f}", f"{v:.2f}", f"{v:.3f}", f"{v:,.1f}", f"{v:,.2f}", repr(v),
                 repr(round(v, 6)), f"{v:g}"}
        if abs(v) >= 1000:  # whole numbers only as outputs write them: 1,234
            forms.add(f"{v:,.0f}")
        out.update(f for f in forms if _significant(f) >= min_significant)
    return out


_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?!\d)")
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)")


def find_leaks(data, needles, words=CONFIDENTIAL_WORDS):
    """Confidential numbers and words found in the bytes of an output.

    Parameters
    ----------
    data : bytes or str
        The file's content (decoded as UTF-8 when bytes; ``\\uXXXX``
        escapes are decoded too, so JSON written with ``ensure_ascii`` is
        searched as well).
    needles : iterable of str
        From :func:`confidential_needles`.  A needle matches a whole number
        of the text only, i.e. between non-digit boundaries: every number of
        the text (digits with an optional decimal part, not preceded by a
        digit or "."; and numbers with thousands separators) is compared
        with the needles, so "1234.5" is not found inside "11234.56" nor
        "120.12345", and "220.60" not inside "3,220.60" (digits grouped by
        thousands are read as one number first).  Signs are ignored.
    words : iterable of str
        Searched outside the method's indicator table (between
        :data:`POLICY_OPEN` and :data:`POLICY_CLOSE`: the indicators and
        weights are policy, published); the needles everywhere.

    Returns
    -------
    list of str
        The words, then the needles, found (empty: no leak).
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
    if "\\u" in text:
        text = text + "\n" + re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    policy_free = _POLICY.sub(" ", text)  # indicator names of the published method
    found = [w for w in words if w in policy_free]
    grouped = set(_GROUPED.findall(text))  # 3,220.60 is one number, not 3 and 220.60
    numbers = grouped | set(_NUMBER.findall(_GROUPED.sub(" ", text)))
    return found + sorted(numbers & set(needles))

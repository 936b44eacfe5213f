"""Units declared anywhere a person writes them in a firm table.

Bureau workbooks say the unit of a column in one of four places:

1. the **header** (``税收(元)``, ``税收（单位：元）``);
2. a **unit row** right under a (merged) header: ``(万元)``, ``元``,
   ``亩``, ``平方米`` in the cells of the row below the column names;
3. a **unit line** above the table: ``金额单位：元``, ``单位：万元``,
   ``面积单位：平方米`` (a line naming 金额/面积/能耗/电量 governs the
   columns of that kind; a bare ``单位：`` every column whose unit it can
   be converted to);
4. the **cell** (``300元``), handled by :func:`gis.io.number_cells`.

The first three give each number column one declared unit, which
:func:`gis.io.number_cells` converts from (``io.unit_factors``).  Two
declarations of one column that disagree (header 万元, unit line 元) stop
the load with one line naming both: the toolkit cannot know which is true,
and a factor of 10 000 is not a detail.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from ._errors import ValidationError

__all__ = ["unit_token", "known_units", "split_unit_row", "preamble_lines", "unit_lines", "column_units"]

#: a unit line's scope word -> the toolkit units (targets of io.unit_factors) it governs
_SCOPES = {"金额": ("万元",), "货币": ("万元",), "税收": ("万元",), "面积": ("亩", "m2"), "用地": ("亩",),
           "能耗": ("吨标煤",), "电量": ("万千瓦时",), "用电": ("万千瓦时",)}
_LINE = re.compile(r"(金额|货币|税收|面积|用地|能耗|电量|用电)?单位[:：]")
_SPLIT = re.compile(r"[、,，;；/\s]+")


def _key(text):
    s = unicodedata.normalize("NFKC", str(text)).lower()
    return re.sub(r"\s+", "", s)


def unit_token(text):
    """The unit a cell or a bracketed header part names, normalised (``"（万元）"`` -> ``"万元"``), or None.

    >>> unit_token(" (万元) "), unit_token("单位：元"), unit_token("m²"), unit_token("")
    ('万元', '元', 'm2', None)
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    s = _key(text).strip("()[]【】<>〈〉（）")
    s = re.sub(r"^单位[:：]", "", s)
    return s or None


def known_units(settings):
    """``{toolkit unit: {unit: factor}}`` of ``io.unit_factors``, keys normalised, each unit also to itself."""
    out = {}
    for target, factors in settings["io"]["unit_factors"].items():
        t = unit_token(target)
        out[t] = {unit_token(k): float(v) for k, v in factors.items()}
        out[t][t] = 1.0
    return out


def split_unit_row(raw, settings):
    """Take a unit row off the top of a table read by :func:`gis.io.read_table`.

    The unit row is the first data row when every non-blank cell in it is a
    short text without digits (besides ``m2``/``km2``) and at least two of
    them are known units.

    Returns
    -------
    raw : DataFrame
        Without the unit row.
    units : dict
        ``{header: (unit, excel row)}`` of the cells that name a known unit.
    """
    if raw.empty:
        return raw, {}
    table = known_units(settings)
    every = {u for f in table.values() for u in f}
    first = raw.iloc[0]
    found, ok = {}, True
    for h, v in first.items():
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            continue
        if not isinstance(v, str):
            ok = False
            break
        tok = unit_token(v)
        if tok is None or len(tok) > 6 or re.search(r"\d", re.sub(r"k?m2", "", tok)):
            ok = False
            break
        if tok in every:
            found[h] = (tok, int(raw.index[0]))
    if not ok or len(found) < 2:
        return raw, {}
    out = raw.iloc[1:]
    out.attrs = dict(raw.attrs)
    out.attrs["unit_row"] = int(raw.index[0])
    return out, found


def preamble_lines(block):
    """``[(excel row, text)]`` of the non-blank cells of the rows above a header (2-D object array)."""
    out = []
    for i, row in enumerate(block):
        for v in row:
            if isinstance(v, str) and v.strip():
                out.append((i + 1, v.strip()))
    return out


def unit_lines(lines, settings):
    """The unit declarations among preamble lines: ``[(scope targets or None, unit, excel row, text)]``.

    >>> from gis.config import default_settings
    >>> unit_lines([(1, "2025年名录"), (2, "金额单位：元  面积单位：亩"), (3, "填报单位：经信局")], default_settings())
    [(('万元',), '元', 2, '金额单位：元'), (('亩', 'm2'), '亩', 2, '面积单位：亩')]
    """
    table = known_units(settings)
    every = {u for f in table.values() for u in f}
    out = []
    for row, text in lines:
        key = _key(text)
        found = list(_LINE.finditer(key))  # several declarations in one cell: each up to the next
        for k, m in enumerate(found):
            end = found[k + 1].start() if k + 1 < len(found) else len(key)
            scope = _SCOPES.get(m.group(1)) if m.group(1) else None
            for tok in _SPLIT.split(key[m.end():end]):
                tok = unit_token(tok)
                if tok in every:
                    out.append((scope, tok, row, f"{m.group(1) or ''}单位：{tok}"))
    return out


def column_units(raw, mapping, schema_unit, header_unit, settings, source, unit_row=None, lines=()):
    """The one declared unit of each number column; a conflict stops the load.

    Parameters
    ----------
    raw : DataFrame
        The table (headers as found).
    mapping : dict
        ``{internal: header}`` (:func:`gis.io.column_mapping`).
    schema_unit : callable
        ``internal -> toolkit unit`` (None for columns without one).
    header_unit : callable
        ``(header, internal) -> unit named in the header`` or None.
    settings : dict
    source : str
        File name for messages.
    unit_row : dict, optional
        From :func:`split_unit_row`.
    lines : list, optional
        From :func:`unit_lines`.

    Returns
    -------
    dict
        ``{internal: unit}`` for the columns with a declared unit.

    Raises
    ------
    ValidationError
        One line naming the column and the declarations that disagree.
    """
    table = known_units(settings)
    unit_row = unit_row or {}
    out, problems = {}, []
    for internal, header in mapping.items():
        target = unit_token(schema_unit(internal)) if schema_unit(internal) else None
        if target is None or target not in table:
            continue
        accepted = table[target]
        said = []
        hu = header_unit(header, internal)
        if hu is not None:
            said.append((unit_token(hu), f"header '{header}'"))
        if header in unit_row and unit_row[header][0] in accepted:
            said.append((unit_row[header][0], f"unit row {unit_row[header][1]} '{unit_row[header][0]}'"))
        for scope, tok, row, text in lines:
            if tok in accepted and (scope is None or target in scope):
                said.append((tok, f"row {row} '{text}'"))
        if not said:
            continue
        factors = {accepted[u] for u, _ in said}
        if len(factors) > 1:
            problems.append(f"column '{header}': {' vs '.join(w for _, w in said)} declare different units "
                            "/ 单位声明互相矛盾")
            continue
        out[internal] = said[0][0]
    if problems:
        raise ValidationError("; ".join(problems) + "; correct the header or the 单位 line", source=source)
    return out

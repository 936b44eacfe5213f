"""The one labels table (gis.labels): one Chinese name per internal name."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from gis import labels

PKG = Path(__file__).resolve().parents[1] / "gis"

#: ``"name": "中文..."`` or ``"name": ("中文..."`` in source code
_ENTRY = re.compile(
    r"""["']([A-Za-z_][A-Za-z0-9_]*)["']\s*:\s*\(?\s*f?["']([^"'\n]*[\u4e00-\u9fff][^"'\n]*)["']""")

#: (file, key, text) allowed to pair an internal name with Chinese outside gis.labels
ALLOWED = {
    # a unit in the maps (they adopt gis.labels in their own change)
    ("maps/layers.py", "tax_per_mu", "万元/亩"),
}
#: (file, key) allowed with any text
ALLOWED_KEYS = {
    # gis.demo writes synthetic INPUT files; its planted-problem records name
    # the input column a problem is in ("column": "税收(万元)") and a note
    ("demo.py", "column"),
    ("demo.py", "note"),
    ("demo.py", "BZ"),  # the 备注 value of the synthetic 三调 and plan layers
}
#: files whose bilingual (zh, en) UI strings are allowed for now: the maps
#: adopt gis.labels in their own change (issue 18), then this goes
ALLOWED_BILINGUAL = {"maps/text.py"}


def _docstring_lines(text):
    """Line numbers inside docstrings (documentation and doctests, not output)."""
    import ast

    lines = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                                     ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines |= set(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def _labelled_names():
    """Every internal name that has a Chinese label, and the class letters."""
    names = set(labels.COLUMNS) | set(labels.SUMMARY) | set(labels.CLASSES)
    for ctx in labels.CONTEXTS.values():
        names |= set(ctx)
    return names


def test_the_labels_table_is_the_only_place_a_chinese_column_label_is_written():
    known = _labelled_names()
    found = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "labels.py":
            continue
        rel = path.relative_to(PKG).as_posix()
        text = path.read_text(encoding="utf-8")
        docs = _docstring_lines(text)
        for m in _ENTRY.finditer(text):
            key = m.group(1)
            if text.count("\n", 0, m.start()) + 1 in docs:
                continue
            bilingual = m.group(0).split(":", 1)[1].lstrip().startswith("(")
            if key in known and (rel, key, m.group(2)) not in ALLOWED \
                    and (rel, key) not in ALLOWED_KEYS \
                    and not (bilingual and rel in ALLOWED_BILINGUAL):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(PKG.parent)}:{line}: {m.group(0)}")
    assert not found, "Chinese labels written outside gis.labels:\n" + "\n".join(found)


def test_the_grep_finds_a_label_written_elsewhere():
    # the pattern the test above relies on catches the usual spellings
    for src in ('{"rank": "排序"}', "{'grade': '亩均评价等级'}", '{"A": ("A 优先发展", "A")}',
                'rename(columns={"tax": f"税收{y}"})'):
        assert _ENTRY.search(src), src
    assert not _ENTRY.search('{"rank": "rank"}')


@pytest.mark.parametrize("name", ["rank", "grade", "class", "tax_per_mu", "firms", "parcel_ids"])
def test_one_name_one_label_unless_a_context_says_otherwise(name):
    import gis.attach
    import gis.changes
    import gis.clusters
    import gis.efficiency
    import gis.matching
    import gis.renewal
    import gis.report

    maps = {
        "firms": {**gis.efficiency.LABELS_ZH, **gis.attach.ATTACH_LABELS_ZH},
        "aggregate": gis.efficiency.AGG_LABELS_ZH,
        "renewal": gis.renewal.LABELS_ZH,
        "clusters": gis.clusters.LABELS_ZH,
        "changes": gis.changes.CHANGE_LABELS_ZH,
        "match": gis.matching.MATCH_LABELS_ZH,
        None: gis.report.REPORT_LABELS,
    }
    for ctx, m in maps.items():
        if name in m:
            assert m[name] == labels.column_label(name, ctx), (ctx, name)
            if name not in labels.CONTEXTS.get(ctx, {}):
                assert m[name] == labels.COLUMNS[name], (ctx, name)


def test_rank_and_grade_read_the_same_in_the_workbook_report_and_renewal_tables():
    import gis.efficiency
    import gis.renewal
    import gis.report

    assert gis.renewal.LABELS_ZH["rank"] == gis.efficiency.LABELS_ZH["rank"] == "排名"
    assert gis.renewal.LABELS_ZH["grade"] == gis.report.REPORT_LABELS["grade"] \
        == gis.report.REPORT_LABELS["class"] == "评价类别"


def test_indicator_labels_are_derived_from_name_and_unit():
    import gis.efficiency

    for k, (name, unit) in labels.INDICATOR_NAMES.items():
        assert labels.COLUMNS[k] == f"{name}({unit})"
        assert labels.COLUMNS[f"score_{k}"] == f"{name}得分"
        assert gis.efficiency.INDICATORS[k][3:] == (name, unit)
    assert set(labels.INDICATOR_NAMES) == set(gis.efficiency.INDICATORS)


def test_enterprise_column_labels_read_back_as_input_headers():
    # a workbook written with these headers can be read again by gis.io
    from gis.schema import ENTERPRISE_ALIASES, ENTERPRISE_COLUMNS

    for k in ENTERPRISE_COLUMNS:
        accepted = {ENTERPRISE_COLUMNS[k][0], *ENTERPRISE_ALIASES.get(k, [])}
        assert labels.COLUMNS[k] in accepted, k


def test_codes_translate_and_unknown_context_is_refused():
    s = pd.Series(["both", "entered", "left", None, "other"])
    out = labels.translate(s, "change_status")
    assert out[[0, 1, 2, 4]].tolist() == ["两年均参评", "新增", "退出", "other"]
    assert pd.isna(out[3])
    assert labels.class_label("A") == "A 优先发展"
    assert labels.code_labels("class")["D"] == "D 倒逼整治"
    with pytest.raises(ValueError, match="unknown label context"):
        labels.column_labels("nope")
    with pytest.raises(ValueError, match="unknown code list"):
        labels.code_labels("nope")

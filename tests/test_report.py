"""The 亩均 report writers: workbook, charts, one-file HTML report.

Expected values are computed here independently (unicodedata widths,
fontTools character maps, html.parser, openpyxl reading back), never pasted
from the code's own output.
"""

import base64
import copy
import datetime as dt
import time
import unicodedata
import warnings
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from gis import ConfigError, ValidationError
from gis import charts
from gis.config import load_settings
from gis.report import (
    column_kinds,
    display_width,
    html_table,
    write_html_report,
    write_report,
    write_workbook,
)

HOSTILE = "<img src=x onerror=alert(1)>"
#: headers asserted below, given explicitly (the defaults may come from
#: gis.efficiency, which is not under test here)
LABELS = {"firms": "企业数(家)", "n_A": "A类企业数(家)", "share_A": "A类占比", "rank": "排名",
          "tax_per_mu": "亩均税收(万元/亩)", "rd_share": "R&D经费占营业收入比重(%)",
          "class": "评价类别", "tax": "税收(万元)", "land_mu": "用地面积(亩)"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------
# fixtures: small hand-made tables with internal names
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def settings():
    return load_settings()


@pytest.fixture(scope="module")
def firms():
    return pd.DataFrame(
        {
            "name": ["义乌市甲服饰有限公司", HOSTILE, "=1+2", "义乌乙光电科技有限公司", "丙化妆品"],
            "uscc": ["91330782A", "91330782B", "91330782C", "91330782D", "91330782E"],
            "platform": ["智能显示材料", "金萧新区", "金萧新区", "智能显示材料", None],
            "chain": ["纺织服装", "时尚日用品", "时尚日用品", "光电显示", "化妆品"],
            "land_mu": [12.5, 3.0, 40.25, 18.0, 6.0],
            "tax": [250.0, 12.0, 402.5, 900.0, 30.0],
            "tax_per_mu": [20.0, 4.0, 10.0, 50.0, 5.0],
            "rd_share": [1.5, 0.0, 2.25, 4.0, np.nan],
            "score": [88.25, 31.0, 60.5, 120.0, 45.0],
            "rank": [2, 5, 3, 1, 4],
            "class": ["B", "D", "C", "A", "C"],
            "start_year": [2008, 2019, 2012, 2016, 2021],
            "high_tech": [False, False, False, True, False],
        }
    )


@pytest.fixture(scope="module")
def platforms():
    return pd.DataFrame(
        {"firms": [2, 2], "land_mu": [30.5, 43.25], "tax": [1150.0, 414.5],
         "tax_per_mu": [1150.0 / 30.5, 414.5 / 43.25], "share_A": [0.5, 0.0],
         "n_A": [1, 0], "rank": [1, 2]},
        index=pd.Index(["智能显示材料", "金萧新区"], name="platform"),
    )


@pytest.fixture(scope="module")
def ledger():
    return pd.DataFrame(
        {"file": ["企业.xlsx"] * 3, "row": [7, 9, 12], "column": ["税收(万元)", "统一社会信用代码", "经度"],
         "value": ["abc", "123", None], "reason": ["not_a_number", "bad_uscc", "missing_value"],
         "message": ["不是数字", "代码无效", "必填项为空"]}
    )


def _all_tables(firms, platforms):
    agg = platforms
    return {
        "targets": pd.DataFrame({"chain": ["光电显示"], "output_yi": [0.09], "target_2030_yi": [400.0],
                                 "gap_yi": [399.91], "progress_pct": [0.0225]}),
        "townships": agg.rename_axis("township"),
        "firms": firms,
        "chains": agg.rename_axis("chain"),
        "parcels": pd.DataFrame({"parcel_id": ["P1", "P2"], "land_mu": [12.5, 3.0]}),
        "parks": agg.rename_axis("park"),
        "platforms": agg,
    }


def _ref_width(text):
    """Independent width: East-Asian wide/full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in str(text))


# --------------------------------------------------------------------------
# workbook
# --------------------------------------------------------------------------
def test_workbook_sheets_headers_rows_panes(tmp_path, firms, platforms, ledger, settings):
    tables = _all_tables(firms, platforms)
    tables["ledger"] = ledger
    path = write_workbook(tmp_path / "亩均效益评价_2025.xlsx", tables,
                          summary={"year": 2025, "firms_read": 6, "firms_rejected": 1},
                          labels=LABELS, settings=settings)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["汇总", "企业评价", "图斑", "平台", "园区", "镇街", "产业链", "规划目标", "数据质量"]
    ws = wb["企业评价"]
    headers = [c.value for c in ws[1]]
    assert headers[:5] == ["企业名称", "统一社会信用代码", "平台", "产业链", "用地面积(亩)"]
    assert "亩均税收(万元/亩)" in headers and "税收(万元)" in headers and "评价类别" in headers
    assert ws.max_row == len(firms) + 1
    # the named index of an aggregate becomes the first column
    assert [c.value for c in wb["平台"][1]][:2] == ["平台", "企业数(家)"]
    assert wb["平台"].max_row == len(platforms) + 1
    assert wb["数据质量"].max_row == len(ledger) + 1
    assert [c.value for c in wb["数据质量"][1]][:5] == ["文件", "行号", "列", "值", "原因"]
    # reason codes are shown in Chinese
    assert [wb["数据质量"].cell(r, 5).value for r in (2, 3, 4)] == ["不是数字", "统一社会信用代码无效", "必填项为空"]
    for sheet in wb:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(c.font.b for c in sheet[1])


def test_workbook_number_formats_and_values(tmp_path, firms, platforms, settings):
    path = write_workbook(tmp_path / "x.xlsx", {"firms": firms, "platforms": platforms}, labels=LABELS,
                          settings=settings)
    wb = openpyxl.load_workbook(path)
    ws = wb["企业评价"]
    col = {c.value: c.column for c in ws[1]}

    def fmt(header, row=2):
        return ws.cell(row, col[header]).number_format

    assert fmt("用地面积(亩)") == "#,##0.00"
    assert fmt("税收(万元)") == "#,##0.00"
    assert fmt("亩均税收(万元/亩)") == "#,##0.00"
    assert fmt("综合得分") == "0.0"
    assert fmt("排名") == "0"
    assert fmt("投产年份") == "0"
    assert fmt("R&D经费占营业收入比重(%)") == "0.00"  # already in percent: not ×100
    assert ws.cell(2, col["企业名称"]).number_format == "General"
    assert ws.cell(2, col["用地面积(亩)"]).value == 12.5
    assert ws.cell(5, col["排名"]).value == 1 and isinstance(ws.cell(5, col["排名"]).value, int)
    assert ws.cell(6, col["R&D经费占营业收入比重(%)"]).value is None  # NaN -> empty
    assert ws.cell(5, col["高新技术企业"]).value == "是"
    # a name starting with "=" stays text, never a formula
    c = ws.cell(4, col["企业名称"])
    assert c.value == "=1+2" and c.data_type == "s"
    p = wb["平台"]
    pc = {c.value: c.column for c in p[1]}
    assert p.cell(2, pc["A类占比"]).number_format == "0.0%"
    assert p.cell(2, pc["A类占比"]).value == 0.5
    assert p.cell(2, pc["企业数(家)"]).number_format == "#,##0"
    assert p.cell(2, pc["A类企业数(家)"]).number_format == "#,##0"


def test_workbook_column_widths(tmp_path, settings):
    long_name = "义乌" * 40
    df = pd.DataFrame({"name": ["义乌市甲服饰有限公司", "ab"], "uscc": ["913307820000000001", None],
                       "land_mu": [1234567.891, 2.0]})
    path = write_workbook(tmp_path / "w.xlsx", {"firms": df, "x": pd.DataFrame({"name": [long_name]})},
                          settings=settings)
    wb = openpyxl.load_workbook(path)
    dims = wb["企业评价"].column_dimensions

    def chars(width):
        """Characters shown: the file stores Excel's width, 5 px of cell padding on 7-px digits."""
        return round(width * 7 - 5) / 7

    # widest of header and values, CJK counted double, plus 2 of padding
    assert chars(dims["A"].width) == max(_ref_width("企业名称"), _ref_width("义乌市甲服饰有限公司")) + 2
    assert chars(dims["B"].width) == max(_ref_width("统一社会信用代码"), 18) + 2
    assert chars(dims["C"].width) == max(_ref_width("用地面积(亩)"), len("1,234,567.89")) + 2
    assert chars(wb["x"].column_dimensions["A"].width) == settings["report"]["max_column_width"]


def test_display_width_matches_unicodedata():
    texts = ["亩均税收(万元/亩)", "A类占比", "ＡＢ全角", "plain", ""]
    assert display_width(texts).tolist() == [_ref_width(t) for t in texts]


def test_summary_sheet(tmp_path, settings):
    summary = {"year": 2025, "firms_read": 2075, "firms_evaluated": 1990, "firms_graded": 1917,
               "firms_rejected": 85, "land_mu": 34887.0, "tax": 871750.5,
               "class_counts": {"A": 122, "B": 860, "C": 700, "D": 235},
               "source": "demo/企业.xlsx", "demo": True}
    path = write_workbook(tmp_path / "s.xlsx", {}, summary=summary, generated_at="2026-03-01T08:00:00",
                          settings=settings)
    ws = openpyxl.load_workbook(path)["汇总"]
    rows = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(2, ws.max_row + 1)}
    assert [ws.cell(1, 1).value, ws.cell(1, 2).value] == ["项目", "值"]
    assert rows["评价年度"].value == 2025 and rows["评价年度"].number_format == "0"
    assert rows["读入企业数(家)"].value == 2075 and rows["读入企业数(家)"].number_format == "#,##0"
    assert rows["参评用地(亩)"].value == 34887.0 and rows["参评用地(亩)"].number_format == "#,##0.00"
    assert rows["A类(优先发展)企业数(家)"].value == 122
    assert rows["D类(倒逼整治)企业数(家)"].value == 235
    assert "合成演示数据" in rows["数据性质"].value
    assert rows["生成时间"].value == "2026-03-01 08:00:00"
    assert rows["数据来源"].value == "demo/企业.xlsx"


def test_workbook_deterministic_bytes(tmp_path, firms, platforms, settings):
    tables = _all_tables(firms, platforms)
    stamp = dt.datetime(2026, 1, 2, 3, 4, 5)
    a = write_workbook(tmp_path / "a.xlsx", tables, summary={"year": 2025}, generated_at=stamp,
                       settings=settings)
    time.sleep(2.1)  # zip entry times have a 2-second resolution
    b = write_workbook(tmp_path / "b.xlsx", tables, summary={"year": 2025}, generated_at=stamp,
                       settings=settings)
    assert a.read_bytes() == b.read_bytes()
    props = openpyxl.load_workbook(a).properties
    assert props.created == stamp and props.modified == stamp
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 1, 2, 3, 4, 4)}  # even seconds


def test_workbook_splits_a_table_past_the_row_limit(tmp_path, settings, monkeypatch):
    import gis.report as report_mod

    monkeypatch.setattr(report_mod.workbook, "EXCEL_MAX_ROWS", 4)  # a header and 3 data rows per sheet
    df = pd.DataFrame({"name": [f"企业{i}" for i in range(7)], "land_mu": [float(i) for i in range(7)]})
    path = write_workbook(tmp_path / "big.xlsx", {"firms": df}, summary={"year": 2025}, settings=settings)
    wb = openpyxl.load_workbook(path)
    # 7 rows, 3 per sheet: 3 + 3 + 1
    assert wb.sheetnames == ["汇总", "企业评价_1", "企业评价_2", "企业评价_3"]
    got = []
    for name, n in (("企业评价_1", 3), ("企业评价_2", 3), ("企业评价_3", 1)):
        ws = wb[name]
        assert [c.value for c in ws[1]] == ["企业名称", "用地面积(亩)"]
        assert ws.max_row == n + 1 and ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:B{n + 1}"
        got += [(r[0].value, r[1].value) for r in ws.iter_rows(min_row=2)]
    assert got == [(f"企业{i}", i) for i in range(7)]
    notes = {r[0].value: r[1].value for r in wb["汇总"].iter_rows(min_row=2)}
    note = next(v for k, v in notes.items() if k.startswith("企业评价（超过Excel行数上限"))
    assert "7" in note and "企业评价_1、企业评价_2、企业评价_3" in note


def test_workbook_text_cells_never_formulas(tmp_path, settings):
    df = pd.DataFrame({"name": ["=SUM(A1:A9)", "+1", "-2", "@x", "<b>&</b>", "  lead"]})
    path = write_workbook(tmp_path / "t.xlsx", {"firms": df}, settings=settings)
    ws = openpyxl.load_workbook(path)["企业评价"]
    cells = [r[0] for r in ws.iter_rows(min_row=2)]
    assert [c.value for c in cells] == df["name"].tolist()
    assert {c.data_type for c in cells} == {"s"}
    with zipfile.ZipFile(path) as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")


def test_workbook_rejects_bad_sheet_name(tmp_path, settings):
    with pytest.raises(ValidationError, match=r"sheet name 'a/b'"):
        write_workbook(tmp_path / "bad.xlsx", {"a/b": pd.DataFrame({"x": [1]})}, settings=settings)


def test_column_kinds_follow_labels(settings):
    df = pd.DataFrame({"score_rd_share": [1.0], "rd_share": [2.0], "share_A": [0.1], "rank": [1.0],
                       "output_yi": [3.0], "other": [1.5], "n": [3], "flag": [True]})
    labels = {"score_rd_share": "R&D占比得分", "rd_share": "R&D占比(%)", "share_A": "A类占比",
              "rank": "亩均税收排名", "output_yi": "规上产值(亿元)"}
    assert column_kinds(df, labels, settings=settings) == {
        "score_rd_share": "score", "rd_share": "percent", "share_A": "share", "rank": "rank",
        "output_yi": "wan_yuan", "other": "number", "n": "count", "flag": "text"}
    assert column_kinds(df, labels, number_formats={"other": "0.000"}, settings=settings)["other"] == "format:0.000"


# --------------------------------------------------------------------------
# the yearly report (workbook + HTML)
# --------------------------------------------------------------------------
def test_year_change_sheet_only_with_previous(tmp_path, firms, platforms, ledger, settings):
    tables = _all_tables(firms, platforms)
    p1 = write_report(tmp_path / "a", 2025, tables, ledger=ledger, settings=settings, progress=False,
                      generated_at="2026-01-01T00:00:00")
    names = openpyxl.load_workbook(p1["workbook"], read_only=True).sheetnames
    assert "年度变化" not in names
    assert p1["workbook"].name == "亩均效益评价_2025.xlsx"
    changes = pd.DataFrame({"uscc": ["91330782A", "91330782B"], "name": ["甲", "乙"],
                            "transition": ["B→B", "C→D"], "stayed_c_or_d": [False, True],
                            "tax_per_mu_change": [1.25, -2.0]})
    p2 = write_report(tmp_path / "b", 2025, tables, ledger=ledger, previous=changes, settings=settings,
                      progress=False, generated_at="2026-01-01T00:00:00")
    wb = openpyxl.load_workbook(p2["workbook"])
    assert wb.sheetnames == ["汇总", "企业评价", "图斑", "平台", "园区", "镇街", "产业链", "规划目标",
                             "年度变化", "数据质量"]
    assert wb["年度变化"].max_row == len(changes) + 1
    page = p2["html"].read_text(encoding="utf-8")
    assert "连续两年C/D类企业" in page and "类别变化（行：上年类别，列：本年类别，企业数）" in page


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.imgs, self.iframes, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href", "srcset", "data", "action", "poster"):
            if a.get(k) is not None:
                self.refs.append((tag, k, a[k]))
        if tag == "img":
            self.imgs.append(a)
        if tag == "iframe":
            self.iframes.append(a)
        if tag in ("script", "link"):
            self.refs.append((tag, "tag", ""))

    def handle_data(self, data):
        self.text.append(data)


def _parse(text):
    p = _Refs()
    p.feed(text)
    return p


def test_html_report_self_contained_and_escaped(tmp_path, firms, platforms, ledger, settings):
    tables = _all_tables(firms, platforms)
    paths = write_report(tmp_path, 2025, tables, ledger=ledger, settings=settings, progress=False,
                         summary={"firms_read": 6, "demo": True}, generated_at="2026-01-01T00:00:00",
                         labels=LABELS)
    page = paths["html"].read_text(encoding="utf-8")
    assert paths["html"].name == "亩均效益评价_2025.html"
    parsed = _parse(page)
    bad = [r for r in parsed.refs if r[1] == "tag" or not (r[2].startswith("data:") or r[2].startswith("#"))]
    assert bad == []
    assert "http://" not in page and "https://" not in page
    # the hostile name is text, not markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert HOSTILE not in page
    assert HOSTILE in "".join(parsed.text)
    assert all(i["src"].startswith("data:image/") for i in parsed.imgs)
    # three charts (PNG by default) decode to PNG files
    pngs = [base64.b64decode(i["src"].split(",", 1)[1]) for i in parsed.imgs]
    assert len(pngs) == 3 and all(b.startswith(PNG_MAGIC) for b in pngs)
    assert "义乌市2025年度工业企业亩均效益评价" in page
    assert "合成演示数据" in page
    assert "亩均税收(万元/亩)" in page and "A类占比" in page
    assert "50.0%" in page  # share_A 0.5 of 智能显示材料


def test_html_map_embedding(tmp_path, settings):
    map_html = ('<!DOCTYPE html><html><head><style>#m{height:100%}</style></head><body><div id="m">'
                '义乌 "地图" &amp; <b>图层</b></div><script>var a = "x" < 1 && \'y\';</script></body></html>')
    path = write_html_report(tmp_path / "m.html", {"概况": {"企业数": 5}}, {}, {}, map_html=map_html,
                             title="测试", settings=settings)
    parsed = _parse(path.read_text(encoding="utf-8"))
    assert len(parsed.iframes) == 1
    assert parsed.iframes[0]["srcdoc"] == map_html  # escaped once, read back exactly
    assert parsed.refs == [("a", "href", "#s1"), ("a", "href", "#s2")]
    with pytest.raises(ValidationError, match="cdn.example.com"):
        write_html_report(tmp_path / "n.html", {}, {}, {},
                          map_html='<script src="https://cdn.example.com/leaflet.js"></script>',
                          settings=settings)


def test_html_table_truncates_and_formats(settings):
    df = pd.DataFrame({"name": [f"企业{i}" for i in range(5)], "tax_per_mu": [1234.5, np.nan, 1, 2, 3],
                       "share_A": [0.125, 0, 0, 0, 1]})
    out = html_table(df, max_rows=2, settings=settings)
    p = _parse(out)
    cells = [t for t in p.text if t.strip()]
    assert cells[:3] == ["企业名称", "亩均税收(万元/亩)", "A类占比"]
    assert cells[3:6] == ["企业0", "1,234.50", "12.5%"]
    assert "企业2" not in out and "共 5 行" in out


# --------------------------------------------------------------------------
# charts
# --------------------------------------------------------------------------
def _cmap_of_family(family):
    """Characters of the installed font named ``family`` (read with fontTools)."""
    from fontTools.ttLib import TTCollection, TTFont
    from matplotlib import font_manager as fm

    path = fm.findfont(fm.FontProperties(family=family), fallback_to_default=False)
    if path.lower().endswith((".ttc", ".otc")):
        fonts = TTCollection(path, lazy=True).fonts
    else:
        fonts = [TTFont(path, lazy=True)]
    for f in fonts:
        if f["name"].getDebugName(1) == family or len(fonts) == 1:
            return set(f.getBestCmap())
    raise AssertionError(f"{family} not in {path}")


CHART_TEXT = "各平台企业分类占比优先发展鼓励提升帮扶转型倒逼整治各产业链亩均税收分布万元家综合得分前后名" \
             "智能显示材料金萧新区未归属纺织服装时尚日用品光电显示化妆品义乌市甲服饰有限公司乙科技丙"


def test_chart_font_has_the_glyphs(settings):
    fams = charts.cjk_font_families(settings)
    cmap = _cmap_of_family(fams[0])
    assert {c for c in CHART_TEXT if ord(c) not in cmap} == set()
    assert charts.missing_glyphs(CHART_TEXT, settings=settings) == ""


#: A character outside GBK (so not in the vendored subset font) that Noto Sans CJK SC has.
RARE = "\u4dae"  # 䶮, CJK Extension A
#: A character no CJK font has.
HIEROGLYPH = "\U00013000"


def _gbk(c):
    try:
        c.encode("gbk")
        return True
    except UnicodeEncodeError:
        return False


def test_vendored_font_covers_gbk_and_the_demo_names():
    """Every hanzi of GBK (CP936: names typed on Chinese Windows) and of the demo data."""
    from fontTools.ttLib import TTFont

    import gis.demo

    cmap = set(TTFont(charts.VENDORED_FONT, lazy=True).getBestCmap())
    gbk = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                c = bytes([lead, trail]).decode("gbk")
            except UnicodeDecodeError:
                continue
            if unicodedata.name(c, "").startswith("CJK"):
                gbk.add(c)
    assert len(gbk) > 20000 and {c for c in gbk if ord(c) not in cmap} == set()
    demo_text = Path(gis.demo.__file__).read_text(encoding="utf-8")
    assert {c for c in demo_text if "\u4e00" <= c <= "\u9fff" and ord(c) not in cmap} == set()
    assert ord("璟") in cmap and not _gb2312_has("璟")  # a firm-name character GB 2312 lacks


def _gb2312_has(c):
    try:
        c.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _vendored_only(settings):
    """Settings whose configured CJK fonts are not installed: the vendored font alone draws."""
    s = copy.deepcopy(settings)
    s["report"]["charts"]["cjk_fonts"] = ["No Such Font SC"]
    return s


def _system_noto():
    from matplotlib import font_manager as fm

    return any("NotoSansCJK" in p for p in fm.findSystemFonts())


@pytest.fixture(params=["system", "vendored"])
def font_settings(request, settings):
    """The default settings, and settings that leave the vendored font alone."""
    return settings if request.param == "system" else _vendored_only(settings)


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_charts_render_chinese_without_missing_glyphs(firms, font_settings, fmt):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = [
            charts.class_share_chart(firms, by="platform", klass="class", fmt=fmt, settings=font_settings),
            charts.distribution_chart(firms, value="tax_per_mu", by="chain", fmt=fmt,
                                      settings=font_settings),
            charts.top_bottom_chart(firms, score="score", name="name", klass="class", n=2, fmt=fmt,
                                    settings=font_settings),
        ]
    assert [str(w.message) for w in caught if not issubclass(w.category, ResourceWarning)] == []
    if fmt == "png":
        assert all(isinstance(b, bytes) and b.startswith(PNG_MAGIC) for b in out)
    else:
        assert all(isinstance(s, str) and "<svg" in s[:400] and "http://www.w3.org" in s for s in out)


def test_missing_glyph_is_reported_only_when_no_font_has_it(settings):
    assert not _gbk(RARE) and not _gbk(HIEROGLYPH)
    df = pd.DataFrame({"name": [f"{HIEROGLYPH}公司", "乙"], "score": [1.0, 2.0]})
    with pytest.warns(charts.MissingGlyphWarning, match="U[+]13000"):
        charts.top_bottom_chart(df, score="score", name="name", n=1, settings=settings)
    assert charts.missing_glyphs("亩" + HIEROGLYPH, settings=settings) == HIEROGLYPH
    # the vendored font alone: a rare character outside GBK is named, common ones are not
    vendored = _vendored_only(settings)
    rare = pd.DataFrame({"name": [f"{RARE}记公司", "乙"], "score": [1.0, 2.0]})
    with pytest.warns(charts.MissingGlyphWarning) as caught:
        charts.top_bottom_chart(rare, score="score", name="name", n=1, settings=vendored)
    glyph = [str(w.message) for w in caught if issubclass(w.category, charts.MissingGlyphWarning)]
    assert len(glyph) == 1 and "U+4DAE" in glyph[0] and "记" not in glyph[0]
    assert charts.missing_glyphs("亩" + RARE, settings=vendored) == RARE


@pytest.mark.skipif(not _system_noto(), reason="fonts-noto-cjk not installed")
def test_rare_character_drawn_by_noto_cjk(settings):
    rare = pd.DataFrame({"name": [f"{RARE}记公司", "乙"], "score": [1.0, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        charts.top_bottom_chart(rare, score="score", name="name", n=1, settings=settings)
    assert charts.missing_glyphs(RARE, settings=settings) == ""


def test_vendored_font_fallback_and_licence(settings):
    from fontTools.ttLib import TTFont

    s = _vendored_only(settings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the vendored font draws every label: nothing to warn
        fams = charts.cjk_font_families(s)
    assert fams[0] == charts.VENDORED_FAMILY
    font = TTFont(charts.VENDORED_FONT, lazy=True)
    assert "Open Font License" in font["name"].getDebugName(13)
    cmap = set(font.getBestCmap())
    assert {c for c in CHART_TEXT if ord(c) not in cmap} == set()
    assert ord(RARE) not in cmap
    assert (charts.VENDORED_FONT.parent / "OFL.txt").is_file()
    s["report"]["charts"]["vendored_font"] = False
    with pytest.raises(ConfigError, match="No Such Font SC"):
        charts.cjk_font_families(s)


_STALE_CACHE_CHECK = """
import json, sys, warnings
from pathlib import Path
import matplotlib
from matplotlib import font_manager as fm
cache = Path(matplotlib.get_cachedir(), f"fontlist-v{fm.FontManager.__version__}.json")
print(json.dumps({"before": sorted({f.name for f in fm.fontManager.ttflist if "CJK" in f.name})}))
warnings.simplefilter("error")
from gis import charts
print(json.dumps({"families": charts.cjk_font_families()}))
saved = json.loads(cache.read_text(encoding="utf-8"))
print(json.dumps({"cached": sorted({f["name"] for f in saved["ttflist"] if "CJK" in f["name"]}),
                  "vendored_cached": any("YiwuGIS" in f["name"] for f in saved["ttflist"])}))
"""


@pytest.mark.skipif(not _system_noto(), reason="fonts-noto-cjk not installed")
def test_noto_cjk_installed_after_the_font_cache_was_built(tmp_path):
    """A font cache written before fonts-noto-cjk was installed is refreshed, not trusted."""
    import json
    import os
    import subprocess
    import sys

    import matplotlib
    from matplotlib import font_manager as fm

    name = f"fontlist-v{fm.FontManager.__version__}.json"
    cache = json.loads(Path(matplotlib.get_cachedir(), name).read_text(encoding="utf-8"))
    cache["ttflist"] = [f for f in cache["ttflist"] if "NotoSansCJK" not in f["fname"]
                        and "NotoSerifCJK" not in f["fname"]]
    (tmp_path / name).write_text(json.dumps(cache), encoding="utf-8")
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).parents[1])}
    r = subprocess.run([sys.executable, "-c", _STALE_CACHE_CHECK], capture_output=True, text=True,
                       encoding="utf-8", env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    got = {}
    for line in r.stdout.splitlines():
        got.update(json.loads(line))
    assert got["before"] == []  # the simulated stale cache was used
    assert got["families"][0] == "Noto Sans CJK SC"
    assert "Noto Sans CJK SC" in got["cached"] and not got["vendored_cached"]


def test_class_share_chart_needs_columns(firms, settings):
    with pytest.raises(ValidationError, match="grade"):
        charts.class_share_chart(firms, klass="grade", settings=settings)


# --------------------------------------------------------------------------
# headless browser: the report loads nothing from outside and shows its charts
# --------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.slow
def test_html_report_in_headless_chromium(tmp_path, firms, platforms, settings):
    sync_api = pytest.importorskip("playwright.sync_api")
    import shutil

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    paths = write_report(tmp_path, 2025, _all_tables(firms, platforms), settings=settings,
                         progress=False, generated_at="2026-01-01T00:00:00",
                         map_html="<html><body><p>地图</p></body></html>")
    requests, failed = [], []
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"]) if exe \
                else p.chromium.launch()
        except Exception as exc:  # no browser installed here
            pytest.skip(f"no headless Chromium: {exc}")
        ctx = browser.new_context(offline=True)
        page = ctx.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(paths["html"].as_uri())
        page.wait_for_load_state("load")
        widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        title = page.inner_text("h1")
        shot = page.screenshot(full_page=False)
        browser.close()
    outside = [u for u in requests if not u.startswith(("file:", "data:", "about:"))]
    assert outside == [] and failed == []
    assert len(widths) == 3 and all(w > 100 for w in widths)
    assert title == "义乌市2025年度工业企业亩均效益评价"
    assert shot.startswith(PNG_MAGIC)


def test_static_map_when_no_map_html(tmp_path, firms, settings):
    gpd = pytest.importorskip("geopandas")
    lon = [120.075, 120.13, 119.94, 120.10, 120.03]
    lat = [29.307, 29.42, 29.34, 29.17, 29.20]
    g = gpd.GeoDataFrame(firms, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    outline = gpd.GeoDataFrame(geometry=[g.union_all().convex_hull.buffer(0.02)], crs="EPSG:4326")
    paths = write_report(tmp_path, 2024, {"firms": g}, boundary=outline, settings=settings,
                         progress=False, generated_at="2026-01-01T00:00:00")
    parsed = _parse(paths["html"].read_text(encoding="utf-8"))
    assert [i["alt"] for i in parsed.imgs][-1] == "地图（示意）"
    assert len(parsed.imgs) == 4 and parsed.iframes == []
    wb = openpyxl.load_workbook(paths["workbook"])
    assert wb.sheetnames == ["汇总", "企业评价"]
    assert "geometry" not in [c.value for c in wb["企业评价"][1]]
    assert wb["企业评价"].max_row == len(firms) + 1


class _Tables(HTMLParser):
    """Rows of td texts under each <h2> heading."""

    def __init__(self):
        super().__init__()
        self.rows, self.head, self._tag, self._row = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        self._tag = tag
        if tag == "tr":
            self._row = []
        if tag == "td" and self._row is not None:
            self._row.append("")

    def handle_endtag(self, tag):
        if tag == "tr" and self._row:
            self.rows.setdefault(self.head, []).append(self._row)
        if tag == "tr":
            self._row = None
        self._tag = None

    def handle_data(self, data):
        if self._tag == "h2":
            self.head = data
        elif self._tag == "td" and self._row:
            self._row[-1] += data


def test_top_and_bottom_firms_are_graded_firms_by_score(tmp_path, firms, settings):
    s = copy.deepcopy(settings)
    s["report"]["yearly"]["list_n"] = 2
    extra = pd.DataFrame({"name": ["未定级企业"], "score": [999.0], "class": [None], "tax_per_mu": [1.0],
                          "chain": ["化妆品"], "platform": ["金萧新区"]})
    f = pd.concat([firms, extra], ignore_index=True)
    paths = write_report(tmp_path, 2025, {"firms": f}, settings=s, progress=False,
                         generated_at="2026-01-01T00:00:00")
    p = _Tables()
    p.feed(paths["html"].read_text(encoding="utf-8"))
    graded = f[f["class"].isin(list("ABCD"))].sort_values("score", ascending=False)
    names = graded["name"].tolist()
    name_col = 1  # 排名, 企业名称, ...
    assert [r[name_col] for r in p.rows["企业综合得分前2名"]] == names[:2]
    assert [r[name_col] for r in p.rows["企业综合得分后2名"]] == names[-2:]

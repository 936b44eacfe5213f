"""The yearly report as the bureau publishes it (gis.yearly), read from the written files.

Expected values are computed here from the two years' firm tables and the
settings, independently of the report code.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from html.parser import HTMLParser

import numpy as np
import openpyxl
import pandas as pd
import pytest

from gis import yearly
from gis.config import load_settings
from gis.labels import INDICATOR_NAMES

pytestmark = pytest.mark.slow

CLASSES = ["A", "B", "C", "D"]


class _Sections(HTMLParser):
    """Rows (td/th texts) of the tables under each <h2>/<h3> heading."""

    def __init__(self):
        super().__init__()
        self.rows, self.head, self.sub, self._cell, self._row, self._h = {}, None, None, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3"):
            self._h = tag
            if tag == "h2":
                self.head, self.sub = "", None
            else:
                self.sub = ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._row.append("")
            self._cell = True

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self._h = None
        elif tag in ("td", "th"):
            self._cell = None
        elif tag == "tr" and self._row is not None:
            key = self.head if self.sub is None else f"{self.head}/{self.sub}"
            self.rows.setdefault(key, []).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._h == "h2":
            self.head += data
        elif self._h == "h3":
            self.sub += data
        elif self._cell and self._row:
            self._row[-1] += data


def _html(out):
    (page,) = out.glob("亩均效益评价_*.html")
    return page.read_text(encoding="utf-8")


def _sections(out):
    p = _Sections()
    p.feed(_html(out))
    return p.rows


def _num(text):
    text = text.replace(",", "").replace("+", "").replace("%", "").strip()
    return float(text)


def _figures(firms):
    """This year's key figures, computed here from the firm table."""
    ev = firms[firms["scope"].isin(["graded", "scored_not_graded"])]
    land, tax, va = ev["land_mu"].sum(), ev["tax"].sum(), ev["value_added"].sum()
    out = {"参评企业数(家)": len(ev), "参评用地(亩)": land, "税收合计(万元)": tax,
           "亩均税收(万元/亩)": tax / land, "亩均增加值(万元/亩)": va / land}
    counts = firms.loc[firms["scope"] == "graded", "class"].value_counts()
    for c, n in zip(CLASSES, ["优先发展", "鼓励提升", "帮扶转型", "倒逼整治"]):
        out[f"{c}类({n})企业数(家)"] = int(counts.get(c, 0))
    return out


# --------------------------------------------------------------------------
# up front: the key figures with 同比
# --------------------------------------------------------------------------
def test_key_figures_are_this_year_beside_last_year_and_the_difference(demo_run):
    result, out, _, _ = demo_run
    rows = {r[0]: r for r in _sections(out)["本年主要指标（同比）"][1:]}
    head = _sections(out)["本年主要指标（同比）"][0]
    assert head == ["指标", f"{result.year}年", f"{result.year - 1}年", "同比增减", "同比(%)"]
    cur, pre = _figures(result.tables["firms"]), _figures(result.tables["previous_firms"])
    for item, want in cur.items():
        shown = rows[item]
        tol = 0.006 if "/亩" in item else 0.051
        assert _num(shown[1]) == pytest.approx(want, abs=tol), item
        assert _num(shown[2]) == pytest.approx(pre[item], abs=tol), item
        assert _num(shown[3]) == pytest.approx(want - pre[item], abs=tol), item
        assert _num(shown[4]) == pytest.approx((want - pre[item]) / pre[item] * 100, abs=0.051), item
    # the renewal figures and the yearly-target check are there, last year's recomputed
    # by the same rules on last year's firms (and this year's land), the basis said
    cands = result.renewal["renewal_parcels"]
    assert _num(rows["更新候选图斑(个)"][1]) == int((cands["status"] == "候选").sum())
    from gis import pipeline

    facts = pipeline.parcel_facts(result.tables["previous_firms"], result.parcels, result.year - 1,
                                  settings=result.settings)
    prev = pipeline.renewal_outputs(facts, result.plan, result.year - 1, layers=result.layers,
                                    settings=result.settings)["renewal_parcels"]
    n_prev = int((prev["status"] == "候选").sum())
    assert _num(rows["更新候选图斑(个)"][2]) == n_prev
    assert _num(rows["更新候选图斑(个)"][3]) == int((cands["status"] == "候选").sum()) - n_prev
    assert "上年低效用地指标按同一认定规则重算" in _html(out)
    assert rows["年度盘活目标能否完成"][1] in ("可以", "不能")
    assert _num(rows["年度更新目标(亩)"][1]) == result.settings["renewal"]["yearly_target_mu"]


def test_key_figures_change_is_blank_without_last_year():
    t = yearly.key_figures({"land_mu": 10.0, "n_A": 3}, None)
    assert t["previous"].isna().all() and t["change"].isna().all()
    t = yearly.key_figures({"land_mu": 10.0}, {"land_mu": 0.0})
    assert t.loc[0, "change"] == 10.0 and t.loc[0, "change_pct"] is None


# --------------------------------------------------------------------------
# the method, from the settings used
# --------------------------------------------------------------------------
def test_method_lists_the_weights_and_benchmarks_used(demo_run):
    result, out, _, _ = demo_run
    sec = _sections(out)
    table = sec["评价办法/评价指标、权重与基准值"]
    head, body = table[0], table[1:]
    got = {(r[0], r[1]): dict(zip(head, r)) for r in body}
    eff = result.settings["efficiency"]
    firms = result.tables["firms"]
    graded = firms[firms["scope"] == "graded"]
    for size, weights in eff["weights"].items():
        for k, w in weights.items():
            row = got[(size, INDICATOR_NAMES[k][0])]
            assert _num(row["权重(分)"]) == w
            assert _num(row["单项得分上限(分)"]) == w * eff["cap_multiple"]
    # benchmark = Σ numerator / Σ denominator over the graded firms of the size class
    g = graded[graded["size_class"] == "规下"]
    assert _num(got[("规下", "亩均税收")]["基准值"]) == pytest.approx(g["tax"].sum() / g["land_mu"].sum(),
                                                                   abs=0.006)
    g = graded[graded["size_class"] == "规上"]
    assert _num(got[("规上", "亩均增加值")]["基准值"]) == pytest.approx(
        g["value_added"].sum() / g["land_mu"].sum(), abs=0.006)
    page = _html(out)
    assert f"自有用地不少于 {eff['min_land_mu']:g} 亩" in page and "得分相同者名次相同（并列）" in page
    # data sources: file names and sheets, never the folder they sit in
    src = sec["评价办法/数据来源"]
    assert any(r[1] == "企业名录_2025.xlsx" and r[2] for r in src[1:])
    data_dir = str(result.inputs["本年企业名录"]).rsplit("/", 1)[0]
    assert data_dir not in page and str(out) not in page


def test_method_follows_a_changed_weight():
    s = copy.deepcopy(load_settings())
    s["efficiency"]["weights"]["规下"] = {"tax_per_mu": 65, "tax_per_kwh": 35}
    s["efficiency"]["cap_multiple"] = 1.5
    t = yearly.method_sections(s)["评价指标、权重与基准值"]
    row = t[(t["规模"] == "规下") & (t["指标"] == "亩均税收")].iloc[0]
    assert row["权重(分)"] == 65 and row["单项得分上限(分)"] == 97.5
    s["efficiency"]["class_mode"] = "threshold"
    s["efficiency"]["class_thresholds"] = [110, 70, 40]
    text = "".join(yearly.method_sections(s)["分类办法"])
    assert "A类 ≥ 110 分" in text and "C类 ≥ 40 分" in text


# --------------------------------------------------------------------------
# classes: the transition matrix, rank lists, the D list, C/D two years
# --------------------------------------------------------------------------
def test_transition_matrix_counts_firms_by_both_years_classes(demo_run):
    result, out, _, _ = demo_run
    rows = next(v for k, v in _sections(out).items() if k.startswith("类别变化"))
    head, body = rows[0], rows[1:]
    shown = {r[0]: dict(zip(head[1:], map(_num, r[1:]))) for r in body}
    cur = result.tables["firms"].set_index("uscc")["class"]
    pre = result.tables["previous_firms"].set_index("uscc")["class"]
    both = cur.index.intersection(pre.index)
    for a in CLASSES:
        for b in CLASSES:
            n = int(((pre.loc[both] == a) & (cur.loc[both] == b)).sum())
            assert shown[a][b] == n, (a, b)
    new = cur.index.difference(pre.index)
    assert shown["新增"]["A"] == int((cur.loc[new] == "A").sum())


def test_rank_lists_per_size_class_show_ties(demo_run):
    result, out, _, _ = demo_run
    sec = _sections(out)
    n = result.settings["report"]["yearly"]["list_n"]
    firms = result.tables["firms"]
    for size in ("规上", "规下"):
        g = firms[(firms["size_class"] == size) & firms["class"].isin(CLASSES)]
        top = sec[f"{size}企业综合得分前{n}名"]
        head, body = top[0], top[1:]
        assert head[:3] == ["排名", "企业名称", "规上/规下"]
        assert {r[2] for r in body} == {size}
        ranks = g["rank"].astype(int)
        nth = sorted(ranks)[n - 1]
        assert len(body) == int((ranks <= nth).sum())  # a tie across place n is shown whole
        for r in body:
            k = int(re.match(r"\d+", r[0]).group())
            tied = int((ranks == k).sum())
            assert r[0] == (f"{k}（并列{tied}家）" if tied > 1 else str(k))
        scores = [_num(r[head.index("综合得分")]) for r in body]
        assert scores == sorted(scores, reverse=True)
        assert max(scores) <= 100 * result.settings["efficiency"]["cap_multiple"]


def test_d_list_in_full_and_two_year_cd_list(demo_run):
    result, out, _, _ = demo_run
    sec = _sections(out)
    firms = result.tables["firms"]
    d = firms[firms["class"] == "D"]
    (key,) = [k for k in sec if k.startswith("D类（倒逼整治）企业名单")]
    body = sec[key][1:]
    assert sorted(r[1] for r in body) == sorted(d["name"])
    ch = result.changes
    stay = ch[ch["class"].isin(["C", "D"]) & ch["class_prev"].isin(["C", "D"])]
    (key,) = [k for k in sec if k.startswith("连续两年C/D类企业")]
    assert len(sec[key]) - 1 == len(stay) and f"（{len(stay)}家）" in key


def test_target_exceeded_by_orders_of_magnitude_is_flagged():
    t = pd.DataFrame({"platform": ["义乌科技城", "光电创新城"], "target": ["a", "a"],
                      "target_zh": ["国家高新技术企业(家)"] * 2, "target_value": [3.0, 70.0],
                      "at_least": [False, False], "current": [175.0, 33.0], "gap": [-172.0, 37.0],
                      "progress_pct": [175 / 3 * 100, 33 / 70 * 100], "note": [None, None]})
    r = yearly.target_check(t)
    assert r["check"].tolist() == ["疑口径或单位不一致", "未达标"]
    assert pd.isna(r.loc[0, "progress_pct"]) and r.loc[1, "progress_pct"] == pytest.approx(47.142857)
    assert "58倍" in r.loc[0, "note"]
    assert str(r["current"].dtype) == "Int64" and r.columns[-1] == "target"


# --------------------------------------------------------------------------
# the workbook as planners read it
# --------------------------------------------------------------------------
#: columns whose values are codes or names a planner uses as they are
CODE_COLUMNS = {"行业代码", "统一社会信用代码", "图斑标识码", "地类编码", "规划地类", "区块编号",
                "成员图斑", "全部图斑", "评价类别", "上年类别", "本年类别", "图层", "文件", "值",
                "类别变化", "主导产业链", "产业链构成"}
_CODE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@pytest.fixture(scope="module")
def workbook(demo_run):
    _, out, _, _ = demo_run
    (path,) = out.glob("亩均效益评价_*.xlsx")
    return openpyxl.load_workbook(path, read_only=True)


def _columns(ws):
    rows = ws.iter_rows(values_only=True)
    head = next(rows)
    cols = {h: [] for h in head}
    for r in rows:
        for h, v in zip(head, r):
            cols[h].append(v)
    return cols


def test_no_english_code_in_any_user_facing_workbook_column(workbook):
    found = []
    for ws in workbook.worksheets:
        for head, values in _columns(ws).items():
            if head in CODE_COLUMNS:
                continue
            if head is not None and _CODE.fullmatch(str(head)):
                found.append(f"{ws.title}: header {head}")
            bad = {v for v in values if isinstance(v, str) and _CODE.fullmatch(v.strip())}
            bad |= {str(v) for v in values if isinstance(v, bool)}
            if bad:
                found.append(f"{ws.title}.{head}: {sorted(bad)[:5]}")
    assert found == []


def test_workbook_counts_integers_no_empty_columns_candidates_only(workbook, demo_run):
    result, _, _, _ = demo_run
    cols = {ws.title: _columns(ws) for ws in workbook.worksheets}
    for sheet, table in cols.items():
        empty = [h for h, v in table.items() if all(x is None or str(x).strip() == "" for x in v)]
        assert empty == [], sheet
    firms = cols["企业评价"]
    emp = [v for v in firms["年均从业人员"] if v is not None]
    assert emp and all(isinstance(v, int) for v in emp)
    assert "评价范围代码" not in firms and "评价范围" in firms
    assert set(cols["更新候选"]["认定结果"]) == {"候选"}
    assert set(cols["更新评估"]["认定结果"]) == {"候选", "豁免", "达标"}
    assert len(cols["更新评估"]["认定结果"]) == len(result.renewal["renewal_parcels"])
    assert "年度计划核算" not in cols and "累计面积(亩)" in cols["更新区块"]
    assert set(v for v in cols["年度变化"]["升降"] if v) <= {"升级", "降级", "不变"}
    assert "状态代码" not in cols["年度变化"]
    targets = cols["平台目标"]  # counts as integers, each target checked
    assert all(isinstance(v, int) for v in targets["目标值"] if v is not None)
    assert set(targets["核对结果"]) <= {"达标", "未达标", "疑口径或单位不一致", "无现状数据"}


# --------------------------------------------------------------------------
# the PDF and the public edition
# --------------------------------------------------------------------------
def test_pdf_pages_carry_the_marking_and_the_key_figures(demo_run, tmp_path):
    from browser import unavailable_reason

    if unavailable_reason():
        pytest.skip(unavailable_reason())
    pypdf = pytest.importorskip("pypdf")
    result, out, _, _ = demo_run
    (page,) = out.glob("亩均效益评价_*.html")
    pdf = yearly.write_pdf(page, tmp_path / "report.pdf")
    reader = pypdf.PdfReader(pdf)
    n = len(reader.pages)
    texts = [p.extract_text() for p in reader.pages]
    # every page says 第 i 页 共 n 页 and carries the marking: the page count is the document's own
    for i, t in enumerate(texts, 1):
        flat = unicodedata.normalize("NFKC", re.sub(r"\s+", "", t))
        assert re.search(f"第{i}.共{n}.", flat) and "内部资料·注意保密" in flat, i
    assert n >= 5
    # A4, portrait with landscape pages for the wide tables
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages}
    assert sizes <= {(595, 842), (842, 595)} and (595, 842) in sizes
    first = unicodedata.normalize("NFKC", re.sub(r"\s+", "", texts[0]))
    s = result.summary
    assert f"参评企业数(家){s['firms_evaluated']:,}" in first
    assert f"{s['tax_per_mu']:,.2f}" in first


def test_public_edition_has_no_confidential_figure(demo_run, tmp_path):
    from gis import report
    from gis.confidential import confidential_needles, find_leaks, mentions_confidential

    result, _, _, _ = demo_run
    tables = {k: v for k, v in result.tables.items() if k != "previous_firms"}
    paths = report.write_report(tmp_path, result.year, tables, previous=result.changes,
                                summary=result.summary, settings=result.settings, progress=False,
                                public=True)
    page = paths["html"].read_text(encoding="utf-8")
    assert "公开版" in page and "内部资料" not in page
    p = _Sections()
    p.feed(page)
    # no table names a confidential quantity in a header, no key figure is one
    named = {k: [h for h in rows[0] if mentions_confidential(h)] for k, rows in p.rows.items()}
    assert {k: v for k, v in named.items() if v} == {}
    items = [r[0] for r in p.rows["本年主要指标（同比）"][1:]]
    assert items and not any(mentions_confidential(i) or "亩均" in i for i in items)
    # firm-level tax figures (six significant digits: no chance coincidence) are nowhere
    needles = confidential_needles(result.tables["firms"]["tax"].dropna(), min_significant=6)
    assert find_leaks(page, needles, words=()) == []
    # nor the city's totals (税收合计, 亩均税收, 工业增加值合计) in the cards, the summary sheet
    s = result.summary
    totals = confidential_needles([s["tax"], s["value_added"], s["revenue"], s["tax_per_mu"]])
    assert find_leaks(page, totals, words=()) == []
    wb = openpyxl.load_workbook(paths["workbook"], read_only=True)
    items = [r[0] for r in wb["汇总"].iter_rows(values_only=True)]
    assert not any(isinstance(i, str) and mentions_confidential(i) for i in items)


def test_years_figures_from_summary_and_renewal():
    f = yearly.year_figures({"firms_evaluated": 5, "class_counts": {"B": 2}, "candidates": 3})
    assert f == {"firms_evaluated": 5, "candidates": 3, "n_A": 0, "n_B": 2, "n_C": 0, "n_D": 0}
    assert np.isnan(yearly.key_figures({"tax": float("nan")}, {"tax": 1.0}).loc[0, "current"])

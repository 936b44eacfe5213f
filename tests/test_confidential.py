"""The confidentiality policy (gis.confidential): columns, texts, marking, leak search."""

import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from gis import confidential as conf


def test_marking_is_the_one_label_of_each_edition():
    assert conf.marking(True) == "公开版"
    assert conf.marking(False) == "内部资料 · 注意保密"


def test_every_confidential_quantity_and_derived_column_is_dropped():
    cols = ["name", "chain", "grade", "area_mu", "land_mu", "tax", "value_added", "revenue",
            "energy", "emission", "electricity", "tax_per_mu", "va_per_energy", "tax_per_kwh",
            "score", "score_tax_per_mu", "gain_tax", "benchmark_tax_per_mu", "亩均税收(万元/亩)",
            "综合能耗(吨标煤)", "用电量(万千瓦时)", "营业收入(万元)", "排放量(吨)"]
    kept = [c for c in cols if c not in conf.confidential_columns(cols)]
    assert kept == ["name", "chain", "grade", "area_mu", "land_mu"]


def test_settings_add_confidential_columns_but_cannot_remove_any():
    s = {"maps": {"public_drop_columns": ["chain"], "public_drop_fragments": []}}
    assert conf.confidential_columns(["chain", "tax", "grade"], s) == ["chain", "tax"]


def _candidates():
    return gpd.GeoDataFrame({
        "parcel_id": ["P1", "P2"],
        "name": ["亩均税收有限公司", "乙"],  # a name is kept as it is
        "area_mu": [19.9, 30.0],
        "tax": [94.3, 0.0],
        "tax_per_mu": [4.74, 0.0],
        "reasons": ["容积率偏低；亩均税收偏低", "闲置(无企业或无税收)；用地不符合规划"],
        "evidence": ["容积率 0.62 < 1.00；亩均税收 4.74 < 6.75 万元/亩（上年产业链均值 13.50 × 0.5）",
                     "企业 1 家，税收 0.00 万元；规划为非工业用地(0701) 12.00 亩 ≥ 5 亩"],
        "exemptions": ["允许低容积率产业且亩均税收高：容积率偏低", ""],
    }, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:4549")


def test_public_frame_keeps_the_rule_and_verdict_never_the_measured_value():
    pub = conf.public_frame(_candidates())
    assert list(pub.columns) == ["parcel_id", "name", "area_mu", "reasons", "evidence", "exemptions",
                                 "geometry"]
    assert pub["reasons"].tolist() == ["容积率偏低；亩均效益偏低", "闲置(无企业或无产出)；用地不符合规划"]
    assert pub["evidence"].tolist() == [
        "容积率 0.62 < 1.00；亩均效益偏低：不达标",
        "闲置(无企业或无产出)：不达标；规划为非工业用地(0701) 12.00 亩 ≥ 5 亩"]
    assert pub["exemptions"].tolist() == ["允许低容积率产业且亩均效益高：容积率偏低", ""]
    assert pub["name"].tolist() == ["亩均税收有限公司", "乙"]
    assert pub.crs == "EPSG:4549" and pub.geometry.equals(_candidates().geometry)
    text = pub.drop(columns=["name", "geometry"]).to_csv()
    assert not any(w in text for w in ("4.74", "6.75", "13.50", "税收"))


def test_public_text_withholds_clauses_naming_a_confidential_quantity():
    assert conf.public_text("亩均税收偏低 3；容积率偏低 1") == "亩均效益偏低 3；容积率偏低 1"
    assert conf.public_text("高新技术企业 ≥20\n年产值(亿元) ≥200 (现状 123.4)\n税收 1；能耗 2") == \
        "高新技术企业 ≥20\n（公开版不含此项数据）"
    assert conf.public_text(None) is None and conf.public_text(3.5) == 3.5


def test_public_frame_drops_columns_whose_label_names_a_quantity():
    df = pd.DataFrame({"名称": ["甲"], "企业税收": [1.0], "用电情况": ["高"]})
    assert list(conf.public_frame(df).columns) == ["名称"]


@pytest.mark.parametrize("value, text, found", [
    (1234.5, '{"tax":[12.5,1234.5,3]}', True),           # JSON float
    (1234.5, "税额 1,234.50 万元", True),                  # thousands separator, 2 decimals
    (1234.5, "x 11234.56 y", False),                      # inside a longer number
    (1234.5, "[120.1234567,29.31]", False),               # inside a coordinate
    (1234.5, "1234.58", False),
    (220.6, "用地 3,220.60 亩", False),                    # part of a number grouped by thousands
    (-101.29, "z 值 -101.29", True),                       # signs ignored
    (4.74, "亩均 4.74 万元", False),                        # too short to search soundly
    (27.364, "27.36 万元/亩", False),                      # 4 significant digits: not searched
    (127.364, "127.36 万元/亩", True),
])
def test_leak_search_matches_numbers_between_non_digit_boundaries(value, text, found):
    hits = conf.find_leaks(text.encode("utf-8"), conf.confidential_needles([value]), words=())
    assert bool(hits) is found, hits


def test_leak_search_finds_words_even_when_escaped():
    assert conf.find_leaks(b'{"a":"\\u7a0e\\u6536"}', []) == ["税收"]
    assert conf.find_leaks("无".encode("utf-8"), []) == []


# ------------------------------------------------------------- the whole demo
# Every public artefact of the full demo is searched for every confidential
# value of the demo and for the words naming a confidential quantity.
#
# Matching rule (gis.confidential.find_leaks): each value is written the ways
# the outputs write numbers (1-3 decimals, thousands separators, JSON floats,
# %g); a text with fewer than 5 significant digits is not searched ("4.7" or
# "65.57" occur by chance anywhere: a share in a legend, a land area), and a text matches whole numbers of the file only
# (never inside 11234.56 or 120.1234567).  A number of the file that a byte
# search cannot tell from a public figure is not counted as a leak: a value
# that is also a public figure of the demo (a land area, a count, a share), a
# number of the vendored JavaScript/CSS, or a WGS84 position in Yiwu (lon
# 119-121 / lat 28-30 with 3 or more decimals).  The negative control below
# shows the same search finds the figures where they are meant to be.
FIRM_FIGURES = ("tax", "value_added", "revenue", "energy", "emission", "electricity",
                "tax_per_mu", "va_per_mu", "revenue_per_mu", "va_per_energy", "va_per_emission",
                "tax_per_kwh", "labour_productivity", "score")
PARCEL_FIGURES = ("tax", "value_added", "revenue", "tax_per_mu", "va_per_mu", "revenue_per_mu",
                  "gain_tax", "gain_value_added")


def _values(frame, cols):
    return [v for c in cols if frame is not None and c in frame.columns
            for v in pd.to_numeric(frame[c], errors="coerce").dropna().tolist()]


def _frames(res):
    R = res.renewal
    facts = R["facts"].assign(tax_per_mu=R["facts"]["tax"] / R["facts"]["area_mu"])
    frames = [res.firms, res.parcels, facts, R["renewal_parcels"], R["renewal_blocks"]]
    frames += [v for v in res.tables.values() if isinstance(v, pd.DataFrame)]
    frames += [v for v in res.layers.values() if isinstance(v, pd.DataFrame)]
    frames += [v for v in res.density.values() if isinstance(v, pd.DataFrame)]
    if res.contracts:  # 标准地 contracts: their public map frame and report tables (prices,
        # areas and their sums by status, dates, contracted values; built without any actual)
        from gis.contracts.outputs import map_frame, report_parts

        sheets, _, html = report_parts(res.contracts, public=True)
        frames += [map_frame(res.contracts), *sheets.values(), *(t[0] for t in html.values())]
    return [f for f in frames if f is not None]


def _public_numbers(res):
    """Texts of numbers that are public figures of the demo or of the vendored assets."""
    from gis import maps

    values = []
    for f in _frames(res):
        cols = [c for c in f.columns if c not in conf.confidential_columns(f.columns)]
        values += _values(f, [c for c in cols if pd.api.types.is_numeric_dtype(f[c])])
    if res.contracts:  # the dates of the public 标准地履约 sheet, as Excel stores them (day numbers)
        from gis.contracts.outputs import contract_table

        c = contract_table(res.contracts, public=True)
        for col in c.select_dtypes("datetime").columns:
            values += (c[col].dropna() - pd.Timestamp("1899-12-30")).dt.days.tolist()
    out = conf.confidential_needles(values, min_significant=1)
    for path in maps.STATIC_DIR.rglob("*"):
        if path.suffix in (".js", ".css"):
            out |= set(re.findall(r"\d+(?:\.\d+)?", path.read_text(encoding="utf-8", errors="replace")))
    return out


def _position(text):
    v = float(text.replace(",", ""))
    return "." in text and len(text.split(".")[1]) >= 3 and (119 <= v <= 121 or 28 <= v <= 30)


@pytest.fixture(scope="module")
def public_demo(tmp_path_factory, demo_full_inputs):
    """The full demo run once with public maps; its confidential needles and public numbers."""
    from gis import pipeline

    root = tmp_path_factory.mktemp("public_demo")
    res = pipeline.run(**demo_full_inputs, out_dir=root / "out", progress=False,
                       map_options={"public": True}, report_options={"public": True})
    values = []
    for f in _frames(res):
        values += _values(f, FIRM_FIGURES + PARCEL_FIGURES)
    return res, conf.confidential_needles(values), _public_numbers(res)


def _leaks(data, needles, public):
    return [h for h in conf.find_leaks(data, needles)
            if not (h[0].isdigit() and (h in public or _position(h)))]


def _contents(path):
    """``[(part, bytes)]`` of a written file: each member of an .xlsx (zip), else the file."""
    import zipfile

    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return [(f"{path.name}:{n}", z.read(n)) for n in z.namelist()]
    return [(path.name, path.read_bytes())]


def _public_artefacts(res):
    maps_ = dict(res.paths["maps"])
    report = {k: res.paths[k] for k in ("report_workbook", "report_html") if k in res.paths}
    return maps_, report


def test_public_outputs_of_the_demo_hold_no_confidential_figure_or_word(public_demo):
    res, needles, public = public_demo
    assert len(needles) > 100000 and len(needles - public) > 0.8 * len(needles)  # power kept
    maps_, report = _public_artefacts(res)
    assert set(maps_) == {"overview", "efficiency", "renewal", "density"}
    assert set(report) == {"report_workbook", "report_html"}
    for name, path in {**maps_, **report}.items():
        for part, data in _contents(path):
            assert _leaks(data, needles, public) == [], part
    for name, path in {**maps_, "report_html": report["report_html"]}.items():
        text = path.read_text(encoding="utf-8")
        assert "公开版" in text and "内部资料" not in text, name
    import openpyxl

    summary = openpyxl.load_workbook(report["report_workbook"], read_only=True)["汇总"]
    first = {r[0]: r[1] for r in summary.iter_rows(values_only=True) if r and r[0]}
    assert first["密级"] == "公开版"
    # 标准地 履约: statuses and contracted values only (no per-indicator sheet of actuals)
    sheets = openpyxl.load_workbook(report["report_workbook"], read_only=True).sheetnames
    assert "标准地履约" in sheets and "标准地履约指标" not in sheets
    assert "标准地履约（按状态）" in report["report_html"].read_text(encoding="utf-8")
    # the renewal popups keep the rule and the verdict of every flagged candidate
    cands = res.renewal["renewal_parcels"]
    low_tax = int(((cands["status"] == "候选") & cands["r_low_tax"]).sum())
    page = maps_["renewal"].read_text(encoding="utf-8")
    assert low_tax > 100 and page.count("亩均效益偏低：不达标") == low_tax


def test_leak_search_would_find_a_leak_in_the_demo(public_demo):
    # negative control: the same search finds the figures in internal data
    res, needles, public = public_demo
    cands = res.renewal["renewal_parcels"]
    text = cands[cands["status"] == "候选"][["tax", "evidence"]].to_json(force_ascii=False)
    hits = _leaks(text, needles, public)
    assert "税收" in hits and len(hits) > 100


def test_cli_public_run_writes_a_folder_that_is_public_throughout(tmp_path, capsys):
    """`gis run --public`: one switch for the whole folder. The maps follow the report
    (公开版, not 内部资料), the internal-only results.gpkg and rejects.csv are not
    written (said in one line), and no file left holds a confidential word."""
    from gis import cli
    from gis.demo import sample

    smp = sample()
    p = smp.paths
    out = tmp_path / "public"
    assert cli.main(["run", "--public", "--enterprises", p["enterprises"], "--previous",
                     p["enterprises_previous"], "--landuse", p["landuse"], "--plan", p["plan"],
                     "--year", str(smp.year), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "未写出内部资料 results.gpkg、rejects.csv" in printed
    assert not (out / "results.gpkg").exists() and not (out / "rejects.csv").exists()
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 6  # the report, the four maps and the front door (index.html)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "公开版" in text and "内部资料" not in text, page.name
    for path in (f for f in out.rglob("*") if f.is_file() and f.suffix in (".html", ".xlsx", ".json")):
        for part, data in _contents(path):
            assert conf.find_leaks(data, set()) == [], part

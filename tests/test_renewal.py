"""Known-answer tests of gis.renewal on hand-drawn parcels.

Every parcel is a 100 m × 100 m square in EPSG:4549 (10 000 m² = 15 亩),
so FAR = floor_area / 10 000 and 亩均税收 = tax / 15 can be checked by hand.
The chain benchmarks are given by hand: last year's average 亩均税收 is
10 万元/亩 for every chain (so the low-tax threshold is 0.4 × 10 = 4.0).
The shipped list of prohibited industry codes is empty; the tests give their
own (``PROHIBITED``).  Parcels with no firm: P04 carries the old pipeline's
fake zeros (floor_area 0), P12 the new NaN; both must read "no data".
"""

import copy
import math
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from gis import ConfigError, CRSError, ValidationError
from gis.config import load_settings
from gis.renewal import (
    NOT_EXEMPTIBLE,
    RULES,
    benchmark_gain,
    candidates,
    chain_benchmarks,
    industrial_mask,
    plan_overlay,
    priority,
    renewal_blocks,
    rule_results,
    yearly_plan_check,
    zh_columns,
)

X0, Y0 = 500_000.0, 3_240_000.0
CRS = "EPSG:4549"


def sq(col, row, size=100.0, dx=0.0):
    x = X0 + col * 100.0 + dx
    y = Y0 + row * 100.0
    return box(x, y, x + size, y + size)


NAN = np.nan
# id, DLBM, chain, firms, tax, floor_area, grade, grade_previous, any_above_size, youngest_years
ROWS = [
    ("P01", "0601", "纺织服装", 1, 30.0, 5000.0, "C", "C", False, 10),    # far .5, tpm 2, C twice
    ("P02", "0601", "纺织服装", 2, 90.0, 15000.0, "B", "C", False, 10),   # passing
    ("P03", "0601", "时尚日用品", 1, 90.0, 11000.0, "B", "B", False, 10),  # far 1.1 < .6*2.0
    ("P04", "0601", None, 0, NAN, 0.0, None, None, False, NAN),          # empty: idle, far, tax
    ("P05", "0601", "纺织服装", 1, 30.0, 5000.0, "C", "B", True, 10),     # 规上 exempt
    ("P06", "0601", "光电显示", 1, 30.0, 5000.0, "B", "B", False, 10),    # strategic exempt
    ("P07", "0601", "印刷包装", 1, 150.0, 9000.0, "A", "A", False, 10),   # far exempt (10 > 8)
    ("P08", "0601", "印刷包装", 1, 90.0, 9000.0, "B", "B", False, 10),    # tpm 6 <= 8: flagged
    ("P09", "0601", "纺织服装", 1, 0.0, 3000.0, None, None, False, 1),    # young: exempt
    ("P10", "0601", "纺织服装", 1, 90.0, 15000.0, "D", "B", False, 10),   # grade D
    ("P11", "0508", "纺织服装", 1, 90.0, 15000.0, "B", "B", False, 10),   # prohibited code
    ("P12", "0601", None, 0, NAN, NAN, None, None, False, NAN),          # idle + unstarted
    ("P13", "0702", None, 0, NAN, NAN, None, None, False, NAN),          # planned 1001, used otherwise
    ("P14", "0601", "纺织服装", 2, 90.0, 15000.0, "B", "B", False, 10),   # against plan, 7.5 亩
    ("P15", "0101", None, 0, NAN, NAN, None, None, False, NAN),          # farmland on 1001: out
    ("P16", "0702", None, 0, NAN, NAN, None, None, False, NAN),          # housing on housing: out
]
IN_SCOPE = [r[0] for r in ROWS if r[0] not in ("P15", "P16")]


# test list of prohibited GB/T 4754 prefixes (the shipped default is empty)
PROHIBITED = ["C1910", "C2211", "C2221", "C3360"]


@pytest.fixture
def settings():
    s = load_settings()
    s["renewal"]["prohibited_codes"] = list(PROHIBITED)
    return s


@pytest.fixture
def parcels():
    cols = ["parcel_id", "DLBM", "chain", "firms", "tax", "floor_area", "grade",
            "grade_previous", "any_above_size", "youngest_years"]
    df = pd.DataFrame(ROWS, columns=cols)
    geoms = [sq(k % 8, k // 8) for k in range(len(df))]
    gdf = gpd.GeoDataFrame(df, geometry=geoms, crs=CRS)
    gdf["area_mu"] = 15.0
    gdf["value_added"] = gdf["tax"] * 3
    gdf["industry_codes"] = None
    gdf.loc[gdf.parcel_id == "P11", "industry_codes"] = "C1713;3360"
    gdf.loc[gdf.parcel_id == "P02", "industry_codes"] = "C1811"
    gdf["supply_date"] = pd.NaT
    gdf.loc[gdf.parcel_id == "P12", "supply_date"] = pd.Timestamp("2021-03-01")
    gdf["platform"] = ""
    gdf.loc[gdf.parcel_id.isin(["P01", "P04"]), "platform"] = "义乌经开区"
    return gdf


@pytest.fixture
def plan():
    # all planned industrial except the right half of P14 (col 5, row 1) and P16 (col 7, row 1)
    return gpd.GeoDataFrame(
        {"YDYHFLDM": ["100101", "0701", "100102", "100101", "0701"]},
        geometry=[box(X0, Y0, X0 + 550, Y0 + 200), box(X0 + 550, Y0 + 100, X0 + 600, Y0 + 200),
                  box(X0 + 550, Y0, X0 + 800, Y0 + 100), box(X0 + 600, Y0 + 100, X0 + 700, Y0 + 200),
                  box(X0 + 700, Y0 + 100, X0 + 800, Y0 + 200)],
        crs=CRS)


@pytest.fixture
def bench():
    chains = ["纺织服装", "时尚日用品", "印刷包装", "光电显示", "全部"]
    return pd.DataFrame({
        "tax_avg_previous": [10.0] * 5,
        "standard_far": [1.6, 2.0, 1.5, 1.5, NAN],
        "benchmark_tax_per_mu": [10.0, 12.0, 10.0, 20.0, 8.0],
        "benchmark_value_added_per_mu": [40.0, 40.0, 40.0, 60.0, 30.0],
    }, index=pd.Index(chains, name="chain"))


@pytest.fixture
def rr(parcels, plan, settings, bench):
    return rule_results(parcels, settings, plan=plan, year=2024, benchmarks=bench)


def row(rr, pid, rule):
    sub = rr[(rr.parcel_id == pid) & (rr.rule == rule)]
    assert len(sub) == 1
    return sub.iloc[0]


def flagged_rules(rr, pid):
    return set(rr[(rr.parcel_id == pid) & rr.flagged].rule)


# ------------------------------------------------------------------ shape
def test_long_format_one_row_per_parcel_and_rule(rr):
    assert len(rr) == len(IN_SCOPE) * len(RULES)
    assert list(rr.parcel_id.unique()) == IN_SCOPE
    assert list(rr.rule[:len(RULES)]) == list(RULES)
    assert set(rr.columns) >= {"parcel_id", "rule", "rule_zh", "evaluated", "failed", "value",
                               "threshold", "evidence", "exempt_by", "flagged"}


def test_industrial_mask_respects_code_system():
    assert industrial_mask(["0601", "0508", "0602", "1001"]).tolist() == [True, True, False, False]
    assert industrial_mask(["1001", "100103", "110101", "0601"], system="ydyh").tolist() == \
        [True, True, True, False]


# ------------------------------------------------------------------ rules
def test_low_far_absolute(rr):
    r = row(rr, "P01", "low_far")
    assert r.failed and r.flagged
    assert r.value == pytest.approx(5000 / 10000)
    assert r.threshold == pytest.approx(1.0)          # max(1.0, 0.6 × 1.6 = 0.96)
    assert r.evidence == "容积率 0.50 < 1.00"
    ok = row(rr, "P02", "low_far")
    assert not ok.failed and ok.evidence == "容积率 1.50 ≥ 1.00"


def test_low_far_relative_to_standard_land(rr):
    r = row(rr, "P03", "low_far")                     # 时尚日用品 标准地 FAR 2.0
    assert r.value == pytest.approx(1.1)
    assert r.threshold == pytest.approx(0.6 * 2.0)
    assert r.flagged and r.evidence == "容积率 1.10 < 1.20"
    assert flagged_rules(rr, "P03") == {"low_far"}


def test_low_tax(rr):
    r = row(rr, "P01", "low_tax")
    assert r.value == pytest.approx(30 / 15)
    assert r.threshold == pytest.approx(0.4 * 10)
    assert r.flagged and r.evidence.startswith("亩均税收 2.00 < 4.00 万元/亩")
    assert not row(rr, "P02", "low_tax").failed       # 90/15 = 6 ≥ 4


def test_grade_d(rr):
    r = row(rr, "P10", "grade_d")
    assert r.flagged and r.evidence == "亩均评价等级 D"
    assert flagged_rules(rr, "P10") == {"grade_d"}
    assert not row(rr, "P04", "grade_d").evaluated   # no firm, no grade


def test_grade_c_twice(rr):
    assert row(rr, "P01", "grade_c_twice").flagged   # C now, C last year
    assert not row(rr, "P02", "grade_c_twice").failed  # B now, C last year


def test_grade_c_twice_from_previous_table(parcels, settings, bench):
    p = parcels.drop(columns="grade_previous")
    prev = pd.DataFrame({"parcel_id": ["P02", "P03"], "grade": ["C", "D"]})
    p.loc[p.parcel_id.isin(["P02", "P03"]), "grade"] = "C"
    rr = rule_results(p, settings, previous=prev, benchmarks=bench)
    assert row(rr, "P02", "grade_c_twice").flagged   # C, C
    assert row(rr, "P03", "grade_c_twice").flagged   # C now, D last year
    assert not row(rr, "P01", "grade_c_twice").evaluated  # not in previous


def test_idle_no_firm(rr):
    for pid in ("P04", "P12"):          # floor_area 0 (old pipeline) or NaN (new)
        r = row(rr, pid, "idle")
        assert r.flagged and r.evidence == "无入驻企业"
        # no firm = no floor-area or tax data: FAR and 亩均税收 are not 0, they are unknown
        for rule in ("low_far", "low_tax"):
            x = row(rr, pid, rule)
            assert not x.evaluated and not x.failed and x.evidence == "无企业数据，未检验"
            assert math.isnan(x.value)
    assert flagged_rules(rr, "P04") == {"idle"}


def test_no_firm_fake_zeros_are_not_evidence(parcels, settings, bench):
    p = parcels.copy()
    p.loc[p.parcel_id == "P04", ["tax", "floor_area", "value_added"]] = 0.0
    rr = rule_results(p, settings, year=2024, benchmarks=bench)
    assert not row(rr, "P04", "low_far").evaluated
    assert not row(rr, "P04", "low_tax").evaluated
    c = candidates(p, rr).set_index("parcel_id")
    assert math.isnan(c.loc["P04", "far"]) and math.isnan(c.loc["P04", "tax_per_mu"])
    assert c.loc["P04", "reasons"] == "闲置(无企业或无税收)"
    assert c.loc["P01", "far"] == pytest.approx(0.5)       # parcels with firms unchanged


def test_idle_not_started_two_years_after_supply(rr):
    r = row(rr, "P12", "idle_unstarted")
    years = (date(2024, 12, 31) - date(2021, 3, 1)).days / 365.25
    assert r.value == pytest.approx(years)
    assert r.flagged and r.evidence == f"供地满 {years:.1f} 年未开工 ≥ 2 年"
    assert not row(rr, "P01", "idle_unstarted").evaluated
    assert flagged_rules(rr, "P12") == {"idle", "idle_unstarted"}


def test_idle_started_is_not_idle(parcels, settings, bench):
    p = parcels.copy()
    p["start_date"] = pd.NaT
    p.loc[p.parcel_id == "P12", "start_date"] = pd.Timestamp("2022-06-01")
    rr = rule_results(p, settings, year=2024, benchmarks=bench)
    assert not row(rr, "P12", "idle_unstarted").failed
    rr = rule_results(p, settings, year=2022, benchmarks=bench)  # 31 Dec 2022: started
    assert not row(rr, "P12", "idle_unstarted").failed
    rr = rule_results(p, settings, year=2021, benchmarks=bench)  # only 0.8 years
    assert not row(rr, "P12", "idle_unstarted").failed


def test_against_plan_industrial_planned_otherwise(rr):
    r = row(rr, "P14", "against_plan")
    assert r.value == pytest.approx(50 * 100 / (10000 / 15))  # right half = 5000 m² = 7.5 亩
    assert r.threshold == pytest.approx(0.5)
    assert r.flagged and r.evidence == "规划为非工业用地(0701) 7.50 亩 ≥ 0.5 亩"
    ok = row(rr, "P02", "against_plan")
    assert not ok.failed and ok.evidence == "与规划相符(不符部分 0.00 亩 < 0.5 亩)"


def test_against_plan_planned_industrial_used_otherwise(rr):
    r = row(rr, "P13", "against_plan")
    assert r.scope == "规划工业·现状他用"
    assert r.value == pytest.approx(15.0)
    assert r.flagged and "100101" in r.evidence and "0702" in r.evidence
    # firm-performance rules do not apply to land not in industrial use
    assert flagged_rules(rr, "P13") == {"against_plan"}
    assert not row(rr, "P13", "idle").evaluated


def test_plan_overlay_areas_by_hand(parcels, plan):
    ov = plan_overlay(parcels, plan)
    mis = dict(zip(parcels.parcel_id, ov.mismatch_mu))
    assert mis["P14"] == pytest.approx(7.5)
    assert mis["P13"] == pytest.approx(15.0)   # housing, all planned industrial
    assert mis["P15"] == pytest.approx(15.0)   # farmland, all planned industrial
    assert mis["P16"] == pytest.approx(0.0)    # housing planned housing
    assert mis["P01"] == pytest.approx(0.0)


def test_against_plan_sliver_setting(parcels, plan, settings, bench):
    s = copy.deepcopy(settings)
    s["renewal"]["sliver_mu"] = 8.0             # 7.5 亩 is now below the sliver
    rr = rule_results(parcels, s, plan=plan, benchmarks=bench)
    assert not row(rr, "P14", "against_plan").failed


def test_prohibited(rr):
    r = row(rr, "P11", "prohibited")
    assert r.flagged and r.evidence == "行业代码 C3360 属淘汰/禁止类"
    assert row(rr, "P02", "prohibited").evaluated and not row(rr, "P02", "prohibited").failed
    assert not row(rr, "P01", "prohibited").evaluated


def test_without_plan_against_plan_not_evaluated(parcels, settings, bench):
    rr = rule_results(parcels, settings, benchmarks=bench)
    assert "P13" not in set(rr.parcel_id)      # only 三调 industrial is in scope
    assert not rr[rr.rule == "against_plan"].evaluated.any()


# ------------------------------------------------------------------ exemptions
def test_exempt_above_size(rr):
    assert row(rr, "P05", "low_far").failed
    assert row(rr, "P05", "low_far").exempt_by == "规上企业"
    assert row(rr, "P05", "low_tax").exempt_by == "规上企业"
    assert flagged_rules(rr, "P05") == set()


def test_exempt_strategic_chain(rr):
    assert row(rr, "P06", "low_far").exempt_by == "战略性新兴产业"
    assert flagged_rules(rr, "P06") == set()


def test_exempt_far_chain_with_high_tax(rr):
    r = row(rr, "P07", "low_far")              # 印刷包装, 150/15 = 10 > 8
    assert r.failed and r.exempt_by == "允许低容积率产业且亩均税收高"
    r8 = row(rr, "P08", "low_far")             # 90/15 = 6 ≤ 8: not exempt
    assert r8.flagged and r8.exempt_by == ""


def test_exempt_young_firm(rr):
    for rule in ("low_far", "low_tax", "idle"):
        r = row(rr, "P09", rule)
        assert r.failed and r.exempt_by == "投产不满3年", rule
    assert flagged_rules(rr, "P09") == set()


def test_exemptions_do_not_lift_against_plan_or_prohibited(parcels, plan, settings, bench):
    p = parcels.copy()
    p.loc[p.parcel_id.isin(["P11", "P14"]), "any_above_size"] = True
    rr = rule_results(p, settings, plan=plan, benchmarks=bench)
    assert row(rr, "P11", "prohibited").flagged
    assert row(rr, "P14", "against_plan").flagged


def test_young_from_start_year(parcels, settings, bench):
    p = parcels.drop(columns="youngest_years")
    p["start_year"] = 2010
    p.loc[p.parcel_id == "P09", "start_year"] = 2023
    rr = rule_results(p, settings, year=2024, benchmarks=bench)
    assert row(rr, "P09", "idle").exempt_by == "投产不满3年"
    rr = rule_results(p, settings, year=2026, benchmarks=bench)   # 3 years: no longer young
    assert row(rr, "P09", "idle").flagged


def test_unknown_exemption_rule_fails_with_key(parcels, settings, bench):
    s = copy.deepcopy(settings)
    s["renewal"]["exemptions"]["young"] = ["low_farr"]
    with pytest.raises(ConfigError, match="young.low_farr"):
        rule_results(parcels, s, benchmarks=bench)


# ------------------------------------------------------------------ candidates
def test_candidates_nothing_dropped_and_statuses(parcels, rr):
    c = candidates(parcels, rr)
    n_industrial = sum(1 for r in ROWS if r[1] in ("0601", "0508")) + 1   # + P13 (planned)
    assert len(c) == n_industrial == len(IN_SCOPE)
    assert c.crs == CRS
    st = dict(zip(c.parcel_id, c.status))
    assert {k for k, v in st.items() if v == "达标"} == {"P02"}
    assert {k for k, v in st.items() if v == "豁免"} == {"P05", "P06", "P07", "P09"}
    assert {k for k, v in st.items() if v == "候选"} == set(IN_SCOPE) - {"P02", "P05", "P06",
                                                                        "P07", "P09"}


def test_candidates_several_reasons_recorded(parcels, rr):
    c = candidates(parcels, rr).set_index("parcel_id")
    p1 = c.loc["P01"]
    assert p1.n_failed == 3
    assert p1.reasons == "容积率偏低；亩均税收偏低；亩均评价连续两年C类"
    assert p1.evidence.split("；")[0] == "容积率 0.50 < 1.00"
    assert p1.far == pytest.approx(0.5) and p1.tax_per_mu == pytest.approx(2.0)
    assert p1.r_low_far and p1.r_low_tax and p1.r_grade_c_twice and not p1.r_idle
    p5 = c.loc["P05"]
    assert p5.exemptions == "规上企业：容积率偏低、亩均税收偏低"
    assert p5.reasons == "" and p5.n_failed == 0


def test_candidates_rejects_unknown_parcels(parcels, rr):
    with pytest.raises(ValidationError, match="absent from parcels"):
        candidates(parcels[parcels.parcel_id != "P01"], rr)


def test_input_validation_lists_all_problems(parcels, settings):
    bad = parcels.drop(columns="DLBM")
    bad.loc[1, "parcel_id"] = "P01"
    with pytest.raises(ValidationError) as e:
        rule_results(bad, settings)
    assert len(e.value.problems) == 2
    with pytest.raises(CRSError, match="EPSG:4549"):
        rule_results(parcels.to_crs(4326), settings)


def test_zh_columns(parcels, rr):
    c = zh_columns(candidates(parcels, rr))
    assert {"图斑标识码", "认定结果", "认定理由", "容积率偏低"} <= set(c.columns)


# ------------------------------------------------------------------ benchmarks
def test_chain_benchmarks_from_data(settings):
    t = pd.DataFrame({"chain": ["纺织服装", "纺织服装", "化妆品", "化妆品"],
                      "tax": [30.0, 90.0, 50.0, 0.0], "value_added": [10.0, 20.0, 0.0, 0.0],
                      "area_mu": [15.0, 15.0, 10.0, 5.0], "firms": [1, 1, 1, 0]})
    b = chain_benchmarks(t, settings)
    assert b.loc["纺织服装", "tax_avg_previous"] == pytest.approx(120 / 30)
    assert b.loc["化妆品", "tax_avg_previous"] == pytest.approx(50 / 10)   # no-firm row ignored
    assert b.loc["全部", "tax_avg_previous"] == pytest.approx(170 / 40)
    assert b.loc["纺织服装", "tax_avg_source"] == "本年数据"
    assert b.loc["纺织服装", "standard_far"] == pytest.approx(1.6)
    assert b.loc["纺织服装", "benchmark_value_added_per_mu"] == pytest.approx(30 / 30)
    s = copy.deepcopy(settings)
    s["renewal"]["tax_average_previous"]["纺织服装"] = 7.5
    b = chain_benchmarks(t, s, previous=t.assign(tax=t.tax * 2))
    assert b.loc["纺织服装", "tax_avg_previous"] == 7.5
    assert b.loc["纺织服装", "tax_avg_source"] == "设置"
    assert b.loc["化妆品", "tax_avg_previous"] == pytest.approx(100 / 10)
    assert b.loc["化妆品", "tax_avg_source"] == "上年数据"


def test_benchmark_gain(parcels, rr, bench):
    c = candidates(parcels, rr).set_index("parcel_id")
    g = benchmark_gain(c, bench)
    assert g.loc["P01", "gain_tax"] == pytest.approx(10 * 15 - 30)
    assert g.loc["P01", "gain_value_added"] == pytest.approx(40 * 15 - 90)
    assert g.loc["P07", "gain_tax"] == 0.0                    # already above
    assert g.loc["P04", "gain_tax"] == pytest.approx(8 * 15)  # unknown chain -> 全部


# ------------------------------------------------------------------ blocks
@pytest.fixture
def block_set():
    # A,B,E touch; C is 5 m right of B; D is 95 m right of C; F passes (not a candidate)
    g = {"A": sq(0, 0), "B": sq(1, 0), "C": sq(2, 0, dx=5), "D": sq(4, 0),
         "E": sq(0, 1), "F": sq(1, 1)}
    st = {"A": "候选", "B": "候选", "C": "候选", "D": "候选", "E": "候选", "F": "达标"}
    df = gpd.GeoDataFrame({
        "parcel_id": list(g), "status": [st[k] for k in g], "area_mu": 15.0,
        "firms": [1, 2, 0, 1, 1, 1], "tax": [10.0, 20.0, 0.0, 5.0, 1.0, 100.0],
        "chain": ["纺织服装", "纺织服装", "", "化妆品", "化妆品", "纺织服装"],
        "platform": ["", "义乌经开区", "义乌经开区", "", "", ""],
        "r_low_far": [True, True, True, False, True, False],
        "r_idle": [False, False, True, False, False, False],
    }, geometry=list(g.values()), crs=CRS)
    return df


def test_blocks_touching_and_gap(block_set, settings):
    b = renewal_blocks(block_set, gap_m=10, settings=settings)
    assert [sorted(x) for x in b.parcel_ids] == [["A", "B", "C", "E"], ["D"]]
    assert b.block_id.tolist() == ["RB0001", "RB0002"]
    assert b.area_mu.tolist() == [60.0, 15.0]
    assert b.firms.tolist() == [4, 1] and b.tax.tolist() == [31.0, 5.0]
    assert b.n_parcels.tolist() == [4, 1]
    assert b.platform.tolist() == ["义乌经开区", ""]
    assert b.chain.iloc[0] == "纺织服装"               # 30 亩 vs 化妆品 15 亩
    assert b.reasons.iloc[0] == "容积率偏低 4；闲置(无企业或无税收) 1"
    assert b.geometry.iloc[0].area == pytest.approx(40_000)
    b0 = renewal_blocks(block_set, gap_m=0, settings=settings)
    assert sorted(sorted(x) for x in b0.parcel_ids) == [["A", "B", "E"], ["C"], ["D"]]


def test_blocks_platform_from_layer(block_set, settings):
    plat = gpd.GeoDataFrame({"name_zh": ["智能显示材料平台", "金萧新区"]},
                            geometry=[box(X0 - 50, Y0, X0 + 150, Y0 + 200),
                                      box(X0 + 350, Y0, X0 + 600, Y0 + 100)], crs=CRS)
    b = renewal_blocks(block_set, gap_m=10, settings=settings, platforms=plat)
    assert b.platform.tolist() == ["智能显示材料平台", "金萧新区"]
    # CRS policy (gis.crs.require_frame): a layer only read is reprojected;
    # the same zones in lon/lat give the same answer (policy change: was refused)
    b = renewal_blocks(block_set, gap_m=10, settings=settings, platforms=plat.to_crs(4326))
    assert b.platform.tolist() == ["智能显示材料平台", "金萧新区"]
    with pytest.raises(CRSError, match=r"renewal_blocks\(platforms/parks\): the layer has no CRS"):
        renewal_blocks(block_set, gap_m=10, settings=settings,
                       platforms=plat.set_crs(None, allow_override=True))


def test_blocks_empty(block_set, settings):
    b = renewal_blocks(block_set.assign(status="达标"), settings=settings)
    assert len(b) == 0


# ------------------------------------------------------------------ priority and target
def test_priority_terms(block_set, settings, bench):
    b = renewal_blocks(block_set, gap_m=10, settings=settings)
    p = priority(b, settings, benchmarks=bench)
    # block 1: 60 亩, 纺织服装, tax 31 -> 31/60 per 亩 vs benchmark 10; in a platform
    assert p.loc[0, "term_area"] == pytest.approx(30 * 1.0)
    assert p.loc[0, "term_gap"] == pytest.approx(30 * (1 - (31 / 60) / 10))
    assert p.loc[0, "term_platform"] == 20
    assert p.loc[0, "term_block"] == pytest.approx(20 * 60 / 200)
    # block 2: 15 亩, 化妆品 (no benchmark row: 全部 = 8), tax 5
    assert p.loc[1, "term_area"] == pytest.approx(30 * 15 / 50)
    assert p.loc[1, "term_gap"] == pytest.approx(30 * (1 - (5 / 15) / 8))
    assert p.loc[1, "term_platform"] == 0
    assert p.priority.tolist() == pytest.approx(
        p[["term_area", "term_gap", "term_platform", "term_block"]].sum(axis=1).tolist())
    assert p["rank"].tolist() == [1, 2]


def test_priority_parcels_use_block_area(block_set, settings, bench):
    b = renewal_blocks(block_set, gap_m=10, settings=settings)
    c = block_set[block_set.status == "候选"]
    p = priority(c, settings, benchmarks=bench, blocks=b)
    assert p.loc[0, "term_block"] == pytest.approx(20 * 60 / 200)   # A in the 60 亩 block
    assert p.loc[3, "term_block"] == pytest.approx(20 * 15 / 200)   # D alone


def test_yearly_plan_check_by_hand():
    t = pd.DataFrame({"id": list("abcdef"), "area_mu": [2000.0, 1500.0, 1000.0, 800.0, 3000.0, 100.0],
                      "rank": [1, 2, 3, 4, 5, 6]})
    r = yearly_plan_check(t.iloc[::-1], target_mu=5000)      # order from rank, not rows
    assert r["table"]["id"].tolist() == list("abcdef")
    assert r["table"]["cum_mu"].tolist() == [2000, 3500, 4500, 5300, 8300, 8400]
    # year k holds the items whose preceding total is below k × 5000
    assert r["table"]["plan_year"].tolist() == [1, 1, 1, 1, 2, 2]
    assert r["total_mu"] == 8400 and r["reaches_target"] and r["n_first_year"] == 4
    assert r["years_of_supply"] == pytest.approx(8400 / 5000)
    assert r["shortfall_mu"] == 0
    short = yearly_plan_check(t.head(3), settings=load_settings())   # default 5 000 亩
    assert not short["reaches_target"] and short["shortfall_mu"] == 500
    assert short["n_first_year"] == 3


def test_pipeline_end_to_end(parcels, plan, settings, bench):
    rr = rule_results(parcels, settings, plan=plan, year=2024, benchmarks=bench)
    c = candidates(parcels, rr)
    c = c.join(benchmark_gain(c, bench)[["gain_tax", "gain_value_added"]])
    b = renewal_blocks(c, settings=settings)
    # every flagged parcel is in exactly one block
    members = [p for ids in b.parcel_ids for p in ids]
    assert sorted(members) == sorted(c[c.status == "候选"].parcel_id)
    assert b.area_mu.sum() == pytest.approx(15.0 * len(members))
    assert b.gain_tax.sum() == pytest.approx(c[c.status == "候选"].gain_tax.sum())
    r = yearly_plan_check(b.join(priority(b, settings, benchmarks=bench)), target_mu=100)
    assert math.isclose(r["total_mu"], 15.0 * len(members))


def test_candidates_same_from_shuffled_rule_rows(parcels, rr):
    """The fast reshape path and the general pivot path agree."""
    a = candidates(parcels, rr)
    b = candidates(parcels, rr.sample(frac=1.0, random_state=3))
    cols = ["parcel_id", "status", "reasons", "evidence", "n_failed", "exemptions",
            "exempt_evidence"] + [f"r_{r}" for r in RULES]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_exemption_text_groups_rules_per_exemption(parcels, rr):
    c = candidates(parcels, rr).set_index("parcel_id")
    assert c.loc["P09", "exemptions"] == "投产不满3年：容积率偏低、亩均税收偏低、闲置(无企业或无税收)"
    assert c.loc["P07", "exempt_evidence"] == "容积率偏低(容积率 0.90 < 1.00)"


def test_no_industrial_parcels_gives_empty_tables(settings):
    p = gpd.GeoDataFrame({"parcel_id": ["a", "b"], "DLBM": ["0101", "0702"], "firms": [0, 0]},
                         geometry=[sq(0, 0), sq(1, 0)], crs=CRS)
    rr = rule_results(p, settings)
    c = candidates(p, rr)
    b = renewal_blocks(c, settings=settings)
    assert len(rr) == len(c) == len(b) == 0
    assert yearly_plan_check(b, settings=settings)["shortfall_mu"] == 5000.0


def test_prohibited_codes_in_lists_and_without_letter(parcels, settings, bench):
    p = parcels.copy()
    p["industry_codes"] = None
    p.loc[p.parcel_id == "P01", "industry_codes"] = pd.Series([["C1811", "1910"]], index=[0])
    p.loc[p.parcel_id == "P02", "industry_codes"] = "C21910、C3361"     # neither starts with a listed code
    p.loc[p.parcel_id == "P03", "industry_codes"] = "c3360 "
    rr = rule_results(p, settings, benchmarks=bench)
    assert row(rr, "P01", "prohibited").evidence == "行业代码 C1910 属淘汰/禁止类"
    assert not row(rr, "P02", "prohibited").failed
    assert row(rr, "P03", "prohibited").evidence == "行业代码 C3360 属淘汰/禁止类"
    assert not row(rr, "P04", "prohibited").evaluated


def test_zero_area_parcel_ratios_not_evaluated(parcels, settings, bench):
    p = parcels.copy()
    p.loc[p.parcel_id == "P01", "area_mu"] = 0.0
    rr = rule_results(p, settings, benchmarks=bench)
    assert not row(rr, "P01", "low_far").evaluated
    assert not row(rr, "P01", "low_tax").evaluated
    assert row(rr, "P01", "grade_c_twice").flagged            # other rules still run


# ------------------------------------------------------------------ 金华 rules 3 and 5, idle land
def test_dangerous_building_c_or_d_fails(parcels, settings, bench):
    p = parcels.copy()
    p["building_safety_grade"] = None
    grades = {"P02": "C", "P03": "D级", "P05": "d", "P06": " b ", "P07": "待鉴定"}
    for pid, g in grades.items():
        p.loc[p.parcel_id == pid, "building_safety_grade"] = g
    rr = rule_results(p, settings, year=2024, benchmarks=bench)
    r = row(rr, "P02", "dangerous_building")
    assert r.evaluated and r.flagged and r.evidence == "房屋安全鉴定 C 级(危房)"
    assert row(rr, "P03", "dangerous_building").evidence == "房屋安全鉴定 D 级(危房)"
    # P05 is 规上: no exemption lifts a dangerous building
    r5 = row(rr, "P05", "dangerous_building")
    assert r5.flagged and r5.exempt_by == ""
    r6 = row(rr, "P06", "dangerous_building")
    assert r6.evaluated and not r6.failed and r6.evidence == "房屋安全鉴定 B 级"
    r7 = row(rr, "P07", "dangerous_building")
    assert not r7.evaluated and "无法识别" in r7.evidence
    r1 = row(rr, "P01", "dangerous_building")
    assert not r1.evaluated and r1.evidence == "未提供房屋安全鉴定"
    c = candidates(p, rr).set_index("parcel_id")
    # P02 passed every other rule; P05 was only exempt before
    assert c.loc["P02", "status"] == "候选" and c.loc["P02", "reasons"] == "危房(房屋安全鉴定C/D级)"
    assert c.loc["P05", "status"] == "候选" and c.loc["P05", "reasons"] == "危房(房屋安全鉴定C/D级)"
    assert c.loc["P05", "exemptions"] == "规上企业：容积率偏低、亩均税收偏低"


def test_dangerous_building_without_column_not_evaluated(rr):
    sub = rr[rr.rule == "dangerous_building"]
    assert len(sub) == len(IN_SCOPE)
    assert not sub.evaluated.any() and not sub.failed.any()
    assert set(sub[sub.scope == "三调工业"].evidence) == {"未提供房屋安全鉴定"}


def test_grade_rules_kept_as_extra_criteria(rr):
    assert RULES["grade_d"] == "亩均评价D类" and RULES["grade_c_twice"] == "亩均评价连续两年C类"
    assert list(RULES)[:5] == ["low_far", "low_tax", "dangerous_building", "prohibited",
                               "unrectified"]                      # 金华 rules 1–5


def test_unrectified_safety_environment(parcels, settings, bench):
    p = parcels.copy()
    p["safety_env_unrectified"] = None
    vals = {"P02": True, "P03": "是", "P06": "1", "P07": False, "P08": "否", "P10": "不详"}
    for pid, v in vals.items():
        p.loc[p.parcel_id == pid, "safety_env_unrectified"] = v
    rr = rule_results(p, settings, year=2024, benchmarks=bench)
    for pid in ("P02", "P03", "P06"):          # P06 is strategic: not lifted
        r = row(rr, pid, "unrectified")
        assert r.flagged and r.exempt_by == "" and r.evidence == "安全环保问题整改不到位", pid
    for pid in ("P07", "P08"):
        r = row(rr, pid, "unrectified")
        assert r.evaluated and not r.failed and r.evidence == "安全环保无整改不到位记录"
    assert not row(rr, "P10", "unrectified").evaluated
    r1 = row(rr, "P01", "unrectified")
    assert not r1.evaluated and r1.evidence == "未提供安全环保整改情况，未检验"
    assert flagged_rules(rr, "P02") == {"unrectified"}
    assert flagged_rules(rr, "P06") == {"unrectified"}   # its low FAR/tax stay exempt
    rr0 = rule_results(parcels, settings, benchmarks=bench)
    assert not rr0[rr0.rule == "unrectified"].evaluated.any()


@pytest.fixture
def stopped(parcels):
    p = parcels.copy()
    p["stop_date"] = pd.NaT
    p["resume_date"] = pd.NaT
    dates = {  # parcel: (stop, resume)
        "P02": ("2022-06-30", None),           # 2.5 years by 31 Dec 2024: idle
        "P03": ("2023-03-01", None),           # 1.8 years: not yet
        "P06": ("2020-01-01", "2021-05-01"),   # resumed
        "P07": ("2020-01-01", "2025-03-01"),   # resumed only after the reference date
        "P08": ("2022-01-01", "2021-01-01"),   # an earlier resumption, stopped again
        "P09": ("2020-01-01", None),           # young firm: not lifted
    }
    for pid, (a, b) in dates.items():
        p.loc[p.parcel_id == pid, "stop_date"] = pd.Timestamp(a)
        if b:
            p.loc[p.parcel_id == pid, "resume_date"] = pd.Timestamp(b)
    return p


def test_idle_stopped_two_years(stopped, settings, bench):
    rr = rule_results(stopped, settings, year=2024, benchmarks=bench)
    yrs = (date(2024, 12, 31) - date(2022, 6, 30)).days / 365.25      # 915 days
    r = row(rr, "P02", "idle_stopped")
    assert r.value == pytest.approx(yrs) and r.threshold == 2
    assert r.flagged and r.evidence == "停工满 2.5 年未复工 ≥ 2 年"
    r3 = row(rr, "P03", "idle_stopped")
    assert r3.value == pytest.approx((date(2024, 12, 31) - date(2023, 3, 1)).days / 365.25)
    assert r3.evaluated and not r3.failed and r3.evidence == "停工满 1.8 年未复工 < 2 年"
    r6 = row(rr, "P06", "idle_stopped")
    assert not r6.failed and r6.evidence == "停工后已于 2021-05-01 复工"
    assert row(rr, "P07", "idle_stopped").flagged
    assert row(rr, "P08", "idle_stopped").flagged
    r9 = row(rr, "P09", "idle_stopped")
    assert r9.flagged and r9.exempt_by == ""
    r1 = row(rr, "P01", "idle_stopped")
    assert not r1.evaluated and r1.evidence == "无停工日期，未检验"
    assert flagged_rules(rr, "P02") == {"idle_stopped"}


def test_idle_stopped_needs_year_and_column_and_follows_setting(stopped, parcels, settings, bench):
    rr = rule_results(stopped, settings, benchmarks=bench)
    sub = rr[rr.rule == "idle_stopped"]
    assert not sub.evaluated.any() and set(sub.evidence) == {"未给定评价年度，未检验"}
    rr = rule_results(parcels, settings, year=2024, benchmarks=bench)
    sub = rr[rr.rule == "idle_stopped"]
    assert not sub.evaluated.any() and set(sub.evidence) == {"无停工日期，未检验"}
    s = copy.deepcopy(settings)
    s["renewal"]["idle_years"] = 3                # 2.5 years is now short of it
    rr = rule_results(stopped, s, year=2024, benchmarks=bench)
    assert not row(rr, "P02", "idle_stopped").failed
    assert row(rr, "P02", "idle_stopped").evidence == "停工满 2.5 年未复工 < 3 年"


def test_storage_land_idle_not_evaluated(settings, bench):
    # 0508 物流仓储: firms on it are not in the industrial enterprise list
    p = gpd.GeoDataFrame({
        "parcel_id": ["W1", "W2", "I1"], "DLBM": ["0508", "0508", "0601"],
        "firms": [0, 1, 0], "tax": [NAN, 0.0, NAN], "floor_area": [NAN, 4000.0, NAN],
        "chain": [None, "纺织服装", None], "area_mu": 15.0,
        "building_safety_grade": ["D", None, None],
    }, geometry=[sq(0, 0), sq(1, 0), sq(2, 0)], crs=CRS)
    rr = rule_results(p, settings, year=2024, benchmarks=bench)
    for pid in ("W1", "W2"):
        r = row(rr, pid, "idle")
        assert not r.evaluated and not r.failed
        assert r.evidence == "仓储用地企业不在工业企业名录，未检验"
    assert row(rr, "I1", "idle").flagged
    # storage land stays in scope for the other rules
    assert row(rr, "W1", "dangerous_building").flagged
    w2 = row(rr, "W2", "low_far")                     # 4000 / 10000 = 0.40 < 1.00
    assert w2.flagged and w2.evidence == "容积率 0.40 < 1.00"
    c = candidates(p, rr).set_index("parcel_id")
    assert c.loc["W1", "reasons"] == "危房(房屋安全鉴定C/D级)"
    s = copy.deepcopy(settings)
    s["renewal"]["idle_codes_sandiao"] = ["0601", "0508"]
    rr = rule_results(p, s, year=2024, benchmarks=bench)
    assert row(rr, "W1", "idle").flagged and row(rr, "W1", "idle").evidence == "无入驻企业"


def test_shipped_prohibited_list_is_empty(parcels, bench):
    s = load_settings()
    assert s["renewal"]["prohibited_codes"] == []
    rr = rule_results(parcels, s, benchmarks=bench)
    r = row(rr, "P11", "prohibited")                 # C3360 is not banned as a class
    assert r.evaluated and not r.failed and r.evidence == "无淘汰/禁止类行业"


@pytest.mark.parametrize("rule", NOT_EXEMPTIBLE)
def test_no_exemption_may_lift_safety_or_legal_rules(parcels, settings, bench, rule):
    s = copy.deepcopy(settings)
    s["renewal"]["exemptions"]["above_size"] = ["low_far", rule]
    with pytest.raises(ConfigError, match=f"above_size.{rule}"):
        rule_results(parcels, s, benchmarks=bench)


def test_block_far_ignores_members_without_firm_data(settings):
    # A: firm, 5 000 m² floor on 15 亩; B touches A, no firm (floor unknown)
    c = gpd.GeoDataFrame({
        "parcel_id": ["A", "B"], "status": "候选", "area_mu": 15.0, "firms": [1, 0],
        "tax": [30.0, NAN], "floor_area": [5000.0, NAN],
    }, geometry=[sq(0, 0), sq(1, 0)], crs=CRS)
    b = renewal_blocks(c, gap_m=10, settings=settings)
    assert len(b) == 1 and b.n_parcels.iloc[0] == 2
    assert b.far.iloc[0] == pytest.approx(5000 / 10000)       # not 5000 / 20000
    assert b.tax_per_mu.iloc[0] == pytest.approx(30 / 30)     # idle land pays no tax

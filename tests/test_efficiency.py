"""Known-answer tests of gis.efficiency.

Every expected number below is worked out by hand (shown in the comments)
or by plain arithmetic in the test, never taken from the module's output.
"""

import copy
import math

import numpy as np
import pandas as pd
import pytest

from gis import ConfigError, ValidationError
from gis.config import load_settings
from gis.efficiency import (
    AGG_LABELS_ZH,
    LABELS_ZH,
    UNITS,
    aggregate,
    benchmarks,
    chain_targets,
    classes,
    evaluate,
    evaluation_scope,
    indicator_notes,
    indicators,
    platform_targets,
    ranks,
    scores,
)

NAN = np.nan
YEAR = 2025


def firm_table():
    """Ten firms: six 规上 (U1-U6) and four 规下 (D1-D4)."""
    rows = [
        # uscc, size, land, leased, tax, va, revenue, energy, emission, electricity, rd, employees, investment, start, platform, chain
        ("U1", "规上", 10.0, 0.0, 300.0, 1500.0, 10000.0, 500.0, 2.0, 200.0, 300.0, 50, 5000.0, 2010, "甲", "光电显示"),
        ("U2", "规上", 20.0, 0.0, 200.0, 1000.0, 5000.0, 1000.0, 5.0, NAN, 50.0, 100, NAN, 2015, "甲", "光电显示"),
        ("U3", "规上", 5.0, 0.0, 500.0, 2500.0, 20000.0, 1250.0, NAN, NAN, 0.0, 100, NAN, 2012, "乙", "纺织服装"),
        ("U4", "规上", 8.0, 0.0, -16.0, 400.0, NAN, 0.0, 1.0, NAN, 10.0, 0, NAN, 2018, None, "纺织服装"),
        ("U5", "规上", 12.0, 0.0, 240.0, 1200.0, 5000.0, 600.0, 3.0, NAN, 100.0, 60, NAN, 2024, "甲", "化妆品"),
        ("U6", "规上", 2.9, 0.0, 100.0, 500.0, 3000.0, 100.0, 1.0, NAN, 30.0, 10, NAN, 2010, "乙", "化妆品"),
        ("D1", "规下", 6.0, 0.0, 60.0, NAN, 800.0, NAN, NAN, 100.0, NAN, 20, NAN, 2010, "乙", "其他"),
        ("D2", "规下", 4.0, 0.0, 16.0, NAN, 300.0, NAN, NAN, 80.0, NAN, 10, NAN, 2011, None, "其他"),
        ("D3", "规下", 3.0, 0.0, 3.0, NAN, 100.0, NAN, NAN, NAN, NAN, 5, NAN, 2012, None, "其他"),
        ("D4", "规下", 0.0, 5.0, 50.0, NAN, 500.0, NAN, NAN, 60.0, NAN, 8, NAN, 2013, "甲", "其他"),
    ]
    cols = ["uscc", "size_class", "land_mu", "leased_mu", "tax", "value_added", "revenue", "energy",
            "emission", "electricity", "rd", "employees", "investment", "start_year", "platform",
            "chain"]
    df = pd.DataFrame(rows, columns=cols)
    df["name"] = "企业" + df["uscc"]
    df.index = [f"f{i}" for i in range(len(df))]  # a non-default index, to check alignment
    return df


def fixed_settings():
    s = copy.deepcopy(load_settings())
    e = s["efficiency"]
    e["benchmark_method"] = "fixed"
    e["benchmarks"] = {
        "规上": {"tax_per_mu": 20.0, "va_per_mu": 100.0, "va_per_energy": 2.0,
                "va_per_emission": 400.0, "labour_productivity": 20.0, "rd_share": 2.0},
        "规下": {"tax_per_mu": 8.0, "tax_per_kwh": 0.5},
    }
    return s


# --- hand-computed scores with the fixed benchmarks above ---------------------
# U1: 30×30/20=45, 20×150/100=30, 20×3/2=30, 10×750/400=18.75, 10×30/20=15, 10×3/2=15
U1 = [45.0, 30.0, 30.0, 18.75, 15.0, 15.0]
# U2: 30×10/20=15, 20×50/100=10, 20×1/2=10, 10×200/400=5, 10×10/20=5, 10×1/2=5
U2 = [15.0, 10.0, 10.0, 5.0, 5.0, 5.0]
# U4: tax -2/亩 -> -3 -> floor 0; 20×50/100=10; energy REPORTED AS 0 -> not the worst
#     score 0 but, as not reported (efficiency.zero_use), the mean energy term of the
#     graded 规上 firms that have it: U1 30, U2 10, U3 20 -> 20; 10×400/400=10;
#     employees 0 -> 0; revenue missing -> rd_share missing -> 0
U4_ENERGY = (30.0 + 10.0 + 20.0) / 3
U4 = [0.0, 10.0, U4_ENERGY, 10.0, 0.0, 0.0]
# U3: 30×100/20=150 -> cap 60; 20×500/100=100 -> cap 40; 20×2/2=20; emission missing ->
#     mean emission term of the graded 规上 firms that have it (U1, U2, U4);
#     10×25/20=12.5; rd 0 -> 0
U3_EMISSION = (18.75 + 5.0 + 10.0) / 3
U3 = [60.0, 40.0, 20.0, U3_EMISSION, 12.5, 0.0]
# U5 (new, scored not graded): 30, 20, 20, 10, 10, 10
U5 = [30.0, 20.0, 20.0, 10.0, 10.0, 10.0]
# 规下: D1 50×10/8=62.5 + 50×0.6/0.5=60; D2 50×4/8=25 + 50×0.2/0.5=20; D3 50×1/8 + 0
D1, D2, D3 = 62.5 + 60.0, 25.0 + 20.0, 6.25
SU = ["tax_per_mu", "va_per_mu", "va_per_energy", "va_per_emission", "labour_productivity", "rd_share"]


def test_indicators_known_values_and_labels():
    f = firm_table()
    ind = indicators(f)
    assert list(ind.index) == list(f.index)
    u1 = ind.loc["f0"]
    assert u1["tax_per_mu"] == pytest.approx(300 / 10)
    assert u1["va_per_mu"] == pytest.approx(1500 / 10)
    assert u1["revenue_per_mu"] == pytest.approx(10000 / 10)
    assert u1["va_per_energy"] == pytest.approx(1500 / 500)
    assert u1["va_per_emission"] == pytest.approx(1500 / 2)
    assert u1["tax_per_kwh"] == pytest.approx(300 / 200)
    assert u1["labour_productivity"] == pytest.approx(1500 / 50)
    assert u1["rd_share"] == pytest.approx(100 * 300 / 10000)
    assert u1["investment_per_mu"] == pytest.approx(5000 / 10)
    assert LABELS_ZH["tax_per_mu"] == "亩均税收(万元/亩)"
    assert UNITS["va_per_energy"] == "万元/吨标煤"
    assert np.isfinite(ind.to_numpy()[~np.isnan(ind.to_numpy())]).all()


def test_division_by_zero_is_nan_with_reason():
    f = firm_table()
    ind = indicators(f)
    notes = indicator_notes(f)
    u4 = "f3"
    assert math.isnan(ind.loc[u4, "va_per_energy"]) and notes.loc[u4, "va_per_energy"] == "综合能耗为0"
    assert math.isnan(ind.loc[u4, "labour_productivity"])
    assert notes.loc[u4, "labour_productivity"] == "从业人员为0"
    assert notes.loc[u4, "rd_share"] == "缺少营业收入"
    assert notes.loc["f2", "va_per_emission"] == "缺少排放量"
    d4 = "f9"  # lessee, 0 亩 of own land
    assert math.isnan(ind.loc[d4, "tax_per_mu"]) and notes.loc[d4, "tax_per_mu"] == "用地面积为0"
    assert notes.loc["f0", "tax_per_mu"] == ""
    # no inf anywhere, even with a negative denominator
    g = pd.DataFrame({"tax": [1.0, 1.0], "land_mu": [-2.0, 0.0]})
    assert indicators(g)["tax_per_mu"].isna().all()
    assert indicator_notes(g)["tax_per_mu"].tolist() == ["用地面积为负", "用地面积为0"]


def test_scope_rules():
    f = firm_table()
    s = evaluation_scope(f, year=YEAR)
    assert s.tolist() == [
        "graded", "graded", "graded", "graded", "scored_not_graded", "out_of_scope",
        "graded", "graded", "graded", "lessee",
    ]
    g = pd.DataFrame({"land_mu": [2.9, 3.0, 10.0, 10.0, 10.0, None],
                      "start_year": [2000, 2000, 2023, 2022, 2026, 2000]})
    # 2025−2023 = 2 < 3 -> new; 2025−2022 = 3 -> graded; 2026 > 2025 -> under construction
    assert evaluation_scope(g, year=2025).tolist() == [
        "out_of_scope", "graded", "scored_not_graded", "graded", "scored_not_graded", "out_of_scope"]
    notes = evaluation_scope(g, year=2025, with_note=True)["scope_note"].tolist()
    assert notes[0] == "用地2.9亩<3亩" and notes[2] == "投产未满3年" and notes[4] == "在建"
    # without a year the newness rule is not applied
    assert evaluation_scope(g).tolist()[2] == "graded"


def test_scores_fixed_benchmarks_caps_floor_and_missing_emission():
    e = evaluate(firm_table(), fixed_settings(), year=YEAR)
    got = {u: e.loc[i, [f"score_{k}" for k in SU]].astype(float).tolist()
           for u, i in [("U1", "f0"), ("U2", "f1"), ("U3", "f2"), ("U4", "f3"), ("U5", "f4")]}
    for u, exp in {"U1": U1, "U2": U2, "U3": U3, "U4": U4, "U5": U5}.items():
        assert got[u] == pytest.approx(exp), u
        assert e.loc[f"f{int(u[1]) - 1}", "score"] == pytest.approx(sum(exp))
    assert e.loc["f2", "score"] == pytest.approx(60 + 40 + 20 + U3_EMISSION + 12.5)
    assert "单位排放增加值缺失, 取规上平均得分11.25" in e.loc["f2", "score_note"]
    assert "单位能耗增加值: 填报为0, 按未填报取平均得分20.00" in e.loc["f3", "score_note"]
    # 规下 formula; 规上-only terms are not applicable (NaN) for 规下 firms
    assert e.loc[["f6", "f7", "f8"], "score"].tolist() == pytest.approx([D1, D2, D3])
    assert e.loc["f6", "score_tax_per_mu"] == pytest.approx(62.5)
    assert math.isnan(e.loc["f6", "score_va_per_mu"])
    assert math.isnan(e.loc["f0", "score_tax_per_kwh"])
    # out of scope and lessees are not scored
    assert e.loc[["f5", "f9"], "score"].isna().all()
    assert e.loc["f9", "scope_zh"] == "租赁企业(单列)"


def test_rank_classes_per_size_class():
    e = evaluate(firm_table(), fixed_settings(), year=YEAR)
    # 规上 graded: U1 153.75 > U3 143.75 > U2 50 > U4 40; n = 4:
    # A count floor(4×.25+.5)=1, B floor(4×.70+.5)=3, C floor(4×.95+.5)=4
    assert e.loc[["f0", "f2", "f1", "f3"], "rank"].tolist() == [1, 2, 3, 4]
    assert e.loc[["f0", "f2", "f1", "f3"], "class"].tolist() == ["A", "B", "B", "C"]
    # 规下 graded: D1 > D2 > D3; n = 3: A 1, B floor(2.6)=2, C floor(3.35)=3
    assert e.loc[["f6", "f7", "f8"], "class"].tolist() == ["A", "B", "C"]
    assert e.loc["f6", "class_zh"] == "A 优先发展"
    assert e.loc[["f0", "f6"], "rank_n"].tolist() == [4, 3]
    # the new firm is scored but neither ranked nor classed
    assert e.loc["f4", "score"] == pytest.approx(100.0)
    assert pd.isna(e.loc["f4", "class"]) and pd.isna(e.loc["f4", "rank"])


def test_threshold_mode_through_settings():
    s = fixed_settings()
    s["efficiency"]["class_mode"] = "threshold"  # cut-offs 120 / 80 / 50
    e = evaluate(firm_table(), s, year=YEAR)
    exp = {"f0": "A", "f2": "A", "f1": "C", "f3": "D", "f6": "A", "f7": "D", "f8": "D"}
    assert e.loc[list(exp), "class"].tolist() == list(exp.values())


def test_rank_mode_twenty_firms_with_ties():
    sc = [100, 95, 90, 85, 80, 80, 70, 69, 68, 67, 66, 65, 64, 63, 50, 50, 40, 30, 20, 10]
    # n=20: A cut 5, B cut 14, C cut 19.  Ranks 1,2,3,4,5,5,7..14,15,15,17,18,19,20:
    # the tie at rank 5 makes six A's; 50/50 share rank 15 -> both C.
    exp = ["A"] * 6 + ["B"] * 8 + ["C"] * 5 + ["D"]
    rng = np.random.default_rng(0)
    perm = rng.permutation(20)
    s = pd.Series(np.array(sc, float)[perm], index=[f"u{i}" for i in perm])
    got = classes(s, mode="rank", shares=(0.25, 0.45, 0.25, 0.05))
    assert got.loc[[f"u{i}" for i in range(20)]].tolist() == exp
    r = ranks(s).loc[[f"u{i}" for i in range(20)]].tolist()
    assert r[4] == r[5] == 5 and r[6] == 7 and r[14] == r[15] == 15
    # equal scores always share a class
    assert got["u14"] == got["u15"]
    # missing scores get no class
    s2 = s.copy()
    s2["u0"] = np.nan
    assert pd.isna(classes(s2, mode="rank")["u0"])


def test_threshold_mode_boundaries():
    s = pd.Series([120.0, 119.99, 80.0, 50.0, 49.99, -1.0])
    assert classes(s, mode="threshold", thresholds=(120, 80, 50)).tolist() == ["A", "B", "B", "C", "D", "D"]


def test_computed_benchmarks_average_mean_median():
    f = firm_table()
    ind = indicators(f)
    pop = evaluation_scope(f, year=YEAR) == "graded"
    s = copy.deepcopy(load_settings())
    b = benchmarks(ind, f, pop, s)  # default: average = Σ numerator / Σ denominator
    # graded 规上: U1..U4 -> tax (300+200+500-16)/(10+20+5+8)
    assert b.loc["规上", "tax_per_mu"] == pytest.approx(984 / 43)
    # energy: firms with a value: U1, U2, U3 (U4 has 0 energy)
    assert b.loc["规上", "va_per_energy"] == pytest.approx((1500 + 1000 + 2500) / (500 + 1000 + 1250))
    # rd share: U1, U2, U3 (U4 no revenue) -> 100 × (300+50+0) / (10000+5000+20000)
    assert b.loc["规上", "rd_share"] == pytest.approx(100 * (300 + 50 + 0) / (10000 + 5000 + 20000))
    # 规下 graded D1..D3: tax 79 / 13 亩; kWh: D1, D2 -> 76/180
    assert b.loc["规下", "tax_per_mu"] == pytest.approx(79 / 13)
    assert b.loc["规下", "tax_per_kwh"] == pytest.approx(76 / 180)
    s["efficiency"]["benchmark_method"] = "mean"
    assert benchmarks(ind, f, pop, s).loc["规上", "tax_per_mu"] == pytest.approx((30 + 10 + 100 - 2) / 4)
    s["efficiency"]["benchmark_method"] = "median"
    assert benchmarks(ind, f, pop, s).loc["规上", "tax_per_mu"] == pytest.approx((10 + 30) / 2)
    # the default evaluate uses the average over graded firms
    e = evaluate(f, load_settings(), year=YEAR)
    assert e.loc["f0", "score_tax_per_mu"] == pytest.approx(min(30 * 30 / (984 / 43), 60))
    assert e.attrs["benchmarks"]["规下"]["tax_per_kwh"] == pytest.approx(76 / 180)


def test_cap_multiple_setting():
    s = fixed_settings()
    s["efficiency"]["cap_multiple"] = 1.5
    ind = pd.DataFrame({k: [1000.0] for k in SU})
    f = pd.DataFrame({"size_class": ["规上"]})
    b = benchmarks(ind, f, settings=s)
    out = scores(ind, f, b, s)
    assert out["score"].iloc[0] == pytest.approx(1.5 * 100)


def test_bad_size_class_and_bad_settings():
    f = firm_table()
    f.loc["f1", "size_class"] = "大型"
    with pytest.raises(ValidationError, match="size_class"):
        evaluate(f, fixed_settings(), year=YEAR)
    s = fixed_settings()
    s["efficiency"]["class_shares"] = [0.5, 0.5, 0.5, 0.0]
    with pytest.raises(ConfigError, match="class_shares"):
        evaluate(firm_table(), s, year=YEAR)


def test_aggregate_ratio_of_sums_and_totals_reconcile():
    e = evaluate(firm_table(), fixed_settings(), year=YEAR)
    a = aggregate(e, "platform")
    # 甲: U1, U2, U5 (D4 lessee excluded) -> land 42, tax 740, va 3700
    assert a.loc["甲", "firms"] == 3 and a.loc["甲", "graded"] == 2
    assert a.loc["甲", "land_mu"] == pytest.approx(42)
    assert a.loc["甲", "tax_per_mu"] == pytest.approx(740 / 42)
    assert a.loc["甲", "va_per_mu"] == pytest.approx(3700 / 42)
    mean_of_ratios = (30 + 10 + 20) / 3
    assert abs(a.loc["甲", "tax_per_mu"] - mean_of_ratios) > 1  # the data tells them apart
    # 乙: U3, D1 (U6 out of scope) -> 560 / 11
    assert a.loc["乙", "tax_per_mu"] == pytest.approx(560 / 11)
    # unassigned: U4, D2, D3 -> (−16+16+3) / 15
    assert a.loc["未归属", "tax_per_mu"] == pytest.approx(3 / 15)
    assert a.loc["甲", ["n_A", "n_B", "n_C", "n_D"]].tolist() == [1, 1, 0, 0]
    assert a.loc["甲", "share_A"] == pytest.approx(0.5)
    # ranks by 亩均税收: 乙 50.9 > 甲 17.6 > 未归属 0.2, total row last, unranked
    assert list(a.index) == ["乙", "甲", "未归属", "全市合计"]
    assert a["rank"].iloc[:3].tolist() == [1, 2, 3] and pd.isna(a["rank"].iloc[-1])
    tot = a.loc["全市合计"]
    body = a.iloc[:-1]
    for c in ["firms", "graded", "land_mu", "tax", "value_added", "revenue", "n_A", "n_B", "n_C", "n_D"]:
        assert tot[c] == pytest.approx(body[c].sum()), c
    assert tot["land_mu"] == pytest.approx(42 + 11 + 15)
    assert tot["tax_per_mu"] == pytest.approx((740 + 560 + 3) / 68)
    assert set(AGG_LABELS_ZH) >= set(a.columns)


def test_aggregate_parcel_with_parcel_land_override():
    # 一地多企 summed to the parcel: Σ tax of its firms / parcel land
    e = pd.DataFrame({"parcel_id": ["p1", "p1", "p2"], "tax": [40.0, 20.0, 10.0],
                      "land_mu": [4.0, 4.0, 5.0], "scope": "graded", "class": ["A", "B", "C"]})
    a = aggregate(e, "parcel_id", land=pd.Series({"p1": 12.0, "p2": 5.0}))
    assert a.loc["p1", "tax_per_mu"] == pytest.approx(60 / 12)
    assert a.loc["全市合计", "tax_per_mu"] == pytest.approx(70 / 17)


def test_chain_targets_against_plan():
    e = evaluate(firm_table(), fixed_settings(), year=YEAR)
    ct = chain_targets(e)
    # 规上 revenue in 万元 / 10000 = 亿元; 光电显示: U1 + U2 = 15000 万元 = 1.5 亿
    assert ct.loc["光电显示", "output_yi"] == pytest.approx(1.5)
    assert ct.loc["光电显示", "target_2030_yi"] == 400
    assert ct.loc["光电显示", "gap_yi"] == pytest.approx(400 - 1.5)
    # 化妆品: U5 + U6 (all 规上 firms, whatever the scope) = 0.8 亿 of 80
    assert ct.loc["化妆品", "progress_pct"] == pytest.approx(0.8 / 80 * 100)
    assert ct.loc["新能源汽车及零部件", "firms"] == 0
    # 纺织服装: U3 20000 + U4 missing (counts 0)
    assert ct.loc["纺织服装", "output_yi"] == pytest.approx(2.0)


def test_platform_targets_counts_and_gap():
    e = pd.DataFrame({"platform": ["科技城", "科技城", "光电城", None],
                      "high_tech": [True, False, True, True],
                      "tech_sme": ["是", "否", "是", "是"]})
    # catalogue-style keys and plain firm-column keys
    t = pd.DataFrame({"name_zh": ["科技城", "科技城", "光电城", "光电城"],
                      "target": ["national_high_tech_enterprises", "tech_sme", "high_tech",
                                 "innovation_platforms_city"],
                      "value": [3, 30, 70, 52], "at_least": [False, True, False, False]})
    out = platform_targets(e, t)
    # 科技城: one high-tech firm, one tech SME; 光电城: one high-tech firm
    assert out["current"].tolist()[:3] == [1, 1, 1]
    assert out["gap"].tolist()[:3] == [3 - 1, 30 - 1, 70 - 1]
    assert out["progress_pct"].iloc[0] == pytest.approx(100 / 3)
    assert pd.isna(out["current"].iloc[3]) and out["note"].iloc[3] != ""
    assert out["target_zh"].iloc[0] == "国家高新技术企业(家)"
    assert out["at_least"].tolist() == [False, True, False, False]


def test_settings_from_a_user_yaml(tmp_path):
    # a planner changes a weight and the year in a YAML file
    cfg = tmp_path / "my.yaml"
    cfg.write_text(
        "efficiency:\n"
        "  year: 2025\n"
        "  benchmark_method: fixed\n"
        "  weights:\n"
        "    规下: {tax_per_mu: 100, tax_per_kwh: 0}\n"
        "  benchmarks:\n"
        "    规下: {tax_per_mu: 5.0}\n",
        encoding="utf-8",
    )
    s = load_settings(cfg)
    e = evaluate(firm_table(), s)
    # D2: 100 × 4 / 5 = 80; kWh weight 0 -> 0; year 2025 from the file makes U5 new
    assert e.loc["f7", "score"] == pytest.approx(80.0)
    assert e.loc["f4", "scope"] == "scored_not_graded"
    # float noise does not split a tie
    assert ranks(pd.Series([0.1 + 0.2, 0.3, 0.1])).tolist() == [1, 1, 3]


def test_missing_emission_average_only_when_the_emission_figure_is_missing():
    # three 规上 firms: A and B have all data; C lacks its emission figure; D
    # lacks value added (so its emission indicator is missing for another
    # reason): C gets the average emission term of A and B, D gets 0.
    f = pd.DataFrame({
        "size_class": ["规上"] * 4, "land_mu": [10.0] * 4, "tax": [100.0] * 4,
        "value_added": [200.0, 600.0, 400.0, np.nan], "revenue": [1000.0] * 4,
        "energy": [100.0] * 4, "emission": [2.0, 2.0, np.nan, 2.0],
        "employees": [10.0] * 4, "rd": [10.0] * 4,
    }, index=["A", "B", "C", "D"])
    ind = indicators(f)
    b = pd.DataFrame({"va_per_emission": [200.0, np.nan]}, index=["规上", "规下"])
    for k in ("tax_per_mu", "va_per_mu", "va_per_energy", "labour_productivity", "rd_share"):
        b[k] = [1.0, np.nan]
    sc = scores(ind, f, b)
    # va_per_emission: A 200/2=100 -> 10×100/200 = 5; B 300 -> 15 (cap 20)
    assert sc.loc["A", "score_va_per_emission"] == pytest.approx(5.0)
    assert sc.loc["B", "score_va_per_emission"] == pytest.approx(15.0)
    assert sc.loc["C", "score_va_per_emission"] == pytest.approx((5.0 + 15.0) / 2)
    assert sc.loc["D", "score_va_per_emission"] == 0.0


def test_benchmarks_in_attrs_do_not_break_pandas(tmp_path):
    e = evaluate(pd.DataFrame({
        "size_class": ["规上", "规下"], "land_mu": [10.0, 5.0], "tax": [100.0, 10.0],
        "value_added": [200.0, 20.0], "revenue": [1000.0, 80.0], "energy": [100.0, 5.0],
        "emission": [2.0, 1.0], "employees": [10.0, 3.0], "rd": [10.0, 0.0],
        "electricity": [50.0, 10.0], "uscc": ["a", "b"],
    }))
    assert isinstance(e.attrs["benchmarks"], dict)
    e.groupby("size_class")["score"].describe()  # raised with a DataFrame in attrs


def test_zero_energy_or_emission_is_not_the_worst_score():
    """A firm reporting 0 energy (or emission) scores the cap or as not reported, never 0."""
    s = fixed_settings()
    s["efficiency"]["zero_use"]["treat_as"] = "cap"
    e = evaluate(firm_table(), s, year=YEAR)
    # cap = cap_multiple 2 × weight 20 = 40
    assert e.loc["f3", "score_va_per_energy"] == pytest.approx(40.0)
    assert "单位能耗增加值: 填报为0, 按封顶计40.00分" in e.loc["f3", "score_note"]
    # zero emission, as not reported: the mean emission term of the other graded
    # 规上 firms that have it (U1 18.75, U2 5; U3 has none, U4 is the zero one) = 11.875
    t = firm_table()
    t.loc["f3", "emission"] = 0.0
    e = evaluate(t, fixed_settings(), year=YEAR)
    assert e.loc["f3", "score_va_per_emission"] == pytest.approx((18.75 + 5.0) / 2)
    # the old behaviour is still available: no indicator listed -> 0 as missing
    s = fixed_settings()
    s["efficiency"]["zero_use"]["indicators"] = []
    assert evaluate(firm_table(), s, year=YEAR).loc["f3", "score_va_per_energy"] == 0.0
    from gis.efficiency import zero_use_rule
    assert "按未填报处理" in zero_use_rule(fixed_settings())
    assert "封顶" in zero_use_rule({**s, "efficiency": {**s["efficiency"], "zero_use": {
        "treat_as": "cap", "indicators": ["va_per_energy"]}}})


def test_zero_use_setting_is_checked():
    from gis._errors import ConfigError
    s = fixed_settings()
    s["efficiency"]["zero_use"]["treat_as"] = "best"
    with pytest.raises(ConfigError, match="zero_use.treat_as"):
        evaluate(firm_table(), s, year=YEAR)

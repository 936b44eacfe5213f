"""Every registered renewal rule against a table of hand-computed cases (esda style).

Each case is one 100 m × 100 m parcel (10 000 m² = 15 亩) of chain 其他 with
hand-given benchmarks: 标准地 FAR 1.2 (so the low-FAR threshold is
max(1.0, 0.6 × 1.2) = 1.0) and last year's 亩均税收 10 万元/亩 (so the
low-tax threshold is 0.4 × 10 = 4.0).  Evaluation year 2024: reference date
2024-12-31.  The expected numbers are worked out in the comments.
"""

import copy
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from gis import ConfigError
from gis.config import load_settings
from gis.renewal import REGISTRY, Outcome, rule, rule_results, unregister

X0, Y0 = 500_000.0, 3_240_000.0
NAN = np.nan
BASE = {"DLBM": "0601", "chain": "其他", "firms": 1, "tax": 90.0, "floor_area": 15000.0,
        "grade": "B", "grade_previous": "B", "any_above_size": False, "youngest_years": 10}

# (rule, changes to BASE, evaluated, failed, value, threshold, evidence)
CASES = [
    # FAR = 6 000 / 10 000 = 0.60 < 1.00
    ("low_far", {"floor_area": 6000.0}, True, True, 0.6, 1.0, "容积率 0.60 < 1.00"),
    ("low_far", {"floor_area": 12000.0}, True, False, 1.2, 1.0, "容积率 1.20 ≥ 1.00"),
    ("low_far", {"firms": 0, "tax": NAN, "floor_area": NAN}, False, False, NAN, 1.0,
     "无企业数据，未检验"),
    # 亩均税收 = 30 / 15 = 2.00 < 0.4 × 10 = 4.00
    ("low_tax", {"tax": 30.0}, True, True, 2.0, 4.0, None),
    ("low_tax", {"tax": 90.0}, True, False, 6.0, 4.0, None),
    ("dangerous_building", {"building_safety_grade": "c级"}, True, True, NAN, NAN,
     "房屋安全鉴定 C 级(危房)"),
    ("dangerous_building", {"building_safety_grade": "B"}, True, False, NAN, NAN, "房屋安全鉴定 B 级"),
    ("dangerous_building", {"building_safety_grade": ""}, False, False, NAN, NAN, "未提供房屋安全鉴定"),
    ("prohibited", {"industry_codes": "C1713;3360"}, True, True, NAN, NAN, "行业代码 C3360 属淘汰/禁止类"),
    ("prohibited", {"industry_codes": "C1811"}, True, False, NAN, NAN, "无淘汰/禁止类行业"),
    ("unrectified", {"safety_env_unrectified": "是"}, True, True, NAN, NAN, "安全环保问题整改不到位"),
    ("unrectified", {"safety_env_unrectified": "否"}, True, False, NAN, NAN, None),
    ("grade_d", {"grade": "D"}, True, True, NAN, NAN, "亩均评价等级 D"),
    ("grade_d", {"grade": None}, False, False, NAN, NAN, "无评价等级，未检验"),
    ("grade_c_twice", {"grade": "C", "grade_previous": "D"}, True, True, NAN, NAN,
     "亩均评价 本年 C，上年 D"),
    ("grade_c_twice", {"grade": "C", "grade_previous": None}, False, False, NAN, NAN,
     "无上年评价等级，未检验"),
    ("idle", {"firms": 0, "tax": NAN, "floor_area": NAN}, True, True, NAN, 0.0, "无入驻企业"),
    ("idle", {"DLBM": "0508", "firms": 0}, False, False, NAN, 0.0, "仓储用地企业不在工业企业名录，未检验"),
    # 2021-06-30 → 2024-12-31 = 1 280 days = 3.504 years ≥ 2
    ("idle_unstarted", {"supply_date": pd.Timestamp("2021-06-30")}, True, True, 1280 / 365.25, 2.0,
     "供地满 3.5 年未开工 ≥ 2 年"),
    ("idle_unstarted", {"supply_date": pd.Timestamp("2021-06-30"),
                        "start_date": pd.Timestamp("2022-01-01")}, True, False, 1280 / 365.25, 2.0,
     "供地后已开工，距供地 3.5 年"),
    # 2023-06-30 → 2024-12-31 = 550 days = 1.506 years < 2
    ("idle_stopped", {"stop_date": pd.Timestamp("2023-06-30")}, True, False, 550 / 365.25, 2.0,
     "停工满 1.5 年未复工 < 2 年"),
    ("idle_stopped", {"stop_date": pd.Timestamp("2020-01-01"),
                      "resume_date": pd.Timestamp("2021-05-04")}, True, False, None, 2.0,
     "停工后已于 2021-05-04 复工"),
    # 标准地 contracts: the land's verdict from gis.contracts.outputs.land_verdicts (idle, or late
    # by contracts.long_overdue_days); no contract on the land: not evaluated
    ("contract_breach", {"contract_breach": True,
                         "contract_evidence": "YW1 闲置：约定 2023-06-30 开工，未动工满 1 年"}, True, True,
     NAN, NAN, "YW1 闲置：约定 2023-06-30 开工，未动工满 1 年"),
    ("contract_breach", {"contract_breach": False, "contract_evidence": "标准地合同 YW2 按期：…"},
     True, False, NAN, NAN, "标准地合同 YW2 按期：…"),
    ("contract_breach", {"contract_breach": pd.NA}, False, False, NAN, NAN, "无标准地合同，未检验"),
    ("contract_breach", {}, False, False, NAN, NAN, "未提供标准地合同，未检验"),
    # the whole 15 亩 planned 0701 (housing) ≥ 0.5 亩
    ("against_plan", {"plan": "0701"}, True, True, 15.0, 0.5, "规划为非工业用地(0701) 15.00 亩 ≥ 0.5 亩"),
    ("against_plan", {"plan": "100101"}, True, False, 0.0, 0.5, "与规划相符(不符部分 0.00 亩 < 0.5 亩)"),
]


def _bench():
    return pd.DataFrame({"tax_avg_previous": [10.0, 10.0], "standard_far": [1.2, NAN],
                         "benchmark_tax_per_mu": [10.0, 10.0],
                         "benchmark_value_added_per_mu": [30.0, 30.0]},
                        index=pd.Index(["其他", "全部"], name="chain"))


def _case(changes):
    """(parcels, plan) of one case: the parcel and, when asked, a plan layer covering it."""
    changes = dict(changes)
    code = changes.pop("plan", None)
    row = {"parcel_id": "X1", **BASE, **changes, "area_mu": 15.0}
    geom = box(X0, Y0, X0 + 100, Y0 + 100)
    parcels = gpd.GeoDataFrame([row], geometry=[geom], crs="EPSG:4549")
    plan = None if code is None else gpd.GeoDataFrame(
        {"YDYHFLDM": [code]}, geometry=[box(X0 - 10, Y0 - 10, X0 + 110, Y0 + 110)], crs="EPSG:4549")
    return parcels, plan


@pytest.fixture(scope="module")
def settings():
    s = load_settings()
    s["renewal"]["prohibited_codes"] = ["C3360"]
    s["renewal"]["exemptions"] = {}
    return s


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_known_answers(case, settings):
    name, changes, evaluated, failed, value, threshold, evidence = case
    parcels, plan = _case(changes)
    rr = rule_results(parcels, settings, plan=plan, year=2024, benchmarks=_bench())
    got = rr[rr.rule == name].iloc[0]
    assert bool(got.evaluated) is evaluated
    assert bool(got.failed) is failed and bool(got.flagged) is failed   # no exemptions set
    for have, want in ((got.value, value), (got.threshold, threshold)):
        if want is not None:
            assert (math.isnan(have) and math.isnan(want)) or have == pytest.approx(want, rel=1e-9)
    if evidence is not None:
        assert got.evidence == evidence


def test_every_registered_rule_has_cases():
    covered = {c[0] for c in CASES}
    assert set(REGISTRY) <= covered, f"rules without known-answer cases: {set(REGISTRY) - covered}"
    # each rule has a failing and a non-failing case
    for r in REGISTRY:
        outcomes = {c[3] for c in CASES if c[0] == r}
        assert outcomes == {True, False} or r == "idle_stopped", r


def test_a_local_rule_is_one_function_and_one_setting(settings):
    @rule("low_coverage", "建筑系数偏低", settings=("local.low_coverage",))
    def low_coverage(p):
        cov = p.num("building_coverage")
        floor = float(p.local("low_coverage")["min"])
        ev = ~np.isnan(cov)
        return Outcome(ev, ev & (cov < floor), cov, np.full(p.n, floor),
                       np.where(ev, "建筑系数低", "缺少建筑系数，未检验"))

    try:
        parcels, _ = _case({"building_coverage": 0.25})
        s = copy.deepcopy(settings)
        with pytest.raises(ConfigError, match="renewal.local.low_coverage"):
            rule_results(parcels, s, year=2024, benchmarks=_bench())
        s["renewal"]["local"] = {"low_coverage": {"min": 0.3}}     # 0.25 < 0.30
        rr = rule_results(parcels, s, year=2024, benchmarks=_bench())
        got = rr[rr.rule == "low_coverage"].iloc[0]
        assert got.failed and got.rule_zh == "建筑系数偏低" and got.threshold == 0.3
        assert list(rr.rule)[-1] == "low_coverage"             # reported after the built-in rules
    finally:
        unregister("low_coverage")
    assert "low_coverage" not in REGISTRY


def test_rule_metadata_lives_in_the_registry():
    # the rules no exemption may lift, and those that apply to land in other use
    assert {r for r, v in REGISTRY.items() if not v.exemptible} == {
        "dangerous_building", "prohibited", "unrectified", "idle_unstarted", "idle_stopped",
        "contract_breach", "against_plan"}
    assert {r for r, v in REGISTRY.items() if v.other_use} == {"prohibited", "contract_breach",
                                                                "against_plan"}


def test_rule_functions_are_short():
    import inspect

    for r in REGISTRY.values():
        n = len(inspect.getsource(r.test).splitlines())
        assert n <= 30, f"rule {r.id} is {n} lines"
    assert len(inspect.getsource(rule_results).splitlines()) < 60


def test_local_rule_settings_load_from_yaml(tmp_path):
    path = tmp_path / "local.yaml"
    path.write_text("renewal:\n  local:\n    low_coverage: {min: 0.3}\n", encoding="utf-8")
    assert load_settings(path)["renewal"]["local"] == {"low_coverage": {"min": 0.3}}

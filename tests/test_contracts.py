"""标准地 履约: known answers for every status and every 53号令 boundary (esda style).

Every expected number is worked out by hand in the comments.  The check date
is 2025-12-31 unless a case says otherwise.  "One full year" after a date d is
the same calendar date a year later (29 Feb -> 28 Feb), full at the end of
that day (民法典 第二百零一条, 第二百零三条).
"""

import copy

import numpy as np
import pandas as pd
import pytest

from gis import ConfigError
from gis.config import default_settings, load_settings
from gis.contracts import anniversary, check_contracts, indicator_table

ON = "2025-12-31"
NAN = np.nan


def one(row, on=ON, settings=None, drop=()):
    """Check one contract given as a dict; ``start_actual``/``finish_actual`` columns present."""
    base = {"contract_id": "C1", "start_actual": None, "finish_actual": None}
    frame = pd.DataFrame([{**base, **row}]).drop(columns=list(drop))
    return check_contracts(frame, settings=settings, on=on).iloc[0]


# ------------------------------------------------------------------ statuses
def test_not_due():
    r = one({"start_due": "2026-03-01"})
    assert r["status_zh"] == "未到期"
    assert r["evidence"] == "约定 2026-03-01 开工，检查日 2025-12-31 未到期"


def test_on_time():
    r = one({"start_due": "2024-03-01", "start_actual": "2024-02-20", "finish_due": "2026-03-01"})
    assert r["status_zh"] == "按期"
    assert r["evidence"] == "约定 2024-03-01 开工，实际 2024-02-20 开工"


def test_started_before_the_start_is_due():
    r = one({"start_due": "2026-03-01", "start_actual": "2025-10-01"})
    assert r["status_zh"] == "按期" and r["evidence"] == "约定 2026-03-01 开工，实际 2025-10-01 开工"


def test_started_late_by_days():
    # 2024-03-01 -> 2024-03-31: 30 days
    r = one({"start_due": "2024-03-01", "start_actual": "2024-03-31"})
    assert (r["status_zh"], r["start_late_days"]) == ("开工逾期", 30)
    assert "逾期 30 天" in r["evidence"]


def test_not_started_late_not_yet_idle():
    # 2025-03-01 -> 2025-12-31: 30 (Mar) + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31 = 305 days
    r = one({"start_due": "2025-03-01"})
    assert (r["status_zh"], r["start_late_days"]) == ("开工逾期", 305)
    assert r["evidence"] == "约定 2025-03-01 开工，至 2025-12-31 未开工，逾期 305 天"


def test_finish_late():
    # 2025-06-30 -> 2025-12-31: 31 + 31 + 30 + 31 + 30 + 31 = 184 days
    r = one({"start_due": "2024-03-01", "start_actual": "2024-03-01", "finish_due": "2025-06-30"})
    assert (r["status_zh"], r["finish_late_days"]) == ("竣工逾期", 184)
    assert pd.isna(r["start_late_days"])


def test_acceptance_short_in_unit_and_share():
    # 投资强度 = 5 000 万元 / 20 亩 = 250 < 300: short 50 万元/亩 = 50/300 = 16.7 %;
    # FAR = 20 000 m² / (20 亩 × 666.667 m²) = 1.50 ≥ 1.2
    row = {"start_due": "2024-03-01", "start_actual": "2024-03-01", "finish_due": "2025-06-30",
           "finish_actual": "2025-05-01", "land_mu": 20.0, "t_investment_intensity": 300.0,
           "t_far": 1.2, "a_investment": 5000.0, "a_floor_area": 20000.0}
    r = one(row)
    assert r["status_zh"] == "对标验收未达标"
    assert r["short_indicators"] == "固定资产投资强度"
    assert r["evidence"] == "对标验收：固定资产投资强度 250.00 < 300.00万元/亩(差 50.00万元/亩，16.7%)"
    t = indicator_table(pd.DataFrame([{"contract_id": "C1", **row}]), on=ON).set_index("indicator")
    assert t.loc["investment_intensity", "shortfall"] == pytest.approx(50.0)
    assert t.loc["investment_intensity", "shortfall_share"] == pytest.approx(1 / 6)
    assert t.loc["far", "actual"] == pytest.approx(1.5)
    assert bool(t.loc["far", "met"]) and t.loc["far", "shortfall"] == 0.0


def test_review_short_and_other_indicators():
    # 亩均税收 = 400 / 20 = 20 < 25: short 5 万元/亩 = 20 %;
    # 单位能耗增加值 = 3 000 / 500 = 6 ≥ 5; R&D 占比 = 90 / 3 000 × 100 = 3.0 % ≥ 3 (met exactly)
    row = {"start_due": "2021-03-01", "start_actual": "2021-03-01", "finish_due": "2022-06-30",
           "finish_actual": "2022-06-30", "review_due": "2025-06-30", "land_mu": 20.0,
           "t_tax_per_mu": 25.0, "t_energy_va": 5.0, "t_rd_share": 3.0, "a_tax": 400.0,
           "a_value_added": 3000.0, "a_energy": 500.0, "a_rd": 90.0, "a_revenue": 3000.0}
    r = one(row)
    assert r["status_zh"] == "达产复核未达标"
    assert r["evidence"].startswith("达产复核：亩均税收 20.00 < 25.00万元/亩(差 5.00万元/亩，20.0%)")
    t = indicator_table(pd.DataFrame([{"contract_id": "C1", **row}]), on=ON).set_index("indicator")
    assert t.loc["energy_va", "actual"] == pytest.approx(6.0)
    assert t.loc["rd_share", "actual"] == pytest.approx(3.0) and bool(t.loc["rd_share", "met"])
    assert list(t["checkpoint_zh"]) == ["达产复核"] * 3


def test_review_date_from_production_plus_review_years():
    # no 达产复核 date: 投产 2022-06-30 + 3 years = 2025-06-30 ≤ 2025-12-31, due
    row = {"start_due": "2021-03-01", "start_actual": "2021-03-01", "production_due": "2022-06-30",
           "land_mu": 10.0, "t_tax_per_mu": 25.0, "a_tax": 100.0}
    assert one(row)["status_zh"] == "达产复核未达标"  # 10 < 25
    assert one(row, on="2025-06-29")["status_zh"] == "按期"  # one day before the review


def test_missing_data_says_what():
    row = {"start_due": "2021-03-01", "start_actual": "2021-03-01", "review_due": "2025-06-30",
           "land_mu": 20.0, "t_tax_per_mu": 25.0}
    r = one(row)
    assert (r["status_zh"], r["missing_data"]) == ("缺数据", "达产复核缺亩均税收数据")
    r = one({"start_due": None})
    assert (r["status_zh"], r["evidence"]) == ("缺数据", "缺约定开工日期")
    # no column of actual start dates at all: unknown, not "not started"
    r = one({"start_due": "2024-03-01"}, drop=("start_actual",))
    assert (r["status_zh"], r["evidence"]) == ("缺数据", "缺实际开工日期")


# ------------------------------------------------------------------ 53号令 boundaries
def test_idle_exactly_one_full_year():
    # start due 2024-12-31, not started: the year is full at the end of 2025-12-31
    r = one({"start_due": "2024-12-31", "price": 500.0})
    assert r["status_zh"] == "闲置"
    assert r["idle_since"] == pd.Timestamp("2025-12-31") and r["idle_years"] == 1
    assert r["idle_fee_base"] == pytest.approx(100.0)  # 20 % × 500 万元
    assert r["recovery_date"] == pd.Timestamp("2026-12-31") and not r["recoverable"]
    assert "闲置费基数 20%×出让价款 500.00 万元 = 100.00 万元" in r["evidence"]


def test_one_day_short_of_a_year_is_late_not_idle():
    # start due 2025-01-01: one full year only at the end of 2026-01-01; 364 days late
    r = one({"start_due": "2025-01-01", "price": 500.0})
    assert (r["status_zh"], r["start_late_days"]) == ("开工逾期", 364)
    assert pd.isna(r["idle_fee_base"])


def test_leap_day():
    assert anniversary(pd.to_datetime(["2024-02-29"]), 1)[0] == pd.Timestamp("2025-02-28")
    row = {"start_due": "2024-02-29"}
    assert one(row, on="2025-02-28")["status_zh"] == "闲置"
    r = one(row, on="2025-02-27")  # 2024-02-29 -> 2025-02-27: 364 days
    assert (r["status_zh"], r["start_late_days"]) == ("开工逾期", 364)


def test_two_years_recoverable():
    # due 2023-06-30: idle from 2024-06-30, two full years on 2025-06-30
    r = one({"start_due": "2023-06-30", "price": 1200.0})
    assert (r["status_zh"], r["idle_years"], bool(r["recoverable"])) == ("闲置", 2, True)
    assert r["recovery_date"] == pd.Timestamp("2025-06-30")
    assert "2025-06-30 已满 2 年，可无偿收回" in r["evidence"]
    assert r["idle_fee_base"] == pytest.approx(240.0)


STOPPED = {"start_due": "2023-06-01", "start_actual": "2023-03-01", "finish_due": "2026-12-31",
           "stop_date": "2024-12-31", "land_mu": 30.0, "floor_to_build": 30000.0,
           "total_investment": 10000.0}


@pytest.mark.parametrize("built, invested, stop, idle", [
    (9999.0, 5000.0, "2024-12-31", True),    # built 33.33 % < 1/3, stopped a full year
    (10000.0, 5000.0, "2024-12-31", False),  # exactly 1/3 built: not "不足三分之一"
    (20000.0, 2499.0, "2024-12-31", True),   # invested 24.99 % < 25 %
    (20000.0, 2500.0, "2024-12-31", False),  # exactly 25 %: not "不足百分之二十五"
    (9999.0, 2000.0, "2025-01-01", False),   # stopped one day less than a full year
])
def test_idle_stopped_boundaries(built, invested, stop, idle):
    r = one({**STOPPED, "built_area": built, "invested": invested, "stop_date": stop})
    assert (r["status_zh"] == "闲置") is idle
    if idle:
        assert r["idle_since"] == pd.Timestamp("2025-12-31")
    else:
        assert r["status_zh"] == "按期"


def test_area_to_build_from_contracted_far():
    # no floor_to_build: 1.5 × 30 亩 × 666.667 m² = 30 000 m²; 9 000 m² = 30 % < 1/3
    row = {**STOPPED, "floor_to_build": None, "t_far": 1.5, "built_area": 9000.0,
           "invested": 5000.0}
    assert one(row)["status_zh"] == "闲置"


def test_stopped_without_shares_is_missing():
    row = {**STOPPED, "total_investment": None, "floor_to_build": None}
    r = one(row)
    assert r["status_zh"] == "缺数据" and "缺已建面积与已投资额" in r["missing_data"]


# ------------------------------------------------------------------ one status, priority
def test_priority_idle_over_everything_and_other_findings_said():
    # not started (idle) and its review short: idle first, no 开工逾期 repeated
    row = {"start_due": "2023-06-30", "review_due": "2025-06-30", "land_mu": 10.0,
           "t_tax_per_mu": 25.0, "a_tax": 100.0}
    r = one(row)
    assert r["status_zh"] == "闲置"
    assert "另达产复核：亩均税收 10.00 < 25.00" in r["evidence"] and "另开工逾期" not in r["evidence"]
    assert "缺出让价款，闲置费基数未计" in r["evidence"]


def test_public_evidence_has_no_actual_figures():
    row = {"start_due": "2021-03-01", "start_actual": "2021-03-01", "review_due": "2025-06-30",
           "land_mu": 20.0, "t_tax_per_mu": 25.0, "a_tax": 400.0}
    r = one(row)
    assert "20.00" in r["evidence"]  # 亩均税收 400/20 = 20.00: internal
    # 公开版 names no confidential quantity: 亩均税收 is 亩均效益指标, without its value
    assert r["evidence_public"] == "达产复核：亩均效益指标 未达约定值"


def test_every_status_in_one_table():
    rows = [{"start_due": "2026-03-01"},
            {"start_due": "2024-03-01", "start_actual": "2024-02-20"},
            {"start_due": "2025-03-01"},
            {"start_due": "2024-03-01", "start_actual": "2024-03-01", "finish_due": "2025-06-30"},
            {"start_due": "2024-12-31"},
            {"start_due": None}]
    frame = pd.DataFrame([{"contract_id": f"C{i}", "start_actual": None, "finish_actual": None, **r}
                          for i, r in enumerate(rows)])
    got = check_contracts(frame, on=ON)["status_zh"].tolist()
    assert got == ["未到期", "按期", "开工逾期", "竣工逾期", "闲置", "缺数据"]


# ------------------------------------------------------------------ settings
def test_settings_checked_at_load(tmp_path):
    assert load_settings()["contracts"]["idle_years"] == 1
    bad = tmp_path / "s.yaml"
    bad.write_text("contracts:\n  fee_share: 1.5\n  review_indicators: [tax, far]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(bad)
    assert "contracts.fee_share" in str(e.value) and "unknown indicators ['tax']" in str(e.value)


def test_settings_change_thresholds():
    s = copy.deepcopy(default_settings())
    s["contracts"]["idle_years"] = 2  # a county counting two years (the old 147号 practice)
    assert one({"start_due": "2024-12-31"}, settings=s)["status_zh"] == "开工逾期"


# ------------------------------------------------------------------ the input file
import geopandas as gpd  # noqa: E402
from shapely import box  # noqa: E402

from gis.contracts.land import attach_contracts, holder_figures  # noqa: E402
from gis.contracts.load import date_cells, load_contracts  # noqa: E402
from gis.demo import make_uscc  # noqa: E402

CSV_HEAD = ("出让合同编号,宗地代码,受让人,统一社会信用代码,出让面积(亩),出让价款(万元),供地日期,"
            "约定动工开发日期,约定竣工日期,达产复核日期,投资强度(万元/亩),容积率,亩均税收(万元/亩),"
            "实际开工日期,X坐标,Y坐标\n")


def _land():
    """Two 100 m × 100 m land units (15 亩 each) with 宗地代码."""
    return gpd.GeoDataFrame({"BSM": ["P1", "P2"], "ZDDM": ["330782001001GB00001", "330782001001GB00002"]},
                            geometry=[box(500000, 3240000, 500100, 3240100),
                                      box(500200, 3240000, 500300, 3240100)], crs="EPSG:4549")


def test_load_csv_gbk_units_and_rejects(tmp_path):
    code = make_uscc(np.random.default_rng(1), 2)
    rows = [
        # row 2: fine; price "1.2亿元" = 12 000 万元; date written 2021年3月1日
        f"A1,330782001001GB00001,甲公司,{code[0]},15,1.2亿元,2020-12-01,2021年3月1日,2022/6/30,2025-06-30,300,1.2,25,2021-03-05,,\n",
        # row 3: unreadable date
        "A2,330782001001GB00002,乙公司,,15,800,2020-12-01,明年春天,2022-06-30,,300,1.2,25,,,\n",
        # row 4: start before supply
        "A3,330782001001GB00002,丙公司,,15,800,2021-12-01,2021-03-01,2022-06-30,,300,1.2,25,,,\n",
        # row 5: a 宗地代码 the land layer does not hold
        "A4,330782001001GB00099,丁公司,,15,800,2020-12-01,2021-03-01,2022-06-30,,300,1.2,25,,,\n",
        # row 6: no code, located by X/Y inside P2; price in the wrong unit
        "A5,,戊公司,,,50公顷,2020-12-01,2021-03-01,2022-06-30,,300,1.2,25,,500250,3240050\n",
        # row 7: no code, X/Y, fine (land area from P2: 15 亩)
        "A6,,己公司,,,900,2020-12-01,2021-03-01,2022-06-30,,300,1.2,25,,500250,3240050\n",
        # row 8: duplicate id of row 2
        "A1,330782001001GB00001,甲公司,,15,900,2020-12-01,2021-03-01,2022-06-30,,300,1.2,25,,,\n",
    ]
    path = tmp_path / "标准地合同.csv"
    path.write_bytes(("标准地出让合同台账\n" + CSV_HEAD + "".join(rows)).encode("gbk"))
    c, led = load_contracts(path)
    reasons = led.to_frame().set_index("row")["reason"].to_dict()
    assert reasons == {4: "bad_date", 5: "start_before_supply", 7: "not_a_number", 9: "duplicate_id"}
    assert c["contract_id"].tolist() == ["A1", "A4", "A6"]
    assert c.loc[0, "price"] == 12000.0 and c.loc[0, "start_due"] == pd.Timestamp("2021-03-01")
    assert c.loc[0, "uscc"] == code[0]
    got = attach_contracts(c, _land(), "BSM", ledger=led, code_col="ZDDM")
    assert got["contract_id"].tolist() == ["A1", "A6"]
    assert got["land_id"].tolist() == ["P1", "P2"] and got["land_by"].tolist() == ["宗地代码", "坐标"]
    assert got["land_mu"].tolist() == pytest.approx([15.0, 15.0])  # given; from the polygon (10 000 m²)
    e = led.to_frame()
    assert e.loc[e["reason"] == "unknown_land", "row"].tolist() == [6]
    assert "330782001001GB00099 不在宗地图层中" in e.loc[e["reason"] == "unknown_land", "message_zh"].iloc[0]
    b = led.balance().iloc[0]
    assert (b["rows_read"], b["loaded"], b["rejected"]) == (7, 2, 5)
    assert "读取 7 行 = 载入 2 + 拒绝 5" in led.balance_lines()[0]


def test_attach_by_holder_through_the_firm_table():
    c = pd.DataFrame({"contract_id": ["B1", "B2"], "uscc": ["U1", "U9"], "source_row": [2, 3]})
    firms = pd.DataFrame({"uscc": ["U1"], "parcel_id": ["P2"]})
    got = attach_contracts(c, _land(), "BSM", firms=firms)
    assert got["land_id"].tolist() == ["P2"] and got["land_by"].tolist() == ["受让人信用代码"]


def test_holder_share_of_figures():
    # firm holds 40 亩, the contract 10 亩: a quarter of its tax (400 -> 100)
    c = pd.DataFrame({"uscc": ["A"], "land_mu": [10.0]})
    f = pd.DataFrame({"uscc": ["A"], "land_mu": [40.0], "tax": [400.0], "value_added": [800.0],
                      "energy": [80.0]})
    h = holder_figures(c, f)
    assert h.loc[0, "a_tax"] == 100.0 and h.loc[0, "a_value_added"] / h.loc[0, "a_energy"] == 10.0


def test_header_unit_refused(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("地块编号,宗地代码,出让价款(美元)\nA1,Z1,100\n", encoding="utf-8")
    with pytest.raises(Exception, match="出让价款"):
        load_contracts(path)


def test_dates_excel_serial_and_text():
    d, bad = date_cells([44256, "2021.3.1", "2021-03-01 00:00:00", pd.Timestamp("2021-03-01"), "无"])
    assert d.dt.strftime("%Y-%m-%d").tolist()[:4] == ["2021-03-01"] * 4  # 44256 = 2021-03-01 in Excel
    assert not bad.any() and pd.isna(d.iloc[4])


def test_public_parts_hold_no_actual_figure_nor_confidential_word():
    from gis import confidential as conf
    from gis.contracts.outputs import report_parts

    rows = [{"contract_id": "P1", "holder": "甲", "land_id": "L1", "status": "", "start_due": "2021-03-01",
             "start_actual": "2021-03-01", "finish_actual": "2022-05-01", "review_due": "2025-06-30",
             "land_mu": 20.0, "t_tax_per_mu": 25.0, "t_far": 1.2, "a_tax": 412.3456,
             "a_floor_area": 18123.45, "t_energy_va": 5.0, "a_value_added": 3456.789, "a_energy": 987.6543}]
    c = pd.DataFrame(rows).drop(columns="status")
    ind = indicator_table(c, on=ON)
    res = {"contracts": c.join(check_contracts(c, on=ON, indicators=ind)), "indicators": ind}
    sheets, _, html = report_parts(res, public=True)
    text = "".join(f.to_csv() for f in sheets.values()) + "".join(t[0].to_csv() for t in html.values())
    assert conf.find_leaks(text, conf.confidential_needles([412.3456, 20.617, 3456.789, 987.6543]
                                                           + [18123.45 / (20 * 10000 / 15)])) == []
    assert "contract_indicators" not in sheets and "亩均效益指标" in text and "能效指标" in text
    internal, _, _ = report_parts(res, public=False)
    assert "税收" in internal["contract_indicators"].to_csv()  # negative control


# ------------------------------------------------------------------ the demo, end to end
def test_demo_has_every_status_and_ledgers_its_bad_rows(demo_full_run):
    from gis.contracts import STATUS_ZH
    from gis.pipeline import summary_lines

    res = demo_full_run.contracts
    c = res["contracts"]
    assert len(c) == 150 and set(c["status_zh"]) == set(STATUS_ZH.values())
    # every idle contract: fee base 20 % of the price, recovery two full years after its base date
    idle = c[c["status"] == "idle"]
    assert np.allclose(idle["idle_fee_base"], 0.2 * idle["price"])
    assert (idle["recovery_date"] > idle["idle_since"]).all()
    led = demo_full_run.ledger
    b = led.balance("contracts").iloc[0]
    assert (b["rows_read"], b["loaded"], b["rejected"]) == (153, 150, 3)
    e = led.to_frame()
    assert set(e.loc[e["file"] == b["file"], "reason"]) == {"bad_date", "start_before_supply", "unknown_land"}
    lines = summary_lines(demo_full_run)
    assert any(x.startswith("标准地履约: 合同 150 宗, 闲置 ") for x in lines)
    # idle land is a renewal candidate with the contract as its evidence
    rp = demo_full_run.renewal["renewal_parcels"]
    flagged = rp[rp["r_contract_breach"].fillna(False).astype(bool)]
    assert len(flagged) and flagged["evidence"].str.contains("闲置|逾期").all()
    assert set(idle["land_id"]) <= set(flagged["parcel_id"])

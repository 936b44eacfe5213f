"""Known answers for gis.figures on tiny hand-made inputs (expected values by hand)."""

import copy

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from gis import attach, figures, pipeline
from gis.config import load_settings

CRS = "EPSG:4549"
X0, Y0 = 500_000.0, 3_240_000.0


def settings(**attach_cfg):
    s = copy.deepcopy(load_settings())
    s["attach"].update(attach_cfg)
    return s


@pytest.fixture
def land():
    return pd.Series({"p": 30.0, "q": 10.0, "r": 20.0})


@pytest.fixture
def ev():
    # 甲 holds p and q (一企多地), 乙 shares q with it (一地多企), 丙 is too small to
    # be evaluated, 丁 has no parcel
    return pd.DataFrame({
        "uscc": ["U甲", "U乙", "U丙", "U丁"],
        "parcel_id": ["p", "q", "r", None],
        "parcel_ids": ["p;q", "q", "r", None],
        "land_mu": [36.0, 8.0, 2.0, 4.0],
        "tax": [400.0, 80.0, 10.0, 20.0],
        "value_added": [800.0, 160.0, 20.0, 40.0],
        "revenue": [1000.0, 400.0, 50.0, 100.0],
        "scope": ["graded", "graded", "out_of_scope", "scored_not_graded"],
        "class": ["C", "A", None, None],
    }, index=["甲", "乙", "丙", "丁"])


def test_shares_by_parcel_area(ev, land):
    sh = figures.firm_parcel_shares(ev, land)
    jia = sh[sh["unit"] == "甲"].set_index("parcel_id")["share"]
    # p 30 亩 and q 10 亩: 30/40 and 10/40
    assert jia.to_dict() == pytest.approx({"p": 0.75, "q": 0.25})
    assert sh.groupby("unit")["share"].sum().tolist() == pytest.approx([1.0] * 4)
    # a firm whose parcels have no land shares equally
    sh = figures.firm_parcel_shares(ev.iloc[:1], pd.Series({"p": 0.0, "q": 0.0}))
    assert sh["share"].tolist() == [0.5, 0.5]


def test_per_parcel_units_keep_their_parcel_whole(land):
    units = pd.DataFrame({"firm": ["甲", "甲"], "parcel_id": ["p", "q"],
                          "parcel_ids": ["p;q", "p;q"]})
    sh = figures.firm_parcel_shares(units, land, settings(multi_parcel="per_parcel"))
    assert sh["parcel_id"].tolist() == ["p", "q"] and sh["share"].tolist() == [1.0, 1.0]


def test_parcel_figures_known_answers(ev, land):
    t = figures.parcel_figures(ev, land, settings())
    # one measure per piece of land: a land unit's area is its own (p 30, q 10 亩),
    # never the firms' declared land; tax: p = 甲 × 30/40 = 300, q = 甲 × 10/40 + 乙 = 180;
    # r: only 丙 (out of scope) -> no row; 丁 has no land unit -> on no row
    assert set(t.index[:-1]) == {"p", "q"} and t.index[-1] == "全市合计"
    assert t.loc["p", ["area_mu", "tax"]].tolist() == pytest.approx([30.0, 300.0])
    assert t.loc["q", ["area_mu", "tax"]].tolist() == pytest.approx([10.0, 180.0])
    assert t.loc["p", "tax_per_mu"] == pytest.approx(300 / 30)
    assert t.loc["q", "tax_per_mu"] == pytest.approx(180 / 10)
    assert t.loc["q", "va_per_mu"] == pytest.approx((800 / 4 + 160) / 10)
    assert t.loc["q", "firms"] == 2 and t.loc["q", "n_A"] == 1 and t.loc["q", "n_C"] == 1
    assert t.loc["q", "grade"] == "C" and t.loc["p", "grade"] == "C"
    total = t.loc["全市合计"]
    # the land units: p + q = 40 亩, 480 万元; 甲 counts once although on two parcels
    assert total[["area_mu", "tax"]].tolist() == pytest.approx([40.0, 480.0])
    assert total["tax_per_mu"] == pytest.approx(480 / 40)
    assert (total["firms"], total["graded"], total["n_A"], total["n_C"]) == (2, 2, 1, 1)
    assert total["share_C"] == pytest.approx(0.5)


def test_parcel_figures_do_not_depend_on_the_shared_parcel_rule(ev, land):
    # how a firm's OWN land is found (shared_parcel) does not change the land unit's area
    a = figures.parcel_figures(ev, land, settings(shared_parcel="sum_to_parcel"))
    b = figures.parcel_figures(ev, land, settings(shared_parcel="equal"))
    assert a.loc["p", "area_mu"] == 30.0 and a.loc["q", "area_mu"] == 10.0
    assert a.loc["q", "tax_per_mu"] == pytest.approx(18.0)
    pd.testing.assert_frame_equal(a, b)


def test_worst_and_previous_class():
    assert figures.worst_class(pd.Series(["B", "D", "A"]), pd.Series(["x", "x", "y"])).to_dict() \
        == {"x": "D", "y": "A"}
    now = pd.DataFrame({"uscc": ["X", "Y", None]})
    prev = pd.DataFrame({"uscc": ["Y", "X", "Y"], "class": ["B", "C", "D"]})
    # the first row of a credit code is kept; a firm without a code gets none
    assert figures.previous_class(now, prev).tolist() == ["C", "B", None]


def _parcels():
    return gpd.GeoDataFrame(
        {"BSM": ["p", "q"], "DLBM": ["0601", "0601"], "TBDLMJ": [20000.0, 10000.0]},
        geometry=[box(X0, Y0, X0 + 200, Y0 + 100), box(X0 + 200, Y0, X0 + 300, Y0 + 100)],
        crs=CRS,
    )


def _firms(rows):
    cols = ["uscc", "parcel_id", "parcel_ids", "class", "tax"]
    f = pd.DataFrame(rows, columns=cols)
    return f.assign(value_added=1.0, floor_area=1.0, chain="其他", size_class="规下",
                    start_year=2010, industry_code="C1811", lessee=False, land_mu=10.0)


def test_c_two_years_joins_last_year_by_credit_code():
    # this year X (C) and Y (B) are on p.  Last year X was linked to q, and Z
    # (class A, gone this year) to p.  Joined by parcel, p's last class would be
    # Z's A (C two years missed) and q's X's C; by credit code p's is X's C.
    now = _firms([("X", "p", "p", "C", 5.0), ("Y", "p", "p", "B", 5.0)])
    prev = _firms([("X", "q", "q", "C", 5.0), ("Z", "p", "p", "A", 5.0)])
    facts = pipeline.parcel_facts(now, _parcels(), 2025, previous=prev).set_index("parcel_id")
    assert facts.loc["p", "grade"] == "C"
    assert facts.loc["p", "grade_previous"] == "C"
    # q has no firm this year: no previous class is carried over by parcel
    assert pd.isna(facts.loc["q", "grade_previous"])


def test_parcel_facts_share_like_the_parcel_sheet():
    # one firm on p (20000 m² = 30 亩) and q (10000 m² = 15 亩): 2/3 and 1/3 of its tax
    now = _firms([("X", "p", "p;q", "C", 90.0)])
    facts = pipeline.parcel_facts(now, _parcels(), 2025).set_index("parcel_id")
    assert facts["tax"].tolist() == pytest.approx([60.0, 30.0])
    assert facts["area_mu"].tolist() == pytest.approx([30.0, 15.0])


def test_zone_rule_min_share_and_townships():
    # a 100 × 100 parcel: 西台 covers 40 %, 东台 35 %, nothing 25 %
    parcel = gpd.GeoDataFrame({"BSM": ["p"]}, geometry=[box(0, 0, 100, 100)], crs=CRS)
    zones = gpd.GeoDataFrame({"name_zh": ["西台", "东台"]}, crs=CRS,
                             geometry=[box(-10, 0, 40, 100), box(40, 0, 75, 100)])
    z = attach.attach_zones(parcel, platforms=zones, parks=zones, townships=zones,
                            settings=settings())
    # platforms and parks need ≥ 50 %: none; townships take the largest share
    assert pd.isna(z.loc[0, "platform"]) and pd.isna(z.loc[0, "park"])
    assert z.loc[0, "township"] == "西台"
    z = attach.attach_zones(parcel, platforms=zones, settings=settings(zone_min_share=0.4))
    assert z.loc[0, "platform"] == "西台"
    rule = attach.zone_rule(settings())
    assert "50%" in rule and "镇街" in rule
    assert np.isclose(load_settings()["attach"]["zone_min_share"], 0.5)


def test_parcel_figures_per_parcel_units(land):
    # multi_parcel: per_parcel — 甲 is already two units (figures apportioned by
    # gis.attach.parcel_units): each unit stays whole on its parcel, and the total
    # counts 甲 once
    units = pd.DataFrame({
        "firm": ["甲", "甲", "乙"], "parcel_id": ["p", "q", "q"], "parcel_ids": ["p;q", "p;q", "q"],
        "land_mu": [27.0, 9.0, 8.0], "tax": [300.0, 100.0, 80.0],
        "scope": ["graded", "graded", "graded"], "class": ["C", "C", "A"],
    })
    t = figures.parcel_figures(units, land, settings(multi_parcel="per_parcel"))
    assert t.loc["p", ["area_mu", "tax"]].tolist() == pytest.approx([30.0, 300.0])
    assert t.loc["q", ["area_mu", "tax"]].tolist() == pytest.approx([10.0, 180.0])
    assert t.loc["全市合计", "firms"] == 2 and t.loc["全市合计", "n_C"] == 1

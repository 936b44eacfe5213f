"""Known answers for gis.land_figures: one measure per piece of land, tenants as a county rule.

The hand-made case (expected values computed by hand in each test):

* 图斑 P, 30 亩 (TBDLMJ 20 000 ㎡): landlord 甲 (own land 30 亩, tax 300, VA 900) lets
  to two tenants 乙 (租赁 6 亩, tax 120, VA 240) and 丙 (租赁 4 亩, tax 60, VA 100);
* 图斑 Q, 10 亩, and 图斑 R, 20 亩: 丁 holds both (一企多地: own land 30 亩, tax 150,
  VA 600), and 戊 (own land 5 亩, tax 50, VA 200) shares R with it (一地多企).
"""

import copy

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from gis import efficiency, land_figures, pipeline
from gis.config import load_settings
from gis.ledger import Ledger

CRS = "EPSG:4549"
X0, Y0 = 500_000.0, 3_240_000.0
M2_PER_MU = 10000 / 15


def settings(tenants="separate", **attach_cfg):
    s = copy.deepcopy(load_settings())
    s["efficiency"]["tenants"] = tenants
    s["attach"].update(attach_cfg)
    return s


@pytest.fixture
def area():
    return pd.Series({"P": 30.0, "Q": 10.0, "R": 20.0})


def _firms():
    return pd.DataFrame({
        "uscc": ["U甲", "U乙", "U丙", "U丁", "U戊"],
        "parcel_id": ["P", "P", "P", "R", "R"],
        "parcel_ids": ["P", None, None, "Q;R", "R"],
        "land_mu": [30.0, 0.0, 0.0, 30.0, 5.0],
        "leased_mu": [None, 6.0, 4.0, None, None],
        "lessee": [False, True, True, False, False],
        "tax": [300.0, 120.0, 60.0, 150.0, 50.0],
        "value_added": [900.0, 240.0, 100.0, 600.0, 200.0],
        "start_year": 2010,
    }, index=["甲", "乙", "丙", "丁", "戊"])


def _evaluated(s):
    """The firms with their land under the tenant rule and their scope (no score needed)."""
    f = land_figures.actual_land(_firms(), s)
    return f.assign(scope=efficiency.evaluation_scope(f, s, year=2025),
                    **{"class": ["B", None, None, "C", "A"]})


def test_separate_counts_only_the_firms_holding_the_land(area):
    s = settings("separate")
    t = land_figures.land_figures(_evaluated(s), area, s)
    # P: 甲 only, 300 / 30; Q: 丁 × 10/30 of its tax = 50, / 10; R: 丁 × 20/30 = 100 + 戊 50, / 20
    assert t.loc["P", ["area_mu", "tax", "tax_per_mu"]].tolist() == pytest.approx([30.0, 300.0, 10.0])
    assert t.loc["P", "va_per_mu"] == pytest.approx(900 / 30)
    assert t.loc["Q", ["area_mu", "tax", "tax_per_mu"]].tolist() == pytest.approx([10.0, 50.0, 5.0])
    assert t.loc["R", ["area_mu", "tax", "tax_per_mu"]].tolist() == pytest.approx([20.0, 150.0, 7.5])
    assert t.loc["R", "va_per_mu"] == pytest.approx((600 * 20 / 30 + 200) / 20)
    assert t.loc["P", "firms"] == 1 and t.loc["R", "firms"] == 2
    total = t.loc["全市合计"]
    # 60 亩 of land, 500 万元 of the three holders; 丁 counted once
    assert total[["area_mu", "tax", "tax_per_mu"]].tolist() == pytest.approx([60.0, 500.0, 500 / 60])
    assert total["firms"] == 3


def test_merged_adds_the_tenants_to_the_land_they_use(area):
    s = settings("merged")
    t = land_figures.land_figures(_evaluated(s), area, s)
    # P: 甲 300 + 乙 120 + 丙 60 = 480 on 30 亩; Q and R as under `separate`
    assert t.loc["P", ["area_mu", "tax", "tax_per_mu"]].tolist() == pytest.approx([30.0, 480.0, 16.0])
    assert t.loc["P", "va_per_mu"] == pytest.approx((900 + 240 + 100) / 30)
    assert t.loc["P", "firms"] == 3
    assert t.loc["Q", "tax_per_mu"] == pytest.approx(5.0)
    assert t.loc["R", "tax_per_mu"] == pytest.approx(7.5)
    total = t.loc["全市合计"]
    assert total[["area_mu", "tax"]].tolist() == pytest.approx([60.0, 680.0])
    assert total["firms"] == 5


def test_actual_land_gives_each_firm_own_plus_leased_minus_let(area):
    s = settings("actual_land")
    ev = _evaluated(s)
    # 甲: 30 − (6 + 4) = 20 亩; 乙 6, 丙 4 (leased); 丁, 戊 unchanged
    assert ev["land_mu"].tolist() == pytest.approx([20.0, 6.0, 4.0, 30.0, 5.0])
    assert ev["leased_out_mu"].tolist() == pytest.approx([10.0, 0.0, 0.0, 0.0, 0.0])
    # the tenants now have land of their own (≥ 3 亩) and are evaluated, not listed apart
    assert ev["scope"].tolist() == ["graded"] * 5
    ind = efficiency.indicators(ev)
    assert ind["tax_per_mu"].tolist() == pytest.approx([300 / 20, 120 / 6, 60 / 4, 150 / 30, 50 / 5])
    t = land_figures.land_figures(ev, area, s)
    # the land unit counts every firm using it, on its own area
    assert t.loc["P", ["area_mu", "tax", "tax_per_mu"]].tolist() == pytest.approx([30.0, 480.0, 16.0])
    assert t.loc["R", "tax_per_mu"] == pytest.approx(7.5)


def test_the_land_figure_never_uses_declared_land(area):
    # 丁 declares 30 亩 on Q + R (30 亩 together) and 戊 5 亩 more on R: the declared land
    # on R (20 + 5) exceeds R, but R's area stays its own 20 亩 under every rule
    for rule in land_figures.TENANT_RULES:
        s = settings(rule)
        t = land_figures.land_figures(_evaluated(s), area, s)
        assert t.loc["R", "area_mu"] == 20.0 and t.loc["P", "area_mu"] == 30.0, rule


def test_tenant_rule_is_checked_at_load():
    s = settings("shared")
    assert any("efficiency.tenants" in p for p in efficiency.settings_problems(s))
    assert not efficiency.settings_problems(settings("actual_land"))
    assert load_settings()["efficiency"]["tenants"] == "separate"


def test_declared_land_is_compared_with_the_land_units_area():
    # 甲 alone on P (30 亩) declares 40: noted; 丁 on Q + R (30 亩) declares 30: fine;
    # 戊 shares R with 丁 and declares 5 (< R's 20): fine; 己 shares R and declares 25 > 20: noted
    f = pd.DataFrame({"table_mu": [40.0, 30.0, 5.0, 25.0],
                      "parcel_id": ["P", "R", "R", "R"], "parcel_ids": ["P", "Q;R", "R", "R"],
                      "firms_on_parcel": [1, 3, 3, 3]}, index=["甲", "丁", "戊", "己"])
    bad = land_figures.declared_land_check(f, pd.Series({"P": 30.0, "Q": 10.0, "R": 20.0}), 0.1)
    assert bad.index.tolist() == ["甲", "己"]
    assert bad["unit_mu"].tolist() == pytest.approx([30.0, 20.0])
    assert bad["diff_share"].tolist() == pytest.approx([10 / 30, 5 / 20])


def _parcels():
    # P 30 亩 (20 000 ㎡) holds 甲; Q 15 亩 (10 000 ㎡) holds 乙
    return gpd.GeoDataFrame(
        {"BSM": ["P", "Q"], "DLBM": ["0601", "0601"],
         "TBDLMJ": [30 * M2_PER_MU, 15 * M2_PER_MU]},
        geometry=[box(X0, Y0, X0 + 200, Y0 + 100), box(X0 + 200, Y0, X0 + 300, Y0 + 100)],
        crs=CRS)


def test_attach_notes_a_firm_declaring_more_than_its_land():
    firms = gpd.GeoDataFrame(
        {"name": ["甲", "乙"], "uscc": ["U甲", "U乙"], "land_mu": [45.0, 15.5],
         "tax": [10.0, 10.0], "source_row": [2, 3]},
        geometry=gpd.points_from_xy([X0 + 100, X0 + 250], [Y0 + 50, Y0 + 50]), crs=CRS)
    ledger = Ledger()
    s = settings(infer_multi_parcel=False)
    pipeline.attach_firms(firms, _parcels(), {}, settings=s, ledger=ledger, source="企业.xlsx")
    notes = ledger.to_frame()
    notes = notes[notes["reason"] == "declared_land_differs"]
    # 甲 declares 45 亩 on a 30 亩 图斑 (50 % more); 乙 15.5 on 15 (3 %, within 10 %)
    assert notes["row"].tolist() == [2]
    assert notes["value"].tolist() == ["45.0"]
    assert "30.0" in notes["message_zh"].iloc[0] and "用地面积" in notes["column"].iloc[0]


# --------------------------------------------------------------------------
# the same rules with the 宗地 as the land unit (gis run --parcels)
# --------------------------------------------------------------------------
def _zongdi_case():
    """三调: T1 (0-300 m) holds 宗地 a, b, c (one 图斑 over three 宗地); 宗地 d spans T2 and T3
    (one 宗地 over two 图斑).  a, b, c: 10 000 ㎡ = 15 亩 each; d: 20 000 ㎡ = 30 亩.
    甲 holds a and lets to 乙 (5 亩) and 丙 (4 亩); 丁 holds b and c (一企多地); 戊 holds d."""
    from gis import cadastre
    from gis.identifiers import uscc_check_char

    def code(body):
        return body + uscc_check_char(body)

    u = {k: code(f"91330782MA2B0000{i}") for i, k in enumerate("甲乙丙丁戊", start=1)}
    sd = gpd.GeoDataFrame({"BSM": ["T1", "T2", "T3"], "DLBM": ["0601"] * 3, "TBDLMJ": [30000.0, 1e4, 1e4]},
                          geometry=[box(X0, Y0, X0 + 300, Y0 + 100), box(X0 + 300, Y0, X0 + 400, Y0 + 100),
                                    box(X0 + 400, Y0, X0 + 500, Y0 + 100)], crs=CRS)
    zd = gpd.GeoDataFrame(
        {"ZDDM": [f"330782001001GB0000{i}" for i in range(1, 5)], "YT": ["0601"] * 4,
         "ZDMJ": [1e4, 1e4, 1e4, 2e4], "uscc": [u["甲"], u["丁"], u["丁"], u["戊"]]},
        geometry=[box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)]
        + [box(X0 + 300, Y0, X0 + 500, Y0 + 100)], crs=CRS)
    units = cadastre.land_units(zd, sd)
    firms = gpd.GeoDataFrame(
        {"name": list("甲乙丙丁戊"), "uscc": [u[k] for k in "甲乙丙丁戊"],
         "land_mu": [15.0, 0.0, 0.0, 30.0, 30.0], "leased_mu": [None, 5.0, 4.0, None, None],
         "tax": [300.0, 100.0, 80.0, 600.0, 150.0], "value_added": [900.0, 200.0, 160.0, 1200.0, 600.0],
         "start_year": 2010, "source_row": [2, 3, 4, 5, 6]},
        geometry=gpd.points_from_xy([X0 + 50, X0 + 40, X0 + 60, X0 + 150, X0 + 450], [Y0 + 50] * 5),
        crs=CRS)
    return firms, units


def _zongdi_figures(rule):
    firms, units = _zongdi_case()
    s = land_figures.zongdi_settings(settings(rule))
    at = land_figures.actual_land(pipeline.attach_firms(firms, units, {}, settings=s), s)
    ev = at.assign(scope=efficiency.evaluation_scope(at, s, year=2025), **{"class": "B"})
    return ev, land_figures.land_figures(ev, land_figures.unit_area(units, s), s)


def test_zongdi_units_under_each_tenant_rule():
    a, b, c, d = (f"330782001001GB0000{i}" for i in range(1, 5))
    ev, t = _zongdi_figures("separate")
    # 丁 is one firm on b and c with their land summed (15 + 15); its tax shared by area
    assert ev.set_index("name").loc["丁", "land_mu"] == pytest.approx(30.0)
    assert ev.set_index("name").loc["丁", "n_parcels"] == 2
    assert t.loc[a, ["area_mu", "tax", "tax_per_mu"]].tolist() == pytest.approx([15.0, 300.0, 20.0])
    assert t.loc[b, "tax"] == pytest.approx(300.0) and t.loc[c, "tax_per_mu"] == pytest.approx(20.0)
    # d crosses two 图斑 and is one land unit of 30 亩
    assert t.loc[d, ["area_mu", "tax_per_mu"]].tolist() == pytest.approx([30.0, 5.0])
    assert t.loc["全市合计", "area_mu"] == pytest.approx(75.0)
    _, t = _zongdi_figures("merged")
    assert t.loc[a, ["tax", "tax_per_mu"]].tolist() == pytest.approx([480.0, 32.0])
    assert t.loc[d, "tax_per_mu"] == pytest.approx(5.0)
    ev, t = _zongdi_figures("actual_land")
    land = ev.set_index("name")["land_mu"]
    assert land[list("甲乙丙丁戊")].tolist() == pytest.approx([15.0 - 9.0, 5.0, 4.0, 30.0, 30.0])
    assert t.loc[a, ["area_mu", "tax", "tax_per_mu"]].tolist() == pytest.approx([15.0, 480.0, 32.0])

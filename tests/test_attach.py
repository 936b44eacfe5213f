"""Known-answer tests of gis.attach on hand-made parcels (EPSG:4549, metres)."""

import copy

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point, box

from gis import CRSError
from gis.attach import (
    area_of_largest_overlap,
    attach_firms,
    attach_zones,
    firm_land,
    firm_parcels,
    industrial_parcels,
    land_disagreements,
    parcel_land,
    parcel_links,
    parcel_units,
)
from gis.config import load_settings
from gis.efficiency import aggregate, evaluate

X0, Y0 = 500_000.0, 3_240_000.0  # central Yiwu in EPSG:4549
CRS = "EPSG:4549"


def b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def pt(x, y):
    return Point(X0 + x, Y0 + y)


@pytest.fixture
def parcels():
    # P1 and P2 industrial, 100 m of road (1003) between them, a residential
    # parcel (0701) to the north, a storage parcel (0508) to the east.
    return gpd.GeoDataFrame(
        {
            "BSM": ["P1", "RD", "P2", "R1", "W1"],
            "DLBM": ["0601", "1003", "0601", "0701", "0508"],
            "TBDLMJ": [10000.0, 10000.0, 5000.0, 10000.0, np.nan],
        },
        geometry=[b(0, 0, 100, 100), b(100, 0, 200, 100), b(200, 0, 300, 100),
                  b(0, 200, 100, 300), b(400, 0, 460, 100)],
        crs=CRS,
    )


def ids(s):
    """Values with every missing marker (None, NaN) as None."""
    return [None if pd.isna(v) else v for v in s]


def settings(**attach):
    s = copy.deepcopy(load_settings())
    s["attach"].update({"land_source": "parcel", **attach})
    return s


@pytest.fixture(autouse=True)
def parcel_land_source(monkeypatch):
    """These tests exercise the parcel-land policies: land_source = parcel.

    (The shipped default is ``table``, the land-use-right area.)
    """
    import gis.attach

    monkeypatch.setattr(gis.attach, "load_settings", lambda *a, **k: settings())


def firms_gdf(points, **cols):
    return gpd.GeoDataFrame(cols, geometry=points, crs=CRS, index=[f"f{i}" for i in range(len(points))])


def test_industrial_mask_and_parcel_land(parcels):
    assert industrial_parcels(parcels).tolist() == [True, False, True, False, True]
    mu = parcel_land(parcels)
    # TBDLMJ / (10000/15); W1 has no TBDLMJ -> geometry 60 × 100 m²
    assert mu["P1"] == pytest.approx(10000 * 15 / 10000)
    assert mu["P2"] == pytest.approx(7.5)
    assert mu["W1"] == pytest.approx(6000 * 15 / 10000)


def test_inside_snapped_unmatched(parcels):
    f = firms_gdf(
        [
            pt(50, 50),    # inside P1
            pt(110, 50),   # on the road, 10 m east of P1 -> snaps to P1
            pt(140, 50),   # on the road, 40 m from P1 and 60 m from P2 -> unmatched
            pt(50, 310),   # 10 m north of residential R1 only -> not snapped to it
            pt(430, 50),   # inside storage W1 (0508) -> inside
            None,          # no coordinates
            pt(300, 50),   # on P2's east edge -> inside
            pt(320, 50),   # 20 m east of P2 (open land) -> snapped
        ],
        uscc=list("abcdefgh"),
    )
    m = firm_parcels(f, parcels, snap_m=30)
    assert list(m.index) == list(f.index)
    assert m["match"].tolist() == ["inside", "snapped", "unmatched", "unmatched", "inside",
                                   "unmatched", "inside", "snapped"]
    assert ids(m["parcel_id"]) == ["P1", "P1", None, None, "W1", None, "P2", "P2"]
    assert m["snap_m"].iloc[1] == pytest.approx(10.0)
    assert m["snap_m"].iloc[7] == pytest.approx(20.0)
    assert m["snap_m"].iloc[0] == 0.0 and np.isnan(m["snap_m"].iloc[2])
    assert "DLBM=1003" in m["match_note"].iloc[2]
    assert m["match_note"].iloc[5] == "无坐标"
    # the 40 m point snaps when the distance allows it; the residential one
    # snaps to R1 only when non-industrial parcels are allowed
    assert firm_parcels(f, parcels, snap_m=45)["parcel_id"].iloc[2] == "P1"
    loose = firm_parcels(f, parcels, snap_m=30, industrial_only=False)
    assert loose["parcel_id"].iloc[3] == "R1" and loose["parcel_id"].iloc[2] == "RD"
    # reference: geopandas' nearest join gives the same distance
    ref = gpd.sjoin_nearest(f.iloc[[1]], parcels[parcels.DLBM == "0601"], distance_col="d")
    assert ref["d"].iloc[0] == pytest.approx(m["snap_m"].iloc[1])


def test_geographic_crs_refused(parcels):
    f = firms_gdf([pt(50, 50)]).to_crs("EPSG:4326")
    with pytest.raises(CRSError):
        firm_parcels(f, parcels)


def _land(f, parcels, s, register=None):
    m = firm_parcels(f, parcels, settings=s)
    links = parcel_links(f, m, register)
    return firm_land(f, links, parcel_land(parcels), s)


def test_shared_parcel_policies(parcels):
    # 一地多企: two firms declaring 6 and 4 亩 on P1 (15 亩)
    f = firms_gdf([pt(20, 20), pt(80, 80)], uscc=["a", "b"], land_mu=[6.0, 4.0],
                  tax=[90.0, 30.0], size_class=["规上", "规下"])
    split = _land(f, parcels, settings(shared_parcel="split_by_table_area"))
    assert split["land_mu"].tolist() == pytest.approx([15 * 6 / 10, 15 * 4 / 10])
    assert split["land_from"].tolist() == ["parcel", "parcel"]
    assert split["firms_on_parcel"].tolist() == [2, 2]
    eq = _land(f, parcels, settings(shared_parcel="equal"))
    assert eq["land_mu"].tolist() == pytest.approx([7.5, 7.5])
    stp = _land(f, parcels, settings(shared_parcel="sum_to_parcel"))
    assert stp["land_mu"].tolist() == [6.0, 4.0]
    assert stp["land_from"].tolist() == ["table", "table"]
    # the parcel is evaluated as Σ tax of its firms / parcel land
    e = evaluate(f.assign(land_mu=stp["land_mu"], parcel_id=stp["parcel_id"]), year=2025)
    a = aggregate(e, "parcel_id", land=parcel_land(parcels))
    assert a.loc["P1", "tax_per_mu"] == pytest.approx((90 + 30) / 15)
    assert a.loc["P1", "firms"] == 2
    # split shares also sum to the parcel
    a2 = aggregate(evaluate(f.assign(land_mu=split["land_mu"], parcel_id=split["parcel_id"]),
                            year=2025), "parcel_id")
    assert a2.loc["P1", "land_mu"] == pytest.approx(15) and a2.loc["P1", "tax_per_mu"] == pytest.approx(8)
    # a missing declared area falls back to equal shares
    g = f.assign(land_mu=[6.0, np.nan])
    assert _land(g, parcels, settings())["land_mu"].tolist() == pytest.approx([7.5, 7.5])


def test_land_source_table_and_unmatched(parcels):
    f = firms_gdf([pt(50, 50), pt(140, 50)], uscc=["a", "b"], land_mu=[12.0, 4.0])
    par = _land(f, parcels, settings(land_source="parcel"))
    # matched -> parcel land; unmatched -> table land
    assert par["land_mu"].tolist() == [15.0, 4.0]
    assert par["land_from"].tolist() == ["parcel", "table"]
    tab = _land(f, parcels, settings(land_source="table"))
    assert tab["land_mu"].tolist() == [12.0, 4.0]
    assert tab["parcel_mu"].iloc[0] == pytest.approx(15.0)


def test_multi_parcel_per_firm_and_per_parcel(parcels):
    # 一企多地: firm a sits on P1 and the register also gives it P2 (7.5 亩)
    f = firms_gdf([pt(50, 50), pt(430, 50)], uscc=["a", "b"], land_mu=[20.0, 9.0],
                  tax=[225.0, 18.0], size_class=["规上", "规上"])
    reg = pd.DataFrame({"uscc": ["a", "zz"], "parcel_id": ["P2", "P1"]})
    s = settings()
    land = _land(f, parcels, s, reg)
    assert land.loc["f0", "land_mu"] == pytest.approx(15 + 7.5)
    assert land.loc["f0", "n_parcels"] == 2 and land.loc["f0", "parcel_ids"] == "P1;P2"
    assert land.loc["f0", "parcel_id"] == "P1"
    assert land.loc["f1", "parcel_ids"] == "W1" and land.loc["f1", "n_parcels"] == 1
    m = firm_parcels(f, parcels, settings=s)
    units = parcel_units(f, parcel_links(f, m, reg), parcel_land(parcels), s)
    ua = units[units["firm"] == "f0"].set_index("parcel_id")
    assert ua["land_mu"].to_dict() == pytest.approx({"P1": 15.0, "P2": 7.5})
    assert ua["tax"].to_dict() == pytest.approx({"P1": 225 * 15 / 22.5, "P2": 225 * 7.5 / 22.5})
    assert len(units) == 3 and units["tax"].sum() == pytest.approx(225 + 18)
    # per parcel, each unit keeps the firm's 亩均 (10 万元/亩)
    e = evaluate(units, year=2025)
    assert e.loc[units["firm"] == "f0", "tax_per_mu"].tolist() == pytest.approx([10.0, 10.0])


def test_lessee_gets_no_share(parcels):
    f = firms_gdf([pt(20, 20), pt(80, 80)], uscc=["owner", "tenant"], land_mu=[6.0, 0.0],
                  leased_mu=[0.0, 3.0])
    land = _land(f, parcels, settings())
    assert land["lessee"].tolist() == [False, True]
    assert land.loc["f0", "land_mu"] == pytest.approx(15.0)  # the whole parcel
    assert land.loc["f1", "land_mu"] == 0.0
    assert land.loc["f0", "firms_on_parcel"] == 1


def test_land_disagreements(parcels):
    f = pd.DataFrame({"uscc": ["a", "b", "c"], "name": ["甲", "乙", "丙"],
                      "land_mu": [10.0, 14.0, 5.0]})
    d = land_disagreements(f, pd.Series([15.0, 15.0, np.nan]), tolerance=0.1)
    # |10−15| = 5 > 1.5 reported; |14−15| = 1 ≤ 1.5 not; c has no parcel
    assert d["uscc"].tolist() == ["a"]
    assert d["diff_mu"].iloc[0] == pytest.approx(-5)
    assert d["diff_share"].iloc[0] == pytest.approx(-1 / 3)


@pytest.fixture
def zones():
    platforms = gpd.GeoDataFrame({"name_zh": ["西台", "东台"], "id": [1, 2]},
                                 geometry=[b(-50, -50, 30, 150), b(30, -50, 250, 150)], crs=CRS)
    parks = gpd.GeoDataFrame({"name_zh": ["小园"], "id": [1]}, geometry=[b(0, 0, 50, 50)], crs=CRS)
    towns = gpd.GeoDataFrame({"name_zh": ["稠城", "江东"], "id": [1, 2]},
                             geometry=[b(-1000, -1000, 350, 1000), b(350, -1000, 2000, 1000)], crs=CRS)
    return platforms, parks, towns


def test_largest_overlap(parcels, zones):
    platforms, parks, towns = zones
    got = area_of_largest_overlap(parcels, platforms)
    # P1 [0,100]: 西台 covers x 0-30 (3000 m²), 东台 x 30-100 (7000 m²) -> 东台
    # P2 [200,300]: 东台 covers x 200-250 only -> 东台; R1 (y 200-300) and W1: none
    assert got.tolist() == ["东台", "东台", "东台", None, None]
    # reference by geopandas overlay for P1
    ov = gpd.overlay(parcels.iloc[[0]], platforms, how="intersection")
    assert ov.loc[ov.area.idxmax(), "name_zh"] == "东台"
    # P1 is in a platform and a park at once; a 50% minimum share (the default)
    # drops the park (25%)
    assert area_of_largest_overlap(parcels, parks, min_share=0.0).iloc[0] == "小园"
    assert area_of_largest_overlap(parcels, parks, min_share=0.5).iloc[0] is None
    assert area_of_largest_overlap(parcels, parks).iloc[0] is None
    z = attach_zones(parcels, platforms, parks, towns, settings=settings(zone_min_share=0.0))
    assert z.loc[0, ["platform", "park", "township"]].tolist() == ["东台", "小园", "稠城"]
    assert z.loc[4, "township"] == "江东" and z.loc[4, "platform"] is None


def test_attach_firms_one_call(parcels, zones):
    platforms, parks, towns = zones
    f = firms_gdf([pt(50, 50), pt(110, 50), pt(140, 50), pt(430, 50)],
                  uscc=list("abcd"), land_mu=[10.0, 5.0, 4.0, 8.0], leased_mu=[0, 0, 0, 0])
    out = attach_firms(f, parcels, platforms, parks, towns,
                       settings=settings(zone_min_share=0.0))
    assert list(out.index) == list(f.index)
    assert ids(out["parcel_id"]) == ["P1", "P1", None, "W1"]
    # P1 split 10:5 between a and b
    assert out["land_mu"].tolist() == pytest.approx([10.0, 5.0, 4.0, 9.0])
    assert ids(out["platform"]) == ["东台", "东台", "东台", None]
    assert out["township"].tolist() == ["稠城", "稠城", "稠城", "江东"]
    assert ids(out["park"]) == ["小园", "小园", None, None]
    for c in ["match", "snap_m", "match_note", "n_parcels", "table_mu", "parcel_mu", "land_from"]:
        assert c in out.columns


def test_inferred_multi_parcel_links(parcels):
    # P3: a free industrial 图斑 touching P1 on the north (50 m × 100 m = 7.5 亩)
    p = pd.concat([parcels, gpd.GeoDataFrame(
        {"BSM": ["P3"], "DLBM": ["0601"], "TBDLMJ": [5000.0]}, geometry=[b(0, 100, 100, 150)],
        crs=CRS)], ignore_index=True)
    # firm a declares 22 亩 but its point is in P1 (15 亩): P3 makes 22.5 (within 10%);
    # a lessee sits on P3 (does not make it taken)
    f = firms_gdf([pt(50, 50), pt(50, 120)], uscc=["a", "t"], land_mu=[22.0, 0.0],
                  leased_mu=[0.0, 2.0])
    out = attach_firms(f, p)
    assert out.loc["f0", "parcel_ids"] == "P1;P3" and out.loc["f0", "n_inferred"] == 1
    assert out.loc["f0", "land_mu"] == pytest.approx(15 + 7.5)
    assert out.loc["f0", "parcel_id"] == "P1"
    assert out.loc["f1", "land_mu"] == 0.0 and out.loc["f1", "n_inferred"] == 0
    # off by setting; nothing inferred within tolerance (16 亩 vs 15) or when the
    # neighbour would overshoot (17.5 亩: 15 + 7.5 = 22.5 > 17.5 × 1.1)
    assert attach_firms(f, p, settings=settings(infer_multi_parcel=False)).loc["f0", "n_inferred"] == 0
    assert attach_firms(f.assign(land_mu=[16.0, 0.0]), p).loc["f0", "n_parcels"] == 1
    assert attach_firms(f.assign(land_mu=[17.5, 0.0]), p).loc["f0", "n_parcels"] == 1
    # a parcel with an owner of its own is never taken
    g = f.assign(land_mu=[22.0, 3.0], leased_mu=[0.0, 0.0])
    out = attach_firms(g, p)
    assert out["n_parcels"].tolist() == [1, 1] and out["n_inferred"].sum() == 0
    # P2 (7.5 亩) across the 100 m road is too far
    assert attach_firms(f, parcels).loc["f0", "n_parcels"] == 1


def test_inferred_parcel_wanted_by_two_goes_to_nearer():
    p = gpd.GeoDataFrame(
        {"BSM": ["Pb", "Pa", "Pc"], "DLBM": ["0601"] * 3, "TBDLMJ": [10000.0, 10000.0, 5000.0]},
        geometry=[b(105, 0, 205, 100), b(0, 0, 100, 100), b(0, 100, 100, 150)], crs=CRS)
    # Pc touches Pa (gap 0) and is 5 m from Pb; both firms lack 7 亩
    f = firms_gdf([pt(150, 50), pt(50, 50)], uscc=["b", "a"], land_mu=[22.0, 22.0])
    out = attach_firms(f, p)
    assert out["parcel_ids"].tolist() == ["Pb", "Pa;Pc"]


def test_evaluation_units_per_firm_and_per_parcel(parcels, zones):
    from gis.attach import evaluation_units

    platforms, parks, towns = zones
    # firm a on P1 (15 亩) with P2 (7.5 亩) from the register; firm c unmatched
    f = firms_gdf([pt(50, 50), pt(140, 50)], uscc=["a", "c"], land_mu=[20.0, 4.0],
                  tax=[225.0, 8.0], size_class=["规上", "规下"])
    reg = pd.DataFrame({"uscc": ["a"], "parcel_id": ["P2"]})
    u = evaluation_units(f, parcels, platforms, parks, towns, register=reg)
    assert list(u.index) == list(f.index) and u.loc["f0", "land_mu"] == pytest.approx(22.5)
    assert u.loc["f1", "land_mu"] == 4.0 and u.crs == f.crs
    u2 = evaluation_units(f, parcels, platforms, parks, towns, register=reg,
                          settings=settings(multi_parcel="per_parcel", zone_min_share=0.0))
    assert len(u2) == 3
    a = u2[u2["firm"] == "f0"].set_index("parcel_id")
    assert a["land_mu"].to_dict() == pytest.approx({"P1": 15.0, "P2": 7.5})
    assert a["tax"].to_dict() == pytest.approx({"P1": 150.0, "P2": 75.0})
    # P1 is mostly in 东台 and in 小园; P2 in 东台 only
    assert a.loc["P1", "park"] == "小园" and pd.isna(a.loc["P2", "park"])
    c = u2[u2["firm"] == "f1"].iloc[0]
    assert c["land_mu"] == 4.0 and c["platform"] == "东台" and c["match"] == "unmatched"
    assert u2.geometry.notna().all()

"""Known-answer tests of gis.matching on a small hand-drawn set of sites.

Sites (EPSG:4549, 1 亩 = 10000/15 m²):
  I1  0601, no firm, 200 × 300 m = 90 亩, in 智能显示材料平台          -> idle
  BIG 0601, no firm, 400 × 500 m = 300 亩, in 智能显示材料平台         -> idle, larger than need
  L1+L2 0601, touching, 200 × 166.67 m = 50 亩 each, FAR 0.3, 金萧新区 -> one 100 亩 block
  L3  0601, 100 × 200 m = 30 亩                                        -> too small
  A1  0601, no firm, 400 × 183.33 m = 110 亩, planned 0701             -> idle, against plan
  F1  0101 耕地 300 × 200 m, plan 1001 on its east 200 m = 60 亩;
  F2  0201 园地 100 × 400 m = 60 亩 all planned 1001, touching F1        -> 120 亩 planned unbuilt
  H1  0702 住宅 200 × 283.33 m = 85 亩, planned 1001                     -> planned industrial, used otherwise
  R1  1004 road 200 × 300 m = 90 亩, planned 1001                         -> never offered
Scores (weights area 40, chain 30, ready 30) for 80–150 亩, 光电显示:
  I1 40+30+30 = 100; BIG 40×150/300+30+30 = 80; PU 40+0+30×0.7 = 61;
  A1 40+0+30×0.6 = 58; L block 40+0+30×0.6 = 58; H1 40+0+30×0.6 = 58
  (ties: nearest to the middle of the need, 115 亩, first: A1 110, L 100, H1 85).
"""

import math

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from gis import ValidationError
from gis.config import load_settings
from gis.matching import match_sites, parse_mu_range, planned_unbuilt
from gis.renewal import candidates, renewal_blocks, rule_results

X0, Y0 = 500_000.0, 3_240_000.0
CRS = "EPSG:4549"
H = 500 / 3


def b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


@pytest.fixture(scope="module")
def data():
    settings = load_settings()
    rows = [
        ("I1", "0601", b(0, 0, 200, 300), 0, 0.0, 0.0, "", "智能显示材料平台"),
        ("BIG", "0601", b(1000, 0, 1400, 500), 0, 0.0, 0.0, "", "智能显示材料平台"),
        ("L1", "0601", b(0, 1000, 200, 1000 + H), 1, 10.0, 10000.0, "纺织服装", "金萧新区"),
        ("L2", "0601", b(200, 1000, 400, 1000 + H), 1, 10.0, 10000.0, "纺织服装", "金萧新区"),
        ("L3", "0601", b(2000, 1000, 2100, 1200), 1, 10.0, 6000.0, "纺织服装", ""),
        ("A1", "0601", b(3000, 0, 3400, 550 / 3), 0, 0.0, 0.0, "", ""),
        ("F1", "0101", b(5000, 0, 5300, 200), 0, 0.0, 0.0, "", ""),
        ("F2", "0201", b(5300, 0, 5400, 400), 0, 0.0, 0.0, "", ""),
        ("H1", "0702", b(600, 0, 800, 850 / 3), 0, 0.0, float("nan"), "", ""),
        ("R1", "1004", b(600, 500, 800, 800), 0, 0.0, 0.0, "", ""),
    ]
    parcels = gpd.GeoDataFrame(
        pd.DataFrame([r[:2] + r[3:] for r in rows],
                     columns=["parcel_id", "DLBM", "firms", "tax", "floor_area", "chain", "platform"]),
        geometry=[r[2] for r in rows], crs=CRS)
    plan = gpd.GeoDataFrame(
        {"YDYHFLDM": ["100101", "0701", "0101", "100102"]},
        geometry=[b(-100, -100, 2900, 2000), b(2900, -100, 3500, 2000),
                  b(4900, -100, 5100, 500), b(5100, -100, 5500, 500)], crs=CRS)
    rr = rule_results(parcels, settings, plan=plan, year=2024)
    c = candidates(parcels, rr)
    blocks = renewal_blocks(c, settings=settings)
    return dict(settings=settings, parcels=parcels, plan=plan, c=c, blocks=blocks)


def test_parse_mu_range():
    assert parse_mu_range("80-150") == (80.0, 150.0)
    assert parse_mu_range("80～150亩") == (80.0, 150.0)
    assert parse_mu_range("12.5,20") == (12.5, 20.0)
    assert parse_mu_range("300+") == (300.0, math.inf)
    for bad in ("abc", "150-80", "0-10", "80-", "-5-10", ""):
        with pytest.raises(ValidationError, match="land need"):
            parse_mu_range(bad)


def test_planned_unbuilt_zone_by_hand(data):
    pu = planned_unbuilt(data["parcels"], data["plan"], data["settings"])
    assert len(pu) == 1
    assert pu.area_mu.iloc[0] == pytest.approx((200 * 200 + 100 * 400) / (10000 / 15))
    assert pu.cultivated_mu.iloc[0] == pytest.approx(200 * 200 / (10000 / 15))
    assert sorted(pu.parcel_ids.iloc[0]) == ["F1", "F2"]          # not the road R1


def test_roads_are_not_renewal_scope(data):
    assert "R1" not in set(data["c"].parcel_id)
    assert data["c"].set_index("parcel_id").loc["H1", "scope"] == "规划工业·现状他用"


def test_match_ranking_and_reasons(data):
    m = match_sites((80, 150), chain="光电显示", candidates=data["c"], blocks=data["blocks"],
                    parcels=data["parcels"], plan=data["plan"], settings=data["settings"],
                    lang="en")
    assert m.parcel_ids.tolist() == ["I1", "BIG", "F1,F2", "A1", "L1,L2", "H1"]
    assert m.score.tolist() == [100.0, 80.0, 61.0, 58.0, 58.0, 58.0]
    assert m["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert m.kind.tolist() == ["闲置工业用地", "闲置工业用地", "规划未建工业用地", "闲置工业用地",
                               "更新区块", "低效更新地块"]
    assert m.area_mu.tolist() == pytest.approx([90, 300, 120, 110, 100, 85])
    i1 = m.iloc[0]
    assert i1.why == ("面积 90.0 亩在需求 80–150 亩内；位于智能显示材料平台，主导产业含光电显示；"
                      "闲置工业用地，可收回再利用")
    assert i1.obstacles == "无"
    assert "大于需求，可分割出让" in m.iloc[1].why
    assert m.iloc[2].obstacles == "需农用地转用(含耕地 60.0 亩，占补平衡)"
    assert m.iloc[3].obstacles == "用地不符合规划(规划非工业 110.0 亩)，需调整规划"
    assert m.iloc[4].obstacles == "需搬迁企业 2 家(建筑面积 20000 m²)"
    assert m.iloc[4].far == pytest.approx(0.3)
    assert m.iloc[5].obstacles == "现状为非工业建设用地 85.0 亩，需收回/拆迁"


def test_match_filters(data):
    kw = dict(candidates=data["c"], blocks=data["blocks"], parcels=data["parcels"],
              plan=data["plan"], settings=data["settings"], lang="en")
    m = match_sites("80-150", chain="光电显示", platform="金萧", **kw)
    assert m.parcel_ids.tolist() == ["L1,L2"]
    m = match_sites("80-150", chain="光电显示", max_far=0.2, **kw)
    assert "L1,L2" not in m.parcel_ids.tolist() and len(m) == 5
    s = load_settings()
    s["renewal"]["match"]["allow_larger"] = False
    m = match_sites("80-150", chain="光电显示", **{**kw, "settings": s})
    assert "BIG" not in m.parcel_ids.tolist()
    m = match_sites("500+", **kw)
    assert len(m) == 0 and "score" in m.columns


def test_match_candidates_only_and_chinese_headers(data):
    m = match_sites((80, 150), chain="纺织服装", candidates=data["c"], settings=data["settings"])
    assert list(m.columns[:4]) == ["排名", "地块/区块编号", "类型", "面积(亩)"]
    # without blocks the 50 亩 parcels L1, L2 are too small on their own
    assert sorted(m["成员图斑"]) == ["A1", "BIG", "H1", "I1"]
    g = match_sites((80, 150), candidates=data["c"], settings=data["settings"], with_geometry=True)
    assert g.crs == CRS and g.geometry.area.min() > 0


def test_match_needs_some_land():
    with pytest.raises(ValidationError, match="give candidates"):
        match_sites((80, 150), settings=load_settings())


def test_construction_stopped_two_years_is_idle_land():
    # S1: 200 × 300 m = 90 亩, a firm with FAR 90 000 / 60 000 = 1.5 and tax,
    # but construction stopped on 1 Jan 2020 (5 years by 31 Dec 2024): idle land
    settings = load_settings()
    p = gpd.GeoDataFrame({
        "parcel_id": ["S1"], "DLBM": ["0601"], "firms": [1], "tax": [450.0],
        "floor_area": [90000.0], "chain": ["光电显示"],
        "stop_date": [pd.Timestamp("2020-01-01")],
    }, geometry=[b(0, 0, 200, 300)], crs=CRS)
    rr = rule_results(p, settings, year=2024)
    assert set(rr[rr.flagged].rule) == {"idle_stopped"}
    c = candidates(p, rr)
    blocks = renewal_blocks(c, settings=settings)
    for kw in ({"candidates": c}, {"candidates": c, "blocks": blocks}):
        m = match_sites((80, 150), settings=settings, lang="en", **kw)
        assert m.kind.tolist() == ["闲置工业用地"]
        assert m.area_mu.tolist() == pytest.approx([90.0])

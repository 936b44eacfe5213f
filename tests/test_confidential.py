"""The confidentiality policy (gis.confidential): columns, texts, marking, leak search."""

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
    (4.74, "亩均 4.74 万元", False),                        # too short to search soundly
    (27.364, "27.36 万元/亩", True),
])
def test_leak_search_matches_numbers_between_non_digit_boundaries(value, text, found):
    hits = conf.find_leaks(text.encode("utf-8"), conf.confidential_needles([value]), words=())
    assert bool(hits) is found, hits


def test_leak_search_finds_words_even_when_escaped():
    assert conf.find_leaks(b'{"a":"\\u7a0e\\u6536"}', []) == ["税收"]
    assert conf.find_leaks("无".encode("utf-8"), []) == []

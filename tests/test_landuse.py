"""Land-use code tables: names, colours, groups, the industrial test, the code collision."""

import re

import numpy as np
import pandas as pd
import pytest

from gis import ValidationError
from gis.landuse import (
    GROUPS,
    SANDIAO,
    YDYH,
    code_table,
    is_industrial,
    is_storage,
    landuse_colour,
    landuse_group,
    landuse_name,
)


def test_code_collision_0601():
    # 三调 0601 is industrial land; 用地用海 0601 is village roads (060101 村道用地)
    assert landuse_name("0601", "sandiao") == "工业用地"
    assert landuse_name("0601", "ydyh") == "乡村道路用地"
    assert landuse_name("060101", "ydyh") == "村道用地"
    assert landuse_group("0601", "sandiao") == "工业"
    assert landuse_group("0601", "ydyh") == "道路"
    assert list(is_industrial(["0601"], "sandiao")) == [True]
    assert list(is_industrial(["0601", "060101"], "ydyh")) == [False, False]
    assert landuse_colour("0601", "sandiao") != landuse_colour("0601", "ydyh")


@pytest.mark.parametrize(
    "code, name",
    [("0101", "水田"), ("0102", "水浇地"), ("0103", "旱地"), ("0201", "果园"), ("0301", "乔木林地"),
     ("05H1", "商业服务业设施用地"), ("0508", "物流仓储用地"), ("0601", "工业用地"), ("0602", "采矿用地"),
     ("0701", "城镇住宅用地"), ("0702", "农村宅基地"), ("08H1", "机关团体新闻出版用地"),
     ("08H2", "科教文卫用地"), ("1001", "铁路用地"), ("1003", "公路用地"), ("1004", "城镇村道路用地"),
     ("1101", "河流水面"), ("1104", "坑塘水面"), ("1107", "沟渠"), ("1202", "设施农用地"), ("1203", "田坎")],
)
def test_sandiao_names(code, name):
    assert landuse_name(code, "sandiao") == name


@pytest.mark.parametrize(
    "code, name",
    [("0101", "水田"), ("0701", "城镇住宅用地"), ("0703", "农村宅基地"), ("0901", "商业用地"),
     ("1001", "工业用地"), ("100101", "一类工业用地"), ("100102", "二类工业用地"), ("100103", "三类工业用地"),
     ("1002", "采矿用地"), ("1101", "物流仓储用地"), ("110101", "一类物流仓储用地"), ("110103", "三类物流仓储用地"),
     ("1102", "储备库用地"), ("1207", "城镇道路用地"), ("1401", "公园绿地"), ("1701", "河流水面"),
     ("1702", "湖泊水面"), ("1704", "坑塘水面")],
)
def test_ydyh_names(code, name):
    assert landuse_name(code, "ydyh") == name


def test_series_alignment_and_missing():
    s = pd.Series(["0601", None, "9999", "1104A", np.nan], index=[10, 11, 12, 13, 14])
    names = landuse_name(s, "sandiao")
    assert list(names.index) == [10, 11, 12, 13, 14]
    assert names[10] == "工业用地" and names[13] == "养殖坑塘"
    assert names[11] is None and names[12] is None and names[14] is None
    groups = landuse_group(s, "sandiao")
    assert list(groups) == ["工业", "其他", "其他", "水域", "其他"]
    colours = landuse_colour(s, "sandiao")
    assert colours[12] == "#CCCCCC"
    ind = is_industrial(s, "sandiao")
    assert list(ind.index) == [10, 11, 12, 13, 14]
    assert list(ind) == [True, False, False, False, False]


def test_prefix_fallback_and_case():
    # a level-3 code missing from the table takes its parent's name; codes are upper-cased
    assert landuse_name("10010201", "ydyh") == "二类工业用地"
    assert landuse_name("05h1", "sandiao") == "商业服务业设施用地"
    assert landuse_name(" 0508 ", "sandiao") == "物流仓储用地"


def test_is_industrial_storage_switch():
    codes = ["0601", "0508", "0604", "05H1", "0701"]
    assert list(is_industrial(codes, "sandiao")) == [True, True, True, False, False]
    assert list(is_industrial(codes, "sandiao", include_storage=False)) == [True, False, False, False, False]
    y = ["1001", "100101", "100103", "1101", "110102", "1102", "1002", "0901"]
    assert list(is_industrial(y, "ydyh")) == [True, True, True, True, True, False, False, False]
    assert list(is_industrial(y, "ydyh", include_storage=False)) == [True, True, True] + [False] * 5
    assert list(is_storage(y, "ydyh")) == [False, False, False, True, True, False, False, False]


def test_groups_cover_the_brief():
    s = ["0601", "0508", "05H1", "0701", "1004", "1104", "0101", "0301", "08H2"]
    assert list(landuse_group(s, "sandiao")) == ["工业", "仓储", "商业", "住宅", "道路", "水域", "耕地", "林地", "其他"]
    y = ["100101", "110101", "0901", "070102", "1207", "1704", "0103", "0301", "0804"]
    assert list(landuse_group(y, "ydyh")) == ["工业", "仓储", "商业", "住宅", "道路", "水域", "耕地", "林地", "其他"]


@pytest.mark.parametrize("system, table", [("sandiao", SANDIAO), ("ydyh", YDYH)])
def test_tables_well_formed(system, table):
    t = code_table(system)
    assert list(t.columns) == ["name", "colour", "group"]
    assert len(t) == len(table)
    assert t["colour"].map(lambda c: bool(re.fullmatch(r"#[0-9A-F]{6}", c))).all()
    assert set(t["group"]) <= set(GROUPS)
    # every level-2+ code has its level-1 parent
    assert all(code[:2] in table for code in table)


def test_unknown_system_lists_the_known_ones():
    with pytest.raises(ValidationError) as exc:
        landuse_name(["0601"], "gb50137")
    assert "sandiao" in str(exc.value) and "ydyh" in str(exc.value)
    with pytest.raises(ValueError):
        is_industrial(["0601"], "")

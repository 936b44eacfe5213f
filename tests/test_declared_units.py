"""Units declared in a unit row under the header, a 单位 line above the table, or the header.

Expected values by hand: 1 500 000 元 = 150 万元; 13 333.33 m² = 20 亩 (× 0.0015).
"""

import pytest
from conftest import ENTERPRISE_HEADERS_ZH

from gis import ValidationError
from gis.io import load_enterprises

PLAIN = [h.replace("(万元)", "").replace("(亩)", "") for h in ENTERPRISE_HEADERS_ZH]


def _load(path):
    return load_enterprises(path, coords="wgs84", boundary="bounds")


def test_unit_row_under_the_header_is_applied(tmp_path, write_xlsx, valid_enterprise_rows):
    units = ["", "", "", "", "", "", "", "(平方米)", "(亩)", "（元）", "(万元)", ""]
    rows = [list(r) for r in valid_enterprise_rows]
    rows[0][7], rows[0][9] = 13333.33, 1_500_000  # 甲: 20 亩 in m², 150 万元 in 元
    p = write_xlsx(tmp_path / "unit_row.xlsx", PLAIN, [units] + rows, title_rows=["2025年 企业名录"])
    firms, led = _load(p)
    assert len(firms) == 5 and led.rejected_rows == 0  # the unit row is header, not a firm
    assert firms.loc[0, "tax"] == pytest.approx(150.0)
    assert firms.loc[0, "land_mu"] == pytest.approx(20.0, abs=1e-4)
    assert firms.loc[0, "source_row"] == 4  # title, header, unit row above it
    assert firms.loc[0, "value_added"] == pytest.approx(900.0)  # (万元): unchanged


@pytest.mark.parametrize("line", ["金额单位：元", "单位：元", "单位: 元、亩", "填报单位：义乌市经信局  金额单位：元"])
def test_unit_line_above_the_table_is_applied(tmp_path, write_xlsx, valid_enterprise_rows, line):
    rows = [list(r) for r in valid_enterprise_rows]
    for r in rows:
        r[9] = r[9] * 10_000  # 税收 in 元
        r[10] = None if r[10] is None else r[10] * 10_000  # 增加值 in 元
    p = write_xlsx(tmp_path / "line.xlsx", PLAIN, rows, title_rows=["2025年 企业名录", line])
    firms, led = _load(p)
    assert firms["tax"].tolist() == pytest.approx([150.0, 800.0, 30.0, 400.0, 12.0])
    assert firms.loc[1, "value_added"] == pytest.approx(5000.0)
    assert firms["land_mu"].tolist() == pytest.approx([20, 60, 8, 45, 5])  # 亩: unchanged


def test_unit_in_the_header_with_a_unit_word(tmp_path, write_xlsx, valid_enterprise_rows):
    head = list(ENTERPRISE_HEADERS_ZH)
    head[9] = "税收（单位：元）"
    rows = [list(r) for r in valid_enterprise_rows]
    rows[0][9] = 1_500_000
    firms, _ = _load(write_xlsx(tmp_path / "h.xlsx", head, rows))
    assert firms.loc[0, "tax"] == pytest.approx(150.0)


@pytest.mark.parametrize("title,units", [
    (["金额单位：元"], None),  # header 税收(万元) vs line 元
    ([], ["", "", "", "", "", "", "", "", "", "元", "", ""]),  # header (万元) vs unit row 元
])
def test_conflicting_declarations_stop_in_one_line(tmp_path, write_xlsx, valid_enterprise_rows, title, units):
    rows = [list(r) for r in valid_enterprise_rows]
    if units is not None:
        units[7] = "亩"  # a second unit cell makes it a unit row
        rows = [units] + rows
    p = write_xlsx(tmp_path / "conflict.xlsx", ENTERPRISE_HEADERS_ZH, rows, title_rows=title)
    with pytest.raises(ValidationError) as info:
        _load(p)
    msg = str(info.value)
    assert "\n" not in msg and "税收(万元)" in msg and "元" in msg and "单位声明互相矛盾" in msg


def test_agreeing_declarations_pass(tmp_path, write_xlsx, valid_enterprise_rows):
    p = write_xlsx(tmp_path / "ok.xlsx", ENTERPRISE_HEADERS_ZH, valid_enterprise_rows,
                   title_rows=["金额单位：万元  面积单位：亩"])
    firms, _ = _load(p)
    assert firms["tax"].tolist() == pytest.approx([150.0, 800.0, 30.0, 400.0, 12.0])

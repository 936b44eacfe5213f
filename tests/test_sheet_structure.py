"""A sheet's structure below the header: second tables and repeated headers are ledgered, not read as firms."""

from conftest import ENTERPRISE_HEADERS_ZH, make_uscc

from gis.io import load_enterprises


def _load(path):
    return load_enterprises(path, coords="wgs84", boundary="bounds")


def test_second_table_below_the_first(tmp_path, write_xlsx, valid_enterprise_rows):
    gone = [list(r) for r in valid_enterprise_rows[:2]]
    gone[0][1], gone[1][1] = make_uscc(31), make_uscc(32)
    rows = valid_enterprise_rows + [[None] * 12, ["二、已注销企业"], ENTERPRISE_HEADERS_ZH] + gone
    firms, led = _load(write_xlsx(tmp_path / "two.xlsx", ENTERPRISE_HEADERS_ZH, rows, title_rows=["企业名录"]))
    # rows: 1 title, 2 header, 3-7 firms, 8 blank, 9 title, 10 header, 11-12 deregistered firms
    assert len(firms) == 5 and firms["source_row"].tolist() == [3, 4, 5, 6, 7]
    rej = led.rejects
    assert rej["row"].tolist() == [9, 10, 11, 12] and set(rej["reason"]) == {"second_table"}
    assert "第9行起" in rej["message_zh"].iloc[0] and "二、已注销企业" in rej["message_zh"].iloc[0]
    assert led.rejected_rows + len(firms) == 9


def test_second_table_with_a_repeated_header_after_a_blank_row(tmp_path, write_xlsx, valid_enterprise_rows):
    rows = valid_enterprise_rows[:3] + [[None] * 12, ENTERPRISE_HEADERS_ZH] + valid_enterprise_rows[3:]
    firms, led = _load(write_xlsx(tmp_path / "two.xlsx", ENTERPRISE_HEADERS_ZH, rows))
    # rows: 1 header, 2-4 firms, 5 blank, 6 header, 7-8 rows of the second table
    assert len(firms) == 3
    assert led.rejects["row"].tolist() == [6, 7, 8] and set(led.rejects["reason"]) == {"second_table"}


def test_header_repeated_on_every_page_is_one_ledger_row(tmp_path, write_xlsx, valid_enterprise_rows):
    rows = valid_enterprise_rows[:3] + [ENTERPRISE_HEADERS_ZH] + valid_enterprise_rows[3:]
    firms, led = _load(write_xlsx(tmp_path / "pages.xlsx", ENTERPRISE_HEADERS_ZH, rows))
    assert len(firms) == 5
    assert led.rejects["row"].tolist() == [5] and led.rejects["reason"].tolist() == ["repeated_header"]


def test_totals_row_in_the_middle_still_totals(tmp_path, write_xlsx, valid_enterprise_rows):
    rows = valid_enterprise_rows[:2] + [["小计"] + [None] * 9 + [950.0, None]] + valid_enterprise_rows[2:]
    firms, led = _load(write_xlsx(tmp_path / "sub.xlsx", ENTERPRISE_HEADERS_ZH, rows))
    assert len(firms) == 5 and led.rejects["reason"].tolist() == ["totals_row"]

"""Legacy .xls error cells are rejected as excel_error like in .xlsx.

The workbook (tests/fixtures/legacy_errors.xls) was written by xlwt
(scripts/make_legacy_xls_fixture.py): row 3 has #N/A under 税收 (a constant
error), row 4 a formula =1/0 with its cached #DIV/0! under 工业增加值.
"""

from pathlib import Path

from gis.io import load_enterprises
from gis.xls_errors import xls_error_cells

XLS = Path(__file__).parent / "fixtures" / "legacy_errors.xls"


def test_error_cells_read_from_the_biff_records():
    assert xls_error_cells(XLS, "企业名录") == {(2, 7): "#N/A", (3, 8): "#DIV/0!"}
    assert xls_error_cells(XLS, "no such sheet") == {}


def test_error_cells_rejected_as_excel_error():
    firms, led = load_enterprises(XLS, coords="wgs84", boundary="bounds")
    rej = led.rejects
    assert sorted(zip(rej["row"], rej["reason"], rej["column"])) == [
        (3, "excel_error", "税收(万元)"), (4, "excel_error", "工业增加值(万元)")]
    assert firms["source_row"].tolist() == [2, 5]
    assert "#DIV/0!" in rej.loc[rej["row"] == 4, "message_zh"].iloc[0]


def test_not_an_ole_file_gives_nothing(tmp_path):
    p = tmp_path / "x.xls"
    p.write_bytes(b"not a workbook")
    assert xls_error_cells(p, "Sheet1") == {}

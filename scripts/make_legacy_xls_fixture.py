"""Write tests/fixtures/legacy_errors.xls: a firm table in Excel 97-2003 format with error cells.

Written by xlwt (``pip install xlwt``; not a dependency of the project: the
.xls is committed).  Row 3 (Excel) holds a constant ``#N/A`` (BOOLERR record)
under 税收; row 4 a formula ``=1/0`` under 工业增加值 whose cached result is
set to ``#DIV/0!`` (what Excel stores: xlwt itself caches no result, so the
FORMULA record's result bytes are rewritten to the error form).

Run: python scripts/make_legacy_xls_fixture.py
"""

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import xlwt  # noqa: E402
from conftest import make_uscc  # noqa: E402

HEAD = ["企业名称", "统一社会信用代码", "行业代码", "规上/规下", "经度", "纬度", "用地面积(亩)", "税收(万元)",
        "工业增加值(万元)"]
ROWS = [
    ["义乌甲服装有限公司", make_uscc(1), "C1811", "规上", 120.06, 29.37, 20, 150.0, 900.0],
    ["义乌乙光电有限公司", make_uscc(2), "C3974", "规上", 120.13, 29.42, 60, None, 5000.0],  # 税收 #N/A
    ["义乌丙化妆品有限公司", make_uscc(3), "C2682", "规上", 120.03, 29.28, 8, 30.0, None],  # 增加值 =1/0
    ["义乌丁汽配有限公司", make_uscc(4), "C3670", "规上", 120.10, 29.29, 45, 400.0, 3000.0],
]


def main(path=None):
    path = Path(path) if path else ROOT / "tests" / "fixtures" / "legacy_errors.xls"
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("企业名录")
    for j, h in enumerate(HEAD):
        ws.write(0, j, h)
    for i, r in enumerate(ROWS, start=1):
        for j, v in enumerate(r):
            if v is not None:
                ws.write(i, j, v)
    ws.row(2).set_cell_error(7, 0x2A)  # #N/A (xlwt's map misspells the text '#N/A!')
    ws.write(3, 8, xlwt.Formula("1/0"))
    wb.save(str(path))
    data = bytearray(path.read_bytes())
    # the FORMULA record (type 6) of row 3, col 8: result bytes -> error #DIV/0! (2, 0, 7, ..., 0xFFFF)
    key = struct.pack("<HHHH", 0x0006, 0, 3, 8)
    at = data.find(key[:2], 0)
    while at >= 0:
        if data[at + 4:at + 8] == struct.pack("<HH", 3, 8):
            data[at + 10:at + 18] = bytes([2, 0, 7, 0, 0, 0, 0xFF, 0xFF])
            break
        at = data.find(key[:2], at + 1)
    path.write_bytes(bytes(data))
    return path


if __name__ == "__main__":
    print(main())

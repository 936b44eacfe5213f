"""Loading and validation: known answers for every reject reason and format.

Expected counts are written by hand from the fixture rows; coordinates are
checked against pyproj directly.
"""

import csv

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import ENTERPRISE_HEADERS_ZH, TOWNSHIP_CENTRES, make_uscc
from pyproj import Transformer

import gis.io
from gis import CRSError, ValidationError
from gis.crs import wgs84_to_bd09, wgs84_to_gcj02
from gis.io import load_enterprises, parse_numbers, read_landuse, read_layer, read_plan, read_table
from gis.ledger import REASONS, BalanceError, Ledger

TO_4549 = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)
C = TOWNSHIP_CENTRES
HEADERS = ENTERPRISE_HEADERS_ZH + ["高新技术企业"]


def row(name, code, lonlat, land=10, tax=100.0, *, industry="C1811", size="规上", leased=0, va=None,
        year=2010, flag="否"):
    return [name, code, industry, "", size, lonlat[0], lonlat[1], land, leased, tax, va, year, flag]


# ---------------------------------------------------------------- the mixed table
def mixed_rows():
    u1 = make_uscc(1)
    return [
        row("甲", u1, C["大陈"]),  # 1 valid -> loaded
        row("乙", make_uscc(2)[:-1] + ("0" if make_uscc(2)[-1] != "0" else "1"), C["苏溪"]),  # 2 bad_uscc
        row("丙", make_uscc(3), C["义亭"], tax="abc"),  # 3 not_a_number
        row("丁", make_uscc(4), C["赤岸"], tax=None),  # 4 missing_value (tax)
        row("戊", u1, C["稠江"]),  # 5 duplicate_uscc of row 1
        row("己", make_uscc(6), (120.155, 30.274)),  # 6 outside_yiwu (杭州)
        row("庚", make_uscc(7), C["佛堂"], land=0, leased=0),  # 7 zero_land_area
        row("辛", make_uscc(8), (C["北苑"][1], C["北苑"][0])),  # 8 swapped_coordinates
        row("壬", make_uscc(9), (500.0, 29.3)),  # 9 bad_coordinates
        row("癸", make_uscc(10), C["后宅"], year=1850),  # 10 bad_year
        row("子", make_uscc(11), C["江东"], size="大型"),  # 11 bad_size_class
        row("丑", make_uscc(12), C["福田"], industry="XYZ"),  # 12 bad_industry_code
        row("寅", make_uscc(13)[:10], C["城西"], tax="十二"),  # 13 bad_uscc AND not_a_number
        # 14 valid: numbers as text, full-width land, 万 in a 万元 column, lessee with land 0
        row("卯", make_uscc(14), C["上溪"], land="0", leased="３", tax="1,234.5", va="12.5万", year="2015年"),
        row("辰", make_uscc(15), C["廿三里"], flag="也许"),  # 15 bad_flag
        row(None, make_uscc(16), C["稠城"]),  # 16 missing_value (name)
    ]


@pytest.fixture(params=["calamine", "openpyxl"])
def excel_engine(request, monkeypatch):
    """Run a test with python-calamine (when installed) and with the openpyxl fallback."""
    if request.param == "openpyxl":
        def unavailable(*args, **kwargs):
            raise ImportError("python_calamine")

        monkeypatch.setattr(gis.io.tables, "_read_calamine", unavailable)
    else:
        pytest.importorskip("python_calamine")
    return request.param


@pytest.fixture
def mixed_xlsx(tmp_path, write_xlsx):
    rows = mixed_rows()
    rows.insert(8, [None] * len(HEADERS))  # a blank row: not a data row, not counted
    return write_xlsx(tmp_path / "企业名单.xlsx", HEADERS, rows,
                      title_rows=["2023年度义乌市工业企业亩均效益评价名单", ["单位：万元、亩"]])


def test_mixed_table_balance_and_every_reason(mixed_xlsx, yiwu_box_4549, excel_engine):
    firms, led = load_enterprises(mixed_xlsx, coords="wgs84", boundary=yiwu_box_4549)
    # by hand: 16 data rows; rows 1 and 14 pass; 14 rows rejected, row 13 twice
    assert len(firms) == 2
    assert led.rejected_rows == 14
    assert len(led.rejects) == 15
    led.check_balance(16, 2)
    led.check_balance()  # the recorded source balances too
    src = led.sources()
    assert src[["rows_read", "loaded", "rejected"]].iloc[0].tolist() == [16, 2, 14]
    # header in Excel row 3 (two title rows), so data row k is Excel row k + 3,
    # except after the blank row inserted before data row 9 (one more)
    def excel(k):
        return k + 3 + (1 if k >= 9 else 0)

    rej = led.rejects
    by_reason = rej.groupby("reason")["row"].apply(sorted).to_dict()
    assert by_reason == {
        "bad_uscc": [excel(2), excel(13)],
        "not_a_number": [excel(3), excel(13)],
        "missing_value": [excel(4), excel(16)],
        "duplicate_uscc": [excel(5)],
        "outside_yiwu": [excel(6)],
        "zero_land_area": [excel(7)],
        "swapped_coordinates": [excel(8)],
        "bad_coordinates": [excel(9)],
        "bad_year": [excel(10)],
        "bad_size_class": [excel(11)],
        "bad_industry_code": [excel(12)],
        "bad_flag": [excel(15)],
    }
    dup = rej[rej.reason == "duplicate_uscc"].iloc[0]
    assert "第4行" in dup.message_zh and "row 4" in dup.message_en  # row 1 of the data = Excel row 4
    nan_ = rej[(rej.reason == "not_a_number") & (rej.row == excel(3))].iloc[0]
    assert (nan_.column, nan_.value) == ("税收(万元)", "abc")
    assert rej.file.unique().tolist() == ["企业名单.xlsx"] and rej.layer.unique().tolist() == ["企业"]
    # the loaded rows, parsed by hand
    assert firms.source_row.tolist() == [excel(1), excel(14)]
    assert firms.index.equals(pd.RangeIndex(2))
    f14 = firms.iloc[1]
    assert f14.tax == 1234.5 and f14.value_added == 12.5 and f14.leased_mu == 3.0 and f14.land_mu == 0
    assert f14.start_year == 2015 and f14.chain == "纺织服装" and f14.size_class == "规上"
    assert firms.high_tech.tolist() == [False, False]
    assert firms.crs == "EPSG:4549"
    x, y = TO_4549.transform(*C["大陈"])
    assert firms.geometry.iloc[0].distance(shapely.Point(x, y)) < 1e-6


def test_summary_and_csv(mixed_xlsx, yiwu_box_4549, tmp_path):
    _, led = load_enterprises(mixed_xlsx, coords="wgs84", boundary=yiwu_box_4549)
    summ = led.summary().set_index("reason")
    assert summ.loc["bad_uscc", "entries"] == 2 and summ.loc["not_a_number", "rows"] == 2
    assert summ.loc["outside_yiwu", "label_zh"] == "不在义乌市范围内"
    out = led.write_csv(tmp_path / "out" / "rejects.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel on Chinese Windows reads UTF-8
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert list(back.columns) == ["file", "layer", "row", "column", "value", "reason", "severity",
                                  "message_zh", "message_en"]
    assert len(back) == 15 and (back.severity == "reject").all()


def test_every_reason_is_documented():
    for reason, (severity, label, zh, en) in REASONS.items():
        assert severity in ("reject", "note") and label and zh and en


def test_default_boundary_is_the_county_outline(tmp_path, write_xlsx):
    pytest.importorskip("gis.layers")
    rows = [row("甲", make_uscc(1), C["稠城"]), row("乙", make_uscc(2), (119.70, 29.0))]  # 2: in the box, not in Yiwu
    path = write_xlsx(tmp_path / "t.xlsx", HEADERS, rows)
    firms, led = load_enterprises(path, coords="wgs84")
    assert firms.name.tolist() == ["甲"]
    assert led.rejects.reason.tolist() == ["outside_yiwu"]


# ---------------------------------------------------------------- coordinates
def test_gcj02_input_lands_on_the_wgs84_truth(tmp_path, write_xlsx, yiwu_box_4549):
    truth = [(120.0751, 29.3069), (119.9412, 29.3388)]
    gcj = [wgs84_to_gcj02(*t) for t in truth]
    bd = [wgs84_to_bd09(*t) for t in truth]
    for system, pts in (("gcj02", gcj), ("bd09", bd)):
        rows = [row(f"企{i}", make_uscc(i), p) for i, p in enumerate(pts)]
        path = write_xlsx(tmp_path / f"{system}.xlsx", HEADERS, rows)
        firms, led = load_enterprises(path, coords=system, boundary=yiwu_box_4549)
        assert len(firms) == 2 and led.rejected_rows == 0
        tx, ty = TO_4549.transform(*np.array(truth).T)
        assert np.abs(firms.geometry.x.to_numpy() - tx).max() < 0.01  # 1 cm
        assert np.abs(firms.geometry.y.to_numpy() - ty).max() < 0.01
        assert np.allclose(firms.lon, [t[0] for t in truth], atol=1e-7)
    # the GCJ-02 offset in central Yiwu is hundreds of metres (domain.md: ~460 m E, 280 m S)
    gx, gy = TO_4549.transform(*gcj[0])
    assert 300 < np.hypot(gx - tx[0], gy - ty[0]) < 700


def test_projected_xy_columns_recognised(tmp_path, write_xlsx, yiwu_box_4549):
    # a bureau table with X/Y in EPSG:4549 (one row with the 4528 zone prefix would
    # break the bounds, so all in 4549) plus one row in degrees, which is then bad
    pts = [C["稠城"], C["苏溪"]]
    xy = [TO_4549.transform(*p) for p in pts]
    header = ["企业名称", "统一社会信用代码", "行业代码", "规上/规下", "X", "Y", "用地面积(亩)", "税收(万元)"]
    rows = [["甲", make_uscc(1), "C1811", "规上", *xy[0], 10, 5], ["乙", make_uscc(2), "C1811", "规上", *xy[1], 10, 5],
            ["丙", make_uscc(3), "C1811", "规上", *pts[0], 10, 5], ["丁", make_uscc(4), "C1811", "规上", *xy[0], 10, 5],
            ["戊", make_uscc(5), "C1811", "规上", *xy[1], 10, 5], ["己", make_uscc(6), "C1811", "规上", *xy[0], 10, 5],
            ["庚", make_uscc(7), "C1811", "规上", *xy[1], 10, 5], ["辛", make_uscc(8), "C1811", "规上", *xy[0], 10, 5],
            ["壬", make_uscc(9), "C1811", "规上", *xy[1], 10, 5], ["癸", make_uscc(10), "C1811", "规上", *xy[0], 10, 5],
            ["子", make_uscc(11), "C1811", "规上", *xy[1], 10, 5]]
    path = write_xlsx(tmp_path / "xy.xlsx", header, rows)
    firms, led = load_enterprises(path, boundary=yiwu_box_4549)  # coords (gcj02) does not apply to metres
    assert len(firms) == 10 and led.rejects.reason.tolist() == ["bad_coordinates"]
    assert np.allclose(firms.geometry.x.iloc[:2], [xy[0][0], xy[1][0]], atol=1e-6)
    assert np.allclose(firms.lon.iloc[:2], [pts[0][0], pts[1][0]], atol=1e-8)


def test_lessees_kept_and_zero_land_rejected(tmp_path, write_xlsx, yiwu_box_4549):
    rows = [row("租户甲", make_uscc(1), C["稠城"], land=None, leased=5),  # blank land, leased: kept, land 0
            row("租户乙", make_uscc(2), C["稠城"], land=0, leased=2.5),  # kept
            row("无地丙", make_uscc(3), C["稠城"], land=None, leased=0),  # missing_value
            row("无地丁", make_uscc(4), C["稠城"], land=-1, leased=None)]  # zero_land_area
    path = write_xlsx(tmp_path / "lessees.xlsx", HEADERS, rows)
    firms, led = load_enterprises(path, coords="wgs84", boundary=yiwu_box_4549)
    assert firms.name.tolist() == ["租户甲", "租户乙"] and firms.land_mu.tolist() == [0.0, 0.0]
    assert sorted(zip(led.rejects.row, led.rejects.reason)) == [(4, "missing_value"), (5, "zero_land_area")]


def test_whole_table_swapped_is_one_error(tmp_path, write_xlsx):
    rows = [row(f"企{i}", make_uscc(i), (c[1], c[0])) for i, c in enumerate(C.values())]
    path = write_xlsx(tmp_path / "swapped.xlsx", HEADERS, rows)
    with pytest.raises(ValidationError, match="swap"):
        load_enterprises(path, coords="wgs84", boundary="bounds")


def test_unknown_coords_system(mixed_xlsx):
    with pytest.raises(CRSError, match="gcj02"):
        load_enterprises(mixed_xlsx, coords="mars")


# ---------------------------------------------------------------- tables
def test_missing_columns_one_error_listing_all(tmp_path, write_xlsx):
    header = ["企业名称", "统一社会信用代码", "行业代码", "规上/规下", "经度", "用地面积(亩)"]
    path = write_xlsx(tmp_path / "缺列.xlsx", header, [["甲", make_uscc(1), "C1811", "规上", 120.0, 10]])
    with pytest.raises(ValidationError) as err:
        load_enterprises(path, coords="wgs84", boundary="bounds")
    msg = str(err.value)
    assert "缺列.xlsx" in msg and "纬度 (lat)" in msg and "税收(万元) (tax)" in msg
    assert "headers found in row 1: 企业名称, 统一社会信用代码" in msg
    assert len(err.value.problems) == 1 and "\n" not in msg


def test_header_below_blank_and_title_rows_and_sheet_choice(tmp_path, excel_engine):
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes["A1"] = "本表数据为示例"
    ws = wb.create_sheet("名单")
    ws["B2"] = "义乌市企业名单"  # row 1 blank, title in row 2, header in row 4
    for j, h in enumerate(["企业名称", "统一社会信用代码", "经度", "纬度"], start=1):
        ws.cell(row=4, column=j, value=h)
    ws.cell(row=5, column=1, value="甲")
    ws.cell(row=7, column=1, value="乙")  # row 6 blank
    path = tmp_path / "two_sheets.xlsx"
    wb.save(path)
    df, header_row = read_table(path)
    assert header_row == 4 and df.attrs["sheet"] == "名单"
    assert df.index.tolist() == [5, 7] and df["企业名称"].tolist() == ["甲", "乙"]
    df2, h2 = read_table(path, sheet="说明")
    assert h2 == 1 and df2.attrs["sheet"] == "说明"
    with pytest.raises(ValidationError, match="no sheet '缺'; sheets: 说明, 名单"):
        read_table(path, sheet="缺")


def test_unreadable_files(tmp_path):
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(ValidationError, match="坏.xlsx: cannot be read as an Excel workbook"):
        read_table(bad)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(ValidationError, match="not a text"):
        read_table(binary)
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "none.xlsx")


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_encodings_english_headers(tmp_path, encoding, yiwu_box_4549):
    header = ["name", "USCC", "Industry", "Size", "Lon", "Lat", "Land (mu)", "Tax"]
    data = [["义乌甲服装", make_uscc(1), "1811", "above", *C["大陈"], "20", "150"],
            ["义乌乙光电", make_uscc(2), "C3974", "below", *C["苏溪"], "8.5", "30.5"]]
    path = tmp_path / f"firms_{encoding}.csv"
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["义乌市企业名单（标题行）"])
        w.writerow(header)
        w.writerows(data)
    df, header_row = read_table(path)
    assert header_row == 2 and df.index.tolist() == [3, 4]
    firms, led = load_enterprises(path, coords="wgs84", boundary=yiwu_box_4549)
    assert firms.name.tolist() == ["义乌甲服装", "义乌乙光电"]
    assert firms.size_class.tolist() == ["规上", "规下"]
    assert firms.chain.tolist() == ["纺织服装", "光电显示"]
    assert firms.land_mu.tolist() == [20.0, 8.5] and led.rejected_rows == 0


def test_units_in_headers_are_converted(tmp_path, write_xlsx, yiwu_box_4549):
    header = ["企业名称", "统一社会信用代码", "行业代码", "规上/规下", "经度", "纬度", "用地面积（平方米）", "税收（元）"]
    rows = [["甲", make_uscc(1), "C1811", "规上", *C["大陈"], 6666.6667, "123,400"],
            ["乙", make_uscc(2), "C1811", "规上", *C["苏溪"], "1.5万", "12万"]]
    path = write_xlsx(tmp_path / "units.xlsx", header, rows)
    firms, _ = load_enterprises(path, coords="wgs84", boundary=yiwu_box_4549)
    # 6666.6667 m² / (10000/15) = 10.0 亩; 123 400 元 = 12.34 万元
    # 1.5万 m² = 15 000 m² = 22.5 亩; 12万 元 = 120 000 元 = 12 万元
    assert np.allclose(firms.land_mu, [10.0, 22.5], atol=1e-4)
    assert np.allclose(firms.tax, [12.34, 12.0])


def test_parse_numbers_known_answers():
    vals = ["1,234.5", "１２３", " 7 ", "", "-", None, "5%", "2亿", "abc", 42, 3.5, "1e3", "12.5亩"]
    num, bad = parse_numbers(vals, unit="亩")
    # "5%" is refused: no enterprise column is a ratio (issue 12)
    expect = [1234.5, 123.0, 7.0, np.nan, np.nan, np.nan, np.nan, 2e8, np.nan, 42.0, 3.5, 1000.0, 12.5]
    assert np.allclose(num, expect, equal_nan=True)
    assert bad.tolist() == [False] * 6 + [True, False, True] + [False] * 4


# ---------------------------------------------------------------- layers
def _squares(n=3, x0=507_000.0, y0=3_242_000.0, size=100.0):
    return [shapely.box(x0 + i * 200, y0, x0 + i * 200 + size, y0 + size) for i in range(n)]


@pytest.fixture
def dltb():
    return gpd.GeoDataFrame(
        {"DLBM": ["0601", "0101", "1001"], "DLMC": ["工业用地", "水田", "中文"],
         "TBMJ": [10000.0, 10000.0, 10000.0], "KCMJ": [0.0, 500.0, 0.0], "TBDLMJ": [10000.0, None, 10000.0]},
        geometry=_squares(), crs="EPSG:4549",
    )


@pytest.mark.parametrize("engine", ["pyogrio", "fiona"])
@pytest.mark.parametrize("cpg", [True, False])
def test_gbk_shapefile_with_and_without_cpg(tmp_path, dltb, engine, cpg):
    path = tmp_path / "dltb.shp"
    dltb.to_file(path, engine="pyogrio", encoding="cp936")
    assert path.with_suffix(".cpg").read_text(encoding="ascii").strip().upper() in ("CP936", "GBK")
    if not cpg:
        path.with_suffix(".cpg").unlink()
    g = read_layer(path, engine=engine)
    assert g.DLMC.tolist() == ["工业用地", "水田", "中文"]
    assert g.crs == "EPSG:4549" and g.source_row.tolist() == [1, 2, 3]


def test_encoding_override(tmp_path, dltb):
    path = tmp_path / "utf.shp"
    dltb.to_file(path, engine="pyogrio", encoding="utf-8")
    path.with_suffix(".cpg").unlink()
    assert read_layer(path).DLMC.tolist()[0] == "工业用地"  # valid UTF-8: read as UTF-8
    assert read_layer(path, encoding="latin1").DLMC.tolist()[0] != "工业用地"


def test_filegdb_round_trip_and_layers(tmp_path, dltb):
    gdb = tmp_path / "三调.gdb"
    dltb.to_file(gdb, driver="OpenFileGDB", layer="DLTB", engine="pyogrio")
    dltb.iloc[:1].to_file(gdb, driver="OpenFileGDB", layer="XZQ", engine="pyogrio")
    with pytest.raises(ValidationError, match="DLTB, XZQ|XZQ, DLTB"):
        read_layer(gdb)
    for engine in ("pyogrio", "fiona"):
        g = read_layer(gdb, layer="DLTB", engine=engine)
        assert len(g) == 3 and g.DLMC.tolist()[2] == "中文"
        assert np.allclose(g.area, 10000.0)
    # read_landuse picks DLTB by default and fills TBDLMJ = TBMJ - KCMJ
    led = Ledger()
    lu = read_landuse(gdb, ledger=led)
    assert lu.TBDLMJ.tolist() == [10000.0, 9500.0, 10000.0]
    assert led.rejected_rows == 0


@pytest.mark.parametrize("fmt", ["geojson", "parquet", "gpkg"])
def test_geojson_geoparquet_gpkg_reprojected(tmp_path, fmt):
    pts = [C["稠城"], C["苏溪"]]
    g = gpd.GeoDataFrame({"名称": ["稠城", "苏溪"]}, geometry=gpd.points_from_xy(*np.array(pts).T), crs="EPSG:4326")
    path = tmp_path / f"pts.{fmt}"
    if fmt == "parquet":
        g.to_parquet(path)
    else:
        g.to_file(path)
    back = read_layer(path)
    tx, ty = TO_4549.transform(*np.array(pts).T)
    assert back.crs == "EPSG:4549" and back["名称"].tolist() == ["稠城", "苏溪"]
    assert np.allclose(back.geometry.x, tx, atol=0.01) and np.allclose(back.geometry.y, ty, atol=0.01)


def test_zone_prefixed_eastings_relabelled(tmp_path, dltb):
    shifted = dltb.copy()
    shifted.geometry = shifted.geometry.translate(xoff=40_000_000)
    path = tmp_path / "wrong_label.gpkg"
    shifted.set_crs("EPSG:4549", allow_override=True).to_file(path)  # labelled 4549, eastings of 4528
    back = read_layer(path)
    assert back.crs == "EPSG:4549"
    assert np.allclose(back.total_bounds, dltb.total_bounds, atol=1e-3)


def _no_prj(tmp_path, name, xy):
    g = gpd.GeoDataFrame({"id": range(len(xy))}, geometry=gpd.points_from_xy(*np.array(xy).T))
    path = tmp_path / f"{name}.shp"
    g.to_file(path)
    if path.with_suffix(".prj").exists():
        path.with_suffix(".prj").unlink()
    return path


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_no_crs_detection(tmp_path):
    pts = [C["稠城"], C["大陈"]]
    back = read_layer(_no_prj(tmp_path, "lonlat", pts))  # lon/lat with no CRS -> EPSG:4490
    tx, ty = TO_4549.transform(*np.array(pts).T)
    assert np.allclose(back.geometry.x, tx, atol=0.01) and np.allclose(back.geometry.y, ty, atol=0.01)
    with pytest.raises(CRSError, match="swap"):
        read_layer(_no_prj(tmp_path, "swapped", [(p[1], p[0]) for p in pts]))
    with pytest.raises(CRSError, match="do not look like Yiwu"):
        read_layer(_no_prj(tmp_path, "beijing", [(116.39, 39.91), (116.40, 39.92)]))


def test_invalid_polygon_repaired_and_null_geometry_rejected(tmp_path):
    bowtie = shapely.Polygon([(507000, 3242000), (507100, 3242100), (507100, 3242000), (507000, 3242100)])
    g = gpd.GeoDataFrame({"DLBM": ["0601", "0601", "0601"]},
                         geometry=[bowtie, None, shapely.box(507000, 3242000, 507100, 3242100)], crs="EPSG:4549")
    path = tmp_path / "bad.gpkg"
    g.to_file(path)
    led = Ledger()
    back = read_layer(path, ledger=led)
    assert len(back) == 2 and back.is_valid.all()
    # the bow-tie becomes two triangles of 100*50/2 = 2500 m² each
    assert back.area.iloc[0] == pytest.approx(5000.0)
    assert led.notes.reason.tolist() == ["invalid_geometry_repaired"] and led.notes.row.tolist() == [1]
    assert "Self-intersection" in led.notes.message_en.iloc[0]
    assert led.rejects.reason.tolist() == ["no_geometry"] and led.rejects.row.tolist() == [2]
    led.check_balance(3, 2)
    with pytest.warns(UserWarning, match="1 features"):
        read_layer(path)


def test_read_landuse_rejects(tmp_path):
    g = gpd.GeoDataFrame(
        {"dlbm": ["0601", "", "06X1", "0601", "05H1"], "tbmj": [100.0, 100.0, 100.0, 0.0, None],
         "kcmj": [0.0, 0.0, 0.0, 0.0, None]},
        geometry=_squares(5), crs="EPSG:4549",
    )
    path = tmp_path / "dltb_lower.gpkg"
    g.to_file(path, layer="dltb")
    led = Ledger()
    lu = read_landuse(path, ledger=led)
    assert "DLBM" in lu.columns  # field names upper-cased
    assert lu.DLBM.tolist() == ["0601", "05H1"]
    # row 5 has no TBMJ: area measured from the 100 m square = 10 000 m², noted
    assert lu.TBDLMJ.tolist() == [100.0, 10000.0]
    assert sorted(led.rejects[["row", "reason"]].itertuples(index=False, name=None)) == [
        (2, "missing_value"), (3, "bad_code"), (4, "zero_area")]
    assert led.notes.reason.tolist() == ["area_from_geometry"]
    led.check_balance(5, 2)
    g.drop(columns="dlbm").to_file(tmp_path / "nodlbm.gpkg")
    with pytest.raises(ValidationError, match="DLBM"):
        read_landuse(tmp_path / "nodlbm.gpkg")


def test_read_plan(tmp_path):
    g = gpd.GeoDataFrame({"YDYHFLDM": ["100101", "0701", None, "10A"]}, geometry=_squares(4), crs="EPSG:4549")
    path = tmp_path / "plan.gpkg"
    g.to_file(path)
    led = Ledger()
    plan = read_plan(path, ledger=led)
    assert plan.YDYHFLDM.tolist() == ["100101", "0701"]
    assert led.rejects.reason.tolist() == ["missing_value", "bad_code"]
    with pytest.raises(ValidationError, match="YDYHFLDM"):
        read_plan(_write_plain(tmp_path))


def _write_plain(tmp_path):
    path = tmp_path / "plain.gpkg"
    gpd.GeoDataFrame({"A": [1]}, geometry=_squares(1), crs="EPSG:4549").to_file(path)
    return path


def test_ledger_balance_error_and_combine():
    a, b = Ledger(), Ledger()
    a.add([True, False], "missing_value", file="a.xlsx", rows=[2, 3], column="税收(万元)")
    b.add([True, True], "outside_yiwu", file="b.xlsx", rows=[2, 3], values=["1, 2", "3, 4"])
    both = a + b
    assert both.rejected_rows == 3 and len(both) == 3
    with pytest.raises(BalanceError) as err:
        both.check_balance(rows_read=4, loaded=2)
    assert isinstance(err.value, AssertionError)
    both.check_balance(rows_read=4, loaded=1)
    assert both.to_frame().message_en.tolist()[1] == "point '1, 2' lies outside Yiwu"
    with pytest.raises(Exception, match="unknown ledger reason"):
        a.add([True], "no_such_reason", file="a", rows=[1])

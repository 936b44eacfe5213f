"""Issue 12: no bureau enterprise table may give a silently wrong result.

Each case builds its input in ``tmp_path`` from the demo data (scale 0.1,
generated once for the module) or from the conftest fixtures, and asserts
the loaded values, the ledger rows (reason, row, column) and the balance
``rows read = loaded + rejected`` per file.  CLI cases assert exit code 2,
one line on stderr and no traceback.
"""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import ENTERPRISE_HEADERS_ZH, TOWNSHIP_CENTRES

from gis import cli, crs, demo, pipeline
from gis.io import load_enterprises

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """The demo inputs at scale 0.1 (about 450 firms, 1 200 parcels), generated once."""
    inputs = demo.demo_inputs(tmp_path_factory.mktemp("input_demo"), scale=0.1)
    return inputs


@pytest.fixture(scope="module")
def demo_loaded(demo_data):
    """The demo table as loaded (gcj02), for comparison."""
    return load_enterprises(demo_data["enterprises"])


def _demo_rows(path):
    """Header and data rows of the demo workbook (sheet 企业名录, header in row 1)."""
    ws = openpyxl.load_workbook(path)["企业名录"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return rows[0], rows[1:]


def _converted_table(src, dest, convert):
    """The demo table with its 经度/纬度 (GCJ-02) converted by ``convert(lon, lat)``."""
    header, rows = _demo_rows(src)
    i, j = header.index("经度"), header.index("纬度")
    lon = np.array([r[i] if isinstance(r[i], (int, float)) else np.nan for r in rows], dtype=float)
    lat = np.array([r[j] if isinstance(r[j], (int, float)) else np.nan for r in rows], dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    nlon, nlat = lon.copy(), lat.copy()
    nlon[ok], nlat[ok] = convert(lon[ok], lat[ok])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业名录"
    ws.append(header)
    for k, r in enumerate(rows):
        if ok[k]:
            r[i], r[j] = round(float(nlon[k]), 7), round(float(nlat[k]), 7)
        ws.append(r)
    wb.save(dest)
    return dest


@pytest.fixture(scope="module")
def bd09_table(demo_data, tmp_path_factory):
    return _converted_table(demo_data["enterprises"], tmp_path_factory.mktemp("bd") / "百度坐标.xlsx",
                            crs.gcj02_to_bd09)


@pytest.fixture(scope="module")
def wgs84_table(demo_data, tmp_path_factory):
    return _converted_table(demo_data["enterprises"], tmp_path_factory.mktemp("wgs") / "WGS84坐标.xlsx",
                            crs.gcj02_to_wgs84)


def _report(capsys, table, demo_data, out, *extra):
    """``gis report`` on ``table`` with the demo land, every optional stage skipped."""
    code = cli.main(["report", "--enterprises", str(table), "--landuse", str(demo_data["landuse"]),
                     "--year", "2025", "--out", str(out), "--no-progress",
                     "--skip", "renewal", "density", "maps", "report", *extra])
    return code, capsys.readouterr()


def _one_line_error(captured):
    err = captured.err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# ---------------------------------------------------------------- coordinates
@pytest.mark.parametrize("table, wrong, right", [
    ("bd09_table", [], "bd09"),                       # the default gcj02 on Baidu points
    ("wgs84_table", ["--coords", "gcj02"], "wgs84"),  # GCJ-02 asked, WGS84 given
    ("bd09_table", ["--coords", "wgs84"], "bd09"),
])
def test_wrong_coordinate_system_stops_with_one_message(request, capsys, demo_data, tmp_path,
                                                        table, wrong, right):
    path = request.getfixturevalue(table)
    code, captured = _report(capsys, path, demo_data, tmp_path / "out", *wrong)
    assert code == 2
    err = _one_line_error(captured)
    used = wrong[1] if wrong else "gcj02"
    assert f"read as {used}" in err and f"as {right}" in err
    assert f"--coords {right}" in err
    # both match rates are named
    assert err.count("%") >= 2
    assert not (tmp_path / "out" / "results.gpkg").exists()


def test_auto_chooses_the_system_and_says_so(demo_data, demo_loaded, bd09_table, tmp_path):
    firms, _ = demo_loaded
    result = pipeline.run(bd09_table, tmp_path / "out", 2025, landuse=demo_data["landuse"],
                          coords="auto", stages=(), progress=False)
    assert result.summary["coords"] == "bd09"
    assert "自动选择 bd09" in result.summary["coords_check"]
    # read back as BD-09, every firm is where the GCJ-02 original put it (within a metre)
    got = result.firms.set_index("uscc").geometry
    want = firms.set_index("uscc").geometry
    assert len(got) == len(want)
    assert float(got.distance(want.reindex(got.index)).max()) < 1.0
    counts = result.ledger.counts("enterprises")
    assert counts["rows_read"] == counts["loaded"] + counts["rejected"] == 446
    assert counts["loaded"] == len(firms)


def test_right_system_passes_the_check(demo_data, wgs84_table, tmp_path):
    result = pipeline.run(wgs84_table, tmp_path / "out", 2025, landuse=demo_data["landuse"],
                          coords="wgs84", stages=(), progress=False)
    assert result.summary["coords"] == "wgs84"
    assert result.summary["coords_check"].startswith("wgs84（已检查）")


def test_coords_setting_reaches_the_loader_through_report_and_run(capsys, demo_data, demo_loaded,
                                                                  wgs84_table, tmp_path):
    # issue 18: io.enterprises.coords was overridden by a hard-coded gcj02
    settings = tmp_path / "settings.yaml"
    settings.write_text("io:\n  enterprises:\n    coords: wgs84\n", encoding="utf-8")
    code, captured = _report(capsys, wgs84_table, demo_data, tmp_path / "cli", "--settings", str(settings))
    assert code == 0, captured.err
    assert "坐标系 coordinate system: wgs84" in captured.out
    result = pipeline.run(wgs84_table, tmp_path / "api", 2025, landuse=demo_data["landuse"],
                          settings=settings, stages=(), progress=False)
    assert result.summary["coords"] == "wgs84"
    assert len(result.firms) == len(demo_loaded[0])


def test_coordinate_check_counts_firms_per_system(demo_data, demo_loaded):
    from gis.attach import coordinate_check
    from gis.io import read_landuse

    firms, _ = demo_loaded
    parcels = read_landuse(demo_data["landuse"])
    check = coordinate_check(firms, parcels, "gcj02")
    assert check["checked"] and not check["wrong"] and check["best"] == "gcj02"
    assert set(check["shares"]) == {"wgs84", "gcj02", "bd09"}
    assert check["firms"] == len(firms)
    # the demo places every firm on (or next to) an industrial parcel
    assert check["shares"]["gcj02"] == pytest.approx(1.0)
    assert check["shares"]["bd09"] < 0.5 and check["shares"]["wgs84"] < 0.5


# ---------------------------------------------------------------- small tables from the fixtures
HEAD = ENTERPRISE_HEADERS_ZH + ["用电量(万千瓦时)"]
C = TOWNSHIP_CENTRES


@pytest.fixture
def rows(valid_enterprise_rows):
    """The five clean rows with an empty 用电量 column; Excel rows 2..6 under a header in row 1."""
    return [list(r) + [None] for r in valid_enterprise_rows]


def _load(path, box, **kw):
    firms, led = load_enterprises(path, coords="wgs84", boundary=box, **kw)
    b = led.balance()
    assert len(b) == 1 and b["rows_read"].item() == b["loaded"].item() + b["rejected"].item()
    assert b["loaded"].item() == len(firms)
    return firms, led


def _entries(led):
    return sorted(zip(led.rejects["row"], led.rejects["reason"], led.rejects["column"]))


def test_units_written_in_cells_are_converted_or_refused(tmp_path, write_xlsx, rows, yiwu_box_4549):
    rows[0][9], rows[0][7] = "300元", "10000平方米"                     # 0.03 万元, 15 亩
    rows[1][9], rows[1][7], rows[1][12] = "3千万", "2公顷", "5000千瓦时"  # 3000 万元, 30 亩, 0.5 万千瓦时
    rows[2][9] = "2公顷"                                                # a land unit under 税收
    rows[3][7] = "5%"                                                   # a percentage under 用地面积
    path = write_xlsx(tmp_path / "单位.xlsx", HEAD, rows)
    firms, led = _load(path, yiwu_box_4549)
    assert firms["tax"].round(6).tolist() == [0.03, 3000.0, 12.0]
    assert firms["land_mu"].round(6).tolist() == [15.0, 30.0, 5.0]
    assert firms["electricity"].tolist()[1] == pytest.approx(0.5)
    assert _entries(led) == [(4, "wrong_unit", "税收(万元)"), (5, "percent", "用地面积(亩)")]
    assert led.rejects.set_index("reason").loc["wrong_unit", "message_zh"] == \
        "「税收(万元)」的值「2公顷」的单位「公顷」不能换算为该列的单位"
    # every conversion is said, one note per cell, with the number it became
    notes = led.notes
    conv = notes[notes["reason"] == "unit_converted"]
    assert sorted(zip(conv["row"], conv["column"], conv["value"])) == sorted([
        (2, "用地面积(亩)", "10000平方米"), (2, "税收(万元)", "300元"), (3, "用地面积(亩)", "2公顷"),
        (3, "税收(万元)", "3千万"), (3, "用电量(万千瓦时)", "5000千瓦时")])
    assert "「税收(万元)」的值「300元」按所写单位换算为 0.03 万元" in conv["message_zh"].tolist()


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_excel_error_cells_are_ledgered_in_every_column(tmp_path, write_xlsx, rows, yiwu_box_4549, suffix):
    rows[0][9] = "#DIV/0!"     # required number
    rows[1][10] = "#N/A"       # optional number
    rows[2][0] = "#REF!"       # required text
    rows[3][11] = "#VALUE!"    # optional year
    if suffix == ".xlsx":
        path = write_xlsx(tmp_path / "错误值.xlsx", HEAD, rows)  # openpyxl writes them as error cells
        ws = openpyxl.load_workbook(path)["企业"]
        assert ws["J2"].data_type == "e"
    else:
        path = tmp_path / "错误值.csv"
        pd.DataFrame(rows, columns=HEAD).to_csv(path, index=False, encoding="utf-8-sig")
    firms, led = _load(path, yiwu_box_4549)
    assert _entries(led) == [(2, "excel_error", "税收(万元)"), (3, "excel_error", "工业增加值(万元)"),
                             (4, "excel_error", "企业名称"), (5, "excel_error", "投产年份")]
    assert led.rejects["message_zh"].str.contains("#DIV/0!", regex=False).sum() == 1
    assert firms["name"].tolist() == ["义乌戊印刷有限公司"]


def test_totals_rows_have_their_own_reason(tmp_path, write_xlsx, rows, yiwu_box_4549):
    blank = [None] * len(HEAD)
    total = ["合计", *blank[1:]]
    total[9] = 1392.0
    part = ["其中：规上企业", *blank[1:]]
    sub = [None, *blank[1:]]
    sub[0] = "小 计"
    path = write_xlsx(tmp_path / "合计.xlsx", HEAD, rows + [total, part, sub])
    firms, led = _load(path, yiwu_box_4549)
    assert len(firms) == 5
    assert _entries(led) == [(7, "totals_row", "企业名称"), (8, "totals_row", "企业名称"),
                             (9, "totals_row", "企业名称")]


def test_degrees_minutes_seconds_are_read(tmp_path, write_xlsx, rows, yiwu_box_4549):
    rows[0][5:7] = ["120°03'36\"", "29°22'12\""]          # 后宅 120.06, 29.37
    rows[1][5:7] = ["120°7′48″", "29度25分12秒"]           # 苏溪 120.13, 29.42
    rows[2][5:7] = ["119度55分48秒", "29°16′12″"]          # 义亭 119.93, 29.27
    rows[3][5:7] = ["120°01'48\"E", "N29°12'"]           # 佛堂 120.03, 29.20
    path = write_xlsx(tmp_path / "度分秒.xlsx", HEAD, rows)
    firms, led = _load(path, yiwu_box_4549)
    assert led.rejected_rows == 0
    want = [C["后宅"], C["苏溪"], C["义亭"], C["佛堂"], C["稠江"]]
    assert np.allclose(firms[["lon", "lat"]].to_numpy(), want, atol=1e-9)


# ---------------------------------------------------------------- sheets and headers
def _two_year_workbook(path, rows):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["2024、2025年度企业名录"])
    for title, part in (("2024年", rows[:2]), ("2025年", rows[2:])):
        ws = wb.create_sheet(title)
        ws.append(HEAD)
        for r in part:
            ws.append(r)
    wb.save(path)
    return path


def test_the_sheet_carrying_the_year_is_read(tmp_path, rows, yiwu_box_4549):
    path = _two_year_workbook(tmp_path / "两年.xlsx", rows)
    firms, led = _load(path, yiwu_box_4549, year=2025)
    assert len(firms) == 3 and firms.attrs["sheet"] == "2025年"
    assert led.balance()["layer"].tolist() == ["2025年"]
    assert "[2025年]" in led.balance_lines()[0]
    firms, _ = _load(path, yiwu_box_4549, sheet="2024年", year=2025)  # --sheet wins
    assert len(firms) == 2


@pytest.mark.parametrize("year", [None, 2023])
def test_several_firm_sheets_without_a_year_stop_and_list_them(tmp_path, rows, yiwu_box_4549, year):
    from gis import ValidationError

    path = _two_year_workbook(tmp_path / "两年.xlsx", rows)
    with pytest.raises(ValidationError, match="2 sheets that look like firm tables: 2024年, 2025年") as exc:
        load_enterprises(path, coords="wgs84", boundary=yiwu_box_4549, year=year)
    assert "--sheet" in str(exc.value)


def test_validate_prints_the_sheet_the_check_and_the_balance(tmp_path, rows, capsys, demo_data):
    path = _two_year_workbook(tmp_path / "两年.xlsx", rows)
    code = cli.main(["validate", str(path), "--sheet", "2024年", "--coords", "wgs84", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "企业表 两年.xlsx [2024年]: 读取 2 行 = 载入 2 + 拒绝 0" in out
    assert "坐标系 coordinate system [两年.xlsx]: wgs84（无三调图斑，未检查）" in out
    assert "坐标系" in out
    code = cli.main(["validate", str(path), "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2 and "2024年, 2025年" in _one_line_error(captured)


def test_a_header_far_down_is_found_and_a_missing_one_says_where_it_looked(tmp_path, write_xlsx, rows,
                                                                         yiwu_box_4549):
    from gis import ValidationError
    from gis.config import load_settings

    notes = [[f"说明第{i}行"] for i in range(1, 31)]
    path = write_xlsx(tmp_path / "表头.xlsx", HEAD, rows, title_rows=notes)
    firms, _ = _load(path, yiwu_box_4549)
    assert len(firms) == 5 and firms["source_row"].tolist() == [32, 33, 34, 35, 36]
    settings = load_settings()
    settings["io"]["header_search_rows"] = 20
    with pytest.raises(ValidationError, match="rows 1–20 of sheet '企业' were searched"):
        load_enterprises(path, coords="wgs84", boundary=yiwu_box_4549, settings=settings)


# ---------------------------------------------------------------- counting and stopping
def test_a_table_with_every_row_rejected_stops_after_loading(tmp_path, write_xlsx, rows, capsys, demo_data):
    for r in rows:
        r[9] = "许多"
    path = write_xlsx(tmp_path / "全错.xlsx", HEAD, rows)
    out = tmp_path / "out"
    code = cli.main(["report", "--enterprises", str(path), "--year", "2025", "--out", str(out),
                     "--coords", "wgs84", "--no-progress"])
    err = _one_line_error(capsys.readouterr())
    assert code == 2 and "all 5 rows rejected" in err and "not_a_number" in err
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    assert sorted(rejects["row"]) == [2, 3, 4, 5, 6] and set(rejects["reason"]) == {"not_a_number"}
    assert not (out / "results.gpkg").exists()


def test_firm_and_parcel_rows_are_counted_apart(demo_data, tmp_path):
    import geopandas as gpd

    parcels = gpd.read_file(demo_data["landuse"], layer="DLTB")
    parcels.loc[parcels.index[:20], "DLBM"] = "abc"  # 20 parcel rejects (bad_code)
    landuse = tmp_path / "DLTB.gpkg"
    parcels.to_file(landuse, layer="DLTB")
    result = pipeline.run(demo_data["enterprises"], tmp_path / "out", 2025, landuse=landuse,
                          coords="gcj02", stages=(), progress=False)
    s = result.summary
    # the demo table: 446 rows, 6 planted rejects (generator manifest)
    assert (s["firms_read"], s["firms_loaded"], s["firms_rejected"]) == (446, 440, 6)
    bal = result.ledger.balance().set_index("file")
    assert bal.loc["DLTB.gpkg", ["rows_read", "loaded", "rejected"]].tolist() == [len(parcels),
                                                                                  len(parcels) - 20, 20]
    assert s["inputs"]["DLTB.gpkg [DLTB]"] == f"读取 {len(parcels)} 行 = 载入 {len(parcels) - 20} + 拒绝 20"
    lines = pipeline.summary_lines(result)
    assert lines[0].startswith("企业表 企业名录_2025.xlsx [企业名录]: 读取 446 行 = 载入 440 + 拒绝 6")
    assert any(line.startswith("三调图斑 DLTB.gpkg [DLTB]: 读取") for line in lines)


def test_validate_checks_the_coordinate_system_against_the_parcels(capsys, demo_data, bd09_table, tmp_path):
    args = ["validate", str(bd09_table), str(demo_data["landuse"]), "--out", str(tmp_path)]
    code = cli.main(args)
    captured = capsys.readouterr()
    assert code == 2 and "--coords bd09" in _one_line_error(captured)
    assert "企业表 百度坐标.xlsx [企业名录]: 读取 446 行 = 载入" in captured.out
    assert "三调图斑 DLTB" not in captured.out and "三调图斑 三调_DLTB.gpkg [DLTB]: 读取" in captured.out
    code = cli.main(args + ["--coords", "auto"])
    out = capsys.readouterr().out
    assert code == 0 and "坐标系 coordinate system [百度坐标.xlsx]: 自动选择 bd09" in out


def test_the_workbook_records_the_files_and_sheets_read(demo_run):
    """What the planner receives: 汇总 and 数据质量 name every file and sheet read, with its balance."""
    import json
    from pathlib import Path

    result, out, manifest, inputs = demo_run
    wb = openpyxl.load_workbook(next(Path(out).glob("*.xlsx")), read_only=True)
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    table = Path(inputs["enterprises"]).name
    rows = openpyxl.load_workbook(inputs["enterprises"], read_only=True)["企业名录"].max_row - 1
    rejected = manifest["expected_rejects"]
    assert summary["读入企业数(家)"] == rows and summary["剔除企业行数(行)"] == rejected
    assert summary[f"输入文件（读取 = 载入 + 拒绝）：{table} [企业名录]"] == \
        f"读取 {rows} 行 = 载入 {rows - rejected} + 拒绝 {rejected}"
    assert summary["企业名录工作表"] == "企业名录" and summary["经纬度坐标系"].startswith("GCJ-02")
    assert summary["坐标系检查"].startswith("gcj02（已检查）")
    quality = [r for r in wb["数据质量"].iter_rows(min_row=2, values_only=True) if r[6] == "读取"]
    assert (table, "企业名录") in {(r[0], r[1]) for r in quality}
    assert {r[0] for r in quality} >= {table, Path(inputs["landuse"]).name, Path(inputs["previous"]).name}
    saved = json.loads(json.dumps(result.summary, default=str))
    assert saved["inputs"][f"{table} [企业名录]"].startswith(f"读取 {rows} 行")


def test_xy_metres_need_no_coordinate_check(demo_data, demo_loaded, tmp_path):
    """A table whose 经度/纬度 columns hold EPSG:4549 X/Y is not compared as lon/lat."""
    firms, _ = demo_loaded
    xy = dict(zip(firms["uscc"], zip(firms.geometry.x, firms.geometry.y)))
    header, rows = _demo_rows(demo_data["enterprises"])
    i, j, k = header.index("经度"), header.index("纬度"), header.index("统一社会信用代码")
    for r in rows:
        if r[k] in xy:
            r[i], r[j] = (round(v, 3) for v in xy[r[k]])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业名录"
    for r in [header, *rows]:
        ws.append(r)
    wb.save(tmp_path / "平面坐标.xlsx")
    result = pipeline.run(tmp_path / "平面坐标.xlsx", tmp_path / "out", 2025, landuse=demo_data["landuse"],
                          stages=(), progress=False)
    assert result.summary["coords"] == "EPSG:4549"
    assert "无需检查" in result.summary["coords_check"]
    assert len(result.firms) == len(firms)

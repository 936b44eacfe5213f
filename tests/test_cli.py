"""The ``gis`` command line: exit codes, one-line errors, rejects.csv contents.

Every error path is run twice: in-process through ``gis.cli.main([...])``
and as a subprocess through the installed ``gis`` console command.
"""

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import ENTERPRISE_HEADERS_ZH, TOWNSHIP_CENTRES, make_uscc

from gis import cli

GIS = Path(sys.executable).with_name("gis")
C = TOWNSHIP_CENTRES


def run_gis(*args, cwd=None):
    """Run the console command; returns (returncode, stdout, stderr)."""
    proc = subprocess.run([str(GIS), *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def boundary_file(tmp_path, yiwu_box_4549):
    path = tmp_path / "box.gpkg"
    gpd.GeoDataFrame({"name": ["box"]}, geometry=[yiwu_box_4549], crs="EPSG:4549").to_file(path)
    return path


@pytest.fixture
def table(tmp_path, write_xlsx):
    """4 data rows under a title row: 2 good, 1 bad credit code, 1 outside Yiwu + tax not a number."""
    def r(name, code, lonlat, tax):
        return [name, code, "C1811", "", "规上", *lonlat, 10, 0, tax, None, 2012]

    bad_code = make_uscc(3)[:-1] + ("0" if make_uscc(3)[-1] != "0" else "1")
    rows = [r("甲", make_uscc(1), C["稠城"], 100), r("乙", make_uscc(2), C["苏溪"], "50"),
            r("丙", bad_code, C["义亭"], 10), r("丁", make_uscc(4), (121.0, 30.0), "许多")]
    return write_xlsx(tmp_path / "企业.xlsx", ENTERPRISE_HEADERS_ZH, rows, title_rows=["2023年度企业名单"])


def check_rejects(path):
    df = pd.read_csv(path, encoding="utf-8-sig")
    # by hand: header in Excel row 2; data rows 3..6; row 5 bad code; row 6 outside + not a number
    assert sorted(zip(df.row, df.reason)) == [(5, "bad_uscc"), (6, "not_a_number"), (6, "outside_yiwu")]
    assert set(df.file) == {"企业.xlsx"}
    assert df.loc[df.reason == "not_a_number", "value"].item() == "许多"
    return df


def test_validate_in_process(table, boundary_file, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["validate", str(table), "--out", str(out), "--coords", "wgs84", "--boundary", str(boundary_file)])
    assert code == 0
    check_rejects(out / "rejects.csv")
    printed = capsys.readouterr().out
    assert "读取 4 行 = 载入 2 + 拒绝 2" in printed and "rows read 4 = loaded 2 + rejected 2" in printed
    assert "统一社会信用代码无效 (bad_uscc): 1" in printed


def test_validate_subprocess_default_out_is_cwd(table, boundary_file, tmp_path):
    code, out, err = run_gis("validate", table, "--coords", "wgs84", "--boundary", boundary_file, cwd=tmp_path)
    assert code == 0, err
    assert "Traceback" not in err
    check_rejects(tmp_path / "rejects.csv")
    assert "rows read 4 = loaded 2" in out


def test_validate_vector_layers(tmp_path):
    bowtie = shapely.Polygon([(507000, 3242000), (507100, 3242100), (507100, 3242000), (507000, 3242100)])
    gpd.GeoDataFrame({"dlbm": ["0601", "0601"], "tbmj": [100.0, 0.0]},
                     geometry=[bowtie, shapely.box(507200, 3242000, 507300, 3242100)],
                     crs="EPSG:4549").to_file(tmp_path / "dltb.gpkg", layer="DLTB")
    code = cli.main(["validate", str(tmp_path / "dltb.gpkg"), "--out", str(tmp_path)])
    assert code == 0
    df = pd.read_csv(tmp_path / "rejects.csv", encoding="utf-8-sig")
    assert sorted(zip(df.row, df.reason, df.severity)) == [
        (1, "invalid_geometry_repaired", "note"), (2, "zero_area", "reject")]
    assert set(df.layer) == {"DLTB"}


def _error_cases(tmp_path, write_xlsx):
    missing_cols = write_xlsx(tmp_path / "缺列.xlsx", ["企业名称", "经度"], [["甲", 120.0]])
    unreadable = tmp_path / "坏.xlsx"
    unreadable.write_bytes(b"PK\x03\x04 not really a workbook")
    return {
        "missing file": (tmp_path / "不存在.xlsx", "不存在.xlsx"),
        "missing columns": (missing_cols, "缺少必填列"),
        "unreadable": (unreadable, "cannot be read as an Excel workbook"),
        "bad layer": (tmp_path / "坏.gpkg", "cannot be read as a vector layer"),
    }


@pytest.mark.parametrize("case", ["missing file", "missing columns", "unreadable", "bad layer"])
def test_errors_are_one_line_exit_2(case, tmp_path, write_xlsx, capsys):
    (tmp_path / "坏.gpkg").write_bytes(b"SQLite format 3\x00 garbage")
    path, text = _error_cases(tmp_path, write_xlsx)[case]
    # in-process
    assert cli.main(["validate", str(path), "--out", str(tmp_path / "o1")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gis validate: error: ") and text in err
    assert "Traceback" not in err
    # console command
    code, _, err = run_gis("validate", path, "--out", tmp_path / "o2")
    assert code == 2 and err.count("\n") == 1 and text in err and "Traceback" not in err
    assert not (tmp_path / "o2" / "rejects.csv").exists()


def test_one_bad_file_among_good_ones(table, boundary_file, tmp_path, capsys):
    code = cli.main(["validate", str(table), str(tmp_path / "nope.csv"), "--out", str(tmp_path),
                     "--coords", "wgs84", "--boundary", str(boundary_file)])
    assert code == 2  # one file was unreadable
    check_rejects(tmp_path / "rejects.csv")  # the readable one is still reported
    assert capsys.readouterr().err.count("\n") == 1


def test_bad_settings_file_is_one_line(tmp_path, table, capsys):
    bad = tmp_path / "s.yaml"
    bad.write_text("io:\n  header_search_rows: many\n", encoding="utf-8")
    assert cli.main(["--settings", str(bad), "validate", str(table)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "header_search_rows" in err


def test_bugs_keep_their_traceback(monkeypatch):
    def boom(args):
        raise RuntimeError("a bug")

    monkeypatch.setitem(cli.COMMANDS, "boom", cli.Command("boom", "raises", lambda p: None, boom))
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["boom"])


def test_usage_and_help(capsys):
    assert cli.main([]) == 2  # no command: help, exit 2
    assert "validate" in capsys.readouterr().out
    assert cli.main(["validate"]) == 2  # argparse usage error (no FILE)
    assert cli.main(["--version"]) == 0


def test_empty_csv_is_one_line_not_a_traceback(tmp_path, capsys):
    empty = tmp_path / "企业名录.csv"
    empty.write_bytes(b"")
    assert cli.main(["validate", str(empty), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "empty" in err

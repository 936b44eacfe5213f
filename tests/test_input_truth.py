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
import pytest

from gis import cli, crs, pipeline
from gis.io import load_enterprises

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """The demo inputs at scale 0.1 (about 450 firms, 1 200 parcels), generated once."""
    inputs = pipeline.demo_inputs(tmp_path_factory.mktemp("input_demo"), scale=0.1)
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

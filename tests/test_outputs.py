"""How outputs are written (gis.outputs): safe names, whole runs or nothing, one run at a time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from gis import demo, outputs, pipeline, publishing
from gis.cli import main

HOSTILE = ["../../../x", "/etc/x", "..\\..\\win", "C:\\Windows\\x", "CON", "nul.txt", "Com1",
           "LPT9.tif", "", " . ", "a" * 300, "光电显示" * 40, "=cmd|' /C calc'!A0", "光电显示"]


@pytest.mark.parametrize("name, expected", [
    ("../../../x", "x"),
    ("/etc/x", "etc_x"),
    ("..\\..\\win", "win"),
    ("C:\\Windows\\x", "C_Windows_x"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("Com1", "_Com1"),
    ("", "未命名"),
    (" . ", "未命名"),
    (None, "未命名"),
    ("光电显示", "光电显示"),
    ("新能源汽车及零部件", "新能源汽车及零部件"),
    ("a<b>c:d\"e|f?g*h", "a_b_c_d_e_f_g_h"),
    ("tab\there\nnewline", "tab_here_newline"),
])
def test_safe_filename_by_hand(name, expected):
    assert outputs.safe_filename(name) == expected


def test_long_names_are_cut_and_stay_distinct():
    a, b = "光电显示" * 40 + "甲", "光电显示" * 40 + "乙"
    sa, sb = outputs.safe_filename(a), outputs.safe_filename(b)
    assert len(sa.encode("utf-8")) <= 120 and len(sb.encode("utf-8")) <= 120
    assert sa != sb and sa.startswith("光电显示光电显示")
    assert outputs.safe_filename(sa) == sa  # a safe name stays as it is


def test_unique_filenames_never_share_a_file():
    files = outputs.unique_filenames(HOSTILE + ["x", "X"])
    slugs = [s.lower() for s in files.values()]
    assert len(set(slugs)) == len(slugs) == len(set(HOSTILE + ["x", "X"]))


def test_density_geotiffs_of_hostile_chain_names_stay_inside_out(tmp_path):
    from pyproj import Transformer

    from gis import density

    layers = pipeline.planning_layers()
    tr = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    rng = np.random.default_rng(3)
    lon, lat = 120.07 + rng.normal(0, 0.02, 60), 29.31 + rng.normal(0, 0.02, 60)
    x, y = tr.transform(lon, lat)
    pts = gpd.GeoDataFrame({"chain": [HOSTILE[i % len(HOSTILE)] for i in range(60)]},
                           geometry=gpd.points_from_xy(x, y), crs="EPSG:4549")
    out = tmp_path / "a" / "b" / "out"
    grid = density.density_by_chain(pts, include_all=True)["全部"]
    grids = {name: grid for name in ["全部"] + HOSTILE}
    res = pipeline.density_outputs(pts, layers, out, grids=grids)
    tifs = res["tifs"]
    assert set(tifs) == set(grids)
    folder = (out / "density").resolve()
    assert all(Path(p).resolve().parent == folder for p in tifs.values())
    assert len({Path(p).name.lower() for p in tifs.values()}) == len(grids)
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(p).name for p in tifs.values())
    assert Path(tifs["光电显示"]).name == "光电显示.tif" and Path(tifs["CON"]).name == "_CON.tif"
    # nothing was written outside the output folder
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and folder not in p.parents) == []


# ---------------------------------------------------------------- lock
def test_second_run_stops_at_once_naming_the_running_one(tmp_path, capsys):
    out = tmp_path / "out"
    with outputs.run_lock(out, "report"):
        with pytest.raises(outputs.OutputBusy, match=f"gis report, pid {os.getpid()}"):
            with outputs.run_lock(out, "run"):
                pass
        # the command line: exit 2, one line, before reading any input
        code = main(["report", "--enterprises", str(tmp_path / "missing.xlsx"), "--year", "2025",
                     "--out", str(out)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1, err
        assert f"pid {os.getpid()}" in err[0] and "another run" in err[0]
    assert not (out / outputs.LOCK_NAME).exists()  # released


def test_stale_lock_of_a_dead_process_is_taken_over_with_a_note(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    out.mkdir()
    lock = out / outputs.LOCK_NAME
    lock.write_text(json.dumps({"pid": dead.pid, "host": __import__("socket").gethostname(),
                                "started": "2025-01-01T00:00:00", "command": "run"}), encoding="utf-8")
    notes = []
    with outputs.run_lock(out, "map", echo=notes.append):
        held = json.loads(lock.read_text(encoding="utf-8"))
        assert held["pid"] == os.getpid() and held["command"] == "map"
    assert len(notes) == 1 and str(dead.pid) in notes[0] and "stale" in notes[0]


# ---------------------------------------------------------------- whole runs or nothing
@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
    return demo.demo_inputs(tmp_path_factory.mktemp("outputs_demo"), scale=0.1)


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def test_run_writes_run_json_last_and_leaves_no_temporary_folder(small_inputs, tmp_path):
    out = tmp_path / "out"
    res = pipeline.run(**small_inputs, out_dir=out, stages=("efficiency",), progress=False)
    rec = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert rec["status"] == "complete" and rec["command"] == "run"
    assert set(rec["files"]) == {"results.gpkg", "rejects.csv", "index.html"}  # and the front door
    assert rec["inputs"]["enterprises"]["sha256"] and len(rec["settings_sha256"]) == 64
    assert rec["versions"]["gis"] and rec["versions"]["pandas"]
    assert res.paths["results"] == out / "results.gpkg" and res.paths["results"].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # temporary folder removed
    assert not (out / outputs.LOCK_NAME).exists()


def test_interrupted_run_leaves_the_previous_complete_outputs(small_inputs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    pipeline.run(**small_inputs, out_dir=out, stages=("efficiency",), progress=False)
    before = _snapshot(out)

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(publishing, "write_results", ctrl_c)  # Ctrl-C while writing results.gpkg
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(**small_inputs, out_dir=out, stages=("efficiency",), progress=False)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_run_interrupted_while_moving_files_in_says_incomplete(small_inputs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = os.replace
    moved = []

    def replace(src, dst):
        if Path(dst).parent == out and Path(dst).name != "run.json":
            if moved:
                raise KeyboardInterrupt
            moved.append(dst)
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(**small_inputs, out_dir=out, stages=("efficiency",), progress=False)
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["status"] == "incomplete"
    assert len(moved) == 1


def test_run_stopped_by_a_user_error_says_failed_and_keeps_its_rejects(
        tmp_path, write_xlsx, valid_enterprise_rows):
    from conftest import ENTERPRISE_HEADERS_ZH

    rows = [r[:5] + [0.0, 0.0] + r[7:] for r in valid_enterprise_rows]  # all outside Yiwu
    bad = write_xlsx(tmp_path / "bad.xlsx", ENTERPRISE_HEADERS_ZH, rows)
    out = tmp_path / "out"
    with pytest.raises(outputs.ValidationError, match="no row could be loaded") as err:
        pipeline.run(bad, out, 2025, coords="wgs84", stages=(), progress=False)
    assert str(out / "rejects.csv") in str(err.value) and ".gis-tmp-" not in str(err.value)
    rec = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert rec["status"] == "failed" and "no row could be loaded" in rec["error"]
    assert rec["files"] == ["rejects.csv"] and (out / "rejects.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx", "out"]


# ---------------------------------------------------------------- formula injection
INJECT = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _no_formula_cells(path):
    import zipfile

    import openpyxl

    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere in the package
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    # a CR is stored as _x000D_ (XlsxWriter) or read back as a line feed (XML)
    return {c.value.replace("_x000D_", "\r").replace("\n", "\r") if isinstance(c.value, str)
            else c.value for c in cells}


def test_rejects_csv_writes_formula_like_text_as_text(tmp_path, valid_enterprise_rows):
    import csv

    from conftest import ENTERPRISE_HEADERS_ZH

    rows = [list(r) for r in valid_enterprise_rows]
    rows[0][0], rows[0][1] = INJECT[0], INJECT[1]        # firm name, credit code (rejected)
    rows[1][1], rows[1][3] = INJECT[2], INJECT[1]         # credit code, chain
    rows[2][1] = INJECT[4]
    table = tmp_path / "t.csv"  # a CSV: the cells are the text as typed (no formula in the input)
    with open(table, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([ENTERPRISE_HEADERS_ZH] + rows)
    out = tmp_path / "check"
    main(["validate", str(table), "--coords", "wgs84", "--out", str(out)])
    with open(out / "rejects.csv", encoding="utf-8-sig", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c.startswith(outputs.FORMULA_START)]
    assert {"'" + INJECT[1], "'" + INJECT[2], "'" + INJECT[4]} <= set(cells)


def test_match_workbook_writes_names_and_chains_as_text(tmp_path, monkeypatch):
    import pandas as pd

    from gis import matching

    table = pd.DataFrame({"排名": range(1, len(INJECT) + 1), "地块编号": INJECT, "产业链": INJECT[::-1],
                          "面积(亩)": [float(i) for i in range(len(INJECT))]})

    class Done:
        renewal = {"renewal_parcels": None, "renewal_blocks": None, "facts": None}
        plan = None

    monkeypatch.setattr(pipeline, "run", lambda **k: Done())
    monkeypatch.setattr(matching, "match_sites", lambda *a, **k: table)
    path = tmp_path / "m" / "match.xlsx"
    assert main(["match", "--mu", "80-150", "--out", str(path), "--no-progress",
                 "--enterprises", "x.xlsx", "--year", "2025"]) == 0
    values = _no_formula_cells(path)
    assert set(INJECT) <= values  # the exact text, as text


def test_report_workbook_writes_names_and_chains_as_text(tmp_path):
    import pandas as pd

    from gis import report

    firms = pd.DataFrame({"name": INJECT, "chain": INJECT[::-1], "tax": [1.5] * len(INJECT)})
    path = report.write_workbook(tmp_path / "r.xlsx", {"firms": firms, "chains": firms.set_index("chain")})
    values = _no_formula_cells(path)
    assert set(INJECT) <= values

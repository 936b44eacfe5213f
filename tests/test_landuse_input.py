"""Issue 12, land-use layers and the early checks of a run.

Each case builds its land-use file in ``tmp_path`` from the demo 三调 layer
(scale 0.1, generated once for the module) and asserts the loaded values,
the ledger rows (reason, row, column) and ``rows read = loaded + rejected``
for that file.  CLI cases assert exit code 2, one line on stderr, no
traceback, and that nothing was loaded (the loaders are replaced by a trap).
"""

from __future__ import annotations

import glob
import os
import zipfile

import geopandas as gpd
import pandas as pd
import pytest

from gis import ValidationError, cli, demo, pipeline, stages
from gis.io import read_landuse, read_plan
from gis.ledger import Ledger

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    return demo.demo_inputs(tmp_path_factory.mktemp("landuse_demo"), scale=0.1)


@pytest.fixture(scope="module")
def dltb(demo_data):
    """The demo DLTB as stored (codes as text), without the 05H1/08H2 codes a number cannot hold."""
    p = gpd.read_file(demo_data["landuse"], layer="DLTB")
    return p[p["DLBM"].str.fullmatch(r"\d{4}")].reset_index(drop=True)


def _one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def _balance(led, file):
    b = led.balance().set_index("file").loc[file]
    assert b["rows_read"] == b["loaded"] + b["rejected"]
    return int(b["rows_read"]), int(b["loaded"]), int(b["rejected"])


# ---------------------------------------------------------------- codes stored as numbers
def test_dlbm_stored_as_integers_is_read_as_four_digit_codes(dltb, tmp_path):
    numeric = dltb.copy()
    numeric["DLBM"] = numeric["DLBM"].astype(int)            # 0601 -> 601
    numeric["ZLDWDM"] = numeric["ZLDWDM"].astype("int64")
    path = tmp_path / "DLTB.gpkg"
    numeric.to_file(path, layer="DLTB")
    led = Ledger()
    got = read_landuse(path, ledger=led)
    assert got["DLBM"].tolist() == dltb["DLBM"].tolist()      # 0601, 0101, 1004 ...
    assert (got["DLBM"] == "0601").sum() == (dltb["DLBM"] == "0601").sum() > 0
    assert got["ZLDWDM"].tolist() == dltb["ZLDWDM"].tolist()
    notes = led.notes.set_index("column")
    assert notes.loc["DLBM", "reason"] == "code_as_number" and notes.loc["DLBM", "row"] == 1
    assert f"{len(dltb)} rows/行, {int(dltb['DLBM'][0])} -> {dltb['DLBM'][0]}" in notes.loc["DLBM", "message_en"]
    assert notes.loc["ZLDWDM", "reason"] == "code_as_number"
    assert len(led.rejects) == 0
    assert _balance(led, "DLTB.gpkg") == (len(dltb), len(dltb), 0)


def test_dlbm_stored_as_reals_in_a_shapefile(dltb, tmp_path):
    numeric = dltb.copy()
    numeric["DLBM"] = numeric["DLBM"].astype(float)           # 601.0
    numeric["KCDLBM"] = pd.to_numeric(numeric["KCDLBM"])       # 1203.0 or empty
    numeric["ZLDWDM"] = numeric["ZLDWDM"].astype(float)       # 19 digits: beyond a double's precision
    path = tmp_path / "DLTB.shp"
    numeric.to_file(path, encoding="gbk")
    led = Ledger()
    got = read_landuse(path, ledger=led)
    assert got["DLBM"].tolist() == dltb["DLBM"].tolist()
    assert got["KCDLBM"].fillna("").tolist() == dltb["KCDLBM"].fillna("").tolist()
    # the shortest decimal of the double gives back the demo's codes
    assert got["ZLDWDM"].tolist() == dltb["ZLDWDM"].tolist()
    notes = led.notes.set_index("column")
    first = dltb["DLBM"][0]
    assert notes.loc["DLBM", "value"] == f"{float(first)!r}"
    assert f"{len(dltb)} rows/行, {float(first)!r} -> {first}" in notes.loc["DLBM", "message_en"]
    assert "trailing digits may be lost" in notes.loc["ZLDWDM", "message_en"]
    assert _balance(led, "DLTB.shp") == (len(dltb), len(dltb), 0)


def test_numeric_codes_give_the_same_renewal_candidates(demo_data, dltb, tmp_path):
    text, numeric = tmp_path / "text.gpkg", tmp_path / "numeric.gpkg"
    dltb.to_file(text, layer="DLTB")
    n = dltb.copy()
    n["DLBM"] = n["DLBM"].astype(int)
    n.to_file(numeric, layer="DLTB")
    runs = [pipeline.run(demo_data["enterprises"], tmp_path / p.stem, 2025, landuse=p,
                         stages=("efficiency", "renewal"), progress=False) for p in (text, numeric)]
    ids = [sorted(r.renewal["renewal_parcels"]["parcel_id"].astype(str)) for r in runs]
    assert len(ids[0]) > 0 and ids[0] == ids[1]
    assert not (runs[1].ledger.rejects["reason"] == "bad_code").any()


def test_plan_code_stored_as_number(demo_data, tmp_path):
    plan = gpd.read_file(demo_data["plan"])
    digits = plan["YDYHFLDM"].astype(str).str.fullmatch(r"\d+")
    plan = plan[digits].reset_index(drop=True)
    numeric = plan.copy()
    numeric["YDYHFLDM"] = numeric["YDYHFLDM"].astype("int64")
    path = tmp_path / "plan.gpkg"
    numeric.to_file(path)
    led = Ledger()
    got = read_plan(path, ledger=led)
    assert got["YDYHFLDM"].tolist() == plan["YDYHFLDM"].astype(str).tolist()
    assert led.notes["reason"].tolist() == ["code_as_number"]
    assert _balance(led, "plan.gpkg") == (len(plan), len(plan), 0)


# ---------------------------------------------------------------- duplicates
@pytest.fixture
def duplicated(dltb, tmp_path):
    """Rows 1-3 copied to the end (rows n+1..n+3) and row 11 given row 10's BSM."""
    d = pd.concat([dltb, dltb.iloc[[0, 1, 2]]], ignore_index=True)
    d.loc[10, "BSM"] = d.loc[9, "BSM"]
    path = tmp_path / "DLTB.gpkg"
    gpd.GeoDataFrame(d, crs=dltb.crs).to_file(path, layer="DLTB")
    return path, len(d)


def test_duplicates_are_ledgered_and_the_first_kept(duplicated, dltb, capsys):
    path, n = duplicated
    led = Ledger()
    got = read_landuse(path, ledger=led)
    rej = led.rejects[["row", "column", "reason", "message_en"]].sort_values("row")
    assert rej[["row", "reason"]].values.tolist() == [
        [11, "duplicate_id"], [n - 2, "duplicate_feature"], [n - 1, "duplicate_feature"],
        [n, "duplicate_feature"]]
    assert rej.iloc[0]["column"] == "BSM" and "repeats row 10; row 10 kept" in rej.iloc[0]["message_en"]
    assert "identical to row 1 " in rej.iloc[1]["message_en"]
    assert got["BSM"].is_unique and len(got) == n - 4
    assert got["source_row"].tolist()[:10] == list(range(1, 11))
    assert _balance(led, "DLTB.gpkg") == (n, n - 4, 4)
    # gis validate finds them too
    assert cli.main(["validate", str(path), "--out", str(path.parent)]) == 0
    out = capsys.readouterr().out
    assert f"读取 {n} 行 = 载入 {n - 4} + 拒绝 4" in out and "duplicate_feature" in out


def test_run_does_not_crash_on_duplicates(demo_data, duplicated, tmp_path):
    path, n = duplicated
    r = pipeline.run(demo_data["enterprises"], tmp_path / "out", 2025, landuse=path,
                     stages=("efficiency", "renewal"), progress=False)
    assert r.parcels["BSM"].is_unique
    assert r.renewal["renewal_parcels"]["parcel_id"].is_unique
    assert _balance(r.ledger, "DLTB.gpkg") == (n, n - 4, 4)


# ---------------------------------------------------------------- layers, zip, .cpg
def test_layer_option_names_the_layer(demo_data, dltb, tmp_path, capsys):
    path = tmp_path / "土地.gpkg"
    dltb.to_file(path, layer="地类图斑2024")
    dltb.iloc[:5].to_file(path, layer="其他面")
    assert cli.main(["validate", str(path), "--out", str(tmp_path)]) == 2
    err = _one_line_error(capsys)
    assert "--layer" in err and "地类图斑2024" in err and "其他面" in err
    assert cli.main(["validate", str(path), "--layer", "地类图斑2024", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "图层 layer [土地.gpkg]: 地类图斑2024" in out
    assert f"三调图斑 土地.gpkg [地类图斑2024]: 读取 {len(dltb)} 行 = 载入 {len(dltb)} + 拒绝 0" in out
    # run and report take it too (through pipeline.run's layer=)
    r = pipeline.run(demo_data["enterprises"], tmp_path / "out", 2025, landuse=path,
                     layer="地类图斑2024", stages=(), progress=False)
    assert len(r.parcels) == len(dltb)
    for command in ("run", "report"):
        args = cli.build_parser().parse_args([command, "--enterprises", "a.xlsx", "--year", "2025",
                                              "--out", "o", "--landuse", str(path), "--layer", "L"])
        assert args.layer == "L"


def _zip(folder, dest):
    with zipfile.ZipFile(dest, "w") as z:
        for f in glob.glob(str(folder / "DLTB.*")):
            z.write(f, os.path.basename(f))
    return dest


def test_zipped_shapefile(dltb, tmp_path, capsys):
    (tmp_path / "shp").mkdir()
    dltb.to_file(tmp_path / "shp" / "DLTB.shp", encoding="gbk")
    path = _zip(tmp_path / "shp", tmp_path / "DLTB.zip")
    led = Ledger()
    got = read_landuse(path, ledger=led)
    assert got["DLBM"].tolist() == dltb["DLBM"].tolist()
    assert got["DLMC"].tolist() == dltb["DLMC"].tolist()        # GBK per the .cpg
    assert _balance(led, "DLTB.zip") == (len(dltb), len(dltb), 0)
    assert cli.main(["validate", str(path), "--out", str(tmp_path)]) == 0
    assert "图层 layer [DLTB.zip]: DLTB" in capsys.readouterr().out


@pytest.fixture
def wrong_cpg(dltb, tmp_path):
    """A GBK shapefile whose .cpg says UTF-8."""
    folder = tmp_path / "shp"
    folder.mkdir()
    dltb.to_file(folder / "DLTB.shp", encoding="gbk")
    (folder / "DLTB.cpg").write_text("UTF-8", encoding="ascii")
    return folder / "DLTB.shp"


def test_wrong_cpg_is_read_with_the_encoding_that_decodes(wrong_cpg, dltb, tmp_path):
    for path in (wrong_cpg, _zip(wrong_cpg.parent, tmp_path / "DLTB.zip")):
        led = Ledger()
        got = read_landuse(path, ledger=led)
        assert got["DLMC"].tolist() == dltb["DLMC"].tolist() and "水田" in set(got["DLMC"])
        note = led.notes
        assert note[["row", "column", "reason"]].values.tolist() == [[0, ".cpg", "encoding_mismatch"]]
        assert "DLTB.cpg (UTF-8)" in note["value"][0] and "read as gbk" in note["message_en"][0]
        assert _balance(led, path.name) == (len(dltb), len(dltb), 0)


def test_undecodable_text_names_the_cpg(wrong_cpg, capsys):
    dbf = wrong_cpg.with_suffix(".dbf")
    data = dbf.read_bytes()
    i = data.index("水田".encode("gbk"))
    dbf.write_bytes(data[:i] + b"\xff\xff\xff\xff" + data[i + 4:])  # no encoding has 0xFF 0xFF
    with pytest.raises(ValidationError, match=r"DLTB\.cpg declares 'UTF-8'"):
        read_landuse(wrong_cpg)
    assert cli.main(["validate", str(wrong_cpg), "--out", str(wrong_cpg.parent)]) == 2
    assert "DLTB.cpg" in _one_line_error(capsys)


# ---------------------------------------------------------------- found before any work
@pytest.fixture
def trap(monkeypatch):
    """Fail the test if the run starts loading anything."""
    def loaded(*a, **k):
        raise AssertionError("the run started loading before checking its arguments")

    monkeypatch.setattr(stages, "load_firms", loaded)
    monkeypatch.setattr(pipeline, "check_memory", loaded)


@pytest.mark.parametrize("case", ["out_is_file", "landuse_xlsx", "landuse_csv", "year_25", "unwritable"])
def test_bad_arguments_stop_before_any_work(case, demo_data, tmp_path, capsys, trap):
    existing = tmp_path / "out.txt"
    existing.write_text("x", encoding="utf-8")
    csv = tmp_path / "地类.csv"
    csv.write_text("DLBM\n0601\n", encoding="utf-8")
    args = {"--enterprises": demo_data["enterprises"], "--year": "2025", "--out": tmp_path / "o"}
    expect = {
        "out_is_file": ({"--out": existing}, "is an existing file"),
        "landuse_xlsx": ({"--landuse": demo_data["enterprises"]}, "is a table (.xlsx)"),
        "landuse_csv": ({"--landuse": csv}, "is a table (.csv)"),
        "year_25": ({"--year": "25"}, "--year 25: not a plausible evaluation year"),
        "unwritable": ({"--out": "/proc/gis_cannot_write/o"}, "cannot write there"),
    }[case]
    args.update(expect[0])
    for command in ("report", "run"):
        argv = [command] + [str(x) for kv in args.items() for x in kv]
        assert cli.main(argv) == 2
        assert expect[1] in _one_line_error(capsys)
    assert not (tmp_path / "o").exists()

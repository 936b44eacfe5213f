"""Stops of a run: empty land layers right after loading, late failures publish only the ledger,
settings that break a stage refused at load, and small input forms."""

import json
import zipfile

import geopandas as gpd
import pytest
import shapely

from gis import ConfigError, ValidationError, cli, pipeline
from gis.config import load_settings
from gis.io import number_cells, read_landuse

X, Y = 503_000.0, 3_240_000.0


@pytest.fixture(scope="module")
def demo_sample():
    from gis.demo import sample

    return sample()


def _run(s, out, **extra):
    args = ["run", "--enterprises", s.paths["enterprises"], "--year", "2025", "--out", str(out),
            "--coords", "gcj02", "--no-progress"]
    for k, v in extra.items():
        args += [f"--{k}", str(v)]
    return cli.main(args)


def test_land_layer_with_every_feature_rejected_stops_after_loading(tmp_path, demo_sample, capsys):
    p = tmp_path / "dltb.gpkg"
    gpd.GeoDataFrame({"DLBM": ["XX", "YY"]}, geometry=[shapely.box(X, Y, X + 100, Y + 100),
                                                     shapely.box(X + 100, Y, X + 200, Y + 100)],
                     crs="EPSG:4549").to_file(p, layer="DLTB")
    out = tmp_path / "out"
    assert _run(demo_sample, out, landuse=p) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dltb.gpkg" in err[0] and "all 2 rows rejected" in err[0]
    assert sorted(x.name for x in out.iterdir()) == ["rejects.csv", "run.json"]
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_late_stage_failure_publishes_only_the_ledger(tmp_path, demo_sample, monkeypatch, capsys):
    import inspect

    def boom(*a, **k):
        raise ValidationError("the report cannot be written (test)", source="x")

    boom.__signature__ = inspect.signature(pipeline.write_run_report)

    monkeypatch.setattr(pipeline, "write_run_report", boom)
    out = tmp_path / "out"
    assert _run(demo_sample, out, landuse=demo_sample.paths["landuse"]) == 2
    assert sorted(x.name for x in out.iterdir()) == ["rejects.csv", "run.json"]
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_header_search_rows_zero_refused_at_load(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("io:\n  header_search_rows: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="io.header_search_rows: must be >= 1"):
        load_settings(p)


def test_zipped_shapefile_inside_a_folder_of_the_zip(tmp_path):
    d = tmp_path / "shp"
    d.mkdir()
    gpd.GeoDataFrame({"DLBM": ["0601"], "BSM": ["1"]}, geometry=[shapely.box(X, Y, X + 100, Y + 100)],
                     crs="EPSG:4549").to_file(d / "DLTB.shp")
    z = tmp_path / "三调.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in d.iterdir():
            zf.write(f, f"义乌市三调/{f.name}")
    out = read_landuse(z)
    assert len(out) == 1 and out["TBDLMJ"].iloc[0] == pytest.approx(10_000.0)


def test_validate_writes_nothing_beside_the_input(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    p = src / "dltb.gpkg"
    # dataset metadata (as the demo's): GDAL's PAM would write dltb.gpkg.aux.xml when reading it
    gpd.GeoDataFrame({"DLBM": ["0601"]}, geometry=[shapely.box(X, Y, X + 100, Y + 100)],
                     crs="EPSG:4549").to_file(p, layer="DLTB", dataset_metadata={"note": "x"})
    before = sorted(x.name for x in src.iterdir())
    assert cli.main(["validate", str(p), "--out", str(tmp_path / "o")]) == 0
    assert sorted(x.name for x in src.iterdir()) == before


@pytest.mark.parametrize("text", ["1.2亿万元", "3万万元", "2亿万元"])
def test_doubled_multiplier_refused(text):
    t = number_cells([text], unit="万元")
    assert t["reason"].iloc[0] == "doubled_unit" and t["value"].isna().all()

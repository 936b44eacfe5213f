"""The dask engine gives the in-memory results (gis.scale).

The demo at scale 0.1 runs through both engines with 2 workers.  The
thread-based LocalCluster (``processes=False``) is used for the main
comparison to save start-up time; one test uses process workers and a
Hilbert partitioning whose edges cut through renewal blocks and shared
parcels.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import shapely
import geopandas as gpd

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

from gis import demo as gis_demo  # noqa: E402
from gis import pipeline, renewal, scale  # noqa: E402
from gis.scale import density_steps, renewal_steps  # noqa: E402
from gis._errors import ConfigError, ValidationError  # noqa: E402
from gis.config import load_settings  # noqa: E402

FIRM_COLS = ["parcel_id", "parcel_ids", "land_mu", "platform", "township", "scope",
             "tax_per_mu", "score", "score_note", "rank", "rank_n", "class", "class_zh"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_engine")
    inputs = gis_demo.demo_inputs(root / "data", scale=0.1)
    mem = pipeline.run(**inputs, out_dir=root / "out", stages=("efficiency", "renewal", "density"),
                       progress=False)
    return inputs, mem


@pytest.fixture(scope="module")
def dask_run(demo):
    inputs, _ = demo
    return scale.run_dask(**inputs, workers=2, processes=False)


def _block_members(blocks):
    return [list(map(str, ids)) for ids in blocks["parcel_ids"]]


@pytest.mark.slow
def test_firm_scores_and_classes_identical(demo, dask_run):
    _, mem = demo
    a, b = mem.firms, dask_run.firms
    assert a.index.equals(b.index)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(_plain(a[FIRM_COLS]), _plain(b[FIRM_COLS]))
    assert a.attrs["benchmarks"] == b.attrs["benchmarks"]
    assert b["class"].notna().sum() > 100  # the comparison is not vacuous
    assert dask_run.summary["firms_graded"] == mem.summary.get("firms_graded",
                                                             b["scope"].eq("graded").sum())


@pytest.mark.slow
def test_candidates_and_blocks_identical(demo, dask_run):
    _, mem = demo
    ca, cb = mem.renewal["renewal_parcels"], dask_run.renewal["renewal_parcels"]
    assert ca["parcel_id"].tolist() == cb["parcel_id"].tolist()
    assert ca["status"].tolist() == cb["status"].tolist()
    assert (ca["status"] == "候选").sum() > 20
    for col in ("reasons", "priority", "rank"):
        assert ca[col].tolist() == cb[col].tolist(), col
    ba, bb = mem.renewal["renewal_blocks"], dask_run.renewal["renewal_blocks"]
    assert ba["block_id"].tolist() == bb["block_id"].tolist()
    assert _block_members(ba) == _block_members(bb)
    assert np.array_equal(ba["area_mu"].to_numpy(), bb["area_mu"].to_numpy())
    assert ba.geometry.geom_equals_exact(bb.geometry, 1e-6).all()
    pd.testing.assert_frame_equal(_plain(mem.renewal["rules"].reset_index(drop=True)),
                                  _plain(dask_run.renewal["rules"]))
    assert mem.renewal["plan_check"]["total_mu"] == dask_run.renewal["plan_check"]["total_mu"]
    assert dask_run.renewal["engine"]["partitions"] > 5  # townships


@pytest.mark.slow
def test_rules_stay_on_disk_when_the_partitions_are_kept(demo, tmp_path):
    """With an output folder the rules table (no output shows it, the largest read back)
    is not read into the client; read from the folder it equals the in-memory rules."""
    inputs, mem = demo
    res = scale.run_dask(**inputs, workers=2, processes=False, output_dir=tmp_path / "parts",
                         stages=("efficiency", "renewal"))
    assert "rules" not in res.renewal and len(res.renewal["renewal_parcels"])
    pd.testing.assert_frame_equal(_plain(mem.renewal["rules"].reset_index(drop=True)),
                                  _plain(scale.read_output(tmp_path / "parts", "rules")))


@pytest.mark.slow
def test_density_grids_equal_within_float32(demo, dask_run):
    _, mem = demo
    ga, gb = mem.density["grids"], dask_run.density["grids"]
    assert list(ga) == list(gb)
    for name in ga:
        x, y = ga[name].array, gb[name].array
        assert x.shape == y.shape and ga[name].transform == gb[name].transform
        assert np.array_equal(np.isnan(x), np.isnan(y))
        top = float(np.nanmax(x))
        np.testing.assert_allclose(y, x, rtol=0, atol=4 * np.finfo(np.float32).eps * top)
        assert ga[name].metadata["n_points"] == gb[name].metadata["n_points"]


@pytest.mark.slow
def test_processes_and_hilbert_partitions_cross_edges(demo):
    """Process workers; 16 Hilbert partitions cut through blocks: results unchanged."""
    inputs, mem = demo
    s = load_settings()
    s["engine"] = dict(s["engine"], partition_by="hilbert", hilbert_partitions=16)
    res = scale.run_dask(**inputs, settings=s, workers=2, processes=True,
                          stages=("efficiency", "renewal"))
    pd.testing.assert_frame_equal(_plain(mem.firms[FIRM_COLS]),
                                  _plain(res.firms[FIRM_COLS]))
    assert res.renewal["engine"]["partitions"] == 16
    assert res.renewal["engine"]["blocks_across_partitions"] >= 1
    ba, bb = mem.renewal["renewal_blocks"], res.renewal["renewal_blocks"]
    assert ba["block_id"].tolist() == bb["block_id"].tolist()
    assert _block_members(ba) == _block_members(bb)


def _plain(df):
    """Parquet reads back all-missing text as NaN or None: compare missing as None."""
    df = pd.DataFrame(df)
    return df.astype(object).where(df.notna(), None)


@pytest.mark.slow
def test_written_partitions_equal_the_returned_tables(demo, dask_run, tmp_path):
    """Process workers, 16 Hilbert partitions (blocks re-merged across edges):
    the results written per partition, read back, equal the 4-thread run's
    tables; with ``results=False`` nothing per firm reaches the caller."""
    inputs, _ = demo
    s = load_settings()
    s["engine"] = dict(s["engine"], partition_by="hilbert", hilbert_partitions=16)
    res = scale.run_dask(**inputs, settings=s, workers=2, processes=True,
                         output_dir=tmp_path / "out", results=False)
    assert res.firms is None and res.renewal.get("rules") is None
    assert res.renewal["engine"]["blocks_across_partitions"] >= 1
    assert len(list((tmp_path / "out" / "firms").glob("part.*.parquet"))) > 1
    d = dask_run
    f = scale.read_output(tmp_path / "out", "firms")
    assert d.firms.index.equals(f.index)
    assert list(d.firms.columns) == list(f.columns)
    pd.testing.assert_frame_equal(_plain(d.firms[FIRM_COLS]), _plain(f[FIRM_COLS]))
    assert res.summary["benchmarks"] == d.firms.attrs["benchmarks"]
    assert res.summary["firms_graded"] == int(d.firms["scope"].eq("graded").sum())
    pd.testing.assert_frame_equal(_plain(d.renewal["rules"]),
                                  _plain(scale.read_output(tmp_path / "out", "rules")))
    ca = d.renewal["renewal_parcels"]
    cb = scale.read_output(tmp_path / "out", "renewal_parcels")
    assert list(ca.columns) == list(cb.columns)
    for col in ("parcel_id", "status", "reasons", "priority", "rank", "gain_tax"):
        assert ca[col].tolist() == cb[col].tolist(), col
    ba = d.renewal["renewal_blocks"].reset_index(drop=True)
    bb = scale.read_output(tmp_path / "out", "renewal_blocks").reset_index(drop=True)
    assert ba["block_id"].tolist() == bb["block_id"].tolist()
    assert _block_members(ba) == _block_members(bb)
    for col in ("area_mu", "priority", "rank"):
        assert ba[col].tolist() == bb[col].tolist(), col
    assert ba.geometry.geom_equals_exact(bb.geometry, 1e-6).all()
    assert d.renewal["plan_check"]["total_mu"] == res.renewal["plan_check"]["total_mu"]
    fa, fb = d.renewal["facts"], scale.read_output(tmp_path / "out", "facts")
    assert fa.index.tolist() == fb.index.tolist()
    assert fa["parcel_id"].tolist() == fb["parcel_id"].tolist()
    ga, gb = d.density["grids"], scale.read_density(tmp_path / "out")
    assert list(ga) == list(gb) == list(res.density["written"])
    for name in ga:
        x, y = ga[name].array, gb[name].array
        assert x.shape == y.shape and ga[name].transform == gb[name].transform
        assert np.array_equal(np.isnan(x), np.isnan(y))
        np.testing.assert_allclose(y, x, rtol=0, atol=4 * np.finfo(np.float32).eps
                                   * float(np.nanmax(x)))
        assert gb[name].metadata["n_points"] == ga[name].metadata["n_points"]


def _sheets(path):
    """Every sheet of a written workbook as lists of cell values (what a planner opens)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _run_specific(row):
    return any(k in str(c) for c in row[:1] for k in ("生成时间", "用时", "引擎", "engine"))


@pytest.mark.slow
def test_published_outputs_equal_in_memory(demo, dask_run, tmp_path):
    """The workbook and the GeoPackage published from the dask run's written
    partitions equal those of the in-memory run, sheet by sheet and layer by layer."""
    import pyogrio

    _, mem = demo
    a = pipeline.publish(mem, tmp_path / "mem", stages=("density", "report"))
    # published without the rules table, as `gis run --engine dask` leaves it on disk
    kept = dataclasses.replace(dask_run, renewal={k: v for k, v in dask_run.renewal.items()
                                                  if k != "rules"})
    b = pipeline.publish(kept, tmp_path / "dask", stages=("density", "report"))
    wa, wb = a.paths["report_workbook"], b.paths["report_workbook"]
    sa, sb = _sheets(wa), _sheets(wb)
    assert list(sa) == list(sb)
    for name in sa:
        rows_a, rows_b = sa[name], sb[name]
        # when and how long it ran, and on which engine, differ; nothing else may
        rows_a, rows_b = ([x for x in rows if not _run_specific(x)] for rows in (rows_a, rows_b))
        assert rows_a == rows_b, name
    ga, gb = a.paths["results"], b.paths["results"]
    la = [n for n, _ in pyogrio.list_layers(ga)]
    assert la == [n for n, _ in pyogrio.list_layers(gb)] and "renewal_parcels" in la
    for layer in la:
        x = pyogrio.read_dataframe(ga, layer=layer)
        y = pyogrio.read_dataframe(gb, layer=layer)
        when = ["geometry", "update_time"]   # layer_styles records when it was written
        pd.testing.assert_frame_equal(_plain(x.drop(columns=when, errors="ignore")),
                                      _plain(y.drop(columns=when, errors="ignore")), obj=layer)
        if "geometry" in x:   # layer_styles is a plain table
            assert x.geometry.geom_equals_exact(y.geometry, 1e-6).all(), layer


@pytest.mark.slow
def test_partitioned_sources_equal_one_file(demo, tmp_path):
    """The county's DLTB split into two files, partitioned one file at a time
    (townships cut in two, so keys repeat), then run from the folder: same
    results as the in-memory run of the whole layer."""
    from gis import io

    inputs, mem = demo
    whole = io.read_landuse(inputs["landuse"]).drop(columns=["source_row"])
    half = len(whole) // 2
    files = []
    for k, part in enumerate((whole.iloc[:half], whole.iloc[half:])):
        files.append(tmp_path / f"county_{k}.gpkg")
        part.to_file(files[-1], layer="DLTB")
    info = scale.partition_landuse(files, tmp_path / "parts")
    assert info["parcels"] == len(whole)
    keys = [p.name.split(".", 2)[2].removesuffix(".parquet")
            for p in sorted((tmp_path / "parts").glob("part.*.parquet"))]
    assert len(set(keys)) == len(keys) == info["partitions"]
    assert any(k.endswith(".%05d" % i) for i, k in enumerate(keys))  # a township in both files
    res = scale.run_dask(**dict(inputs, landuse=tmp_path / "parts"), workers=2, processes=False,
                          stages=("efficiency", "renewal"))
    pd.testing.assert_frame_equal(_plain(mem.firms[FIRM_COLS]),
                                  _plain(res.firms[FIRM_COLS]))
    ca, cb = mem.renewal["renewal_parcels"], res.renewal["renewal_parcels"]
    for col in ("parcel_id", "status", "reasons", "rank"):
        assert ca[col].tolist() == cb[col].tolist(), col
    assert len(res.parcels) == len(whole)


def test_partition_refuses_parcel_ids_used_twice(tmp_path):
    p = gpd.GeoDataFrame(
        {"BSM": ["1", "2"], "DLBM": ["0601", "0601"], "ZLDWDM": ["330782001001"] * 2},
        geometry=[_square(500_000, 3_240_000), _square(500_200, 3_240_000)], crs="EPSG:4549")
    f = tmp_path / "a.gpkg"
    p.to_file(f, layer="DLTB")
    with pytest.raises(ValidationError, match=r"a.gpkg: column 'BSM': 2 parcel ids already used.*'1', '2'"):
        scale.partition_landuse([f, f], tmp_path / "parts")


@pytest.mark.slow
def test_cli_partition_then_run_dask(demo, tmp_path, capsys, monkeypatch):
    """`gis partition` then `gis run --engine dask --db`: results on disk per
    partition, equal to the in-memory run, published as a county run is
    (workbook, GeoPackage, rejects) and handed to PostGIS partition by
    partition; a database that cannot be reached is one line."""
    from gis import cli, postgis

    calls = []
    monkeypatch.setattr(postgis, "check_connection", lambda url: calls.append(url))
    monkeypatch.setattr(postgis, "write_partitions",
                        lambda url, folder, year: calls.append((url, folder, year))
                        or {"enterprises": 7})

    inputs, mem = demo
    parts = tmp_path / "parts"
    assert cli.main(["partition", str(inputs["landuse"]), "--out", str(parts)]) == 0
    assert "个分区 partitions" in capsys.readouterr().out
    args = ["run", "--engine", "dask", "--workers", "2", "--skip", "maps", "density", "--enterprises", str(inputs["enterprises"]), "--landuse", str(parts),
            "--plan", str(inputs["plan"]), "--year", str(inputs["year"]),
            "--coords", inputs["coords"], "--out", str(tmp_path / "out")]
    timings = tmp_path / "timings.json"
    assert cli.main(args + ["--db", "postgresql://u@db/x", "--timings", str(timings)]) == 0
    printed = capsys.readouterr().out
    assert "PostGIS: enterprises 7" in printed
    # the 用时 line and --timings cover the whole job: the workers' steps and publishing
    line = next(ln for ln in printed.splitlines() if ln.startswith("用时:"))
    for name in ("载入", "分区", "亩均", "低效用地", "读回", "报告", "GeoPackage", "PostGIS", "合计"):
        assert f"{name} " in line, name
    doc = json.loads(timings.read_text(encoding="utf-8"))
    assert {"load", "partition", "efficiency", "renewal", "read_back", "report", "gpkg",
            "postgis"} <= set(doc["wall_s"])
    assert doc["total_wall_s"] == pytest.approx(sum(doc["wall_s"].values()))
    assert doc["firms"] == len(mem.firms)
    assert calls == ["postgresql://u@db/x",
                     ("postgresql://u@db/x", tmp_path / "out" / "partitions", inputs["year"])]
    assert (tmp_path / "out" / "results.gpkg").exists()
    assert list((tmp_path / "out").glob("*.xlsx"))
    got = scale.read_output(tmp_path / "out" / "partitions", "firms")
    pd.testing.assert_frame_equal(_plain(mem.firms[FIRM_COLS]), _plain(got[FIRM_COLS]))
    assert (tmp_path / "out" / "rejects.csv").exists()
    monkeypatch.undo()
    assert cli.main(args + ["--db", "postgresql://nobody:secret@127.0.0.1:1/none"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect to the database postgresql://nobody:***@127.0.0.1:1/none" in err
    assert "secret" not in err and "Traceback" not in err


# ------------------------------------------------------------- small known answers
@pytest.fixture(scope="module")
def client():
    with scale.dask_client(workers=2, processes=False) as c:
        yield c


def _square(x, y, side=100.0):
    return shapely.box(x, y, x + side, y + side)


def test_blocks_merged_across_partition_edge():
    """a|b touch across the edge of partitions 0 and 1; c is alone: 2 blocks."""
    s = load_settings()
    cands = gpd.GeoDataFrame(
        {"parcel_id": ["a", "b", "c"], "DLBM": ["0601"] * 3, "status": ["候选"] * 3,
         "area_mu": [15.0, 30.0, 40.0], scale.ORD: [0, 1, 2]},
        geometry=[_square(0, 0), _square(100, 0), _square(5000, 0)], crs="EPSG:4549")
    pieces = []
    for members in (["a"], ["b", "c"]):
        sub = cands[cands["parcel_id"].isin(members)]
        b = renewal.renewal_blocks(sub.drop(columns=[scale.ORD]), settings=s)
        b["__first"] = renewal_steps._first_ord(b, sub)
        pieces.append(b)
    blocks, remerged = renewal_steps._merge_blocks(pieces, cands, s, {}, 10.0)
    assert remerged == 1
    # largest first: a+b = 45 亩 (hand sum), then c = 40 亩; first members a (0) and c (2)
    blocks = blocks.sort_values("area_mu", ascending=False)
    assert _block_members(blocks) == [["a", "b"], ["c"]]
    assert blocks["area_mu"].tolist() == [45.0, 40.0]
    assert blocks["__first"].tolist() == [0, 2]
    assert blocks.geometry.iloc[0].area == pytest.approx(20000.0)


def test_density_sum_of_partitions_equals_one_grid(client):
    """Binning per partition, summed, one convolution = density_by_chain."""
    from gis import density

    rng = np.random.default_rng(7)
    n = 600
    x = 500_000 + rng.uniform(0, 8000, n)
    y = 3_240_000 + rng.uniform(0, 6000, n)
    pts = gpd.GeoDataFrame({"chain": rng.choice(["甲", "乙", "丙"], n, p=[0.5, 0.3, 0.2])},
                           geometry=gpd.points_from_xy(x, y), crs="EPSG:4549")
    s = load_settings()
    s["density"] = dict(s["density"], kde=dict(s["density"]["kde"], cell_m=100, radius_m=500))
    ref = density.density_by_chain(pts, include_all=True, bounds="points", settings=s)
    got = scale.density_grids(client, pts, bounds="points", settings=s, npartitions=5)
    assert list(got) == list(ref) == ["全部", "甲", "乙", "丙"]
    for k in ref:
        top = float(ref[k].array.max())
        np.testing.assert_allclose(got[k].array, ref[k].array, rtol=0,
                                   atol=4 * np.finfo(np.float32).eps * top)
        # mass: every point counts 1 per km² × cell area; all inside the padded grid
        cell_km2 = 0.1 * 0.1
        assert float(got[k].array.sum(dtype=np.float64)) * cell_km2 == pytest.approx(
            got[k].metadata["n_points"], rel=1e-5)


def test_density_in_bands_equals_one_grid(client, tmp_path, monkeypatch):
    """A grid convolved band by band (written by the workers, or assembled) and
    clipped per band equals the whole-grid convolution of density_by_chain."""
    from gis import density

    rng = np.random.default_rng(11)
    n = 800
    x = 500_000 + rng.uniform(0, 9000, n)
    y = 3_240_000 + rng.uniform(0, 9000, n)
    pts = gpd.GeoDataFrame({"chain": rng.choice(["甲", "乙"], n, p=[0.7, 0.3])},
                           geometry=gpd.points_from_xy(x, y), crs="EPSG:4549")
    clip = shapely.Point(504_500, 3_244_500).buffer(4000)
    s = load_settings()
    s["density"] = dict(s["density"], kde=dict(s["density"]["kde"], cell_m=100, radius_m=500,
                                               tile=16))
    ref = density.density_by_chain(pts, include_all=True, bounds="points", clip=clip, settings=s)
    rows = ref["全部"].array.shape[0]
    monkeypatch.setattr(density_steps, "_BAND_CELLS", 1)  # bands of 8 × pad = 48 rows
    assert rows > 2 * 48  # at least three bands
    got = scale.density_grids(client, pts, bounds="points", clip=clip, settings=s,
                               npartitions=3)
    out = scale.density_grids(client, pts, bounds="points", clip=clip, settings=s,
                               npartitions=3, write_dir=tmp_path)
    assert list(got) == list(out) == list(ref)
    cell_km2 = 0.01
    for k, name in enumerate(ref):
        back = density.read_geotiff(tmp_path / f"{k:03d}.tif")
        assert back.metadata["chain"] == name and back.transform == ref[name].transform
        for g in (got[name], back):
            assert np.array_equal(np.isnan(g.array), np.isnan(ref[name].array))
            np.testing.assert_allclose(g.array, ref[name].array, rtol=0,
                                       atol=4 * np.finfo(np.float32).eps
                                       * float(np.nanmax(ref[name].array)))
        # the whole grid's totals, summed over the bands
        assert got[name].metadata["total"] == pytest.approx(ref[name].metadata["total"])
        assert got[name].metadata["mass_in_grid"] == pytest.approx(
            ref[name].metadata["mass_in_grid"], rel=1e-6)
        assert out[name]["mass"] == pytest.approx(
            float(np.nansum(ref[name].array, dtype=np.float64)) * cell_km2, rel=1e-6)


def test_partition_keys_and_partitioned_parquet(tmp_path):
    p = gpd.GeoDataFrame(
        {"BSM": ["1", "2", "3"], "ZLDWDM": ["330782001001", "330782002003", "330782001009"]},
        geometry=[_square(0, 0), _square(1000, 0), _square(0, 1000)], crs="EPSG:4549")
    keys = scale.partition_keys(p, "township")
    assert keys.tolist() == ["330782001", "330782002", "330782001"]
    path = scale.write_partitioned(p, tmp_path / "parcels", keys)
    ddf = scale.read_partitioned(path)
    assert ddf.npartitions == 2
    assert len(ddf.spatial_partitions) == 2
    back = ddf.compute()
    assert sorted(back["BSM"]) == ["1", "2", "3"]
    first = ddf.get_partition(0).compute()
    assert first["BSM"].tolist() == ["1", "3"] and first[scale.ORD].tolist() == [0, 2]
    hil = scale.partition_keys(p, "hilbert", n=3)
    assert hil.nunique() == 3


def test_bad_engine_setting_is_a_config_error():
    s = load_settings()
    s["engine"] = dict(s["engine"], partition_by="province")
    with pytest.raises(ConfigError, match="engine.partition_by"):
        scale.partition_keys(gpd.GeoDataFrame(geometry=[], crs="EPSG:4549"), settings=s)


def test_firm_homes_nearest_hull_known_answer():
    """Inside a hull → that partition; outside → the nearest (hand distances); no point → 0."""
    hulls = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    f = gpd.GeoDataFrame(geometry=[shapely.Point(25, 5), shapely.Point(14, 5),
                                   shapely.Point(16, 5), None], crs="EPSG:4549")
    # (14, 5): 4 m from the first box, 6 m from the second; (16, 5): 6 and 4
    assert scale.firm_homes(f, hulls).tolist() == [1, 0, 1, 0]


@pytest.mark.slow
def test_firms_from_parts_on_disk_equal_the_table(demo, dask_run, client, tmp_path):
    """Firms given as parts on disk (ours, or any spatial split of the table
    without positions) are scored as the loaded table is: the client never
    holds them."""
    inputs, _ = demo
    s = load_settings()
    layers = pipeline.planning_layers()
    firms, _ = pipeline.load_firms(inputs["enterprises"], inputs["coords"], layers["boundary"])
    parcels, _ = pipeline.load_land(inputs["landuse"])
    pddf = scale.read_partitioned(scale.write_partitioned(
        parcels, tmp_path / "parcels", scale.partition_keys(parcels, settings=s)))
    ours = scale.write_firm_partitions(firms, pddf.spatial_partitions.values, tmp_path / "f1")
    assert len(list(ours.glob("part.*.parquet"))) > 1
    # an outside split: west and east halves, positions = file order then row order
    x = firms.geometry.x.to_numpy()
    west = x < np.median(x)
    order = np.r_[np.flatnonzero(west), np.flatnonzero(~west)]
    other = tmp_path / "f2"
    other.mkdir()
    firms[west].reset_index(drop=True).to_parquet(other / "part.0.parquet", index=False)
    firms[~west].reset_index(drop=True).to_parquet(other / "part.1.parquet", index=False)
    want = dask_run.firms
    for folder, rows in ((ours, np.arange(len(firms))), (other, order)):
        out = tmp_path / f"out_{folder.name}"
        scale.run_partitions(client, folder, pddf, layers, s, inputs["year"], out,
                             stages=("efficiency",))
        got = scale.read_output(out, "firms")
        assert len(got) == len(firms)
        exp = want.iloc[rows]
        pd.testing.assert_frame_equal(_plain(exp[FIRM_COLS]).reset_index(drop=True),
                                      _plain(got[FIRM_COLS]).reset_index(drop=True))


def test_oversized_townships_are_cut_to_the_partition_limit():
    """11 parcels of one township and 3 of another, at most 4 per partition:
    ceil(11/4) = 3 pieces of 4, 4, 3 (Hilbert order); the small one stays whole."""
    s = load_settings()
    s["engine"] = dict(s["engine"], max_parcels_per_partition=4)
    codes = ["330782001001"] * 11 + ["330782002001"] * 3
    p = gpd.GeoDataFrame({"ZLDWDM": codes},
                         geometry=[_square(100.0 * i, 0) for i in range(14)], crs="EPSG:4549")
    keys = scale.partition_keys(p, "township", settings=s)
    assert keys.value_counts().sort_index().to_dict() == {
        "330782001.000": 4, "330782001.001": 4, "330782001.002": 3, "330782002": 3}
    s["engine"]["max_parcels_per_partition"] = None
    assert scale.partition_keys(p, "township", settings=s).nunique() == 2
    s["engine"]["max_parcels_per_partition"] = 0
    with pytest.raises(ConfigError, match="max_parcels_per_partition"):
        scale.partition_keys(p, "township", settings=s)


def test_a_dead_worker_is_one_clear_error(demo, monkeypatch):
    """A worker killed mid-run (memory) ends the run with what to change, not a traceback."""
    from distributed.scheduler import KilledWorker

    from gis._errors import GisError
    from gis.scale import run as scale_run

    def killed(*args, **kwargs):
        raise KilledWorker("_attach_task-1", None, 3)

    monkeypatch.setattr(scale_run, "run_partitions", killed)
    inputs, _ = demo
    with pytest.raises(GisError, match=r"engine\.memory_limit.*max_parcels_per_partition"):
        scale.run_dask(**inputs, workers=1, processes=False)


# --------------------------------------------------------------------------
# the 宗地 as the land unit: the dask engine gives what the in-memory run gives
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zongdi_runs(demo, tmp_path_factory):
    from pathlib import Path

    inputs, _ = demo
    zd = str(Path(inputs["enterprises"]).parent / "地籍宗地_ZD.gpkg")
    root = tmp_path_factory.mktemp("demo_engine_zongdi")
    inputs = {**inputs, "cadastre": zd}
    mem = pipeline.run(**inputs, out_dir=root / "out", stages=("efficiency", "renewal"),
                       progress=False)
    dk = scale.run_dask(**inputs, workers=2, processes=False, stages=("efficiency", "renewal"))
    return mem, dk


@pytest.mark.slow
def test_zongdi_run_on_dask_equals_in_memory(zongdi_runs):
    mem, dk = zongdi_runs
    a, b = mem.firms, dk.firms
    assert a.index.equals(b.index)
    cols = FIRM_COLS + ["land_join"]
    pd.testing.assert_frame_equal(_plain(a[cols]), _plain(b[cols]))
    assert a["parcel_id"].str.len().eq(19).sum() > 100  # the land units are 宗地 (ZDDM)
    ca, cb = mem.renewal["renewal_parcels"], dk.renewal["renewal_parcels"]
    assert ca["parcel_id"].tolist() == cb["parcel_id"].tolist()
    assert ca["status"].tolist() == cb["status"].tolist()
    np.testing.assert_allclose(ca["tax_per_mu"].astype(float), cb["tax_per_mu"].astype(float),
                               rtol=1e-9)

"""End to end: ``gis demo`` on reduced demo data, and the CLI's error paths.

The expected numbers come from the generator's manifest (what it planted)
and from independent recomputation over the written outputs, not from
the pipeline's own summary.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

from gis import GisError, cli, pipeline

pytestmark = pytest.mark.slow


def _data_rows(ws):
    """Rows below the header that hold any value."""
    return sum(1 for row in ws.iter_rows(min_row=2, values_only=True) if any(v is not None for v in row))


# ``demo_run`` (the reduced demo, run once per session) is in conftest.py


def test_every_row_is_loaded_or_rejected(demo_run):
    result, out, manifest, inputs = demo_run
    rows_read = _data_rows(openpyxl.load_workbook(inputs["enterprises"], read_only=True)["企业名录"])
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig", dtype=str)
    firm_rows = rejects["file"] == Path(inputs["enterprises"]).name  # the contracts have their own
    rejected_rows = rejects.loc[(rejects["severity"] == "reject") & firm_rows, "row"].nunique()
    assert rejected_rows == manifest["expected_rejects"]
    assert len(result.firms) + rejected_rows == rows_read
    enterprises = pyogrio.read_dataframe(out / "results.gpkg", layer="enterprises")
    assert len(enterprises) == len(result.firms)
    # the planted problems are in the ledger with the reasons the manifest expects
    planted = {(str(p["excel_row"]), p["reason"]) for p in manifest["planted"] if p.get("reason")}
    got = set(zip(rejects["row"].astype(str), rejects["reason"]))
    assert planted <= got


def test_results_geopackage_layers(demo_run):
    _, out, _, _ = demo_run
    names = set(pyogrio.list_layers(out / "results.gpkg")[:, 0])
    assert {"enterprises", "parcels", "platforms", "parks", "townships",
            "renewal_parcels", "renewal_blocks", "hotspots", "clusters", "contracts"} <= names
    info = pyogrio.read_info(out / "results.gpkg", layer="parcels")
    assert "4549" in info["crs"]


def test_city_total_is_the_ratio_of_sums(demo_run):
    result, _, _, _ = demo_run
    ev = result.firms
    counted = ev[ev["scope"].isin(["graded", "scored_not_graded"])]
    chains = result.tables["chains"]
    total = chains.iloc[-1]
    assert total["tax"] == pytest.approx(counted["tax"].fillna(0).sum())
    assert total["land_mu"] == pytest.approx(counted["land_mu"].sum())
    assert total["tax_per_mu"] == pytest.approx(counted["tax"].fillna(0).sum() / counted["land_mu"].sum())
    # the parts add up to the whole
    assert chains.iloc[:-1]["tax"].sum() == pytest.approx(total["tax"])
    platforms = result.tables["platforms"]
    assert platforms.iloc[:-1]["firms"].sum() == platforms.iloc[-1]["firms"]


def test_every_industrial_parcel_has_a_renewal_status(demo_run):
    result, _, _, _ = demo_run
    parcels = result.parcels
    industrial = parcels["DLBM"].astype(str).isin(["0601", "0508"])
    cands = result.renewal["renewal_parcels"]
    in_scope = cands[cands["scope"] == "三调工业"]
    assert set(in_scope["parcel_id"]) == set(parcels.loc[industrial, "BSM"])
    assert set(cands["status"]) <= {"候选", "豁免", "达标"}
    blocks = result.renewal["renewal_blocks"]
    flagged = cands[cands["status"] == "候选"]
    assert blocks["area_mu"].sum() == pytest.approx(flagged["area_mu"].sum())


def test_parcel_facts_share_a_multi_parcel_firm(demo_run):
    result, _, _, _ = demo_run
    facts = result.renewal["facts"]
    ev = result.firms
    on_parcels = ev["parcel_id"].notna()
    # tax is conserved: every counted firm's tax lands on its parcels, shared by area
    # (efficiency.tenants: separate — the evaluated firms, tenants listed apart)
    counted = on_parcels & ev["scope"].isin(["graded", "scored_not_graded"])
    assert facts["tax"].sum() == pytest.approx(ev.loc[counted, "tax"].fillna(0).sum())


def test_report_workbook_and_html(demo_run):
    result, out, _, inputs = demo_run
    wb = openpyxl.load_workbook(out / f"亩均效益评价_{inputs['year']}.xlsx", read_only=True)
    for sheet in ["汇总", "企业评价", "图斑", "平台", "园区", "镇街", "产业链", "规划目标",
                  "年度变化", "更新候选", "更新区块", "数据质量"]:
        assert sheet in wb.sheetnames
    assert _data_rows(wb["企业评价"]) == len(result.firms)
    html = (out / f"亩均效益评价_{inputs['year']}.html").read_text(encoding="utf-8")
    assert "低效工业用地认定" in html and "企业核密度" in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_density_geotiffs_and_maps(demo_run):
    import rasterio

    result, out, _, _ = demo_run
    with rasterio.open(out / "density" / "全部.tif") as src:
        assert src.crs.to_epsg() == 4549
        arr = src.read(1, masked=True)
        # density (per km²) × cell area (km²) sums to the number of firms, less
        # the kernel mass of firms near the border that falls outside the county
        cell_km2 = abs(src.transform.a * src.transform.e) / 1e6
        mass = float(arr.sum()) * cell_km2
        n = int(result.firms.geometry.notna().sum())
        assert 0.98 * n < mass <= n
        grid = result.density["grids"]["全部"]
        assert mass == pytest.approx(float(np.nansum(grid.array)) * cell_km2, rel=1e-6)
    for name in ("overview", "efficiency", "renewal", "density"):
        assert (out / "maps" / f"{name}.html").stat().st_size > 10_000


def _gis(*args, cwd):
    exe = Path(sys.executable).with_name("gis")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd,
                          encoding="utf-8", timeout=300)


def test_report_without_required_columns_is_one_line(tmp_path):
    bad = tmp_path / "企业名录.xlsx"
    pd.DataFrame({"企业名称": ["甲"], "税收(万元)": [1.0]}).to_excel(bad, index=False)
    proc = _gis("report", "--enterprises", str(bad), "--year", "2025", "--out", str(tmp_path / "o"),
                "--no-progress", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and "统一社会信用代码" in err[0]


def test_bad_settings_file_is_one_line(tmp_path):
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("efficiency:\n  min_land_mu: many\n", encoding="utf-8")
    code = cli.main(["report", "--enterprises", "x.xlsx", "--year", "2025", "--out",
                     str(tmp_path), "--config", str(cfg)])
    assert code == 2


def test_match_rejects_a_bad_range(capsys):
    assert cli.main(["match", "--mu", "lots"]) == 2
    assert "80-150" in capsys.readouterr().err


def test_summary_counts_reconcile(demo_run):
    result, _, _, _ = demo_run
    s = result.summary
    assert s["firms_read"] == s["firms_loaded"] + s["firms_rejected"]
    scopes = result.firms["scope"].value_counts()
    assert s["firms_graded"] == scopes.get("graded", 0)
    assert s["firms_evaluated"] == scopes.get("graded", 0) + scopes.get("scored_not_graded", 0)
    assert sum(s["class_counts"].values()) == s["firms_graded"]
    assert np.isfinite(s["tax_per_mu"])


def test_run_times_every_stage(demo_run, tmp_path):
    result, _, _, _ = demo_run
    steps = ["load", "attach", "efficiency", "contracts", "renewal", "density", "maps", "report", "gpkg"]
    assert list(result.timings) == steps and list(result.cpu_timings) == steps
    assert all(v >= 0 for v in result.timings.values())
    line = pipeline.timing_line(result.timings)
    assert line.startswith("用时: 载入 ") and line.count(" · ") == len(steps)  # the stages and the total
    doc = json.loads(pipeline.write_timings(result, tmp_path / "t.json").read_text(encoding="utf-8"))
    assert doc["stages"] == steps and set(doc["cpu_s"]) == set(steps)
    assert doc["firms"] == len(result.firms) and doc["parcels"] == len(result.parcels)
    assert doc["peak_rss_mb"] > 0


def test_memory_estimate_from_file_sizes(tmp_path):
    s = pipeline.load_settings()
    s["engine"].update(memory_base="1KiB", memory_per_input_byte=2)
    a, b = tmp_path / "a.xlsx", tmp_path / "gdb"
    a.write_bytes(b"x" * 1000)
    b.mkdir()
    (b / "t1").write_bytes(b"y" * 3000)  # a folder input (FileGDB) counts all its files
    assert pipeline.memory_estimate([a, None, b], s) == (1024 + 2 * 4000, 4000)


def test_too_large_for_memory_stops_before_loading(tmp_path, capsys):
    s = pipeline.load_settings()
    s["engine"]["memory_budget"] = "1KiB"
    table = tmp_path / "企业.xlsx"
    table.write_bytes(b"not read: the check comes first")
    with pytest.raises(GisError, match="--engine dask"):
        pipeline.run(table, tmp_path / "out", 2025, settings=s, progress=False)
    assert not (tmp_path / "out").exists()  # nothing loaded, nothing written
    cfg = tmp_path / "s.yaml"
    cfg.write_text("engine:\n  memory_budget: 1KiB\n", encoding="utf-8")
    code = cli.main(["report", "--enterprises", str(table), "--year", "2025", "--out",
                     str(tmp_path / "o2"), "--config", str(cfg), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "--engine dask" in err and len(err.strip().splitlines()) == 1


def test_workbook_holds_the_computed_figures(demo_run):
    """What the planner reads in 企业评价 / 更新区块 is what was computed, value for value."""
    result, out, _, inputs = demo_run
    book = pd.read_excel(out / f"亩均效益评价_{inputs['year']}.xlsx", sheet_name=None, engine="calamine")
    firms = book["企业评价"].set_index("统一社会信用代码")
    ev = result.firms.set_index("uscc")
    assert set(firms.index) == set(ev.index)
    ev = ev.loc[firms.index]
    np.testing.assert_allclose(pd.to_numeric(firms["综合得分"]).to_numpy(float),
                               ev["score"].to_numpy(float), rtol=1e-15, equal_nan=True)
    shown = firms[next(c for c in firms.columns if "类别" in c)]  # "A 优先发展" or "A"
    assert shown.fillna("").astype(str).str[:1].tolist() == ev["class"].fillna("").tolist()
    tax = pd.to_numeric(firms["税收(万元)"]).to_numpy(float)
    np.testing.assert_allclose(tax, ev["tax"].to_numpy(float), rtol=1e-15, equal_nan=True)
    assert len(book["更新区块"]) == len(result.renewal["renewal_blocks"])

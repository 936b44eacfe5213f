"""The synthetic demo data generator: determinism, schema, identifiers, parcels, plan, firms.

Expected values come from the brief and domain.md (Yiwu 2019: 2 075 firms on
34 887 亩), from independent re-implementations written here (USCC check
character, township containing a parcel) or from geometry measured here.
"""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from gis import demo
from gis.chains import chain_of_codes
from gis.crs import M2_PER_MU, gcj02_to_wgs84
from gis.schema import DLTB_FIELDS, ENTERPRISE_COLUMNS, PLAN_FIELDS

HEADERS = [v[0] for v in ENTERPRISE_COLUMNS.values()]
ROOT = Path(__file__).resolve().parents[1]

# ---- independent USCC check (domain.md §7), not gis.identifiers -------------
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_ok(code):
    if not isinstance(code, str) or len(code) != 18 or any(c not in ALPHABET for c in code):
        return False
    total = sum(ALPHABET.index(c) * w for c, w in zip(code[:17], WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31] == code[17]


def test_independent_check_matches_known_code():
    # a published example code (GB 32100 check): 91330100716105852F
    assert uscc_ok("91330100716105852F")
    assert not uscc_ok("91330100716105852G")


# ---- one small data set shared by the tests ---------------------------------
@pytest.fixture(scope="module")
def layers():
    """The real layers of Yiwu, read once for the module."""
    from gis.layers import load

    return {name: load(name) for name in ("yiwu", "townships", "platforms", "parks")}


@pytest.fixture(scope="module")
def small(tmp_path_factory, layers):
    out = tmp_path_factory.mktemp("demo_a")
    paths = demo.generate(out, scale=0.1, layers=layers)
    with open(paths["manifest"], encoding="utf-8") as fh:
        manifest = json.load(fh)
    firms = pd.read_excel(paths["enterprises"], sheet_name="企业名录", dtype=object, engine="openpyxl")
    prev = pd.read_excel(paths["enterprises_previous"], sheet_name="企业名录", dtype=object, engine="openpyxl")
    dltb = gpd.read_file(paths["landuse"], layer="DLTB")
    plan = gpd.read_file(paths["plan"], layer="YDYH")
    return {"paths": paths, "manifest": manifest, "firms": firms, "prev": prev, "dltb": dltb, "plan": plan}


def firms_in_4549(firms):
    lon = pd.to_numeric(firms["经度"]).to_numpy()
    lat = pd.to_numeric(firms["纬度"]).to_numpy()
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True).transform(wlon, wlat)
    return gpd.GeoDataFrame(firms.reset_index(drop=True), geometry=gpd.points_from_xy(x, y), crs="EPSG:4549")


def test_same_bytes_every_run(small, tmp_path):
    again = demo.generate(tmp_path / "b", scale=0.1)  # layers read again from the catalogue
    for key, path in small["paths"].items():
        assert Path(path).read_bytes() == Path(again[key]).read_bytes(), key


def test_other_seed_other_data(small, tmp_path, layers):
    other = demo.generate(tmp_path / "c", scale=0.1, seed=7, layers=layers)
    assert Path(other["enterprises"]).read_bytes() != Path(small["paths"]["enterprises"]).read_bytes()
    with open(other["manifest"], encoding="utf-8") as fh:
        assert json.load(fh)["seed"] == 7


def test_workbook_headers_sheets_and_synthetic_marks(small):
    wb = openpyxl.load_workbook(small["paths"]["enterprises"], read_only=True)
    assert wb.sheetnames == ["企业名录", "说明"]
    header = next(wb["企业名录"].iter_rows(min_row=1, max_row=1, values_only=True))
    assert list(header) == HEADERS
    assert "合成演示数据" in wb.properties.title
    assert "synthetic" in (wb.properties.description or "") + (wb.properties.subject or "")
    notes = [r[0] for r in wb["说明"].iter_rows(values_only=True)]
    assert any("synthetic demo data" in str(n) for n in notes)
    assert list(small["prev"].columns) == HEADERS


def test_geopackages_say_synthetic(small):
    for key, layer in (("landuse", "DLTB"), ("plan", "YDYH")):
        con = sqlite3.connect(small["paths"][key])
        try:
            (desc,) = con.execute("select description from gpkg_contents where table_name=?", (layer,)).fetchone()
            meta = " ".join(r[0] for r in con.execute("select metadata from gpkg_metadata"))
        finally:
            con.close()
        assert "合成演示数据" in desc and "synthetic" in meta


def test_credit_codes_valid_except_planted(small):
    firms, planted = small["firms"], small["manifest"]["planted"]
    codes = firms["统一社会信用代码"]
    ok = codes.map(uscc_ok)
    bad = set(p["value"] for p in planted if p["problem"] == "bad_uscc")
    assert len(bad) == 2
    assert set(codes[~ok]) == bad
    assert (codes[ok].str.slice(2, 8) == "330782").all()
    dup = codes[codes.duplicated()]
    assert set(dup) == set(p["value"] for p in planted if p["problem"] == "duplicate_uscc")
    assert len(dup) == 2


def test_planted_rows_are_where_the_manifest_says(small):
    firms, m = small["firms"], small["manifest"]
    assert m["expected_rejects"] == 6
    by = {p["problem"]: [] for p in m["planted"]}
    for p in m["planted"]:
        by[p["problem"]].append(p)
        row = firms.iloc[p["excel_row"] - 2]
        if p["problem"] in ("bad_uscc", "duplicate_uscc", "outside_yiwu", "missing_tax"):
            assert row["统一社会信用代码"] == p["value"]
    (outside,) = by["outside_yiwu"]
    row = firms.iloc[outside["excel_row"] - 2]
    assert float(row["纬度"]) > 30.0  # Hangzhou, well north of Yiwu (29.03-29.57)
    (blank,) = by["missing_tax"]
    assert pd.isna(firms.iloc[blank["excel_row"] - 2]["税收(万元)"])
    # text numbers: valid, and their value is the recorded number
    texts = by["text_number"]
    assert len(texts) == 2
    rev = next(p for p in texts if p["column"] == "营业收入(万元)")
    cell = firms.iloc[rev["excel_row"] - 2]["营业收入(万元)"]
    assert isinstance(cell, str) and "," in cell
    assert float(cell.replace(",", "")) == pytest.approx(rev["number"])
    fa = next(p for p in texts if p["column"] == "总建筑面积(m²)")
    cell = firms.iloc[fa["excel_row"] - 2]["总建筑面积(m²)"]
    assert isinstance(cell, str) and cell.endswith("万")
    assert float(cell[:-1]) * 10000 == pytest.approx(fa["number"])


def test_industry_codes_match_chains(small):
    firms = small["firms"]
    assert (chain_of_codes(firms["行业代码"]).to_numpy() == firms["产业链"].to_numpy()).all()
    assert firms["行业代码"].str.fullmatch(r"C\d{4}").all()
    assert set(firms["规上/规下"]) == {"规上", "规下"}
    assert set(firms["高新技术企业"]) <= {"是", "否"} and set(firms["科技型中小企业"]) <= {"是", "否"}


def test_dltb_fields_and_areas(small):
    d = small["dltb"]
    assert list(d.columns[:-1]) == DLTB_FIELDS
    assert d.crs.to_epsg() == 4549
    assert d["BSM"].is_unique
    assert d.is_valid.all() and (d.geom_type == "Polygon").all()
    np.testing.assert_allclose(d["TBMJ"], d.geometry.area, atol=0.011)
    np.testing.assert_allclose(d["TBDLMJ"], d["TBMJ"] - d["KCMJ"], atol=0.006)
    farm = d["DLBM"].isin(["0101", "0103"])
    assert (d.loc[farm, "KCMJ"] > 0).all() and (d.loc[~farm, "KCMJ"] == 0).all()
    assert (d.loc[farm, "KCDLBM"] == "1203").all()
    need = {"0601", "0508", "05H1", "0701", "1004", "1003", "0101", "1104", "0301"}
    assert need <= set(d["DLBM"])
    ind = d[d["DLBM"] == "0601"]
    mu = ind.geometry.area / M2_PER_MU
    assert mu.min() > 2 and mu.max() < 200
    assert 8 < mu.median() < 25  # Yiwu: 34 887 亩 / 2 412 parcels = 14.5 亩
    assert set(d["CZCSXM"].dropna()) <= {"201", "202", "203"}
    assert d["ZLDWDM"].str.fullmatch(r"\d{19}").all()
    assert (d["SJNF"] == 2024).all()


def test_parcels_do_not_overlap(small):
    geoms = np.asarray(small["dltb"].geometry)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    inter = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert inter.max(initial=0) < 1e-3  # touching edges only


def test_zldwdm_prefix_is_township_of_parcel(small):
    from gis.layers import load

    town = load("townships")[["code", "geometry"]]
    d = small["dltb"]
    cent = gpd.GeoDataFrame({"ZLDWDM": d["ZLDWDM"]}, geometry=d.geometry.centroid, crs=d.crs)
    j = gpd.sjoin(cent, town, predicate="within", how="left")
    j = j[~j.index.duplicated()]
    assert j["code"].notna().mean() > 0.99
    have = j["code"].notna()
    assert (j.loc[have, "ZLDWDM"].str.slice(0, 9) == j.loc[have, "code"].astype(str)).all()


def test_plan_disagrees_on_a_small_share(small):
    d, plan = small["dltb"], small["plan"]
    from gis.landuse import landuse_group

    assert list(plan.columns[:-1]) == PLAN_FIELDS
    assert plan.crs.to_epsg() == 4549 and plan["BSM"].is_unique
    pts = gpd.GeoDataFrame(d[["DLBM", "TBDLMJ"]], geometry=d.geometry.representative_point(), crs=d.crs)
    j = gpd.sjoin(pts, plan[["YDYHFLDM", "geometry"]], predicate="within", how="left")
    j = j[~j.index.duplicated()]
    assert j["YDYHFLDM"].notna().all()  # the plan covers every 三调 parcel
    differ = landuse_group(j["DLBM"], "sandiao") != landuse_group(j["YDYHFLDM"], "ydyh")
    share = j.loc[differ, "TBDLMJ"].sum() / j["TBDLMJ"].sum()
    assert 0.005 < share < 0.15
    ind = j["DLBM"] == "0601"
    assert (ind & j["YDYHFLDM"].isin(["070102", "1401"])).any()
    assert (~ind & (j["YDYHFLDM"] == "100101")).any()


def test_firms_sit_on_their_parcels(small):
    firms, d = small["firms"], small["dltb"]
    m = small["manifest"]
    bad_rows = [p["excel_row"] - 2 for p in m["planted"] if p["problem"] in ("outside_yiwu", "missing_tax")]
    f = firms_in_4549(firms.drop(index=bad_rows))
    f["land"] = pd.to_numeric(f["用地面积(亩)"])
    f["leased"] = pd.to_numeric(f["租赁面积(亩)"])
    j = gpd.sjoin(f, d[["BSM", "DLBM", "TBDLMJ", "geometry"]], predicate="within", how="left")
    j = j[~j.index.duplicated()]
    inside = j["DLBM"] == "0601"
    on_road = j["DLBM"].isin(["1003", "1004", "1006"])
    assert inside.mean() > 0.95
    assert 0 < on_road.sum() <= 0.05 * len(j)
    assert (inside | on_road).all()
    # points on the road lie within 6 m of an industrial parcel
    ind = d[d["DLBM"] == "0601"]
    near = gpd.sjoin_nearest(j.loc[on_road, ["geometry"]], ind[["geometry"]], distance_col="dist")
    assert near["dist"].max() < 6.0
    # owners: the land of the owners on a parcel covers the parcel (一地多企 sums to it,
    # 一企多地 firms hold more); lessees hold no land
    owners = j[inside & (j["land"] > 0)]
    per_parcel = owners.groupby("BSM")["land"].sum()
    area = (d.set_index("BSM")["TBDLMJ"] / M2_PER_MU).reindex(per_parcel.index)
    assert (per_parcel >= area - 0.02 * owners.groupby("BSM").size()).all()
    exact = (owners["land"] - owners["TBDLMJ"] / M2_PER_MU).abs() < 0.006
    assert exact.mean() > 0.7  # most firms have exactly one parcel of their own
    lessees = f[f["land"] == 0]
    assert len(lessees) > 0 and (lessees["leased"] > 0).all()
    # some parcels host several owners, some firms hold several parcels, some parcels are idle
    assert (owners.groupby("BSM").size() > 1).any()
    assert (~exact & (owners["land"] > owners["TBDLMJ"] / M2_PER_MU + 0.01)).any()
    occupied = set(j.loc[inside, "BSM"])
    idle = set(ind["BSM"]) - occupied
    assert set(m["idle_parcel_bsm"]) <= idle and len(idle) > 0


def test_previous_year(small):
    cur, prev = small["firms"], small["prev"]
    a, b = set(cur["统一社会信用代码"]), set(prev["统一社会信用代码"])
    both = a & b
    assert len(both) > 0.9 * len(b)
    assert len(a - b) > 0 and len(b - a) > 0  # entrants and leavers
    assert prev["统一社会信用代码"].map(uscc_ok).all() and prev["统一社会信用代码"].is_unique
    c = cur.drop_duplicates("统一社会信用代码").set_index("统一社会信用代码")
    p = prev.set_index("统一社会信用代码")
    common = sorted(both)
    tc = pd.to_numeric(c.loc[common, "税收(万元)"])
    tp = pd.to_numeric(p.loc[common, "税收(万元)"])
    growth = (tc / tp).dropna()
    assert 1.0 < growth.median() < 1.12
    assert (pd.to_numeric(c.loc[common, "用地面积(亩)"]) == pd.to_numeric(p.loc[common, "用地面积(亩)"])).mean() > 0.99


def test_scale_changes_counts(small, tmp_path, layers):
    m1 = small["manifest"]["counts"]
    paths = demo.generate(tmp_path / "s", scale=0.05, layers=layers)
    with open(paths["manifest"], encoding="utf-8") as fh:
        m2 = json.load(fh)["counts"]
    assert m2["lessees"] == 100 and m1["lessees"] == 200
    assert 0.3 < m2["parcels"] / m1["parcels"] < 0.7
    assert 0.3 < m2["owners"] / m1["owners"] < 0.7


def test_ensure_demo_reuses_and_repairs(tmp_path, layers):
    paths = demo.ensure_demo(tmp_path, scale=0.05, layers=layers)
    stamp = {k: Path(p).stat().st_mtime_ns for k, p in paths.items()}
    again = demo.ensure_demo(tmp_path, scale=0.05, layers=layers)
    assert again == paths
    assert {k: Path(p).stat().st_mtime_ns for k, p in again.items()} == stamp
    Path(paths["plan"]).unlink()
    repaired = demo.ensure_demo(tmp_path, scale=0.05, layers=layers)
    assert Path(repaired["plan"]).exists()
    # another seed is another data set
    other = demo.ensure_demo(tmp_path / "x", scale=0.05, seed=5, layers=layers)
    with open(other["manifest"], encoding="utf-8") as fh:
        assert json.load(fh)["seed"] == 5


def test_bad_scale_is_a_config_error(tmp_path):
    from gis import ConfigError

    with pytest.raises(ConfigError, match="scale"):
        demo.generate(tmp_path, scale=0)


def test_make_demo_script(tmp_path):
    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo.py"), "--out", str(out),
                        "--scale", "0.05", "--seed", "11"], capture_output=True, text=True, encoding="utf-8")
    assert r.returncode == 0, r.stderr
    assert (out / "企业名录_2025.xlsx").exists() and (out / "三调_DLTB.gpkg").exists()
    with open(out / "demo_manifest.json", encoding="utf-8") as fh:
        assert json.load(fh)["seed"] == 11


@pytest.mark.slow
def test_full_scale_matches_yiwu(demo_full_inputs):
    """Scale 1: ≈2 000 evaluated firms (≥ 3 亩) on ≈35 000 亩 (Yiwu 2019: 2 075 on 34 887)."""
    firms = pd.read_excel(demo_full_inputs["enterprises"], sheet_name="企业名录", dtype=object, engine="openpyxl")
    for col in ("用地面积(亩)", "税收(万元)", "工业增加值(万元)", "营业收入(万元)"):
        firms[col] = pd.to_numeric(firms[col].astype(str).str.replace(",", ""), errors="coerce")
    firms = firms[firms["统一社会信用代码"].map(uscc_ok)].drop_duplicates("统一社会信用代码")
    ev = firms[firms["用地面积(亩)"] >= 3]
    assert 1700 <= len(ev) <= 2300
    assert 35000 * 0.85 <= ev["用地面积(亩)"].sum() <= 35000 * 1.15
    gs = ev[ev["规上/规下"] == "规上"].dropna(subset=["税收(万元)"])
    tpm = (gs["税收(万元)"] / gs["用地面积(亩)"]).median()
    assert 20 <= tpm <= 30  # brief: median 亩均税收 of 规上 20-30 万元/亩
    gx = ev[ev["规上/规下"] == "规下"].dropna(subset=["税收(万元)"])
    assert (gx["税收(万元)"] / gx["用地面积(亩)"]).median() < tpm
    va = (firms["工业增加值(万元)"] / firms["营业收入(万元)"]).median()
    assert 0.20 <= va <= 0.25
    assert (firms["用地面积(亩)"] == 0).sum() > 1500  # lessees


# ---- the small built-in sample (gis.demo.sample) -----------------------------
def test_sample_is_small_in_the_box_and_in_a_temp_folder():
    import tempfile

    s = demo.sample()
    assert s is demo.sample()  # made once per process
    assert Path(s.folder).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert all(Path(p).parent == s.folder for p in s.paths.values())
    parcels, firms = s.parcels, s.firms
    assert (len(parcels), int((parcels["DLBM"] == "0601").sum())) == (27, 16)
    assert len(firms) == 17 and int((firms["land_mu"] == 0).sum()) == 3  # 3 lessees
    assert str(parcels.crs) == str(firms.crs) == "EPSG:4549"
    box = shapely.box(*demo.SAMPLE_BOX)
    assert shapely.contains(box, np.asarray(firms.geometry)).all()
    assert shapely.covers(box.buffer(0.01), np.asarray(parcels.geometry)).all()
    # every frame access is a fresh copy
    firms["tax"] = 0.0
    assert s.firms["tax"].sum() > 0


def test_sample_known_tax_per_mu():
    """One firm's 亩均税收 by hand: 税收 / (parcel area m² / 666.67).

    义乌市利兴茂电器有限公司 (first data row of the workbook): 税收 115.00 万元,
    用地面积 7.91 亩; its point lies in 三调 parcel 330782200000000004
    (0601, TBDLMJ 5 274.09 m² = 7.9111 亩), where it is the only firm:
    115 × 666.67 / 5 274.09 = 76 667.05 / 5 274.09 = 14.5365 万元/亩;
    by the table's 7.91 亩: 115 / 7.91 = 14.5386 万元/亩.
    """
    from gis import renewal
    from gis.efficiency import evaluate

    s = demo.sample()
    # the workbook read independently of the loader
    ws = openpyxl.load_workbook(s.enterprises, read_only=True)["企业名录"]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    row = dict(zip(head, rows[1]))
    assert row["企业名称"] == "义乌市利兴茂电器有限公司"
    assert (row["税收(万元)"], row["用地面积(亩)"]) == (115.0, 7.91)
    # the parcel under the firm's point, found here with shapely
    firms, parcels = s.firms, s.parcels
    pt = firms.loc[firms["name"] == row["企业名称"], "geometry"].iloc[0]
    hit = parcels[shapely.contains(np.asarray(parcels.geometry), pt)]
    assert hit[["BSM", "DLBM"]].values.tolist() == [["330782200000000004", "0601"]]
    assert float(hit["TBDLMJ"].iloc[0]) == 5274.09
    by_parcel = 115.0 / (5274.09 / 666.67)
    assert by_parcel == pytest.approx(14.5365, abs=1e-4)
    # the parcel's 亩均税收 in the renewal candidates, and the firm's in the evaluation
    facts = s.facts
    cands = renewal.candidates(facts, renewal.rule_results(facts, plan=s.plan, year=s.year))
    got = cands.set_index("parcel_id").loc["330782200000000004", ["firms", "tax_per_mu"]]
    assert int(got["firms"]) == 1
    assert float(got["tax_per_mu"]) == pytest.approx(by_parcel, rel=1e-5)
    ev = evaluate(firms, year=s.year).set_index("name")
    assert float(ev.loc[row["企业名称"], "tax_per_mu"]) == pytest.approx(115.0 / 7.91, rel=1e-9)
    assert 115.0 / 7.91 == pytest.approx(14.5386, abs=1e-4)


def test_sample_files_are_the_same_every_time(tmp_path):
    # the cached sample and a fresh one (layers given: not cached) hold the same bytes
    s = demo.sample()
    layers = {"yiwu": s.layers["boundary"], **{k: s.layers[k] for k in ("townships", "platforms", "parks")}}
    again = demo.sample(layers=layers)
    assert again is not s and again.folder != s.folder
    for key in ("enterprises", "enterprises_previous", "landuse", "plan"):
        assert Path(s.paths[key]).read_bytes() == Path(again.paths[key]).read_bytes(), key

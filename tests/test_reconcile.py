"""Every figure that appears in two outputs agrees: read back from the WRITTEN files.

The demo pipeline runs once (session fixture ``demo_full_published``); these tests read
the workbook (openpyxl), the GeoPackage (pyogrio) and the maps' embedded data,
never the in-memory frames, and recompute the expected values from the
written files by hand (sums, area shares), never by calling the functions that
made them.
"""

import json
import math
import re

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

pytestmark = pytest.mark.slow

TOTAL = "全市合计"
UNASSIGNED = "未归属"
M2_PER_MU = 10000 / 15
EVALUATED = ("参评定级", "参评不定级")


def _sheet(wb, name):
    rows = list(wb[name].iter_rows(values_only=True))
    head = [str(h) for h in rows[0]]
    return pd.DataFrame([r for r in rows[1:] if any(v is not None for v in r)], columns=head)


def _firm_class(firms):
    """The class letter of each firm row (评价类别, or the letter of 类别名称 "A 优先发展")."""
    if "评价类别" in firms:
        return firms["评价类别"]
    return firms["类别名称"].map(lambda v: v.split()[0] if isinstance(v, str) and v else None)


@pytest.fixture(scope="module")
def written(demo_full_published):
    _, out, _, inputs = demo_full_published
    wb = openpyxl.load_workbook(out / f"亩均效益评价_{inputs['year']}.xlsx", read_only=True)
    sheets = {n: _sheet(wb, n) for n in ("企业评价", "图斑", "平台", "园区", "镇街", "产业链",
                                         "更新评估")}
    sheets["企业评价"]["class"] = _firm_class(sheets["企业评价"])
    summary = _sheet(wb, "汇总")
    sheets["汇总"] = dict(zip(summary.iloc[:, 0], summary.iloc[:, 1]))
    gpkg = out / "results.gpkg"
    layers = {n: pyogrio.read_dataframe(gpkg, layer=n, read_geometry=False)
              for n in ("enterprises", "parcels", "platforms", "renewal_parcels")}
    return sheets, layers, out


def _close(a, b, rel=1e-9, abs_=1e-6):
    return a == pytest.approx(b, rel=rel, abs=abs_)


def test_land_sheet_adds_up_over_its_land_units(written):
    """The 图斑 sheet: each row's area is the 图斑's own (TBDLMJ), never the firms'
    declared land; the total row sums the rows; the firms on land count once."""
    sheets, layers, _ = written
    s, parcels = sheets["汇总"], sheets["图斑"]
    body, total = parcels[parcels["图斑标识码"] != TOTAL], parcels[parcels["图斑标识码"] == TOTAL]
    assert len(total) == 1 and UNASSIGNED not in set(body["图斑标识码"])
    own = layers["parcels"].set_index("BSM")["TBDLMJ"].astype(float) / M2_PER_MU
    np.testing.assert_allclose(body["图斑面积(亩)"].astype(float),
                               own.loc[body["图斑标识码"]].to_numpy(), rtol=1e-9)
    assert _close(total["图斑面积(亩)"].iloc[0], body["图斑面积(亩)"].sum())
    assert _close(total["税收(万元)"].iloc[0], body["税收(万元)"].sum())
    assert _close(total["地块亩均税收(万元/亩)"].iloc[0],
                  body["税收(万元)"].sum() / body["图斑面积(亩)"].sum())
    np.testing.assert_allclose(body["地块亩均税收(万元/亩)"].astype(float),
                               (body["税收(万元)"] / body["图斑面积(亩)"]).astype(float), rtol=1e-9)
    firms = sheets["企业评价"]
    on_land = firms[firms["评价范围"].isin(EVALUATED) & firms["全部图斑"].notna()]
    # a firm on several parcels counts once in the total; firms without land on no row
    assert total["企业数(家)"].iloc[0] == len(on_land) <= s["参评企业数(家)"]
    assert _close(total["税收(万元)"].iloc[0], on_land["税收(万元)"].fillna(0).sum())
    for c in "ABCD":
        assert total[f"{c}类企业数(家)"].iloc[0] == (on_land["class"] == c).sum()
    # the run says what its land unit is and which tenant rule it used
    assert s["用地单元"] == "以三调图斑代替宗地（未提供宗地图层）"
    assert s["租赁企业处理"].startswith("租赁企业单独评价")


def test_land_figures_share_a_multi_parcel_firm_by_area(written):
    """Each land unit's tax = Σ over its firms of the firm's tax × the unit's share of the
    firm's units' area (三调 TBDLMJ), from the written files."""
    sheets, layers, _ = written
    firms = sheets["企业评价"]
    firms = firms[firms["评价范围"].isin(EVALUATED) & firms["全部图斑"].notna()]
    area = layers["parcels"].set_index("BSM")["TBDLMJ"].astype(float) / M2_PER_MU
    rows = []
    for _, f in firms.iterrows():  # hand computation, one firm at a time
        ids = str(f["全部图斑"]).split(";")
        mu = [area[i] for i in ids]
        for i, m in zip(ids, mu):
            rows.append((i, (f["税收(万元)"] or 0.0) * m / sum(mu)))
    expect = pd.DataFrame(rows, columns=["id", "tax"]).groupby("id").sum()
    sheet = sheets["图斑"].set_index("图斑标识码").drop(index=[TOTAL], errors="ignore")
    assert set(sheet.index) == set(expect.index)
    multi = firms["全部图斑"].str.contains(";")
    assert multi.sum() > 0, "the demo must have firms on several parcels"
    np.testing.assert_allclose(sheet.loc[expect.index, "税收(万元)"], expect["tax"], rtol=1e-9,
                               atol=1e-6)
    np.testing.assert_allclose(sheet.loc[expect.index, "地块亩均税收(万元/亩)"],
                               expect["tax"] / area.loc[expect.index], rtol=1e-9, atol=1e-9)


def test_every_land_figure_in_two_outputs_agrees(written):
    """One measure per piece of land: the 图斑 sheet, results.gpkg ``parcels`` and
    ``renewal_parcels`` and the 更新评估 sheet carry the same area and 地块亩均税收."""
    sheets, layers, _ = written
    sheet = sheets["图斑"].set_index("图斑标识码").drop(index=[TOTAL])
    lay = layers["parcels"].set_index("BSM")
    ren = layers["renewal_parcels"].set_index("parcel_id")
    assessed = sheets["更新评估"].set_index("图斑标识码")
    np.testing.assert_allclose(lay.loc[sheet.index, "area_mu"].astype(float),
                               sheet["图斑面积(亩)"].astype(float), rtol=1e-9)
    np.testing.assert_allclose(lay.loc[sheet.index, "tax_per_mu"].astype(float),
                               sheet["地块亩均税收(万元/亩)"].astype(float), rtol=1e-9)
    both = ren.index.intersection(sheet.index)
    assert len(both) > 1000
    np.testing.assert_allclose(ren.loc[both, "tax_per_mu"].astype(float),
                               sheet.loc[both, "地块亩均税收(万元/亩)"].astype(float), rtol=1e-9)
    np.testing.assert_allclose(ren.loc[both, "area_mu"].astype(float),
                               sheet.loc[both, "图斑面积(亩)"].astype(float), rtol=1e-9)
    np.testing.assert_allclose(ren.loc[both, "tax"].astype(float),
                               sheet.loc[both, "税收(万元)"].astype(float), rtol=1e-9)
    # a renewal parcel with no counted firm has no 地块亩均税收 on either
    only = ren.index.difference(sheet.index)
    assert ren.loc[only, "tax_per_mu"].isna().all()
    shared = assessed.index.intersection(sheet.index)
    np.testing.assert_allclose(assessed.loc[shared, "地块亩均税收(万元/亩)"].astype(float),
                               sheet.loc[shared, "地块亩均税收(万元/亩)"].astype(float),
                               rtol=1e-9, atol=1e-9)


def _zone_rows(sheet, key):
    body = sheet[sheet[key] != TOTAL].set_index(key)
    return body, sheet[sheet[key] == TOTAL].iloc[0]


@pytest.mark.parametrize("sheet,col", [("平台", "平台"), ("园区", "园区"), ("镇街", "镇街"),
                                       ("产业链", "产业链")])
def test_zone_rows_are_sums_over_their_firms(written, sheet, col):
    sheets, _, _ = written
    s = sheets["汇总"]
    firms = sheets["企业评价"]
    firms = firms[firms["评价范围"].isin(EVALUATED)]
    key = firms[col].fillna(UNASSIGNED)
    body, total = _zone_rows(sheets[sheet], col)
    for name, row in body.iterrows():
        mine = firms[key == name]
        assert row["企业数(家)"] == len(mine), name
        assert _close(row["用地面积(亩)"], mine["用地面积(亩)"].sum()), name
        assert _close(row["税收(万元)"], mine["税收(万元)"].fillna(0).sum()), name
        for c in "ABCD":
            assert row[f"{c}类企业数(家)"] == (mine["class"] == c).sum(), (name, c)
    # every evaluated firm is in exactly one row, and the rows add up to the county
    assert body["企业数(家)"].sum() == total["企业数(家)"] == s["参评企业数(家)"]
    assert _close(body["税收(万元)"].sum(), s["税收合计(万元)"])
    assert _close(total["用地面积(亩)"], s["参评用地(亩)"])
    for c in "ABCD":
        n = sum(v for k, v in s.items() if str(k).startswith(f"{c}类("))
        assert body[f"{c}类企业数(家)"].sum() == total[f"{c}类企业数(家)"] == n


def test_geopackage_layers_equal_the_sheets(written):
    sheets, layers, _ = written
    parcels = layers["parcels"]
    parcels = parcels[parcels["firms"].fillna(0) > 0].set_index("BSM")
    sheet = sheets["图斑"].set_index("图斑标识码").drop(index=[TOTAL], errors="ignore")
    assert set(parcels.index) == set(sheet.index)
    for a, b in (("area_mu", "图斑面积(亩)"), ("tax", "税收(万元)"),
                 ("tax_per_mu", "地块亩均税收(万元/亩)")):
        np.testing.assert_allclose(parcels.loc[sheet.index, a].astype(float),
                                   sheet[b].astype(float), rtol=1e-9)
    assert (parcels.loc[sheet.index, "grade"].fillna("") == sheet["评价类别"].fillna("")).all()
    firms = layers["enterprises"].set_index("uscc")
    fs = sheets["企业评价"].set_index("统一社会信用代码")
    assert set(firms.index) == set(fs.index)
    assert (firms.loc[fs.index, "class"].fillna("") == fs["class"].fillna("")).all()
    np.testing.assert_allclose(firms.loc[fs.index, "tax_per_mu"].astype(float),
                               fs["亩均税收(万元/亩)"].astype(float), rtol=1e-9)
    plat = layers["platforms"].set_index("name_zh")
    body, _ = _zone_rows(sheets["平台"], "平台")
    for name, row in body.drop(index=[UNASSIGNED], errors="ignore").iterrows():
        assert plat.loc[name, "firms"] == row["企业数(家)"]
        assert _close(plat.loc[name, "tax_per_mu"], row["亩均税收(万元/亩)"])


def map_layer_data(html, key):
    """The ``props`` (columns) of the map's data layer ``key``, parsed from the HTML."""
    m = re.search(r'gis\.dataLayer\((\{"key":"%s".*)' % re.escape(key), html)
    assert m, f"no data layer {key!r} in the map"
    spec, _ = json.JSONDecoder().raw_decode(m.group(1))
    return pd.DataFrame(spec["props"])


def _text(v):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _same(a, b, places):
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return abs(float(a) - round(float(b), places)) <= 0.51 * 10 ** -places


def test_map_popups_show_the_sheet_values(written):
    sheets, _, out = written
    html = (out / "maps" / "efficiency.html").read_text(encoding="utf-8")
    eff = map_layer_data(html, "efficiency").set_index("BSM")
    sheet = sheets["图斑"].set_index("图斑标识码")
    sample = eff.index[:: max(1, len(eff) // 60)]
    assert len(sample) >= 20
    for bsm in sample:
        row = sheet.loc[bsm]
        assert _same(eff.loc[bsm, "tax_per_mu"], row["地块亩均税收(万元/亩)"], 2), bsm
        assert _same(eff.loc[bsm, "area_mu"], row["图斑面积(亩)"], 1), bsm
        assert _text(eff.loc[bsm, "grade"]) == _text(row["评价类别"]), bsm
    pts = map_layer_data(html, "enterprises")
    fs = sheets["企业评价"].drop_duplicates("企业名称").set_index("企业名称")
    pts = pts[pts["name"].isin(fs.index)]
    for _, p in pts.iloc[:: max(1, len(pts) // 60)].iterrows():
        row = fs.loc[p["name"]]
        assert _same(p["tax_per_mu"], row["亩均税收(万元/亩)"], 2), p["name"]
        assert _same(p["land_mu"], row["用地面积(亩)"], 1), p["name"]
        assert _text(p["grade"]) == _text(row["class"]), p["name"]
    plat = map_layer_data(html, "platforms").set_index("name_zh")
    body, _ = _zone_rows(sheets["平台"], "平台")
    for name in plat.index:
        assert plat.loc[name, "n_firms"] == body.loc[name, "企业数(家)"], name
        assert _same(plat.loc[name, "tax_per_mu"], body.loc[name, "亩均税收(万元/亩)"], 2), name


def test_workbook_and_report_state_the_rules_used(written, demo_full_published):
    sheets, _, out = written
    s = sheets["汇总"]
    assert "50%" in s["区域归属规则"] and "最大重叠" in s["区域归属规则"]
    assert "为0" in s["能耗/排放为0的处理"]
    html = (out / f"亩均效益评价_{demo_full_published[3]['year']}.html").read_text(encoding="utf-8")
    assert s["区域归属规则"] in html and s["能耗/排放为0的处理"] in html
    assert s["用地单元"] in html and s["租赁企业处理"] in html


def test_every_output_says_what_it_is(written):
    """The workbook's 汇总 opens with the marking the maps and the HTML report show."""
    sheets, _, out = written
    assert sheets["汇总"]["密级"] == "内部资料 · 注意保密"
    html = next(out.glob("亩均效益评价_*.html")).read_text(encoding="utf-8")
    assert "内部资料 · 注意保密" in html
    for m in (out / "maps").glob("*.html"):
        assert "内部资料 · 注意保密" in m.read_text(encoding="utf-8"), m.name


def test_no_output_calls_a_tu_ban_a_zong_di(written, demo_full_published):
    """Without a 宗地 layer the land unit is the 三调 图斑: no output calls it 宗地,
    except to say that the 图斑 stands in for it (以三调图斑代替宗地)."""
    sheets, _, out = written
    wb = openpyxl.load_workbook(next(out.glob("亩均效益评价_*.xlsx")), read_only=True)
    assert "宗地" not in wb.sheetnames and "图斑" in wb.sheetnames
    ok = ("未提供宗地图层", "以三调图斑代替宗地", "不是土地权属宗地", "一宗地也可跨两个图斑", "图斑可含多家企业的宗地")

    def strip(text):
        for o in ok:
            text = text.replace(o, "")
        return text

    for name in wb.sheetnames:
        for row in wb[name].iter_rows(values_only=True):
            for v in row:
                assert "宗地" not in strip(str(v or "")), (name, v)
    for page in [next(out.glob("亩均效益评价_*.html")), *(out / "maps").glob("*.html")]:
        text = strip(page.read_text(encoding="utf-8"))
        assert "宗地" not in text, (page.name, text[max(0, text.find("宗地") - 80):text.find("宗地") + 40])
    eff = (out / "maps" / "efficiency.html").read_text(encoding="utf-8")
    assert "以三调图斑代替宗地" in eff
    rejects = (out / "rejects.csv").read_text(encoding="utf-8-sig")
    assert "宗地" not in strip(rejects)


# --------------------------------------------------------------------------
# the same demo with its cadastral 宗地 layer: the 宗地 is the land unit
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def written_zongdi(demo_full_inputs, tmp_path_factory):
    from pathlib import Path

    from gis import pipeline

    zd_path = Path(demo_full_inputs["enterprises"]).parent / "地籍宗地_ZD.gpkg"
    out = tmp_path_factory.mktemp("demo_zongdi")
    inputs = {**demo_full_inputs, "cadastre": str(zd_path)}
    pipeline.run(**inputs, out_dir=out, progress=False, stages=("efficiency", "renewal", "report"))
    wb = openpyxl.load_workbook(out / f"亩均效益评价_{inputs['year']}.xlsx", read_only=True)
    sheets = {n: _sheet(wb, n) for n in ("企业评价", "宗地", "更新评估")}
    summary = _sheet(wb, "汇总")
    sheets["汇总"] = dict(zip(summary.iloc[:, 0], summary.iloc[:, 1]))
    sheets["names"] = wb.sheetnames
    gpkg = out / "results.gpkg"
    layers = {n: pyogrio.read_dataframe(gpkg, layer=n, read_geometry=False)
              for n in ("parcels", "renewal_parcels")}
    layers["ZD"] = pyogrio.read_dataframe(zd_path, layer="ZD", read_geometry=False)
    return sheets, layers, out


def test_zongdi_sheet_adds_up_to_the_evaluated_land(written_zongdi):
    sheets, layers, _ = written_zongdi
    s, zd = sheets["汇总"], sheets["宗地"]
    assert "宗地" in sheets["names"] and "图斑" not in sheets["names"]
    assert s["用地单元"].startswith("宗地") and "按权利人证件号" in s["企业与宗地关联方式"]
    body, total = zd[zd["宗地代码"] != TOTAL], zd[zd["宗地代码"] == TOTAL]
    # Σ land of the 宗地 sheet = the evaluated firms' land in 汇总
    assert _close(body["宗地面积(亩)"].sum(), s["参评用地(亩)"])
    assert _close(total["宗地面积(亩)"].iloc[0], s["参评用地(亩)"])
    # each 宗地's area is its registered ZDMJ (㎡ → 亩), never the firms' declared land
    own = layers["ZD"].set_index("ZDDM")["ZDMJ"].astype(float) / M2_PER_MU
    np.testing.assert_allclose(body["宗地面积(亩)"].astype(float),
                               own.loc[body["宗地代码"]].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(body["地块亩均税收(万元/亩)"].astype(float),
                               (body["税收(万元)"] / body["宗地面积(亩)"]).astype(float), rtol=1e-9)


def test_zongdi_land_figures_agree_in_every_output(written_zongdi):
    sheets, layers, _ = written_zongdi
    sheet = sheets["宗地"].set_index("宗地代码").drop(index=[TOTAL])
    lay = layers["parcels"].set_index("BSM")
    ren = layers["renewal_parcels"].set_index("parcel_id")
    np.testing.assert_allclose(lay.loc[sheet.index, "area_mu"].astype(float),
                               sheet["宗地面积(亩)"].astype(float), rtol=1e-9)
    np.testing.assert_allclose(lay.loc[sheet.index, "tax_per_mu"].astype(float),
                               sheet["地块亩均税收(万元/亩)"].astype(float), rtol=1e-9)
    both = ren.index.intersection(sheet.index)
    assert len(both) > 1000
    np.testing.assert_allclose(ren.loc[both, "tax_per_mu"].astype(float),
                               sheet.loc[both, "地块亩均税收(万元/亩)"].astype(float), rtol=1e-9)
    assessed = sheets["更新评估"].set_index("宗地代码")
    shared = assessed.index.intersection(sheet.index)
    np.testing.assert_allclose(assessed.loc[shared, "地块亩均税收(万元/亩)"].astype(float),
                               sheet.loc[shared, "地块亩均税收(万元/亩)"].astype(float),
                               rtol=1e-9, atol=1e-9)


def test_a_firm_on_several_zongdi_is_one_firm_with_their_land_summed(written_zongdi):
    sheets, layers, _ = written_zongdi
    firms = sheets["企业评价"]
    assert firms["统一社会信用代码"].dropna().is_unique
    own = layers["ZD"].set_index("ZDDM")["ZDMJ"].astype(float) / M2_PER_MU
    ev = firms[firms["评价范围"].isin(EVALUATED) & (firms["宗地关联方式"] == "按权利人证件号")
               & (firms["同宗地企业数(家)"] == 1)]
    multi = ev[ev["全部宗地"].str.contains(";")]
    assert len(multi) > 20, "the demo must have firms on several 宗地"
    for _, f in multi.iterrows():  # by hand: Σ ZDMJ of the firm's 宗地
        assert _close(f["用地面积(亩)"], sum(own[z] for z in f["全部宗地"].split(";"))), f["企业名称"]
    # the demo's 宗地 cut the 三调 图斑: some 宗地 cross two 图斑
    assert (layers["parcels"]["n_tuban"] >= 2).sum() > 0

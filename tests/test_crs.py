"""Known-answer tests for coordinate conversions, CRS detection and units."""

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from gis import crs
from gis._errors import CRSError

# Published WGS84 -> GCJ-02 vectors (lat, lon) -> (lat, lon), domain.md §2
# (reference implementations wandergis/coordTransform_py, googollee/eviltransform).
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]


@pytest.mark.parametrize("wgs, gcj", VECTORS)
def test_wgs84_to_gcj02_published_vectors(wgs, gcj):
    lon, lat = crs.wgs84_to_gcj02(wgs[1], wgs[0])
    assert lon == pytest.approx(gcj[1], abs=1e-9)
    assert lat == pytest.approx(gcj[0], abs=1e-9)


def test_forward_is_vectorised_and_lonlat_ordered():
    lats = np.array([v[0][0] for v in VECTORS])
    lons = np.array([v[0][1] for v in VECTORS])
    lon, lat = crs.wgs84_to_gcj02(lons, lats)
    np.testing.assert_allclose(lon, [v[1][1] for v in VECTORS], atol=1e-9)
    np.testing.assert_allclose(lat, [v[1][0] for v in VECTORS], atol=1e-9)


def _metres(lon1, lat1, lon2, lat2):
    geod = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    x1, y1 = geod.transform(lon1, lat1)
    x2, y2 = geod.transform(lon2, lat2)
    return np.hypot(np.asarray(x1) - x2, np.asarray(y1) - y2)


def test_gcj02_inverse_is_under_a_centimetre():
    rng = np.random.default_rng(0)
    lon = rng.uniform(119.8, 120.3, 2000)
    lat = rng.uniform(29.0, 29.6, 2000)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    wlon, wlat = crs.gcj02_to_wgs84(glon, glat)
    # error measured against the forward formula: forward(inverse(g)) == g
    flon, flat = crs.wgs84_to_gcj02(wlon, wlat)
    assert _metres(flon, flat, glon, glat).max() < 0.01
    assert _metres(wlon, wlat, lon, lat).max() < 0.01


def test_gcj02_offset_in_yiwu_matches_domain_facts():
    # central Yiwu: GCJ-02 is about 460 m east and 280 m south of the truth
    lon, lat = 120.075, 29.307
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    t = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    x0, y0 = t.transform(lon, lat)
    x1, y1 = t.transform(glon, glat)
    assert 400 < x1 - x0 < 520
    assert -330 < y1 - y0 < -230


def test_bd09_round_trips():
    lon = np.array([120.0, 120.1, 119.9])
    lat = np.array([29.3, 29.4, 29.2])
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    # BD-09 lies further east/north of GCJ-02 by about 0.0065/0.006 degrees
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    assert np.all(np.abs(blon - glon - 0.0065) < 0.0005)
    assert np.all(np.abs(blat - glat - 0.006) < 0.0005)
    wlon, wlat = crs.bd09_to_wgs84(blon, blat)
    assert _metres(wlon, wlat, lon, lat).max() < 0.01
    g2lon, g2lat = crs.bd09_to_gcj02(*crs.gcj02_to_bd09(glon, glat))
    assert _metres(g2lon, g2lat, glon, glat).max() < 0.01


def test_conversions_take_geoseries():
    gs = gpd.GeoSeries([Point(120.0, 29.3), Point(120.1, 29.4)], crs="EPSG:4326")
    out = crs.wgs84_to_gcj02(gs)
    lon, lat = crs.wgs84_to_gcj02(np.array([120.0, 120.1]), np.array([29.3, 29.4]))
    np.testing.assert_allclose(out.x, lon)
    np.testing.assert_allclose(out.y, lat)
    assert out.index.equals(gs.index)


def test_convert_lonlat_sources():
    lon, lat = 120.05, 29.31
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    wl, wt = crs.convert_lonlat([glon], [glat], "GCJ-02")
    assert _metres(wl[0], wt[0], lon, lat) < 0.01
    with pytest.raises(CRSError, match="unknown coordinate system"):
        crs.convert_lonlat([1], [2], "utm")


# --- CRS detection ---------------------------------------------------------

def _yiwu_box_in(epsg):
    t = Transformer.from_crs("EPSG:4326", epsg, always_xy=True)
    x0, y0 = t.transform(119.95, 29.2)
    x1, y1 = t.transform(120.15, 29.45)
    return (x0, y0, x1, y1)


@pytest.mark.parametrize("epsg", ["EPSG:4549", "EPSG:4528"])
def test_detect_projected_without_crs(epsg):
    assert crs.detect_crs(_yiwu_box_in(epsg)) == epsg


def test_detect_geographic_and_swapped():
    assert crs.detect_crs((119.95, 29.2, 120.15, 29.45)) == "EPSG:4490"
    with pytest.raises(CRSError, match="lat/lon"):
        crs.detect_crs((29.2, 119.95, 29.45, 120.15))
    with pytest.raises(CRSError, match="lat/lon"):
        crs.detect_crs((29.2, 119.95, 29.45, 120.15), declared="EPSG:4326")


def test_detect_rejects_data_elsewhere():
    with pytest.raises(CRSError, match="do not look like Yiwu"):
        crs.detect_crs((116.3, 39.9, 116.4, 40.0))  # Beijing, no CRS
    with pytest.raises(CRSError, match="outside Yiwu"):
        crs.detect_crs((116.3, 39.9, 116.4, 40.0), declared="EPSG:4326")


def test_zone_prefixed_eastings_mislabelled_as_4549_become_4528():
    b = _yiwu_box_in("EPSG:4528")
    assert crs.detect_crs(b, declared="EPSG:4549") == "EPSG:4528"


def test_to_working_reprojects_4528_to_4549():
    x0, y0, x1, y1 = _yiwu_box_in("EPSG:4549")
    g = gpd.GeoDataFrame(geometry=[box(x0, y0, x1, y1)], crs=None)
    prefixed = g.translate(40_000_000, 0)
    out = crs.to_working(gpd.GeoDataFrame(geometry=prefixed, crs=None))
    assert out.crs.to_epsg() == 4549
    np.testing.assert_allclose(out.total_bounds, [x0, y0, x1, y1], atol=1e-3)


def test_to_working_names_the_source_in_errors():
    g = gpd.GeoDataFrame(geometry=[Point(2.35, 48.85)], crs=None)
    with pytest.raises(CRSError, match="paris.shp"):
        crs.to_working(g, source="paris.shp")


# --- units -----------------------------------------------------------------

def test_areas_in_mu_and_hectares():
    g = gpd.GeoSeries([box(0, 0, 100, 100), box(0, 0, 1000, 1000)], crs="EPSG:4549")
    np.testing.assert_allclose(crs.area_m2(g), [1e4, 1e6])
    np.testing.assert_allclose(crs.area_mu(g), [15.0, 1500.0])  # 1 ha = 15 亩, 1 km² = 1500 亩
    np.testing.assert_allclose(crs.area_ha(g), [1.0, 100.0])
    assert crs.M2_PER_MU == pytest.approx(666.6667, abs=1e-4)


def test_area_refuses_geographic():
    g = gpd.GeoSeries([box(120, 29, 120.1, 29.1)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="projected"):
        crs.area_mu(g)


def test_declared_4528_without_zone_prefix_is_4549():
    # a review found 4549 coordinates labelled 4528 being reprojected off the map
    assert crs.detect_crs((505000, 3240000, 510000, 3245000), declared="EPSG:4528") == "EPSG:4549"


def test_declared_projected_crs_must_fall_on_yiwu():
    # Web Mercator metres of Yiwu labelled 4549: neither GK range, so refused
    with pytest.raises(CRSError, match="not in Yiwu"):
        crs.detect_crs((1.336e7, 3.40e6, 1.337e7, 3.41e6), declared="EPSG:4549")
    # the same coordinates correctly labelled 3857 are accepted
    t = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    x0, y0 = t.transform(119.95, 29.2)
    x1, y1 = t.transform(120.15, 29.45)
    assert crs.detect_crs((x0, y0, x1, y1), declared="EPSG:3857") == "EPSG:3857"
    # UTM 51N coordinates of Beijing labelled as such are refused
    with pytest.raises(CRSError, match="not in Yiwu"):
        crs.detect_crs((440000, 4410000, 450000, 4420000), declared="EPSG:32650")


# ---------------------------------------------------------------- CRS policy
def _frame(epsg):
    # one square of 100 m x 100 m in the working CRS, expressed in ``epsg``
    g = gpd.GeoDataFrame({"name_zh": ["甲"]}, geometry=[box(500_000, 3_240_000, 500_100, 3_240_100)],
                         crs=crs.WORKING_CRS)
    return g if epsg is None else g.to_crs(epsg)


def test_require_frame_main_frame_refused_unless_working():
    g = _frame(None)
    assert crs.require_frame(g, "f(parcels)", ["name_zh"]) is g  # no copy
    for epsg in (4326, 4490, 4528):  # geographic and projected alike
        with pytest.raises(CRSError, match=r"^f\(parcels\): the layer must be in EPSG:4549 \(got EPSG:"):
            crs.require_frame(_frame(epsg), "f(parcels)")


def test_require_frame_read_layer_reprojected():
    for epsg in (4326, 4490, 4528):
        got = crs.require_frame(_frame(epsg), "f(zones)", ["name_zh"], reproject=True)
        assert got.crs.to_epsg() == 4549
        # back where it started: 100 m x 100 m = 10000 m2 (round trip, mm-level)
        assert got.geometry.area.iloc[0] == pytest.approx(10_000, abs=0.01)


def test_require_frame_refusals_name_the_function():
    from gis._errors import ValidationError

    bare = _frame(None).set_crs(None, allow_override=True)
    for reproject in (False, True):
        with pytest.raises(CRSError, match=r"^g\(zones\): the layer has no CRS"):
            crs.require_frame(bare, "g(zones)", reproject=reproject)
    with pytest.raises(ValidationError, match=r"g\(zones\): column\(s\) 'a', 'b' missing"):
        crs.require_frame(_frame(None), "g(zones)", ["name_zh", "a", "b"], reproject=True)
    with pytest.raises(ValidationError, match="expected a GeoDataFrame"):
        crs.require_frame([1, 2], "g(zones)")


def test_area_in_working_follows_the_policy():
    sq = box(500_000, 3_240_000, 500_100, 3_240_100)
    assert crs.area_in_working(sq, "f(area)") is sq  # a bare geometry is taken as EPSG:4549
    got = crs.area_in_working(_frame(4326), "f(area)")
    assert got.crs.to_epsg() == 4549 and got.area.iloc[0] == pytest.approx(10_000, abs=0.01)
    with pytest.raises(CRSError, match=r"^f\(area\): the layer has no CRS"):
        crs.area_in_working(gpd.GeoSeries([sq]), "f(area)")

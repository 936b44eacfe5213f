"""What a file declares about itself is honoured: the CRS of a layer (.prj, GeoPackage SRS).

Expected coordinates come from pyproj with hand-written PROJ strings (the
ellipsoids and the Gauss-Kruger parameters of EPSG:2385 and EPSG:4549), not
from the toolkit's own path through the EPSG database.
"""

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer

from gis import ConfigError, CRSError
from gis.config import default_settings, load_settings
from gis.crs import detect_crs
from gis.declared import legacy_datum
from gis.io import read_landuse, read_layer
from gis.ledger import Ledger

# 3-degree Gauss-Kruger CM 120E on the Xian 1980 (IAG 1975) and CGCS2000 (GRS80) ellipsoids
GK_XIAN80 = "+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=500000 +y_0=0 +a=6378140 +rf=298.257 +units=m"
GK_CGCS2000 = "+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
X, Y = 503_000.0, 3_240_000.0  # a point in Yiwu


def _parcel(path, crs, dx=0.0):
    g = gpd.GeoDataFrame({"DLBM": ["0601"], "BSM": ["1"]},
                         geometry=[shapely.box(X + dx, Y, X + dx + 100, Y + 100)], crs=crs)
    g.to_file(path)
    return path


def convert():
    s = default_settings()
    s["io"]["legacy_datum"] = "convert"
    return s


@pytest.mark.parametrize("code,datum", [("EPSG:2385", 4610), ("EPSG:2364", 4610), ("EPSG:2437", 4214),
                                        ("EPSG:4214", 4214), ("EPSG:4549", None), ("EPSG:4490", None)])
def test_legacy_datums_are_recognised(code, datum):
    assert legacy_datum(code) == datum


def test_esri_prj_without_epsg_is_recognised_by_its_datum_name():
    wkt = ('PROJCS["Xian_1980_3_Degree_GK_CM_120E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",'
           'SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
           'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
           'PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],'
           'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')
    assert legacy_datum(wkt) == 4610


@pytest.mark.parametrize("crs,dx", [("EPSG:2385", 0.0), ("EPSG:2364", 40_000_000.0)])
def test_legacy_datum_refused_by_default_in_one_line(tmp_path, crs, dx):
    p = _parcel(tmp_path / "x80.shp", crs, dx)
    with pytest.raises(CRSError) as info:
        read_landuse(p)
    msg = str(info.value)
    assert "\n" not in msg and "x80.shp" in msg and "Xian 1980" in msg and "io.legacy_datum" in msg


def test_legacy_datum_in_a_geopackage_srs_refused(tmp_path):
    p = tmp_path / "dltb.gpkg"
    gpd.GeoDataFrame({"DLBM": ["0601"]}, geometry=[shapely.box(X, Y, X + 100, Y + 100)],
                     crs="EPSG:2437").to_file(p, layer="DLTB")
    with pytest.raises(CRSError, match="Beijing 1954"):
        read_landuse(p)


def test_legacy_datum_converted_with_a_note_matches_pyproj_by_hand(tmp_path):
    p = _parcel(tmp_path / "x80.shp", "EPSG:2385")
    led = Ledger()
    out = read_layer(p, settings=convert(), ledger=led)
    # ballpark: the same latitude/longitude, re-projected on the other ellipsoid
    lon, lat = Transformer.from_proj(GK_XIAN80, "+proj=longlat +a=6378140 +rf=298.257").transform(X, Y)
    ex, ey = Transformer.from_proj("+proj=longlat +ellps=GRS80", GK_CGCS2000).transform(lon, lat)
    minx, miny = out.total_bounds[:2]
    assert str(out.crs) == "EPSG:4549"
    assert minx == pytest.approx(ex, abs=0.01) and miny == pytest.approx(ey, abs=0.01)
    assert abs(miny - Y) > 1.0  # the ellipsoid change alone moves it about 1.5 m north-south
    notes = led.notes
    assert notes["reason"].tolist() == ["legacy_datum"] and notes["row"].tolist() == [0]
    assert "Xian 1980" in notes["value"].iloc[0]


def test_legacy_declaration_contradicting_the_numbers_stops(tmp_path):
    # zone-prefixed eastings under a .prj without the zone prefix
    p = _parcel(tmp_path / "bad.shp", "EPSG:2385", dx=40_000_000.0)
    with pytest.raises(CRSError, match="not in Yiwu in that system"):
        read_layer(p, settings=convert())


def test_zone_prefix_relabelled_only_for_a_cgcs2000_declaration():
    box = (40_503_000.0, 3_240_000.0, 40_503_100.0, 3_240_100.0)
    assert detect_crs(box, "EPSG:4549") == "EPSG:4528"
    # WGS 84 / UTM 51N declared: its numbers are not Yiwu, whatever they look like
    with pytest.raises(CRSError, match="not in Yiwu"):
        detect_crs(box, "EPSG:32651")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_undeclared_layer_still_guessed(tmp_path):
    p2 = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"DLBM": ["0601"]}, geometry=[shapely.box(X, Y, X + 100, Y + 100)]).to_file(p2)
    out = read_layer(p2)
    assert str(out.crs) == "EPSG:4549" and out.total_bounds[0] == pytest.approx(X)


def test_legacy_datum_setting_checked_at_load(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("io:\n  legacy_datum: guess\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="io.legacy_datum: must be one of refuse, convert"):
        load_settings(p)

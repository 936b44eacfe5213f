"""One small 三调 data set through every input format the README lists: the same parcels and areas.

Written in tmp_path by pyogrio/geopandas (GeoPackage, Shapefile in GBK with
and without its .cpg, a zipped Shapefile, FileGDB through GDAL's OpenFileGDB
driver, GeoJSON in WGS 84, GeoParquet).  Expected areas by hand: boxes of
100 × 100, 100 × 50 and 60 × 50 m (10 000, 5 000, 3 000 m²).
"""

import zipfile

import geopandas as gpd
import pyogrio
import pytest
import shapely

from gis.io import read_landuse

X, Y = 503_000.0, 3_240_000.0
EXPECTED = {"1": ("0601", "工业用地", 10_000.0), "2": ("0702", "农村宅基地", 5_000.0),
            "3": ("1101", "河流水面", 3_000.0)}


def dataset():
    return gpd.GeoDataFrame(
        {"BSM": ["1", "2", "3"], "DLBM": ["0601", "0702", "1101"], "DLMC": ["工业用地", "农村宅基地", "河流水面"]},
        geometry=[shapely.box(X, Y, X + 100, Y + 100), shapely.box(X + 100, Y, X + 200, Y + 50),
                  shapely.box(X + 200, Y, X + 260, Y + 50)],
        crs="EPSG:4549")


def _gpkg(d):
    p = d / "dltb.gpkg"
    dataset().to_file(p, layer="DLTB")
    return p


def _shp_gbk(d, cpg=True):
    p = d / "DLTB.shp"
    dataset().to_file(p, encoding="GBK")
    assert "农村宅基地".encode("gbk") in (d / "DLTB.dbf").read_bytes()  # really GBK on disk
    if not cpg:
        (d / "DLTB.cpg").unlink()
    return p


def _zip(d):
    _shp_gbk(d)
    z = d / "dltb.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in d.glob("DLTB.*"):
            zf.write(f, f.name)
    return z


def _gdb(d):
    if "OpenFileGDB" not in pyogrio.list_drivers(write=True):
        pytest.skip("this GDAL cannot write FileGDB (OpenFileGDB needs GDAL >= 3.6)")
    p = d / "dltb.gdb"
    dataset().to_file(p, layer="DLTB", driver="OpenFileGDB")
    return p


def _geojson(d):
    p = d / "dltb.geojson"
    dataset().to_crs("EPSG:4326").to_file(p, driver="GeoJSON", COORDINATE_PRECISION=10)
    return p


def _parquet(d):
    p = d / "dltb.parquet"
    dataset().to_parquet(p)
    return p


FORMATS = {"gpkg": _gpkg, "shp_gbk_cpg": _shp_gbk, "shp_gbk_no_cpg": lambda d: _shp_gbk(d, cpg=False),
           "zip": _zip, "filegdb": _gdb, "geojson": _geojson, "geoparquet": _parquet}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_same_parcels_and_areas_in_every_format(tmp_path, fmt):
    path = FORMATS[fmt](tmp_path)
    out = read_landuse(path)
    assert str(out.crs) == "EPSG:4549"
    got = {str(r.BSM): (r.DLBM, r.DLMC, r.geometry.area) for r in out.itertuples()}
    assert set(got) == set(EXPECTED)
    for key, (code, name, area) in EXPECTED.items():
        assert got[key][:2] == (code, name)
        # GeoJSON goes through WGS 84 and back: millimetres
        assert got[key][2] == pytest.approx(area, rel=1e-5 if fmt == "geojson" else 1e-9)
    # TBDLMJ measured from the geometry (no area field in the data set)
    assert out["TBDLMJ"].sum() == pytest.approx(18_000.0, rel=1e-5)

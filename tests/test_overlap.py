"""Known-answer tests of gis.overlap.largest_overlap on hand-made squares."""

import geopandas as gpd
import numpy as np
import pytest
from shapely import box

from gis._errors import CRSError, ValidationError
from gis.overlap import largest_overlap

CRS = "EPSG:4549"


@pytest.fixture
def zones():
    # 甲 covers x 0..4 and 乙 x 4..10 of the unit square 0..10 below y=10;
    # 丙 is far away; 丁 duplicates 乙 (tie: 乙 is listed first)
    return gpd.GeoDataFrame(
        {"zone": ["甲", "乙", "丙", "丁"]}, crs=CRS,
        geometry=[box(0, 0, 4, 10), box(4, 0, 10, 10), box(100, 100, 110, 110),
                  box(4, 0, 10, 10)],
    )


def test_known_answers(zones):
    parts = gpd.GeoDataFrame(
        {"id": list("abcde")}, crs=CRS, index=[10, 11, 12, 13, 14],
        geometry=[
            box(0, 0, 10, 10),     # 甲 40 %, 乙 60 % → 乙, 0.6
            box(1, 1, 3, 3),       # wholly inside 甲 → 甲, 1.0
            box(-10, 0, 2, 10),    # 甲 covers 2×10 of 12×10 → 甲, 1/6
            box(50, 50, 60, 60),   # nothing → None, 0
            box(10, 0, 20, 10),    # touches 乙 along x=10 only → None, 0
        ],
    )
    got = largest_overlap(parts, zones, "zone")
    assert list(got.columns) == ["zone", "share"]
    assert got.index.tolist() == [10, 11, 12, 13, 14]
    assert got["zone"].tolist() == ["乙", "甲", "甲", None, None]
    np.testing.assert_allclose(got["share"], [0.6, 1.0, 1 / 6, 0.0, 0.0])


def test_min_share(zones):
    parts = gpd.GeoSeries([box(0, 0, 10, 10), box(-10, 0, 2, 10), box(1, 1, 3, 3)], crs=CRS)
    got = largest_overlap(parts, zones, "zone", min_share=0.5)
    assert got["zone"].tolist() == ["乙", None, "甲"]
    # the share is reported even when below the minimum
    np.testing.assert_allclose(got["share"], [0.6, 1 / 6, 1.0])
    assert largest_overlap(parts, zones, "zone", min_share=0.61)["zone"].tolist() == [
        None, None, "甲"]


def test_empty_inputs(zones):
    none = gpd.GeoDataFrame(geometry=[], crs=CRS)
    assert len(largest_overlap(none, zones, "zone")) == 0
    got = largest_overlap(gpd.GeoSeries([box(0, 0, 1, 1)], crs=CRS), zones.iloc[:0], "zone")
    assert got["zone"].tolist() == [None] and got["share"].tolist() == [0.0]


def test_errors(zones):
    parts = gpd.GeoSeries([box(0, 0, 1, 1)], crs=CRS)
    with pytest.raises(ValidationError):
        largest_overlap(parts, zones, "name_zh")
    with pytest.raises(CRSError):
        largest_overlap(parts.set_crs("EPSG:4326", allow_override=True), zones, "zone")
    with pytest.raises(CRSError):
        largest_overlap(parts.set_crs("EPSG:4547", allow_override=True), zones, "zone")

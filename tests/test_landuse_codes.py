"""Land-use codes under their standard, and 三调 read as a coverage (overlaps never counted twice)."""

import geopandas as gpd
import pytest
import shapely

from gis import ValidationError
from gis.io import read_landuse, read_plan
from gis.landuse_codes import plan_standard
from gis.ledger import Ledger

X, Y = 503_000.0, 3_240_000.0


def box(x0, x1, y1=100.0):
    return shapely.box(X + x0, Y, X + x1, Y + y1)


def write(path, layer, **cols):
    geoms = cols.pop("geometry")
    gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4549").to_file(path, layer=layer)
    return path


def test_names_instead_of_codes_mapped_with_a_note(tmp_path):
    p = write(tmp_path / "d.gpkg", "DLTB", DLBM=["工业用地", "0702", "水田"],
              geometry=[box(0, 100), box(100, 200), box(200, 300)])
    led = Ledger()
    out = read_landuse(p, ledger=led)
    assert out["DLBM"].tolist() == ["0601", "0702", "0101"]
    notes = led.notes[led.notes["reason"] == "code_from_name"]
    assert notes["reason"].tolist() == ["code_from_name", "code_from_name"] and notes["row"].tolist() == [1, 3]


def test_level_one_codes_mapped_through_dlmc(tmp_path):
    p = write(tmp_path / "d.gpkg", "DLTB", DLBM=["06", "07"], DLMC=["工业用地", "农村宅基地"],
              geometry=[box(0, 100), box(100, 200)])
    out = read_landuse(p, ledger=Ledger())
    assert out["DLBM"].tolist() == ["0601", "0702"]


@pytest.mark.parametrize("codes", [["06", "0702"], [6.0, 702.0]])
def test_level_one_codes_without_names_refused_not_padded(tmp_path, codes):
    p = write(tmp_path / "d.gpkg", "DLTB", DLBM=codes, geometry=[box(0, 100), box(100, 200)])
    with pytest.raises(ValidationError) as info:
        read_landuse(p)
    msg = str(info.value)
    assert "\n" not in msg and "level-one codes (06 ×1)" in msg and "0006" not in msg


def test_ambiguous_name_refused(tmp_path):
    p = write(tmp_path / "d.gpkg", "DLTB", DLBM=["工矿用地"], geometry=[box(0, 100)])
    with pytest.raises(ValidationError, match="name no single 三调 class"):
        read_landuse(p)


def test_plan_in_gbt21010_codes_refused(tmp_path):
    p = write(tmp_path / "plan.gpkg", "plan", YDYHFLDM=["0601", "0508", "05H1", "0702"],
              geometry=[box(0, 100), box(100, 200), box(200, 300), box(300, 400)])
    with pytest.raises(ValidationError, match="GB/T 21010-2017"):
        read_plan(p)


def test_plan_standard_from_names():
    # 0601 alone is in both; the names say which
    assert plan_standard(["0601", "0601"], ["工业用地", "工业用地"]) == "gbt21010"
    assert plan_standard(["0601", "1001"], ["村道用地", "工业用地"]) == "ydyh"


def test_overlapping_patches_never_counted_twice(tmp_path):
    # A 0-100, B 100-200 (edge only), C covers 90 % of A (rejected), D overlaps B by 20 m (clipped)
    geoms = [box(0, 100), box(100, 200), box(0, 100, 90), box(180, 280)]
    p = write(tmp_path / "d.gpkg", "DLTB", DLBM=["0601"] * 4, BSM=["1", "2", "3", "4"],
              TBDLMJ=[float(g.area) for g in geoms], geometry=geoms)
    led = Ledger()
    out = read_landuse(p, ledger=led)
    assert out["BSM"].tolist() == ["1", "2", "4"]
    assert led.rejects["reason"].tolist() == ["overlap"] and led.rejects["row"].tolist() == [3]
    assert out["TBDLMJ"].tolist() == pytest.approx([10_000.0, 10_000.0, 8_000.0])
    # the loaded area is the area of the union: 280 m × 100 m
    assert out["TBDLMJ"].sum() == pytest.approx(28_000.0)
    assert out.geometry.area.sum() == pytest.approx(28_000.0)
    assert led.notes["reason"].tolist() == ["overlap_clipped"]

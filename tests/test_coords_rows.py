"""Per-row coordinate systems, notations of degrees and invisible padding.

Rows whose 经度/纬度 were copied from WGS-84 among GCJ-02 rows: the expected
positions are the GCJ-02 rows' own, converted by the public formula.
"""

import shutil

import numpy as np
import openpyxl
import pytest

from gis import pipeline
from gis.crs import gcj02_to_wgs84
from gis.io import dms_degrees, load_enterprises, number_cells, read_landuse


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The sample workbook with rows 2, 5, 8 and 13 (Excel) rewritten in WGS-84."""
    from gis.demo import sample

    s = sample()
    src = tmp_path_factory.mktemp("mixed") / "企业名录_2025.xlsx"
    shutil.copy(s.paths["enterprises"], src)
    wb = openpyxl.load_workbook(src)
    ws = wb.worksheets[0]
    head = [c.value for c in ws[1]]
    jlon, jlat = head.index("经度") + 1, head.index("纬度") + 1
    for r in (2, 5, 8, 13):
        lon, lat = gcj02_to_wgs84(ws.cell(r, jlon).value, ws.cell(r, jlat).value)
        ws.cell(r, jlon).value, ws.cell(r, jlat).value = round(float(lon), 6), round(float(lat), 6)
    wb.save(src)
    return s, src


def test_rows_copied_from_wgs84_are_named(mixed):
    s, src = mixed
    firms, led = load_enterprises(src, coords="gcj02", boundary="bounds")
    parcels = read_landuse(s.paths["landuse"])
    firms, led, _ = pipeline.firms_in_best_system(firms, led, parcels, "gcj02", src, boundary="bounds")
    notes = led.notes
    notes = notes[notes["reason"] == "coords_other_system"]
    assert notes["row"].tolist() == [2, 5, 8, 13]
    assert all("gcj02 → wgs84" in m for m in notes["message_zh"])


def test_auto_reads_those_rows_in_their_system(mixed):
    s, src = mixed
    good, _ = load_enterprises(s.paths["enterprises"], coords="gcj02", boundary="bounds")
    firms, led = load_enterprises(src, coords="gcj02", boundary="bounds")
    parcels = read_landuse(s.paths["landuse"])
    firms, led, _ = pipeline.firms_in_best_system(firms, led, parcels, "auto", src, boundary="bounds")
    notes = led.notes
    assert notes.loc[notes["reason"] == "coords_per_row", "row"].tolist() == [2, 5, 8, 13]
    # every firm where the clean GCJ-02 table puts it (the formula's inverse: well under a metre)
    ref = good.set_index("source_row").geometry.reindex(firms["source_row"])
    d = np.hypot(firms.geometry.x.to_numpy() - ref.x.to_numpy(), firms.geometry.y.to_numpy() - ref.y.to_numpy())
    assert float(d.max()) < 1.0


def test_degree_notations_and_invisible_padding():
    got = dms_degrees(["东经120°04′30″", "北纬29°18′", "E120.07", "29.3N", "\u200b120°04'30\"", "W1.5"]).tolist()
    assert got == pytest.approx([120 + 4 / 60 + 30 / 3600, 29.3, 120.07, 29.3, 120.075, -1.5])
    v = number_cells(["\u200b12.5", "\ufeff12", "12\u00a0", "1\u200b234", "12\u3000", "\u2060-3"])["value"]
    assert v.tolist() == [12.5, 12.0, 12.0, 1234.0, 12.0, -3.0]


def test_one_stray_point_does_not_refuse_a_projected_table(tmp_path, write_xlsx, valid_enterprise_rows):
    from conftest import ENTERPRISE_HEADERS_ZH
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)
    rows = [list(r) for r in valid_enterprise_rows]
    for r in rows:
        r[5], r[6] = (round(float(v), 2) for v in t.transform(r[5], r[6]))
    rows[4][5], rows[4][6] = 39_500_000.0, 3_240_000.0  # one stray point far outside
    firms, led = load_enterprises(write_xlsx(tmp_path / "xy.xlsx", ENTERPRISE_HEADERS_ZH, rows), boundary="bounds")
    assert len(firms) == 4 and led.rejects["reason"].tolist() == ["outside_yiwu"]
    assert firms.attrs["coords"] == "EPSG:4549"
    assert np.allclose(firms.geometry.x, [r[5] for r in rows[:4]], atol=0.01)

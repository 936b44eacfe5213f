"""Magnitude checks: a value off by a factor a unit explains stops the run in one line.

Hand-computed expectations: 10 亩 written in ㎡ is 6 666.67, 666.67 × its
parcel; 150 万元 written in 元 is 1 500 000, 10 000 × the expected.
"""

import shutil

import numpy as np
import openpyxl
import pandas as pd
import pytest

from gis import ValidationError, cli
from gis.config import default_settings, load_settings
from gis.plausibility import check_plausible, findings, probable_unit


def firms(n=20, land=10.0, parcel=10.0, tax_per_mu=20.0):
    return pd.DataFrame({"table_mu": np.full(n, land), "land_mu": np.full(n, land), "parcel_mu": np.full(n, parcel),
                         "firms_on_parcel": np.ones(n, dtype=int), "tax_per_mu": np.full(n, tax_per_mu)})


def test_plausible_table_passes():
    assert findings(firms(), settings=default_settings()) == []


def test_land_in_square_metres_named():
    f = firms(land=10.0 * 10000 / 15, tax_per_mu=20.0 / (10000 / 15))
    found = findings(f, settings=default_settings())
    assert found[0].startswith("用地面积 is 666.7 × the 三调 parcel")
    assert "平方米" in found[0]
    with pytest.raises(ValidationError) as info:
        check_plausible(f, settings=default_settings(), source="/x/企业.xlsx")
    assert "\n" not in str(info.value) and "企业.xlsx" in str(info.value)


def test_land_in_hectares_named():
    assert "公顷" in findings(firms(land=10.0 / 15), settings=default_settings())[0]


def test_tax_in_yuan_named():
    found = findings(firms(tax_per_mu=20.0 * 10000), settings=default_settings())
    assert len(found) == 1 and "税收 in 元" in found[0]


def test_county_total():
    s = default_settings()
    f = firms(n=5, land=400_000.0)  # 2 000 000 亩 > 1 658 000 亩
    f["firms_on_parcel"] = 2
    assert any("more than the county" in x for x in findings(f, settings=s))


def test_probable_unit_by_hand():
    assert probable_unit(6666.67, 10.0, [(10000 / 15, "㎡"), (1 / 15, "公顷")]) == "㎡"
    assert probable_unit(30.0, 10.0, [(10000 / 15, "㎡")]) is None


def test_settings_checked_at_load(tmp_path):
    from gis import ConfigError

    p = tmp_path / "s.yaml"
    p.write_text("plausibility:\n  land_ratio_range: [5, 0.2]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="plausibility.land_ratio_range"):
        load_settings(p)


def test_run_with_land_in_square_metres_stops_before_the_long_stages(tmp_path, capsys):
    from gis.demo import sample

    s = sample()
    src = tmp_path / "企业名录_2025.xlsx"
    shutil.copy(s.paths["enterprises"], src)
    wb = openpyxl.load_workbook(src)
    ws = wb.worksheets[0]
    head = [c.value for c in ws[1]]
    j = head.index("用地面积(亩)") + 1
    ws.cell(1, j).value = "用地面积"  # no unit in the header, values in ㎡
    for r in range(2, ws.max_row + 1):
        v = ws.cell(r, j).value
        if isinstance(v, (int, float)):
            ws.cell(r, j).value = round(v * 10000 / 15, 2)
    wb.save(src)
    out = tmp_path / "out"
    code = cli.main(["run", "--enterprises", str(src), "--year", "2025", "--out", str(out),
                     "--landuse", s.paths["landuse"], "--coords", "gcj02", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "平方米" in err[0] and "用地面积" in err[0]
    written = {p.name for p in out.iterdir()} if out.exists() else set()
    assert not written & {"maps", "density"} and not any(n.endswith((".html", ".xlsx")) for n in written)

"""The 宗地 layer loader (gis.cadastre): each guarantee on a small hand-made layer."""

import geopandas as gpd
import pytest
from shapely import box

from gis import cadastre
from gis._errors import ValidationError
from gis.identifiers import uscc_check_char
from gis.ledger import Ledger

CRS = "EPSG:4549"
X0, Y0 = 500_000.0, 3_240_000.0
M2_PER_MU = 10000 / 15


def _uscc(body17):
    return body17 + uscc_check_char(body17)


FIRM_A = _uscc("91330782MA2A00001")
FIRM_B = _uscc("91330782MA2A00002")


def _code(i):
    return f"330782001001GB{i:05d}"  # 19 characters


def _layer(rows, path, fields=None):
    """Write 宗地 rows ``(ZDDM, QLR, QLRZJH, YT, ZDMJ, x, y, w, h)`` to a GeoPackage layer ZD."""
    names = fields or ["ZDDM", "QLR", "QLRZJH", "YT", "ZDMJ"]
    data = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    geoms = [box(X0 + r[5], Y0 + r[6], X0 + r[5] + r[7], Y0 + r[6] + r[8]) for r in rows]
    gpd.GeoDataFrame(data, geometry=geoms, crs=CRS).to_file(path, layer="ZD", driver="GPKG")
    return path


def _good_rows():
    # three 100 × 100 m 宗地 (10 000 ㎡ = 15 亩 each) side by side
    return [
        (_code(1), "甲公司", FIRM_A, "0601", 10000.0, 0, 0, 100, 100),
        (_code(2), "乙公司", FIRM_B, "工业用地", 10000.0, 100, 0, 100, 100),
        (_code(3), "张三", "11010519491231002X", "0601", 10000.0, 200, 0, 100, 100),
    ]


def test_reads_fields_codes_and_holders_and_balances(tmp_path):
    ledger = Ledger()
    zd = cadastre.read_cadastre(_layer(_good_rows(), tmp_path / "zd.gpkg"), ledger=ledger)
    assert zd["ZDDM"].tolist() == [_code(1), _code(2), _code(3)]
    # a firm's credit code joins it; a person's ID card is not a firm and is not noted
    assert [u if isinstance(u, str) else None for u in zd["uscc"]] == [FIRM_A, FIRM_B, None]
    assert zd["ZDMJ"].tolist() == [10000.0] * 3
    assert len(ledger.to_frame()) == 0
    bal = ledger.balance()
    row = bal[bal["kind"] == "cadastre"].iloc[0]
    assert (row["rows_read"], row["loaded"], row["rejected"]) == (3, 3, 0)
    assert cadastre.holder_register(zd).values.tolist() == [[FIRM_A, _code(1)], [FIRM_B, _code(2)]]


def test_chinese_field_names_are_aliases(tmp_path):
    path = _layer(_good_rows(), tmp_path / "zd.gpkg", ["宗地代码", "权利人名称", "证件号码", "土地用途", "宗地面积"])
    zd = cadastre.read_cadastre(path)
    assert zd["ZDDM"].tolist()[0] == _code(1) and zd["QLR"].tolist()[0] == "甲公司"
    assert zd["uscc"].tolist()[:2] == [FIRM_A, FIRM_B]


def test_bad_rows_are_rejected_or_noted_and_the_balance_holds(tmp_path):
    rows = _good_rows() + [
        (_code(1), "丙公司", FIRM_A, "0601", 10000.0, 300, 0, 100, 100),   # ZDDM repeated
        ("33078200100", "丁公司", FIRM_A, "0601", 10000.0, 400, 0, 100, 100),  # 11 characters
        (None, "戊公司", FIRM_A, "0601", 10000.0, 500, 0, 100, 100),       # no ZDDM
        (_code(7), "己公司", "91330782MA2A0000X9", "0601", 10000.0, 600, 0, 100, 100),  # bad code
        (_code(8), "庚公司", None, "0601", None, 700, 0, 50, 100),         # no ZDMJ: 5 000 ㎡
        (_code(9), "辛公司", None, "0601", 10000.0, 150, 50, 100, 100),    # overlaps 2 and 3
    ]
    ledger = Ledger()
    zd = cadastre.read_cadastre(_layer(rows, tmp_path / "zd.gpkg"), ledger=ledger)
    log = ledger.to_frame()
    by = log.groupby("reason")["row"].apply(list).to_dict()
    assert by["duplicate_id"] == [4] and by["bad_zddm"] == [5] and by["missing_value"] == [6]
    assert by["bad_holder_code"] == [7] and by["area_from_geometry"] == [8]
    assert by["zongdi_overlap"] == [9]
    # 50 × 50 m over each of 2 and 3: 25 % of the smaller; the first one is named
    assert f"{_code(2)}（重叠 25%）" in log.loc[log["reason"] == "zongdi_overlap", "message_zh"].iloc[0]
    assert zd["ZDDM"].tolist() == [_code(i) for i in (1, 2, 3, 7, 8, 9)]
    assert zd.set_index("ZDDM").loc[_code(8), "ZDMJ"] == pytest.approx(5000.0)
    assert zd.set_index("ZDDM")["uscc"].isna()[_code(7)]
    row = ledger.balance().query("kind == 'cadastre'").iloc[0]
    assert (row["rows_read"], row["loaded"], row["rejected"]) == (9, 6, 3)


def test_zdmj_in_mu_stops_with_one_line_naming_the_column(tmp_path):
    rows = [(c, q, z, y, 15.0, x, yy, w, h) for c, q, z, y, _, x, yy, w, h in _good_rows()]
    path = _layer(rows, tmp_path / "zd.gpkg", ["ZDDM", "QLR", "QLRZJH", "YT", "宗地面积"])
    with pytest.raises(ValidationError) as e:
        cadastre.read_cadastre(path)
    msg = str(e.value)
    assert "宗地面积" in msg and "亩" in msg and "\n" not in msg.strip()


def test_missing_zddm_field_names_the_fields_found(tmp_path):
    path = _layer(_good_rows(), tmp_path / "zd.gpkg", ["编号", "QLR", "QLRZJH", "YT", "ZDMJ"])
    with pytest.raises(ValidationError, match="ZDDM.*编号"):
        cadastre.read_cadastre(path)


def test_land_units_take_the_current_use_by_area_share():
    # 宗地 a (100 × 100) lies over 图斑 T1 (0601, its left 70 m) and T2 (0702, right 30 m):
    # one 宗地 over two 图斑; 图斑 T3 (0601, 300 × 100) holds 宗地 b, c, d: one 图斑 over three 宗地
    zd = gpd.GeoDataFrame(
        {"ZDDM": list("abcd"), "ZDMJ": [10000.0, 9000.0, 10000.0, 10000.0],
         "YT": ["0601"] * 4, "GYRQ": None},
        geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100), box(300, 0, 400, 100),
                  box(400, 0, 500, 100)], crs=CRS)
    sd = gpd.GeoDataFrame({"BSM": ["T1", "T2", "T3"], "DLBM": ["0601", "0702", "0601"]},
                          geometry=[box(0, 0, 70, 100), box(70, 0, 200, 100), box(200, 0, 500, 100)],
                          crs=CRS)
    u = cadastre.land_units(zd, sd).set_index("BSM")
    assert u.loc["a", ["DLBM", "current_share", "n_tuban", "nonindustrial_share"]].tolist() \
        == ["0601", pytest.approx(0.7), 2, pytest.approx(0.3)]
    assert u.loc[list("bcd"), "n_tuban"].tolist() == [1, 1, 1]
    assert u.loc[list("bcd"), "DLBM"].tolist() == ["0601"] * 3
    # the land unit's own area is the registered ZDMJ (b: 9 000 ㎡ although the polygon is 10 000)
    assert u.loc["b", "TBDLMJ"] == 9000.0


def test_cli_validate_parcels(tmp_path, capsys):
    from gis.cli import main

    good = _layer(_good_rows(), tmp_path / "zd.gpkg")
    assert main(["validate", "--parcels", str(good), "--out", str(tmp_path / "ok")]) == 0
    assert "读取 3 行 = 载入 3 + 拒绝 0" in capsys.readouterr().out
    rows = [(c, q, z, y, 15.0, x, yy, w, h) for c, q, z, y, _, x, yy, w, h in _good_rows()]
    bad = _layer(rows, tmp_path / "mu.gpkg")
    assert main(["validate", "--parcels", str(bad), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "ZDMJ" in err and "亩" in err and "Traceback" not in err

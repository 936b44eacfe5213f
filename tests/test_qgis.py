"""results.gpkg as QGIS opens it: Chinese field aliases, default styles, GeoPackage 1.3.

The file is the session's default demo run (``demo_full_run``).  The
GeoPackage itself is read with sqlite3 and pyogrio; the QGIS side runs
``tests/qgis_check.py`` with the system Python that has PyQGIS (Debian
``python3-qgis qgis-providers``; the venv cannot import qgis), offscreen,
and draws the styled layers to PNGs under the test's tmp folder.  Without
PyQGIS the QGIS test is skipped locally (``CI`` set: it fails).

Expected names and labels are written out here; the A/B/C/D colours are
those of :func:`gis.maps.class_colours` (the one place maps take them).
"""

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pyogrio
import pytest

from gis.maps import class_colours

CHECK = Path(__file__).with_name("qgis_check.py")
QGIS_PYTHON = os.environ.get("GIS_QGIS_PYTHON", "/usr/bin/python3")
HOW = "apt-get install python3-qgis qgis-providers (or set GIS_QGIS_PYTHON)"
CLASS_LABELS = {"A": "A 优先发展", "B": "B 鼓励提升", "C": "C 帮扶转型", "D": "D 倒逼整治"}
STYLED = ["enterprises", "parcels", "platforms", "parks", "townships", "renewal_parcels",
          "renewal_blocks", "hotspots", "clusters", "contracts"]

pytestmark = pytest.mark.slow


def _qgis_missing():
    """Why PyQGIS cannot run here (None when it can)."""
    if not Path(QGIS_PYTHON).exists():
        return f"QGIS tests skipped: no {QGIS_PYTHON}; {HOW}"
    r = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True)
    if r.returncode:
        return f"QGIS tests skipped: PyQGIS not importable by {QGIS_PYTHON}; {HOW}"
    return None


@pytest.fixture(scope="module")
def gpkg(demo_full_run):
    return Path(demo_full_run.paths["results"])


@pytest.fixture(scope="module")
def qgis_view(gpkg, tmp_path_factory):
    """What QGIS shows of results.gpkg (tests/qgis_check.py), and its stderr."""
    reason = _qgis_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail("CI is set but " + reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("qgis")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(out)}
    env.pop("PYTHONPATH", None)
    r = subprocess.run([QGIS_PYTHON, str(CHECK), str(gpkg), str(out / "qgis")], capture_output=True,
                       text=True, encoding="utf-8", env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr


def _sql(path, query, *args):
    con = sqlite3.connect(path)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


# --------------------------------------------------------------------------- the file itself
def test_geopackage_version_aliases_and_integer_counts(gpkg):
    assert _sql(gpkg, "PRAGMA user_version") == [(10300,)]  # 1.3: QGIS 3.22 (GDAL 3.6) warns on 1.4
    aliases = {}
    for table, column, name, title in _sql(gpkg, "SELECT table_name, column_name, name, title "
                                                 "FROM gpkg_data_columns"):
        assert name == title and name
        aliases.setdefault(table, {})[column] = name
    for layer in STYLED:
        fields = set(pyogrio.read_info(gpkg, layer=layer)["fields"])
        assert set(aliases[layer]) == fields, layer
        assert len(set(aliases[layer].values())) == len(fields), f"{layer}: two fields share a name"
    assert aliases["enterprises"]["tax_per_mu"] == "亩均税收(万元/亩)"
    assert aliases["enterprises"]["class"] == "评价类别"
    assert aliases["parcels"]["DLBM"] == "地类编码"
    assert aliases["platforms"]["name_zh"] == "名称"
    assert aliases["renewal_blocks"]["block_id"] == "区块编号"
    # counts are INTEGER in every layer that has them
    types = {}
    for layer in STYLED:
        for _cid, name, kind, *_ in _sql(gpkg, f'PRAGMA table_info("{layer}")'):
            types.setdefault(name, {})[layer] = kind
    for col in ("firms", "graded", "n_A", "n_B", "n_C", "n_D", "rank", "n_parcels", "n_firms"):
        assert types[col] and set(types[col].values()) == {"INTEGER"}, (col, types[col])
    assert len(types["firms"]) >= 6  # parcels, zones, renewal layers
    ext = _sql(gpkg, "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_schema'")
    assert {t for (t,) in ext} == {"gpkg_data_columns", "gpkg_data_column_constraints"}
    styles = _sql(gpkg, "SELECT f_table_name, f_geometry_column, useAsDefault FROM layer_styles")
    assert sorted(s[0] for s in styles) == sorted(STYLED)
    geom = dict(_sql(gpkg, "SELECT table_name, column_name FROM gpkg_geometry_columns"))
    assert all(g == geom[t] and d == 1 for t, g, d in styles)


# --------------------------------------------------------------------------- QGIS
def _categories(view, layer):
    return {c[0]: c for c in view["layers"][layer]["categories"]}


def test_qgis_opens_every_layer_with_its_default_style(qgis_view, gpkg):
    view, stderr = qgis_view
    assert "user_version" not in stderr  # no "may only be partially supported" warning
    layers = view["layers"]
    assert all(layers[n]["valid"] for n in STYLED), {n: layers[n]["valid"] for n in STYLED}
    colours = class_colours()
    # firms: A-D in the maps' colours, then the ungraded by why
    firms = _categories(view, "enterprises")
    assert layers["enterprises"]["renderer"] == "categorizedSymbol"
    assert set(firms) == {"A", "B", "C", "D", "lessee", "scored_not_graded", "out_of_scope"}
    for k, label in CLASS_LABELS.items():
        assert firms[k][1:3] == [label, colours[k]]
    assert firms["lessee"][1] == "租赁企业(单列)"
    # parcels by the class of their firms
    parcels = _categories(view, "parcels")
    assert layers["parcels"]["attr"] == "grade"
    assert {k: parcels[k][1:3] for k in "ABCD"} == {k: [CLASS_LABELS[k], colours[k]] for k in "ABCD"}
    # zones: labelled outlines
    for zone in ("platforms", "parks", "townships"):
        assert layers[zone]["renderer"] == "singleSymbol" and layers[zone]["labels"]
        assert layers[zone]["label_field"] == "name_zh"
    # 标准地 contracts by 履约 status in the maps' colours (every status is in the demo)
    from gis.config import load_settings

    status = _categories(view, "contracts")
    assert layers["contracts"]["attr"] == "status_zh"
    assert {k: c[2] for k, c in status.items()} == load_settings()["maps"]["contract_colours"]
    # renewal candidates by main reason (first reason), read back independently
    r = pyogrio.read_dataframe(gpkg, layer="renewal_parcels", read_geometry=False)
    main = set(r.loc[r["status"] == "候选", "reasons"].str.split("；").str[0])
    assert set(_categories(view, "renewal_parcels")) == main | {"豁免", "达标"}
    # blocks: four priority classes spanning every block
    b = pyogrio.read_dataframe(gpkg, layer="renewal_blocks", read_geometry=False)
    ranges = layers["renewal_blocks"]["ranges"]
    assert layers["renewal_blocks"]["renderer"] == "graduatedSymbol" and len(ranges) == 4
    assert ranges[0][0] == pytest.approx(b["priority"].min(), abs=1e-5)
    assert ranges[-1][1] == pytest.approx(b["priority"].max(), abs=1e-5)
    # hot spots by confidence
    h = pyogrio.read_dataframe(gpkg, layer="hotspots", read_geometry=False)
    assert set(_categories(view, "hotspots")) == set(h["gi_class"])
    # every field shows a Chinese alias in QGIS 3.22 (from the default style)
    for name in STYLED:
        blank = [f for f, a in layers[name]["aliases"].items() if f != "fid" and a in ("", f)]
        assert blank == [], (name, blank)
    assert layers["enterprises"]["aliases"]["tax_per_mu"] == "亩均税收(万元/亩)"


def test_qgis_draws_the_styled_layers(qgis_view):
    """The PNGs (under the test's tmp folder, paths in the JSON) show coloured maps."""
    from PIL import Image

    view, _ = qgis_view
    assert set(view["png"]) == {"classes", "renewal", "blocks", "hotspots"}
    colours = class_colours()
    for name, path in view["png"].items():
        img = Image.open(path).convert("RGB")
        assert img.size == (1400, 1400)
        assert len(img.getcolors(1 << 20)) > 20, name  # more than a blank canvas
    seen = {"#%02x%02x%02x" % c for _n, c in Image.open(view["png"]["classes"]).convert("RGB")
            .getcolors(1 << 20)}
    assert {colours[k] for k in "ABCD"} <= seen  # the class fills are drawn in the maps' colours

"""PostGIS round trips against a real database (gis.postgis).

Set ``GIS_TEST_DB`` to a PostgreSQL URL with the postgis extension, e.g.::

    export GIS_TEST_DB=$(scripts/start_postgis.sh)

Without it the tests skip locally; with ``CI`` set they fail instead.
"""

from __future__ import annotations

import os
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis import postgis
from gis._errors import ValidationError

URL = os.environ.get("GIS_TEST_DB")
HOW = ("PostGIS tests need GIS_TEST_DB (a postgresql:// URL with postgis): "
       "run `export GIS_TEST_DB=$(scripts/start_postgis.sh)`")


@pytest.fixture(scope="module")
def url():
    if not URL:
        if os.environ.get("CI"):
            pytest.fail("CI is set but GIS_TEST_DB is not: " + HOW)
        pytest.skip(HOW)
    pytest.importorskip("geoalchemy2")
    return URL


@pytest.fixture
def schema(url):
    """A fresh schema per test, dropped afterwards."""
    from sqlalchemy import text

    name = "t_" + uuid.uuid4().hex[:10]
    yield name
    eng = postgis.connect(url)
    with eng.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    eng.dispose()


def _parcels(n=6, crs="EPSG:4549"):
    x0, y0 = 500_000.0, 3_240_000.0
    geoms = [shapely.box(x0 + 200 * i, y0, x0 + 200 * i + 150, y0 + 150) for i in range(n)]
    return gpd.GeoDataFrame(
        {"BSM": [f"P{i:03d}" for i in range(n)],
         "DLBM": ["0601", "0601", "0702", "0601", "0508", "0702"][:n],
         "tax": np.arange(n, dtype=float) * 1.5,
         "parcel_ids": [["a", "b"]] + [None] * (n - 1)},
        geometry=geoms, crs=crs)


def _sql(url, q, **params):
    from sqlalchemy import text

    eng = postgis.connect(url)
    with eng.connect() as conn:
        rows = conn.execute(text(q), params).fetchall()
    eng.dispose()
    return rows


def test_round_trip_same_rows_and_geometries(url, schema):
    p = _parcels()
    assert postgis.write_results(url, {"dltb": p}, 2025, schema=schema) == {"dltb": 6}
    back = postgis.read_layer(url, "dltb", schema=schema)
    back = back.sort_values("fid").reset_index(drop=True)
    assert back.crs == "EPSG:4549"
    assert back["BSM"].tolist() == p["BSM"].tolist()
    assert back["DLBM"].tolist() == p["DLBM"].tolist()
    assert back["tax"].tolist() == p["tax"].tolist()
    assert back["year"].unique().tolist() == [2025]
    assert back["parcel_ids"].iloc[0] == "a;b"
    assert back.geometry.geom_equals_exact(p.geometry, 0.0).all()
    # SRID 4549, primary key (year, fid), GIST index
    assert _sql(url, "SELECT Find_SRID(:s, 'dltb', 'geom')", s=schema)[0][0] == 4549
    pk = _sql(url, """SELECT a.attname FROM pg_index i JOIN pg_attribute a
                      ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                      WHERE i.indrelid = (:t)::regclass AND i.indisprimary ORDER BY a.attname""",
              t=f'"{schema}".dltb')
    assert [r[0] for r in pk] == ["fid", "year"]
    idx = _sql(url, "SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND tablename = 'dltb'",
               s=schema)
    assert any("USING gist" in r[0] and "geom" in r[0] for r in idx)


def test_reprojected_input_is_stored_in_4549(url, schema):
    p = _parcels(3)
    wgs = p.to_crs("EPSG:4326")
    postgis.write_results(url, {"dltb": wgs}, 2025, schema=schema)
    back = postgis.read_layer(url, "dltb", schema=schema).sort_values("fid")
    # independent reference: pyproj via geopandas on the original 4549 boxes
    d = shapely.hausdorff_distance(back.geometry.values, p.geometry.values)
    assert float(np.max(d)) < 1e-3


def test_bbox_and_where_pushed_to_sql(url, schema):
    p = _parcels()
    postgis.write_results(url, {"dltb": p}, 2025, schema=schema)
    # parcels i occupy x in [500000+200i, 500000+200i+150]: the box x ∈ [500160, 500560]
    # meets parcels 1 and 2 only (hand count)
    box = (500_160.0, 3_240_010.0, 500_560.0, 3_240_100.0)
    got = postgis.read_layer(url, "dltb", bbox=box, schema=schema)
    assert sorted(got["BSM"]) == ["P001", "P002"]
    got = postgis.read_layer(url, "dltb", where='"DLBM" = :code', params={"code": "0601"},
                             schema=schema)
    assert sorted(got["BSM"]) == ["P000", "P001", "P003"]
    got = postgis.read_layer(url, "dltb", bbox=box, where="\"DLBM\" = '0601'", schema=schema,
                             columns=["BSM"])
    assert got["BSM"].tolist() == ["P001"] and set(got.columns) == {"BSM", "geom"}
    # the filter is in the statement, run by PostgreSQL (the GIST index can serve it)
    sql, params = postgis.layer_sql("dltb", "geom", 4549, bbox=box, where="x", schema=schema)
    assert "ST_Intersects" in sql and "ST_MakeEnvelope" in sql and params["minx"] == 500_160.0
    plan = _sql(url, "EXPLAIN " + sql.replace("(x)", "TRUE"), **params)
    assert any("&&" in r[0] or "st_intersects" in r[0].lower() for r in plan)


def test_rerun_replaces_only_that_year(url, schema):
    p = _parcels()
    postgis.write_results(url, {"dltb": p}, 2024, schema=schema)
    postgis.write_results(url, {"dltb": p}, 2025, schema=schema)
    postgis.write_results(url, {"dltb": p.iloc[:2]}, 2025, schema=schema)
    counts = dict(_sql(url, f'SELECT year, count(*) FROM "{schema}".dltb GROUP BY year'))
    assert counts == {2024: 6, 2025: 2}


def test_failure_mid_write_rolls_back_the_whole_year(url, schema):
    p = _parcels()
    blocks = p.iloc[:3][["BSM", "geometry"]].assign(n=[1, 2, 3])
    postgis.write_results(url, {"dltb": p, "blocks": blocks}, 2024, schema=schema)
    postgis.write_results(url, {"dltb": p, "blocks": blocks}, 2025, schema=schema)
    # second run of 2025: the first table is replaced, then the second insert
    # fails (text in the integer column n): nothing of it may stay
    new_p = p.iloc[:1]
    bad = blocks.assign(n=["x", "y", "z"])
    with pytest.raises(Exception):
        postgis.write_results(url, {"dltb": new_p, "blocks": bad}, 2025, schema=schema)
    counts = dict(_sql(url, f'SELECT year, count(*) FROM "{schema}".dltb GROUP BY year'))
    assert counts == {2024: 6, 2025: 6}
    assert _sql(url, f'SELECT sum(n) FROM "{schema}".blocks WHERE year = 2025')[0][0] == 6


def test_bad_names_are_refused_before_connecting():
    with pytest.raises(ValueError, match="plain SQL name"):
        postgis.layer_sql("dltb; drop table x", "geom", 4549)
    with pytest.raises(ValueError, match="bbox"):
        postgis.layer_sql("dltb", "geom", 4549, bbox=(1, 1, 0, 0))


def _partition_folder(root):
    """Two partitions of firms as the dask engine writes them: a column empty in the
    first (comes back untyped) and text in the second, a list column, an extra column."""
    p = _parcels(6)
    a = p.iloc[:3].assign(note=None, _ord=[0, 1, 2])
    b = p.iloc[3:].assign(note=["甲", "乙", None], extra=[1.0, 2.0, 3.0], _ord=[3, 4, 5])
    (root / "firms").mkdir(parents=True)
    a.to_parquet(root / "firms" / "part.00000.parquet")
    b.to_parquet(root / "firms" / "part.00001.parquet")
    (root / "renewal_blocks").mkdir()
    p.iloc[:2][["BSM", "geometry"]].to_parquet(root / "renewal_blocks" / "part.edge.parquet")
    return p


def test_partitions_written_one_by_one_in_one_table(url, schema, tmp_path):
    p = _partition_folder(tmp_path)
    got = postgis.write_partitions(url, tmp_path, 2025, schema=schema)
    assert got == {"enterprises": 6, "renewal_blocks": 2}
    back = postgis.read_layer(url, "enterprises", schema=schema).sort_values("fid")
    assert back["fid"].tolist() == [0, 1, 2, 3, 4, 5]  # fid runs on across partitions
    assert back["BSM"].tolist() == p["BSM"].tolist()
    assert [None if pd.isna(v) else v for v in back["note"]] == [None, None, None, "甲", "乙", None]
    assert back["extra"].tolist()[3:] == [1.0, 2.0, 3.0] and back["extra"].isna()[:3].all()
    assert back["parcel_ids"].iloc[0] == "a;b" and "_ord" not in back.columns
    assert back.geometry.geom_equals_exact(p.geometry.reset_index(drop=True), 0.0).all()


def test_bad_partition_rolls_back_the_year(url, schema, tmp_path):
    _partition_folder(tmp_path)
    postgis.write_partitions(url, tmp_path, 2025, schema=schema)
    # a third partition without a CRS: refused mid-write, the year stays as it was
    gpd.GeoDataFrame({"BSM": ["X"]}, geometry=[shapely.box(0, 0, 1, 1)]).to_parquet(
        tmp_path / "firms" / "part.00002.parquet")
    with pytest.raises(ValidationError, match="no CRS"):
        postgis.write_partitions(url, tmp_path, 2025, schema=schema)
    counts = dict(_sql(url, f'SELECT year, count(*) FROM "{schema}".enterprises GROUP BY year'))
    assert counts == {2025: 6}
    assert dict(_sql(url, f'SELECT year, count(*) FROM "{schema}".renewal_blocks GROUP BY year')) \
        == {2025: 2}


def _mixed_partitions(root):
    """Partitions with every kind of column a run writes: NULLs, Chinese text, booleans,
    timestamps (naive and with a zone, one missing), integers, NaN, list columns, a
    column empty in the first partition, a MultiPolygon and an empty string (stored as
    NULL: geopandas' CSV COPY, the previous path, never told them apart)."""
    p = _parcels(6)
    p["name"] = ["义乌甲", "", None, "稠城街道", "佛堂镇", "后宅"]
    p["kept"] = [True, False, True, True, False, False]
    p["n"] = np.arange(6, dtype="int64") * 7
    p["score"] = [1.25, np.nan, 3.5, -0.0, 1e12, np.nan]
    p["when"] = pd.to_datetime(["2025-01-02 03:04:05", None, "2025-12-31 23:59:59.5",
                                "2024-02-29", "2025-06-01", "2025-06-02"], format="ISO8601")
    p["when_tz"] = p["when"].dt.tz_localize("Asia/Shanghai")
    p["parcel_ids"] = [["a", "b"], [], None, ["地块1"], ["x"], None]
    p.loc[1, "geometry"] = shapely.MultiPolygon([p.geometry[1], shapely.box(0, 0, 5, 5)])
    (root / "firms").mkdir(parents=True)
    p.iloc[:3].assign(note=None).to_parquet(root / "firms" / "part.00000.parquet")
    p.iloc[3:].assign(note=["甲", None, "乙"]).to_parquet(root / "firms" / "part.00001.parquet")
    return p


def _table_dump(url, schema, table):
    """Column names and SQL types, geometry type and SRID, and every row as text."""
    types = _sql(url, """SELECT column_name, data_type, udt_name FROM information_schema.columns
                         WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position""",
                 s=schema, t=table)
    geom = _sql(url, "SELECT type, srid, coord_dimension FROM geometry_columns "
                     "WHERE f_table_schema = :s AND f_table_name = :t", s=schema, t=table)
    cols = ", ".join(f'"{c}"::text' if c != "geom" else "ST_AsEWKT(geom)" for c, *_ in types)
    rows = _sql(url, f'SELECT {cols} FROM "{schema}"."{table}" ORDER BY year, fid')
    pk = _sql(url, "SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND tablename = :t "
                   "ORDER BY indexname", s=schema, t=table)
    return [tuple(t) for t in types], [tuple(g) for g in geom], [tuple(r) for r in rows], \
        [r[0].replace(f'"{schema}".', "").replace(f"{schema}.", "") for r in pk]


def test_copy_writes_the_same_tables_as_to_postgis(url, tmp_path):
    from sqlalchemy import text

    _mixed_partitions(tmp_path)
    schemas = ["t_" + uuid.uuid4().hex[:10] for _ in range(2)]
    try:
        for schema, method in zip(schemas, ("copy", "to_postgis")):
            got = postgis.write_partitions(url, tmp_path, 2025, schema=schema, method=method)
            assert got == {"enterprises": 6}
        copied, inserted = (_table_dump(url, s, "enterprises") for s in schemas)
        assert copied == inserted
        types, geom, rows, indexes = copied
        # hand-checked against the frame: the values a planner reads back
        assert dict((c, u) for c, _, u in types)["kept"] == "bool"
        assert geom == [("GEOMETRY", 4549, 2)]  # Polygon and MultiPolygon: generic type
        by_col = dict(zip([c for c, *_ in types], zip(*rows)))
        assert by_col["name"] == ("义乌甲", None, None, "稠城街道", "佛堂镇", "后宅")
        assert by_col["kept"] == ("true", "false", "true", "true", "false", "false")
        assert by_col["score"][1] is None and by_col["score"][0] == "1.25"
        assert by_col["when"][:3] == ("2025-01-02 03:04:05", None, "2025-12-31 23:59:59.5")
        assert by_col["parcel_ids"] == ("a;b", None, None, "地块1", "x", None)
        assert by_col["note"] == (None, None, None, "甲", None, "乙")
        assert any("PRIMARY KEY" in i.upper() or "pkey" in i for i in indexes)
        assert any("gist" in i for i in indexes)
        # the year replacement: a second COPY run of 2025 and one of 2024
        postgis.write_partitions(url, tmp_path, 2024, schema=schemas[0])
        postgis.write_results(url, {"enterprises": _parcels(2)}, 2025, schema=schemas[0])
        counts = dict(_sql(url, f'SELECT year, count(*) FROM "{schemas[0]}".enterprises '
                                'GROUP BY year'))
        assert counts == {2024: 6, 2025: 2}
    finally:
        eng = postgis.connect(url)
        with eng.begin() as conn:
            for s in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{s}" CASCADE'))
        eng.dispose()


def test_copy_failure_in_a_later_partition_leaves_the_year(url, schema, tmp_path):
    _mixed_partitions(tmp_path)
    postgis.write_partitions(url, tmp_path, 2024, schema=schema)
    postgis.write_partitions(url, tmp_path, 2025, schema=schema)
    # a third partition whose integer column holds text: the COPY itself fails
    # (in PostgreSQL, after two partitions went in); the 2025 rows stay as they were
    bad = _parcels(2).assign(n=["x", "y"])
    bad.to_parquet(tmp_path / "firms" / "part.00002.parquet")
    with pytest.raises(Exception, match="integer|bigint"):
        postgis.write_partitions(url, tmp_path, 2025, schema=schema)
    counts = dict(_sql(url, f'SELECT year, count(*) FROM "{schema}".enterprises GROUP BY year'))
    assert counts == {2024: 6, 2025: 6}
    assert _sql(url, f'SELECT sum(n) FROM "{schema}".enterprises WHERE year = 2025')[0][0] \
        == 7 * (0 + 1 + 2 + 3 + 4 + 5)


def test_unknown_write_method_is_refused(url):
    with pytest.raises(ValidationError, match="method"):
        postgis.write_results(url, {"dltb": _parcels(1)}, 2025, method="insert")


@pytest.mark.parametrize("method", postgis.WRITE_METHODS)
def test_later_partition_of_another_geometry_kind_widens_the_column(url, schema, tmp_path,
                                                                    method):
    # partition 0: Polygons only (the table is made geometry(POLYGON, 4549)); partition 1
    # holds a MultiPolygon, partition 2 no rows: all go in, the column becomes GEOMETRY
    p = _parcels(4)
    p.loc[3, "geometry"] = shapely.MultiPolygon([p.geometry[3], shapely.box(0, 0, 5, 5)])
    (tmp_path / "firms").mkdir()
    p.iloc[:2].to_parquet(tmp_path / "firms" / "part.00000.parquet")
    p.iloc[2:].to_parquet(tmp_path / "firms" / "part.00001.parquet")
    p.iloc[:0].to_parquet(tmp_path / "firms" / "part.00002.parquet")
    assert postgis.write_partitions(url, tmp_path, 2025, schema=schema, method=method) \
        == {"enterprises": 4}
    assert _sql(url, "SELECT type, srid FROM geometry_columns WHERE f_table_schema = :s",
                s=schema) == [("GEOMETRY", 4549)]
    back = postgis.read_layer(url, "enterprises", schema=schema).sort_values("fid")
    assert back.geometry.geom_equals_exact(p.geometry, 0.0).all()
    idx = _sql(url, "SELECT indexdef FROM pg_indexes WHERE schemaname = :s", s=schema)
    assert any("USING gist" in r[0] for r in idx)

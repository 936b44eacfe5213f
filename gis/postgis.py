"""PostGIS as the bureau's store: read layers with filters pushed to SQL, write a year's results.

Needs SQLAlchemy, GeoAlchemy2 and a psycopg driver
(``pip install sqlalchemy geoalchemy2 "psycopg[binary]"``).  Connection
URLs look like ``postgresql://user:password@host:5432/dbname`` (the psycopg 3
driver is used when installed, psycopg2 otherwise).

* :func:`read_layer` reads one table as a GeoDataFrame in EPSG:4549; a
  ``bbox`` (EPSG:4549 metres) becomes ``ST_Intersects(geom,
  ST_MakeEnvelope(..., 4549))`` (transformed to the table's SRID) so the
  database's GIST index does the filtering, and ``where`` is added as SQL.
* :func:`write_results` writes result layers to tables in SRID 4549 with a
  primary key ``(year, fid)`` and a GIST index, replacing one year's rows
  in **one transaction**: if anything fails, the previous rows of that year
  (and of every other year) are left as they were.

Typical use::

    from gis import postgis
    url = "postgresql://gis:gis@127.0.0.1:5432/gis_test"
    parcels = postgis.read_layer(url, "dltb", bbox=(495000, 3235000, 505000, 3245000),
                                 where="\\"DLBM\\" LIKE '06%'")
    postgis.write_results(url, {"enterprises": firms, "renewal_blocks": blocks}, year=2025)
"""

from __future__ import annotations

import csv
import io
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import GisError, ValidationError
from .crs import WORKING_CRS

__all__ = [
    "YEAR_COL",
    "ID_COL",
    "GEOM_COL",
    "connect",
    "check_connection",
    "layer_sql",
    "read_layer",
    "write_results",
    "write_partitions",
    "copy_rows",
    "WRITE_METHODS",
    "result_layers",
]

#: column holding the evaluation year in result tables
YEAR_COL = "year"
#: row number within a year (with YEAR_COL the primary key)
ID_COL = "fid"
#: geometry column of the result tables
GEOM_COL = "geom"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _need():
    try:
        import geoalchemy2  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            'PostGIS support needs: pip install sqlalchemy geoalchemy2 "psycopg[binary]"'
        ) from exc


def _url(url):
    """Prefer the psycopg 3 driver for a bare ``postgresql://`` URL when installed."""
    url = str(url)
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        try:
            import psycopg  # noqa: F401

            return "postgresql+psycopg://" + url.split("://", 1)[1]
        except ImportError:
            return url.replace("postgres://", "postgresql://", 1)
    return url


def connect(url):
    """A SQLAlchemy engine for ``url`` (no pooling kept between calls)."""
    _need()
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(_url(url), poolclass=NullPool, future=True)


def _ident(name, what):
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(
            f"{what} {name!r} is not a plain SQL name (letters, digits, _; not starting with a digit)")
    return '"' + name + '"'


def _table_ref(table, schema):
    return (f"{_ident(schema, 'schema')}." if schema else "") + _ident(table, "table")


def layer_sql(table, geom_col, srid, bbox=None, where=None, schema=None, columns=None):
    """The SELECT run by :func:`read_layer`, and its parameters.

    Parameters
    ----------
    table, schema : str
        Plain SQL names (quoted in the statement).
    geom_col : str
        Geometry column of the table.
    srid : int
        SRID of that column; the bbox envelope (EPSG:4549) is transformed to it.
    bbox : tuple, optional
        ``(minx, miny, maxx, maxy)`` in EPSG:4549 metres.
    where : str, optional
        Extra SQL condition (trusted text, e.g. ``"\\"DLBM\\" LIKE '06%'"``).
    columns : list of str, optional
        Columns to read (default all).

    Returns
    -------
    (str, dict)

    Examples
    --------
    >>> sql, p = layer_sql("dltb", "geom", 4549, bbox=(0, 0, 10, 10), where="x > 1")
    >>> print(sql)
    SELECT * FROM "dltb" WHERE ST_Intersects("geom", ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4549)) AND (x > 1)
    >>> p
    {'minx': 0.0, 'miny': 0.0, 'maxx': 10.0, 'maxy': 10.0}
    """
    cols = "*"
    if columns is not None:
        names = list(columns) + ([geom_col] if geom_col not in columns else [])
        cols = ", ".join(_ident(c, "column") for c in names)
    sql = f"SELECT {cols} FROM {_table_ref(table, schema)}"
    conds, params = [], {}
    if bbox is not None:
        b = [float(v) for v in bbox]
        if len(b) != 4 or not (b[2] > b[0] and b[3] > b[1]):
            raise ValidationError(f"read_layer: bbox {bbox!r} is not (minx, miny, maxx, maxy)")
        env = "ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4549)"
        if int(srid) != 4549:
            env = f"ST_Transform({env}, {int(srid)})"
        conds.append(f"ST_Intersects({_ident(geom_col, 'column')}, {env})")
        params.update(dict(zip(("minx", "miny", "maxx", "maxy"), b)))
    if where:
        conds.append(f"({where})")
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    return sql, params


def _geometry_column(conn, table, schema):
    from sqlalchemy import text

    rows = conn.execute(
        text("SELECT f_geometry_column, srid FROM geometry_columns "
             "WHERE f_table_name = :t AND f_table_schema = :s"),
        {"t": table, "s": schema or "public"},
    ).fetchall()
    if not rows:
        raise ValidationError(
            f"read_layer: no geometry column found for table {schema or 'public'}.{table} "
            "(is it a PostGIS table? see geometry_columns)")
    return rows[0][0], int(rows[0][1])


def read_layer(url, table, bbox=None, where=None, schema=None, columns=None, params=None):
    """Read a PostGIS table as a GeoDataFrame in EPSG:4549, filters done by the database.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/db``.
    table : str
        Table name (plain SQL name).
    bbox : tuple, optional
        ``(minx, miny, maxx, maxy)`` in EPSG:4549 metres: only rows whose
        geometry intersects it (``ST_Intersects`` + ``ST_MakeEnvelope``).
    where : str, optional
        SQL condition added with AND; use ``:name`` placeholders and
        ``params`` for values.  Trusted text only (a planner's filter, never
        input from the web).
    schema : str, optional
        Default ``public``.
    columns : list of str, optional
        Columns to read (the geometry is always read).
    params : dict, optional
        Values of the ``:name`` placeholders in ``where``.

    Returns
    -------
    GeoDataFrame in EPSG:4549.
    """
    from sqlalchemy import text

    eng = connect(url)
    try:
        with eng.connect() as conn:
            geom_col, srid = _geometry_column(conn, table, schema)
            sql, p = layer_sql(table, geom_col, srid, bbox, where, schema, columns)
            p.update(params or {})
            gdf = gpd.read_postgis(text(sql), conn, geom_col=geom_col, crs=f"EPSG:{srid}",
                                   params=p)
    finally:
        eng.dispose()
    return gdf.to_crs(WORKING_CRS) if gdf.crs != WORKING_CRS else gdf


def _for_sql(gdf, year, first_fid=0):
    """The frame as written: year + fid first, lists joined, geometry ``geom`` in 4549."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ValidationError(f"write_results: layers must be GeoDataFrames, got {type(gdf)}")
    if gdf.crs is None:
        raise ValidationError("write_results: a layer has no CRS")
    out = gdf.to_crs(WORKING_CRS) if gdf.crs != WORKING_CRS else gdf.copy()
    out.attrs = {}
    if out.geometry.name != GEOM_COL:
        if GEOM_COL in out.columns:
            out = out.drop(columns=[GEOM_COL])
        out = out.rename_geometry(GEOM_COL)
    for col in list(out.columns):
        if col == GEOM_COL:
            continue
        s = out[col]
        if s.dtype == object:
            sample = s.dropna()
            if len(sample) and isinstance(sample.iloc[0], (list, tuple, set, dict, np.ndarray)):
                out[col] = s.map(lambda v: None if v is None else (
                    ";".join(map(str, v)) if isinstance(v, (list, tuple, set, np.ndarray))
                    else str(v)))
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object)
    out = out.drop(columns=[c for c in (YEAR_COL, ID_COL) if c in out.columns])
    out.insert(0, YEAR_COL, int(year))
    out.insert(1, ID_COL, range(first_fid, first_fid + len(out)))
    return out.reset_index(drop=True)


#: how :func:`write_results` loads rows: psycopg ``COPY`` (default) or geopandas' ``to_postgis``
WRITE_METHODS = ("copy", "to_postgis")


def write_results(url, layers, year, schema="gis", method="copy"):
    """Write result layers to PostGIS, replacing ``year``'s rows in one transaction.

    Each layer goes to table ``schema.<name>`` (created when missing, with
    the primary key ``(year, fid)`` and a GIST index on ``geom``, SRID
    4549).  Inside one transaction: for every layer, ``DELETE ... WHERE
    year = :year`` then the insert.  Any failure rolls everything back: the
    year is either fully replaced or untouched.

    Parameters
    ----------
    url : str
        ``postgresql://...``.
    layers : dict of str -> GeoDataFrame or iterable of GeoDataFrames
        Table name -> frame (any CRS; written in EPSG:4549), or its chunks
        (e.g. one per partition, read lazily) written one after the other
        with ``fid`` running on.  Lists become text joined by ``;``.
    year : int
    schema : str
        Created when missing.
    method : {"copy", "to_postgis"}
        ``"copy"`` streams each chunk through one ``COPY ... FROM STDIN``
        on the transaction's own connection (:func:`copy_rows`);
        ``"to_postgis"`` is the previous path (``GeoDataFrame.to_postgis``
        per chunk, kept for comparison: ``scripts/bench_postgis.py``).
        Both make the same tables and rows.

    Returns
    -------
    dict of str -> int
        Rows written per table.
    """
    from sqlalchemy import inspect, text

    if method not in WRITE_METHODS:
        raise ValidationError(f"write_results: method {method!r} is not one of {WRITE_METHODS}")

    schema_q = _ident(schema, "schema")
    chunked = {}
    for name, gdf in layers.items():
        _ident(name, "table")
        chunked[name] = [gdf] if isinstance(gdf, (gpd.GeoDataFrame, pd.DataFrame)) else gdf
    eng = connect(url)
    written = {}
    try:
        _reachable(eng, url)
        with eng.begin() as conn:  # one transaction: commit at the end, rollback on error
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema_q}"))
            have = set(inspect(conn).get_table_names(schema=schema))
            for name, chunks in chunked.items():
                ref = _table_ref(name, schema)
                if name in have:
                    conn.execute(text(f"DELETE FROM {ref} WHERE {_ident(YEAR_COL, 'column')} = :y"),
                                 {"y": int(year)})
                n, cols, kind = 0, None, None
                for chunk in chunks:
                    frame = _for_sql(chunk, year, n)
                    if name in have:  # shape later chunks to the table (its columns read once)
                        if cols is None:
                            cols = {c["name"]: str(c["type"]).upper()
                                    for c in inspect(conn).get_columns(name, schema)}
                        frame = _like_table(conn, frame, name, schema, cols)
                        kind = _widened_geometry(conn, frame, name, schema, kind)
                    if method == "copy":
                        if name not in have:
                            _create_table(conn, frame, name, schema)
                        copy_rows(conn, frame, name, schema)
                    else:
                        frame.to_postgis(name, conn, schema=schema, if_exists="append",
                                         index=False)
                    if name not in have:
                        _keys_and_index(conn, name, schema)
                        have.add(name)
                    n += len(frame)
                written[name] = n
    finally:
        eng.dispose()
    return written


def check_connection(url):
    """Raise a one-line :class:`GisError` unless ``url`` accepts a connection (checked before
    a long run, so a wrong URL is known at once)."""
    eng = connect(url)
    try:
        _reachable(eng, url)
    finally:
        eng.dispose()


def _reachable(eng, url):
    """Connect once, or raise a one-line :class:`GisError` naming the server (no password)."""
    from sqlalchemy.exc import OperationalError

    try:
        with eng.connect():
            pass
    except OperationalError as exc:
        where = re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", str(url))
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise GisError(f"cannot connect to the database {where}: {reason}") from None


def _keys_and_index(conn, name, schema):
    """Primary key (year, fid) and a GIST index on a table just created."""
    from sqlalchemy import text

    ref = _table_ref(name, schema)
    conn.execute(text(
        f"ALTER TABLE {ref} ADD PRIMARY KEY ({_ident(YEAR_COL, 'c')}, {_ident(ID_COL, 'c')})"))
    gist = conn.execute(text(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = :s AND tablename = :t "
        "AND indexdef ILIKE '%USING gist%'"), {"s": schema, "t": name}).scalar()
    if not gist:  # GeoAlchemy2 usually made one already
        conn.execute(text(
            f"CREATE INDEX {_ident(name + '_geom_gist', 'index')} "
            f"ON {ref} USING GIST ({_ident(GEOM_COL, 'column')})"))


_TEXT_TYPES = ("CHAR", "TEXT", "VARCHAR", "STRING")


def _like_table(conn, frame, name, schema, cols):
    """``frame`` shaped to the existing table (``cols``: column -> SQL type): text
    columns as text, numbers as numbers (a column all empty in one partition
    comes back untyped), and columns the table lacks added to it (and to ``cols``)."""
    from sqlalchemy import text

    out = frame.copy()
    for col in out.columns:
        if col == GEOM_COL:
            continue
        if col not in cols:
            kind = ("DOUBLE PRECISION" if pd.api.types.is_numeric_dtype(out[col])
                    and not pd.api.types.is_bool_dtype(out[col]) else
                    "BOOLEAN" if pd.api.types.is_bool_dtype(out[col]) else "TEXT")
            conn.execute(text(f"ALTER TABLE {_table_ref(name, schema)} "
                              f"ADD COLUMN {_ident(col, 'column')} {kind}"))
            cols[col] = kind
            continue
        if any(t in cols[col] for t in _TEXT_TYPES):
            out[col] = _as_text(out[col])
        elif out[col].dtype == object and out[col].isna().all():
            out[col] = pd.Series(np.nan, index=out.index, dtype=float)
    return out


def _as_text(s):
    """``s`` as text with missing values as None (a column already all text is kept as is).

    >>> _as_text(pd.Series([1.5, None, "a"])).tolist()
    ['1.5', nan, 'a']
    >>> _as_text(pd.Series([2.0, None])).tolist()
    ['2.0', None]
    """
    missing = s.isna().to_numpy()
    if isinstance(s.dtype, pd.StringDtype) or (
            s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")):
        values = s.to_numpy(dtype=object, copy=True)
        values[missing] = None
        return pd.Series(values, index=s.index, name=s.name, dtype=object)
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":  # str() of each, at C speed
        values = s.astype(str).to_numpy(dtype=object)
        values[missing] = None
        return pd.Series(values, index=s.index, name=s.name, dtype=object)
    return s.astype(object).where(~missing, None).map(
        lambda x: x if x is None or isinstance(x, str) else str(x))


def _geometry_type(geoms):
    """PostGIS type of the geometry column, chosen as ``to_postgis`` chooses it: the one
    type all share (a LinearRing as LINESTRING), else GEOMETRY (also for no rows);
    Z when any has Z."""
    kinds = {"LineString" if k == "LinearRing" else k for k in geoms.geom_type.dropna()}
    if len(geoms) and not kinds:
        raise ValidationError("write_results: a layer has no valid geometries")
    kind = kinds.pop().upper() if len(kinds) == 1 and geoms.geom_type.notna().all() else "GEOMETRY"
    return kind + ("Z" if geoms.has_z.any() else "")


def _widened_geometry(conn, frame, name, schema, column):
    """The table's geometry type (``column``, read when None), made GEOMETRY (SRID 4549,
    same dimensions) when ``frame`` holds another kind, e.g. a partition with
    MultiPolygons after one of Polygons only, which the column would refuse."""
    from sqlalchemy import text

    if column is None:
        kind, dims = conn.execute(text(
            "SELECT type, coord_dimension FROM geometry_columns WHERE f_table_schema = :s "
            "AND f_table_name = :t AND f_geometry_column = :g"),
            {"s": schema, "t": name, "g": GEOM_COL}).one()
        column = kind.upper().removesuffix("Z") + ("Z" if int(dims) > 2 else "")
    if not len(frame) or column.removesuffix("Z") == "GEOMETRY":
        return column
    if _geometry_type(frame.geometry).removesuffix("Z") != column.removesuffix("Z"):
        column = "GEOMETRY" + ("Z" if column.endswith("Z") else "")
        conn.execute(text(f"ALTER TABLE {_table_ref(name, schema)} ALTER COLUMN "
                          f"{_ident(GEOM_COL, 'column')} TYPE geometry({column}, 4549)"))
    return column


def _create_table(conn, frame, name, schema):
    """Create ``schema.name`` for ``frame`` with the column types pandas' ``to_sql`` gives
    them and ``geometry(<type>, 4549)`` (GeoAlchemy2 adds the GIST index), no rows."""
    from geoalchemy2 import Geometry
    from pandas.io.sql import SQLDatabase

    plain = pd.DataFrame(frame)
    plain[GEOM_COL] = None  # its type comes from dtype below
    SQLDatabase(conn, schema=schema).prep_table(
        plain, name, if_exists="fail", index=False, schema=schema,
        dtype={GEOM_COL: Geometry(_geometry_type(frame.geometry), srid=4549)})


def _copy_values(s):
    """One column as Python values for ``COPY``: missing values as None (NULL), and an
    empty text too (as ``to_postgis``' CSV has always stored it)."""
    if s.name == GEOM_COL:
        geoms = shapely.set_srid(np.asarray(s.values, dtype=object), 4549)
        kind = shapely.get_type_id(geoms)
        geoms = np.where(kind == 2, shapely.linestrings(shapely.get_coordinates(geoms)), geoms) \
            if (kind == 2).any() else geoms  # LinearRing written as LineString, as to_postgis
        return shapely.to_wkb(geoms, hex=True, include_srid=True).tolist()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return [None if pd.isna(v) else v.to_pydatetime() for v in s]
    keep = s.notna() & (s != "") if s.dtype == object or pd.api.types.is_string_dtype(s.dtype) \
        else s.notna()
    values = s.to_numpy(dtype=object, copy=True)
    values[~keep.to_numpy()] = None
    return values.tolist()


def copy_rows(conn, frame, name, schema):
    """Append ``frame`` (as :func:`write_results` shapes it) to ``schema.name`` with one
    ``COPY ... FROM STDIN`` on ``conn``'s psycopg connection (inside its transaction).

    The rows go as CSV text built at C speed by :mod:`csv`: geometries as hex
    EWKB with SRID 4549 (PostGIS parses it for a geometry column); NaN, NaT,
    None and empty text become NULL (an unquoted empty field); text is sent
    as is (UTF-8).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Open on the psycopg 3 driver, in a transaction.
    frame : GeoDataFrame
        Columns already in the table.
    name, schema : str

    Returns
    -------
    int
        Rows written.
    """
    cols = list(frame.columns)
    target = f"{_table_ref(name, schema)} ({', '.join(_ident(c, 'column') for c in cols)})"
    buf = io.StringIO()  # CSV: NULL is an unquoted empty field, text is quoted when needed
    csv.writer(buf, lineterminator="\n").writerows(
        zip(*(_copy_values(frame[c]) for c in cols)))
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        if not hasattr(cur, "copy"):  # pragma: no cover - depends on the install
            raise GisError('COPY needs the psycopg 3 driver (pip install "psycopg[binary]"); '
                           'or write with method="to_postgis"')
        with cur.copy(f"COPY {target} FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
    return len(frame)


def write_partitions(url, folder, year, schema="gis", method="copy"):
    """Write the dask engine's output folder (:func:`gis.scale.run_partitions`) to PostGIS, partition by partition.

    Tables ``enterprises`` (``firms``), ``parcel_facts`` (``facts``),
    ``renewal_parcels`` and ``renewal_blocks``, each read one partition file
    at a time (memory: one partition) and written as :func:`write_results`
    does: SRID 4549, primary key, GIST index, the year replaced in one
    transaction, each partition through one ``COPY`` (``method``: see
    :func:`write_results`).

    Returns
    -------
    dict of str -> int
        Rows written per table.
    """
    from pathlib import Path

    def chunks(sub):
        for f in sorted(Path(folder, sub).glob("part.*.parquet")):
            part = gpd.read_parquet(f)
            yield part.drop(columns=[c for c in ("_ord",) if c in part.columns])

    tables = {"enterprises": "firms", "parcel_facts": "facts",
              "renewal_parcels": "renewal_parcels", "renewal_blocks": "renewal_blocks"}
    layers = {t: chunks(sub) for t, sub in tables.items()
              if any(Path(folder, sub).glob("part.*.parquet"))}
    if not layers:
        raise ValidationError(f"write_partitions: no part.*.parquet results under {folder}")
    return write_results(url, layers, year, schema, method)


def result_layers(result):
    """The layers of a :class:`gis.pipeline.Run` worth storing, by table name.

    ``enterprises``, ``parcels``, ``renewal_parcels``, ``renewal_blocks``,
    ``hotspots``, ``clusters``, ``contracts`` (those computed).
    """
    out = {}
    if getattr(result, "firms", None) is not None:
        out["enterprises"] = result.firms
    if getattr(result, "parcels", None) is not None:
        out["parcels"] = result.parcels
    for key in ("renewal_parcels", "renewal_blocks"):
        if (result.renewal or {}).get(key) is not None:
            out[key] = result.renewal[key]
    for key in ("hotspots", "clusters"):
        if (result.density or {}).get(key) is not None:
            out[key] = result.density[key]
    if getattr(result, "contracts", None):  # 标准地 履约 (gis.contracts)
        c = result.contracts["contracts"]
        out["contracts"] = c.drop(columns=[k for k in c.columns if k.startswith("a_")])
    return out

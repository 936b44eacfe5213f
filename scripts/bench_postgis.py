"""PostGIS writes: COPY (``method="copy"``) against the previous ``to_postgis`` path and INSERTs.

Both write the same partitions folder (the dask engine's layout: ``firms``,
``facts``, ``renewal_parcels``, ``renewal_blocks``, one ``part.*.parquet``
per partition) with :func:`gis.postgis.write_partitions`, each into a fresh
schema, in the same run, alternating (``--repeat`` rounds after one warm-up
write, so neither gains from a warm file cache or a first connection), and
print the best seconds, rows/s and the ratios. The schemas are dropped.

``to_postgis`` is what ``write_results`` did before: geopandas' ``to_postgis``
per chunk, itself a CSV ``COPY`` behind pandas' ``to_sql``. ``insert`` is
row INSERTs (psycopg ``executemany``, pipelined) of the very rows ``copy``
sends, put in place of :func:`gis.postgis.copy_rows` for the timing only.

The folder is either a dask run's ``OUT/partitions`` (``--partitions``) or
built from a ``results.gpkg`` of ``gis demo`` tiled ``--tiles`` times (each
tile one partition, moved east so no two tiles overlap)::

    export GIS_TEST_DB=postgresql://gis:gis@127.0.0.1:5432/gis_test
    python scripts/bench_postgis.py --gpkg out/results.gpkg --tiles 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

#: results.gpkg layer -> partitions sub-folder (the tables write_partitions fills)
LAYERS = {"enterprises": "firms", "parcels": "facts",
          "renewal_parcels": "renewal_parcels", "renewal_blocks": "renewal_blocks"}


def tiled_partitions(gpkg, tiles, out):
    """A partitions folder: each layer of ``gpkg`` written ``tiles`` times, tile ``i``
    moved ``i`` times the layer's width east; returns the folder."""
    import geopandas as gpd

    for layer, sub in LAYERS.items():
        frame = gpd.read_file(gpkg, layer=layer)
        width = float(frame.total_bounds[2] - frame.total_bounds[0]) + 1000.0
        Path(out, sub).mkdir(parents=True, exist_ok=True)
        for i in range(tiles):
            tile = frame.copy()
            tile.geometry = tile.geometry.translate(xoff=i * width)
            tile.to_parquet(Path(out, sub, f"part.{i:05d}.parquet"))
    return Path(out)


def insert_rows(conn, frame, name, schema):
    """:func:`gis.postgis.copy_rows` done with INSERT statements (for the comparison)."""
    from gis import postgis

    cols = list(frame.columns)
    names = ", ".join(f'"{c}"' for c in cols)
    sql = (f'INSERT INTO "{schema}"."{name}" ({names}) '
           f"VALUES ({', '.join(['%s'] * len(cols))})")
    rows = list(zip(*(postgis._copy_values(frame[c]) for c in cols)))
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.executemany(sql, rows)
    return len(frame)


def timed_write(url, folder, method, year=2025):
    """(rows written, seconds) of one :func:`gis.postgis.write_partitions` into a fresh
    schema, dropped afterwards."""
    from sqlalchemy import text

    from gis import postgis

    schema = "bench_" + uuid.uuid4().hex[:8]
    copy_rows = postgis.copy_rows
    try:
        if method == "insert":
            postgis.copy_rows = insert_rows
        t0 = time.perf_counter()
        written = postgis.write_partitions(url, folder, year, schema=schema,
                                           method="to_postgis" if method == "to_postgis"
                                           else "copy")
        return sum(written.values()), time.perf_counter() - t0
    finally:
        postgis.copy_rows = copy_rows
        eng = postgis.connect(url)
        with eng.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        eng.dispose()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=os.environ.get("GIS_TEST_DB"),
                    help="postgresql:// URL (default $GIS_TEST_DB)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--partitions", help="a dask run's OUT/partitions folder")
    src.add_argument("--gpkg", help="results.gpkg of `gis demo`, tiled --tiles times")
    ap.add_argument("--tiles", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2, help="timed rounds per method")
    args = ap.parse_args(argv)
    if not args.db:
        ap.error("no database: pass --db or set GIS_TEST_DB")
    tmp = None
    try:
        if args.partitions:
            folder = Path(args.partitions)
        else:
            tmp = tempfile.mkdtemp(prefix="bench_postgis_")
            folder = tiled_partitions(args.gpkg, args.tiles, tmp)
        timed_write(args.db, folder, "copy")  # warm-up: file cache, imports, connection
        figures = {}
        for _ in range(args.repeat):
            for method in ("to_postgis", "insert", "copy"):
                rows, secs = timed_write(args.db, folder, method)
                figures[method] = min(secs, figures.get(method, secs))
        for method, secs in figures.items():
            print(f"{method:>10}: {rows:,} rows in {secs:.1f} s = {rows / secs:,.0f} rows/s "
                  f"(best of {args.repeat})")
        for other in ("to_postgis", "insert"):
            print(f"COPY is {figures[other] / figures['copy']:.2f}x as fast as {other}")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

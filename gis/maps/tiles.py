"""Base-map tiles: the named tile services, a local tile folder or .mbtiles file, and bounds."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .._errors import ConfigError, CRSError, ValidationError
from ..crs import WEB_CRS, WORKING_CRS

__all__ = [
    "BASEMAPS",
    "lonlat_bounds",
    "tile_layers",
    "tile_source",
    "with_tile_dir",
]


BASEMAPS = ("none", "intranet", "tianditu", "amap", "osm", "tiles:DIR")


# ---------------------------------------------------------------------------
# base map
# ---------------------------------------------------------------------------
def lonlat_bounds(bounds_or_gdf):
    """Return ``(west, south, east, north)`` in degrees of a GeoDataFrame or of bounds (degrees or EPSG:4549)."""
    if hasattr(bounds_or_gdf, "total_bounds"):
        g = bounds_or_gdf
        if g.crs is None:
            raise CRSError("base_map: the GeoDataFrame has no CRS")
        return tuple(g.to_crs(WEB_CRS).total_bounds)
    b = tuple(float(v) for v in bounds_or_gdf)
    if len(b) != 4:
        raise ValidationError("base_map: bounds must be (minx, miny, maxx, maxy)")
    if max(abs(v) for v in b) > 360:  # projected: EPSG:4549 metres
        from pyproj import Transformer

        tr = Transformer.from_crs(WORKING_CRS, WEB_CRS, always_xy=True)
        xs, ys = tr.transform([b[0], b[2], b[0], b[2]], [b[1], b[1], b[3], b[3]])
        return min(xs), min(ys), max(xs), max(ys)
    return b


def tile_layers(basemap, s, lang):
    """[(url, attribution, name, subdomains)] of a basemap; checks keys and URLs."""
    if basemap == "none":
        return []
    if basemap == "intranet":
        url = os.environ.get("GIS_TILE_URL") or s.get("tile_url") or ""
        if not url:
            raise ConfigError(
                "maps.tile_url: basemap 'intranet' needs an XYZ URL template: set "
                "maps.tile_url in your settings or the environment variable GIS_TILE_URL"
            )
        return [(url, s.get("tile_attribution", ""), "内网底图" if lang != "en" else "Intranet basemap", "abc")]
    if basemap == "tianditu":
        key = os.environ.get("GIS_TIANDITU_KEY") or s.get("tianditu_key") or ""
        if not key:
            raise ConfigError(
                "maps.tianditu_key: basemap 'tianditu' needs a 天地图 key: set the "
                "environment variable GIS_TIANDITU_KEY (or maps.tianditu_key in a local settings file)"
            )
        out = []
        for layer in s["tianditu_layers"]:
            url = s["tianditu_url"].replace("{layer}", layer).replace("{key}", key)
            out.append((url, "天地图 © 国家地理信息公共服务平台", f"天地图 {layer}", "01234567"))
        return out
    if basemap == "amap":
        return [(s["amap_url"], "© 高德地图 AutoNavi", "高德地图" if lang != "en" else "AMap", "1234")]
    if basemap == "osm":
        return [(s["osm_url"], "© OpenStreetMap contributors", "OpenStreetMap", "abc")]
    if isinstance(basemap, str) and basemap.startswith("tiles:"):
        return []  # a local tile folder: added by base_map
    raise ConfigError(f"maps.basemap: unknown basemap {basemap!r}; use one of {', '.join(BASEMAPS)}")


TILE_DIR_TOKEN = "@@GIS_TILE_DIR@@"


def tile_source(basemap):
    """(folder or .mbtiles path, image extension, max native zoom) of ``tiles:DIR``."""
    path = Path(basemap[len("tiles:"):]).expanduser()
    if not str(path) or not path.exists():
        raise ConfigError(f"maps.basemap: {basemap!r}: no tile folder or .mbtiles file at {path}")
    if path.is_file():
        if path.suffix.lower() != ".mbtiles":
            raise ConfigError(f"maps.basemap: {path} is neither a tile folder nor an .mbtiles file")
        import sqlite3

        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            try:
                meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
                zmax = con.execute("SELECT max(zoom_level) FROM tiles").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise ConfigError(f"maps.basemap: {path} is not an MBTiles file ({exc})") from None
        ext = {"jpeg": "jpg"}.get(meta.get("format", "png"), meta.get("format", "png"))
        return path.resolve(), ext, int(zmax if zmax is not None else 18)
    zooms = [int(p.name) for p in path.iterdir() if p.is_dir() and p.name.isdigit()]
    if not zooms:
        raise ConfigError(f"maps.basemap: {path} holds no {{z}}/{{x}}/{{y}} tile folders")
    sample = next((f for f in (path / str(max(zooms))).rglob("*") if f.is_file()), None)
    ext = sample.suffix.lstrip(".").lower() if sample is not None else "png"
    return path.resolve(), ext, max(zooms)


def _unpack_mbtiles(mbtiles, folder):
    """Write the tiles of an .mbtiles file as ``folder/{z}/{x}/{y}.ext`` (XYZ rows); returns folder."""
    import sqlite3

    folder = Path(folder)
    stamp = folder / ".source"
    key = f"{mbtiles} {mbtiles.stat().st_mtime_ns}"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == key:
        return folder
    with sqlite3.connect(f"file:{mbtiles}?mode=ro", uri=True) as con:
        fmt = dict(con.execute("SELECT name, value FROM metadata").fetchall()).get("format", "png")
        ext = {"jpeg": "jpg"}.get(fmt, fmt)
        for z, x, row, data in con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
            y = (1 << int(z)) - 1 - int(row)  # MBTiles rows count from the south (TMS)
            out = folder / str(z) / str(x) / f"{y}.{ext}"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
    stamp.write_text(key, encoding="utf-8")
    return folder


def with_tile_dir(page, m, path=None):
    """The page with the tile folder written relative to the map file (or as a file URI)."""
    src = getattr(m, "gis", {}).get("tile_dir")
    if src is None:
        return page
    folder = src[0]
    if folder.is_file():  # .mbtiles: unpacked once into a folder next to the map
        base = Path(path).parent if path is not None else folder.parent
        folder = _unpack_mbtiles(folder, base / f"{folder.stem}_tiles")
    if path is not None:
        ref = Path(os.path.relpath(folder, Path(path).resolve().parent)).as_posix()
    else:
        ref = folder.as_uri()
    return page.replace(TILE_DIR_TOKEN, json.dumps(ref)[1:-1])

"""Benchmark the overview map against a plain folium.GeoJson map of the same data.

    python scripts/bench_maps.py                 # 1x and 100x, demo data
    python scripts/bench_maps.py --scales 1 10   # other scales
    python scripts/bench_maps.py --source synthetic

For each scale: the demo data set (``gis.demo.generate``, cached in
``--data-dir``) or synthetic parcels and firms; then, in the same run,

- ``gis.maps`` overview map (land use, enterprises clustered, outlines);
- baseline: ``folium.Map`` + ``folium.GeoJson(gdf)`` for the parcels and the
  enterprises, nothing else (CDN assets as folium writes them; the browser
  blocks them, so the baseline gets its Leaflet from the vendored copy via
  the same inlining, to be drawable offline at all).

Printed: HTML size, build time, and time until drawn in headless Chromium
(navigation start to: every gis layer loaded / first vector drawn for the
baseline).  Targets at 100x: HTML < 25 MB, drawn < 5 s.  A baseline larger
than ``--baseline-max-features`` is built on a random sample and its size and
build time extrapolated linearly (marked "~"); it is not opened in the
browser when its HTML would exceed ``--baseline-max-mb``.
"""

from __future__ import annotations

import argparse
import sys
import re
import tempfile
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from gis import maps  # noqa: E402
from gis.crs import WORKING_CRS  # noqa: E402


def demo_data(scale, data_dir):
    """(parcels, firms, outlines dict) from gis.demo at ``scale``."""
    from gis import demo, io

    out = Path(data_dir) / f"scale_{scale:g}"
    if not (out / "demo_manifest.json").exists():
        t = time.perf_counter()
        demo.generate(out, scale=scale)
        print(f"  generated demo x{scale:g} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    parcels = gpd.read_file(out / "三调_DLTB.gpkg", layer="DLTB")
    firms, _ = io.load_enterprises(sorted(out.glob("企业名录_*.xlsx"))[-1])
    firms = firms.assign(tax_per_mu=firms["tax"] / firms["land_mu"].where(firms["land_mu"] > 0))
    q = firms["tax_per_mu"].rank(pct=True)
    firms["grade"] = np.select([q > 0.75, q > 0.30, q > 0.05], ["A", "B", "C"], "D")
    firms.loc[firms["tax_per_mu"].isna(), "grade"] = None
    return parcels, firms, _outlines()


def synthetic_data(scale, seed=0):
    """≈20 000 parcels and ≈4 000 firms per unit of scale, over central Yiwu."""
    rng = np.random.default_rng(seed)
    n_p, n_f = int(20_000 * scale), int(4_000 * scale)
    x = rng.uniform(470_000, 530_000, n_p)
    y = rng.uniform(3_220_000, 3_270_000, n_p)
    w, h = rng.uniform(40, 160, n_p), rng.uniform(40, 160, n_p)
    parcels = gpd.GeoDataFrame(
        {"BSM": np.char.add("P", np.arange(n_p).astype(str)),
         "DLBM": rng.choice(["0601", "0701", "0101", "0301", "1003", "0508"], n_p),
         "TBDLMJ": w * h},
        geometry=shapely.box(x, y, x + w, y + h), crs=WORKING_CRS)
    firms = gpd.GeoDataFrame(
        {"name": np.char.add("企业", np.arange(n_f).astype(str)), "chain": "纺织服装",
         "land_mu": rng.uniform(3, 60, n_f), "tax_per_mu": rng.gamma(2, 8, n_f),
         "score": rng.uniform(30, 120, n_f), "grade": rng.choice(list("ABCD"), n_f)},
        geometry=gpd.points_from_xy(rng.uniform(470_000, 530_000, n_f),
                                    rng.uniform(3_220_000, 3_270_000, n_f)), crs=WORKING_CRS)
    return parcels, firms, _outlines()


def _outlines():
    try:
        from gis import layers

        return {k: layers.load(k) for k in ("yiwu", "townships", "platforms", "parks")}
    except Exception as exc:  # layers not shipped yet: draw without outlines
        print(f"  (no outlines: {exc})", file=sys.stderr)
        return {}


def build_ours(parcels, firms, outl, path):
    t = time.perf_counter()
    frame = outl.get("yiwu", parcels)
    m = maps.base_map(frame, title="义乌市产业空间总览 (bench)")
    if "yiwu" in outl:
        maps.add_boundary(m, outl["yiwu"])
    maps.add_landuse(m, parcels)
    if "townships" in outl:
        maps.add_townships(m, outl["townships"], show=False)
    if "platforms" in outl:
        maps.add_platforms(m, outl["platforms"])
    if "parks" in outl:
        maps.add_parks(m, outl["parks"])
    maps.add_enterprises(m, firms)
    maps.save_map(m, path)
    return time.perf_counter() - t


def build_baseline(parcels, firms, path, max_features):
    n = len(parcels) + len(firms)
    factor = 1.0
    if n > max_features:
        frac = max_features / n
        parcels = parcels.sample(frac=frac, random_state=0)
        firms = firms.sample(frac=frac, random_state=0)
        factor = 1 / frac
    t = time.perf_counter()
    b = parcels.to_crs(4326).total_bounds
    m = folium.Map(location=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], zoom_start=11, tiles=None)
    folium.GeoJson(parcels.to_crs(4326)).add_to(m)
    folium.GeoJson(firms.drop(columns=[c for c in ("start_year",) if c in firms]).to_crs(4326)).add_to(m)
    m.save(str(path))
    build = time.perf_counter() - t
    # same page made drawable offline: CDN tags replaced by the vendored files
    page = Path(path).read_text(encoding="utf-8")
    def inline(match):
        rel = maps.vendored_file(match.group(2))
        if rel is None:
            return ""
        tag = "style" if rel.endswith(".css") else "script"
        return f"<{tag}>{maps.assets._asset_text(rel)}</{tag}>"

    page = re.sub(r'<script src="([^"]*/)?([^"/]+)"></script>', inline, page)
    page = re.sub(r'<link rel="stylesheet" href="([^"]*/)?([^"/]+)"/>', inline, page)
    Path(path).write_text(page, encoding="utf-8")
    return build * factor, Path(path).stat().st_size * factor, factor > 1


def drawn_time(b, path, ready, timeout_ms=120_000):
    import browser as gisbrowser

    with gisbrowser.open_map(b, path, ready=ready, timeout_ms=timeout_ms) as (page, log):
        if log.errors or log.blocked:
            print(f"  browser: errors {log.errors[:3]} blocked {log.blocked[:3]}", file=sys.stderr)
        return log.load_s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 100.0])
    ap.add_argument("--source", choices=["demo", "synthetic"], default="demo")
    ap.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "gis_bench_maps"))
    ap.add_argument("--baseline-max-features", type=int, default=250_000)
    ap.add_argument("--baseline-max-mb", type=float, default=300.0)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)

    import browser as gisbrowser

    use_browser = not args.no_browser and gisbrowser.unavailable_reason() is None
    rows = []
    with tempfile.TemporaryDirectory(prefix="gis-bench-maps-") as tmp, \
            (gisbrowser.browser() if use_browser else _null()) as b:
        for scale in args.scales:
            print(f"scale x{scale:g}: loading {args.source} data", file=sys.stderr)
            parcels, firms, outl = (demo_data(scale, args.data_dir) if args.source == "demo"
                                    else synthetic_data(scale))
            ours = Path(tmp) / f"ours_{scale:g}.html"
            base = Path(tmp) / f"baseline_{scale:g}.html"
            t_ours = build_ours(parcels, firms, outl, ours)
            s_ours = ours.stat().st_size
            d_ours = drawn_time(b, ours, "window.gis && window.gis.isReady()") if use_browser else float("nan")
            t_base, s_base, extrap = build_baseline(parcels, firms, base, args.baseline_max_features)
            d_base = float("nan")
            if use_browser and not extrap and s_base < args.baseline_max_mb * 2**20:
                d_base = drawn_time(b, base, "document.querySelectorAll('.leaflet-interactive').length > 0")
            rows.append({"scale": scale, "parcels": len(parcels), "firms": len(firms),
                         "ours_MB": s_ours / 2**20, "ours_build_s": t_ours, "ours_drawn_s": d_ours,
                         "base_MB": s_base / 2**20, "base_build_s": t_base, "base_drawn_s": d_base,
                         "base_extrapolated": extrap})
            r = rows[-1]
            print(f"  x{scale:g}: ours {r['ours_MB']:.1f} MB, build {t_ours:.1f} s, drawn {d_ours:.2f} s | "
                  f"baseline {'~' if extrap else ''}{r['base_MB']:.1f} MB, build {'~' if extrap else ''}"
                  f"{t_base:.1f} s, drawn {d_base:.2f} s", file=sys.stderr)
    df = pd.DataFrame(rows)
    df["size_ratio"] = df["base_MB"] / df["ours_MB"]
    df["drawn_ratio"] = df["base_drawn_s"] / df["ours_drawn_s"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.round(2).to_string(index=False))
    big = df[df["scale"] >= 100]
    for _, r in big.iterrows():
        ok_size = r["ours_MB"] < 25
        ok_time = not (r["ours_drawn_s"] >= 5)
        print(f"target x{r['scale']:g}: HTML {r['ours_MB']:.1f} MB < 25 MB: {'OK' if ok_size else 'MISSED'}; "
              f"drawn {r['ours_drawn_s']:.2f} s < 5 s: {'OK' if ok_time else 'MISSED'}")
    return df


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()

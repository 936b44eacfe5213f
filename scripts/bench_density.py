"""Benchmark: density grid, Gi* and DBSCAN on 1 000 000 enterprise points.

Usage::

    python scripts/bench_density.py [--n 1000000] [--cell 50] [--radius 1000]
                                    [--kde-sample 2000] [--skip-dbscan]

Synthetic points: 70 % in Gaussian blobs around the 14 township centres
(domain.md §1), 30 % uniform, all inside the Yiwu outline from
``gis.layers`` when it is available, else inside a 45 x 55 km box around
(120.05 E, 29.30 N) in EPSG:4549.  Each stage runs in its own subprocess so
that its peak memory (ru_maxrss) is its own; "base" is the subprocess that
only imports and builds the points, so ``peak - base`` is what the stage
itself needs.  The baseline is scipy.stats.gaussian_kde on a subsample,
evaluated on the same grid, extrapolated linearly to all points (its cost
is points x cells).  Target for the density grid: < 10 s and < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

TOWNSHIPS = {  # approximate centres, lon/lat WGS84 (domain.md §1)
    "稠城": (120.075, 29.307), "北苑": (120.05, 29.33), "稠江": (120.03, 29.28),
    "江东": (120.10, 29.29), "福田": (120.10, 29.33), "后宅": (120.06, 29.37),
    "城西": (119.98, 29.30), "廿三里": (120.17, 29.33), "苏溪": (120.13, 29.42),
    "大陈": (120.07, 29.48), "上溪": (119.94, 29.34), "义亭": (119.93, 29.27),
    "佛堂": (120.03, 29.20), "赤岸": (120.10, 29.17),
}
SEED = 20261121
_AREA = {}
_STAGE = {}


def _outline():
    """The county outline in EPSG:4549 (shapely geometry), or None."""
    try:
        from gis import layers
    except ImportError:
        return None
    try:
        out = layers.load("yiwu")
    except Exception as exc:  # the layer module may still be incomplete: say so, use the box
        print(f"  (gis.layers.load('yiwu') failed: {exc!r}; using a box)", file=sys.stderr)
        return None
    return out.to_crs("EPSG:4549").union_all()


def synthetic_points(n, seed=SEED):
    """``n`` points (GeoDataFrame, EPSG:4549) with chain, tax, revenue columns."""
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    outline = _outline()
    if outline is None:
        cx, cy = tr.transform(120.05, 29.30)
        box = (cx - 22_500, cy - 27_500, cx + 22_500, cy + 27_500)
        where = "box 45 x 55 km"
    else:
        box = outline.bounds
        shapely.prepare(outline)
        _AREA["outline"] = outline
        where = "Yiwu outline (gis.layers)"
    lon, lat = np.array(list(TOWNSHIPS.values())).T
    tx, ty = tr.transform(lon, lat)
    share = rng.dirichlet(np.full(len(tx), 2.0))
    xs, ys, have = [], [], 0
    while have < n:
        m = int((n - have) * 1.3) + 1000
        k = rng.random(m) < 0.7
        town = rng.choice(len(tx), m, p=share)
        sig = rng.uniform(600, 2500, len(tx))[town]
        x = np.where(k, tx[town] + rng.normal(0, 1, m) * sig, rng.uniform(box[0], box[2], m))
        y = np.where(k, ty[town] + rng.normal(0, 1, m) * sig, rng.uniform(box[1], box[3], m))
        ok = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
        if outline is not None:
            ok &= shapely.contains_xy(outline, x, y)
        xs.append(x[ok])
        ys.append(y[ok])
        have += int(ok.sum())
    x = np.concatenate(xs)[:n]
    y = np.concatenate(ys)[:n]
    chains = np.array(["光电显示", "纺织服装", "时尚日用品", "化妆品", "新能源汽车及零部件", "其他"])
    pts = gpd.GeoDataFrame(
        {
            "chain": chains[rng.integers(0, len(chains), n)],
            "tax": rng.lognormal(2, 1, n),
            "revenue": rng.lognormal(5, 1, n),
        },
        geometry=gpd.points_from_xy(x, y),
        crs="EPSG:4549",
    )
    return pts, box, where


def _maxrss_mb():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if sys.platform != "darwin" else r / 1024 / 1024


def _status_mb(key):
    """VmRSS / VmHWM of this process in MB (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak():
    """Reset the peak-RSS counter (VmHWM) so the next peak is the stage's own."""
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as fh:
            fh.write("5")
    except OSError:
        return None
    return _status_mb("VmRSS")


def _timed(fn):
    """Run ``fn``; return its result, wall-clock seconds and CPU seconds.

    CPU time is shown as well because the wall clock is inflated on a
    machine shared with other jobs.  (tracemalloc is not used: it slows
    pandas/shapely code several-fold; memory is the process's peak RSS.)
    """
    _STAGE["rss_before"] = _reset_peak()
    t = time.perf_counter()
    c = time.process_time()
    out = fn()
    dt, dc = time.perf_counter() - t, time.process_time() - c
    _STAGE["hwm"] = _status_mb("VmHWM")
    return out, dt, dc


def run_stage(stage, a):
    """Run one stage in this process; return a dict of measurements."""
    import geopandas as gpd

    from gis import clusters, density
    from gis.config import load_settings

    pts, box, where = synthetic_points(a.n)
    res = {"stage": stage, "points_in": where}
    r = a.radius
    grid_box = (box[0] - r, box[1] - r, box[2] + r, box[3] + r)  # the default: extent padded by the radius
    if stage == "base":
        pass
    elif stage == "density":
        g, dt, cpu = _timed(lambda: density.density_grid(pts, cell=a.cell, radius=a.radius, bounds=grid_box))
        res.update(time_s=dt, cpu_s=cpu, shape=list(g.shape),
                   edge_loss=g.metadata["edge_loss"], total=g.metadata["total"])
    elif stage == "density_chains":
        d, dt, cpu = _timed(lambda: density.density_by_chain(pts, cell=a.cell, radius=a.radius, bounds=grid_box))
        res.update(time_s=dt, cpu_s=cpu, chains=len(d))
    elif stage == "kde":
        from scipy.stats import gaussian_kde

        from gis.density import grid_spec

        t, rows, cols = grid_spec(grid_box, a.cell)
        xc = t.c + (np.arange(cols) + 0.5) * a.cell
        yc = t.f - (np.arange(rows) + 0.5) * a.cell
        gx, gy = np.meshgrid(xc, yc)
        sub = pts.sample(a.kde_sample, random_state=0)
        kde = gaussian_kde(np.vstack([sub.geometry.x, sub.geometry.y]))
        _, dt, cpu = _timed(lambda: kde.evaluate(np.vstack([gx.ravel(), gy.ravel()])))
        res.update(time_s=dt, cpu_s=cpu, sample=a.kde_sample, cells=rows * cols,
                   extrapolated_s=dt * a.n / a.kde_sample)
    elif stage == "gi_250":
        area = gpd.GeoDataFrame(geometry=[_AREA.get("outline", _box_geom(box))], crs="EPSG:4549")
        hs, dt, cpu = _timed(lambda: clusters.hot_spots(pts, cell=250, area=area))
        res.update(time_s=dt, cpu_s=cpu, cells=len(hs), hot99=int((hs["gi_bin"] == 3).sum()))
    elif stage == "gi_50_array":
        def go():
            grid, _ = clusters.count_array(pts, cell=a.cell, bounds=box)  # counts per 50 m cell
            return clusters.gi_star_array(grid)
        r, dt, cpu = _timed(go)
        res.update(time_s=dt, cpu_s=cpu, cells=int(r["z"].size), hot99=int((r["bin"] == 3).sum()))
    elif stage == "dbscan":
        cl, dt, cpu = _timed(lambda: clusters.dbscan_clusters(pts, min_samples=a.min_samples))
        cfg = load_settings()["density"]["dbscan"]
        res["snap_m"] = cfg["snap_fraction"] * cfg["eps_m"] if a.n > cfg["snap_above_n"] else None
        res.update(time_s=dt, cpu_s=cpu, clusters=len(cl),
                   in_clusters=int(cl["n_firms"].sum()) if len(cl) else 0)
    else:
        raise SystemExit(f"unknown stage {stage}")
    res["maxrss_mb"] = _maxrss_mb()
    if _STAGE.get("hwm") is not None and _STAGE.get("rss_before") is not None:
        res["stage_peak_mb"] = _STAGE["hwm"]
        res["stage_extra_mb"] = _STAGE["hwm"] - _STAGE["rss_before"]
    return res


def _box_geom(b):
    from shapely.geometry import box

    return box(*b)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--cell", type=float, default=50.0)
    p.add_argument("--radius", type=float, default=1000.0)
    p.add_argument("--kde-sample", type=int, default=2000)
    p.add_argument("--min-samples", type=int, default=None,
                   help="DBSCAN min_samples (default: density.dbscan.min_samples x n / 20 000, "
                        "i.e. the same density threshold as 10 firms per 200 m at 20 000 firms)")
    p.add_argument("--skip-dbscan", action="store_true")
    p.add_argument("--skip-kde", action="store_true")
    p.add_argument("--stage", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.min_samples is None:
        from gis.config import load_settings

        a.min_samples = max(int(load_settings()["density"]["dbscan"]["min_samples"] * a.n / 20_000), 10)
    if a.stage:
        print(json.dumps(run_stage(a.stage, a), ensure_ascii=False))
        return 0
    stages = ["base", "density", "density_chains", "gi_250", "gi_50_array"]
    if not a.skip_kde:
        stages.append("kde")
    if not a.skip_dbscan:
        stages.append("dbscan")
    args = ["--n", str(a.n), "--cell", str(a.cell), "--radius", str(a.radius), "--kde-sample", str(a.kde_sample),
            "--min-samples", str(a.min_samples)]
    results = {}
    for st in stages:
        out = subprocess.run([sys.executable, __file__, "--stage", st, *args], capture_output=True,
                             text=True, encoding="utf-8")
        if out.returncode != 0:
            print(f"stage {st} failed:\n{out.stderr}", file=sys.stderr)
            return 1
        results[st] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["base"]["maxrss_mb"]
    print(f"points: {a.n:,} ({results['base']['points_in']}), cell {a.cell:g} m, radius {a.radius:g} m")
    print(f"base process (imports + building the points): peak RSS {base:,.0f} MB")
    print("time = wall clock (inflated when the machine is shared), CPU = process CPU time;")
    print("stage peak = process RSS peak during the stage (points included), extra = peak - RSS before it")
    print(f"{'stage':<34}{'time s':>9}{'CPU s':>9}{'stage peak MB':>15}{'extra MB':>10}  notes")
    labels = {
        "density": "density_grid (quartic)",
        "density_chains": "density_by_chain (6 chains)",
        "gi_250": "hot_spots Gi* 250 m cells",
        "gi_50_array": f"Gi* array {a.cell:g} m cells",
        "kde": f"gaussian_kde {a.kde_sample} pts, same grid",
        "dbscan": f"dbscan_clusters min_samples={a.min_samples}",
    }
    for st in stages[1:]:
        r = results[st]
        notes = {
            "density": lambda: f"grid {r.get('shape')}, edge_loss {r.get('edge_loss', 0):.1f} of {r.get('total', 0):,.0f}",
            "density_chains": lambda: f"{r.get('chains')} grids",
            "gi_250": lambda: f"{r.get('cells'):,} cells, {r.get('hot99')} hot 99%",
            "gi_50_array": lambda: f"{r.get('cells'):,} cells, {r.get('hot99')} hot 99%",
            "kde": lambda: f"{r.get('cells'):,} cells; x{a.n / a.kde_sample:g} -> {r.get('extrapolated_s', 0):,.0f} s",
            "dbscan": lambda: f"{r.get('clusters')} clusters, {r.get('in_clusters'):,} firms in them, "
                              f"{'snapped to ' + format(r['snap_m'], 'g') + ' m cells' if r.get('snap_m') else 'exact'}",
        }
        note = notes[st]()
        peak = r.get("stage_peak_mb", r["maxrss_mb"])
        extra = r.get("stage_extra_mb", r["maxrss_mb"] - base)
        print(f"{labels[st]:<34}{r['time_s']:>9.2f}{r['cpu_s']:>9.2f}{peak:>15.0f}{extra:>10.0f}  {note}")
    if "kde" in results:
        k, d = results["kde"], results["density"]
        ratio = k["extrapolated_s"] / d["time_s"]
        ratio_cpu = k["cpu_s"] * a.n / a.kde_sample / d["cpu_s"]
        print(f"gaussian_kde extrapolated to {a.n:,} points / density_grid: {ratio:,.0f} x slower "
              f"(wall clock), {ratio_cpu:,.0f} x (CPU time)")
    d = results["density"]
    dpeak = d.get("stage_peak_mb", d["maxrss_mb"])
    ok = d["time_s"] < 10 and dpeak < 2048
    print(f"target density_grid < 10 s and < 2 GB: {'met' if ok else 'NOT met'} "
          f"({d['time_s']:.2f} s wall, {d['cpu_s']:.2f} s CPU, {dpeak:,.0f} MB process peak incl. points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

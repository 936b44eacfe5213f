"""Scale benchmark: the in-memory path against the one dask path (1 and 2 workers).

Province-like data, cheaply: the demo county (``gis.demo``, ``--base-scale``)
is generated once, then tiled as N synthetic counties side by side (shifted
geometry, county code ``ZLDWDM[:6]`` and ids made unique).  Parcels are
written county by county as GeoParquet partitioned by township, so no
process ever has to hold more than one county to *write* them; the firms
likewise, one GeoParquet file per county (``firms/``), so the dask client
never holds them.

For each size the same work is timed in a fresh subprocess:

* ``memory``: read every partition into one GeoDataFrame, then
  ``pipeline.evaluate_firms`` → ``parcel_facts`` → ``renewal_outputs`` →
  ``density.density_by_chain``;
* ``dask-1``, ``dask-2``: ``scale.run_partitions`` on a LocalCluster of 1
  or 2 process workers with ``--worker-memory`` each: the workers write the
  per-partition results as GeoParquet (density as GeoTIFF) and only global
  summaries reach the client.

Peak memory is the largest sum of RSS over the subprocess and all its
children (workers included), sampled every 0.1 s with psutil; for dask the
largest single worker is shown too.  A run "fits" when its largest single
process (client or worker) stays within ``--budget-mb``.  Results are compared on the overlap (Σ scores, classes,
candidates, blocks, density mass).

    .venv/bin/python scripts/bench_scale.py                 # default sizes
    .venv/bin/python scripts/bench_scale.py --counties 1 2 --base-scale 0.2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve()


# ------------------------------------------------------------------ data
def make_province(out, counties, base_scale, by="county"):
    """Tile the demo county ``counties`` times; returns the data folder.

    Parcels are written one GeoParquet file per county or township (``by``).
    """
    import shapely

    from gis import demo, pipeline, scale

    folder = Path(out) / f"n{counties}_s{base_scale}_{by}"
    if (folder / "meta.json").exists():
        return folder
    base = demo.demo_inputs(Path(out) / f"base_s{base_scale}", scale=base_scale)
    layers = pipeline.planning_layers()
    firms, _ = pipeline.load_firms(base["enterprises"], base["coords"], layers["boundary"])
    parcels, _ = pipeline.load_land(base["landuse"])
    minx, miny, maxx, maxy = parcels.total_bounds
    w, h = maxx - minx + 2000.0, maxy - miny + 2000.0
    cols = int(np.ceil(np.sqrt(counties)))
    pdir = folder / "parcels"
    pdir.mkdir(parents=True, exist_ok=True)
    fdir = folder / "firms"
    fdir.mkdir(parents=True, exist_ok=True)
    nfirms, offset, fileno = 0, 0, 0
    for k in range(counties):
        dx, dy = (k % cols) * w, (k // cols) * h
        code = f"33{k + 1:04d}"
        p = parcels.copy()
        p["geometry"] = shapely.transform(p.geometry.values, lambda xy: xy + (dx, dy))
        p["ZLDWDM"] = code + p["ZLDWDM"].astype(str).str.slice(6)
        p["BSM"] = f"C{k:03d}" + p["BSM"].astype(str)
        p[scale.ORD] = offset + np.arange(len(p), dtype=np.int64)
        p[scale.PART] = scale.partition_keys(p, by).to_numpy()
        p.index = p[scale.ORD].to_numpy()
        for key, part in p.groupby(scale.PART, sort=True):
            part.to_parquet(pdir / f"part.{fileno:05d}.{key}.parquet", index=True)
            fileno += 1
        offset += len(p)
        f = firms.copy()
        f["geometry"] = shapely.transform(f.geometry.values, lambda xy: xy + (dx, dy))
        f["uscc"] = f"{k:03d}" + f["uscc"].astype(str)
        f.index = [f"{k:03d}-{i}" for i in range(len(f))]
        f.attrs = {}
        f.to_parquet(fdir / f"part.{k:05d}.parquet", index=True)
        nfirms += len(f)
    meta = {"counties": counties, "parcels": offset, "firms": nfirms, "files": fileno}
    with open(folder / "meta.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh)
    return folder


def _settings():
    from gis.config import load_settings

    s = load_settings()
    kde = dict(s["density"]["kde"], cell_m=100, extent="points")
    s["density"] = dict(s["density"], kde=kde)
    return s


def _digest(ev, ren, grids):
    cands = ren["renewal_parcels"]
    return {
        "score_sum": round(float(ev["score"].sum()), 6),
        "classes": {k: int(v) for k, v in ev["class"].value_counts().sort_index().items()},
        "candidates": int((cands["status"] == "候选").sum()),
        "blocks": int(len(ren["renewal_blocks"])),
        "block_mu": round(float(ren["renewal_blocks"]["area_mu"].sum()), 4),
        # points inside the grid: Σ density (per km²) × cell area, to the nearest
        # point (float32 cells summed in another order differ in the 7th digit)
        "density_mass": round(float(np.nansum(grids["全部"].array, dtype=np.float64))
                              * grids["全部"].cell_area_km2),
    }


def one_memory(folder):
    import geopandas as gpd

    from gis import density, pipeline, scale

    s = _settings()
    t = time.perf_counter()
    firms = pd.concat([gpd.read_parquet(f) for f in sorted((folder / "firms").glob("part.*.parquet"))])
    files = sorted((folder / "parcels").glob("part.*.parquet"))
    parcels = pd.concat([gpd.read_parquet(f) for f in files])
    # the original row order (ties, e.g. equally near parcels, are broken by it)
    parcels = parcels.sort_values(scale.ORD).drop(columns=[scale.ORD, scale.PART])
    ev = pipeline.evaluate_firms(firms, parcels, {}, settings=s, year=2025)
    facts = pipeline.parcel_facts(ev, parcels, 2025)
    ren = pipeline.renewal_outputs(facts, None, 2025, None, {}, s)
    grids = density.density_by_chain(ev, include_all=True, settings=s)
    return time.perf_counter() - t, _digest(ev, ren, grids)


def one_dask(folder, workers, memory_limit, keep=False):
    """``scale.run_partitions`` on ``workers`` process workers: seconds, digest, stage times."""
    import shutil

    from gis import scale

    out = folder / f"dask_out_{workers}"
    shutil.rmtree(out, ignore_errors=True)
    s = _settings()
    with scale.dask_client(workers=workers, processes=True, memory_limit=memory_limit,
                           settings=s) as client:
        t = time.perf_counter()
        pddf = scale.read_partitioned(folder / "parcels")
        timings = {}
        # the firms' folder: the workers read the parts, the client never holds the table
        res = scale.run_partitions(client, folder / "firms", pddf, {}, s, 2025, out,
                                   timings=timings)
        secs = time.perf_counter() - t
    eff, ren, grids = res["efficiency"], res["renewal"], res["density"]["written"]
    c = ren["counts"]
    dig = {
        "score_sum": round(eff["score_sum"], 6),
        "classes": eff["classes"],
        "candidates": c["candidates"],
        "blocks": c["blocks"],
        "block_mu": round(c["block_mu"], 4),
        "density_mass": round(grids["全部"]["mass"]),
    }
    if not keep:  # --keep-out: for scripts/bench_postgis.py --partitions
        shutil.rmtree(out, ignore_errors=True)
    return secs, dig, timings


# ------------------------------------------------------------ measuring
def _tree_rss(proc):
    import psutil

    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0, 0, 0
    total, main, biggest = 0, 0, 0
    for p in procs:
        try:
            r = p.memory_info().rss
        except psutil.Error:
            continue
        total += r
        if p.pid == proc.pid:
            main = r
        else:  # nannies and workers of the LocalCluster
            biggest = max(biggest, r)
    return total, main, biggest


def measure(args_list, timeout):
    """Run this script with ``args_list`` in a subprocess; time, peaks and its JSON line."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(HERE)] + args_list, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    ps = psutil.Process(proc.pid)
    peak = [0, 0, 0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            now = _tree_rss(ps)
            for i in range(3):
                peak[i] = max(peak[i], now[i])
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        out, err = "", f"timeout: not finished in {timeout:.0f} s"
    done.set()
    th.join()
    wall = time.perf_counter() - t0
    line = [ln for ln in out.splitlines() if ln.startswith("{")]
    res = json.loads(line[-1]) if line else {"error": (err or "timeout").strip().splitlines()[-1:]}
    res.update(wall=wall, peak_mb=peak[0] / 2**20, main_peak_mb=peak[1] / 2**20,
               worker_peak_mb=peak[2] / 2**20)
    # what must fit on one machine: the biggest single process
    res["process_peak_mb"] = max(res["main_peak_mb"], res["worker_peak_mb"])
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counties", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--base-scale", type=float, default=0.5,
                    help="demo scale of one county (1 ≈ 12 000 parcels, 4 400 firms)")
    ap.add_argument("--budget-mb", type=float, default=1024,
                    help="memory budget of the in-memory path (peak RSS)")
    ap.add_argument("--worker-memory", default="1GiB", help="dask memory limit per worker")
    ap.add_argument("--partition-by", default="county", choices=["county", "township"],
                    help="one partition per county (default) or per township")
    ap.add_argument("--out", default="/tmp/gis_bench_scale")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per run")
    ap.add_argument("--skip-memory-above", type=int, default=None,
                    help="do not run the in-memory path above this many counties")
    ap.add_argument("--modes", nargs="+", default=["memory", "dask-1", "dask-2"],
                    help="paths to run (memory, dask-1, dask-2)")
    ap.add_argument("--keep-out", action="store_true",
                    help="keep the dask runs' written partitions (DATA/dask_out_<workers>)")
    a = ap.parse_args(argv)
    rows = []
    for n in a.counties:
        t = time.perf_counter()
        folder = make_province(a.out, n, a.base_scale, a.partition_by)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        print(f"# {n} counties: {meta['parcels']} parcels, {meta['firms']} firms, "
              f"{meta['files']} {a.partition_by} partitions (data {time.perf_counter() - t:.1f} s)",
              flush=True)
        modes = [("memory", ["_one", "memory", str(folder)])]
        if a.skip_memory_above is not None and n > a.skip_memory_above:
            modes = []
        modes += [(f"dask-{w}", ["_one", "dask", str(folder), str(w), a.worker_memory,
                                      "keep" if a.keep_out else ""])
                  for w in (1, 2)]
        modes = [m for m in modes if m[0] in a.modes]
        for name, args_list in modes:
            r = measure(args_list, a.timeout)
            r.update(mode=name, counties=n, parcels=meta["parcels"], firms=meta["firms"])
            rows.append(r)
            ok = "error" not in r
            fits = ok and r["process_peak_mb"] <= a.budget_mb
            r["fits"] = fits
            print(f"{name:7s} {n:3d} counties  {r.get('seconds', float('nan')):7.1f} s  "
                  f"tree {r['peak_mb']:6.0f} MB  main {r['main_peak_mb']:6.0f} MB  "
                  f"worker {r['worker_peak_mb']:6.0f} MB  "
                  f"{'fits' if fits else 'OVER' if ok else 'FAILED'}"
                  f"  {r.get('digest', r.get('error'))}", flush=True)
            if r.get("stages"):
                print("        stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                   r["stages"].items()), flush=True)
    df = pd.DataFrame(rows)
    for col in ("seconds", "digest"):
        if col not in df:
            df[col] = None
    df["seconds"] = pd.to_numeric(df["seconds"])
    print("\n## summary: seconds, and peak MB of the largest single process "
          "(in-memory: the process; dask: client or worker)")
    tab = df.pivot_table(index=["counties", "parcels", "firms"], columns="mode",
                         values=["seconds", "process_peak_mb"], aggfunc="first")
    print(tab.round(1).to_string())
    print("\n## client (main process) and largest worker peak MB")
    tab = df.pivot_table(index=["counties", "parcels"], columns="mode",
                         values=["main_peak_mb", "worker_peak_mb"], aggfunc="first")
    print(tab.round(0).to_string())

    def biggest(prefix):
        ok = df[df["mode"].str.startswith(prefix) & df["fits"]]
        return int(ok["parcels"].max()) if len(ok) else 0

    biggest_fit, d_fit = biggest("memory"), biggest("dask")
    print(f"\nbudget {a.budget_mb:.0f} MB per process (worker limit {a.worker_memory}): "
          f"largest completed within budget: in-memory {biggest_fit} parcels; "
          f"dask {d_fit} parcels")
    if biggest_fit:
        print(f"ratio dask / in-memory: {d_fit / biggest_fit:.1f}× (target ≥ 10×)")
    for n in a.counties:
        s1 = df[(df["counties"] == n) & (df["mode"] == "dask-1")]["seconds"]
        s2 = df[(df["counties"] == n) & (df["mode"] == "dask-2")]["seconds"]
        if len(s1) and len(s2) and s1.notna().all() and s2.notna().all():
            print(f"{n} counties: dask 1→2 workers speed-up "
                  f"{float(s1.iloc[0]) / float(s2.iloc[0]):.2f}×")
        digests = df[df["counties"] == n].get("digest")
        if digests is not None:
            got = [d for d in digests if isinstance(d, dict)]
            if len(got) >= 2:
                same = len({json.dumps(d, sort_keys=True) for d in got}) == 1
                print(f"{n} counties: results equal across the {len(got)} completed runs: {same}")
    return 0


def _child(argv):
    mode, folder = argv[0], Path(argv[1])
    if mode == "memory":
        secs, dig = one_memory(folder)
        print(json.dumps({"seconds": secs, "digest": dig}, ensure_ascii=False), flush=True)
        return 0
    secs, dig, stages = one_dask(folder, int(argv[2]), argv[3], keep=argv[4:5] == ["keep"])
    print(json.dumps({"seconds": secs, "digest": dig, "stages": stages}, ensure_ascii=False),
          flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_one":
        sys.exit(_child(sys.argv[2:]))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())

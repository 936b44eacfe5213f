"""Benchmark the renewal pipeline (rule_results + candidates + renewal_blocks).

Builds a deterministic synthetic 三调 layer at 1× (~20 000 parcels, ~2 400
industrial) and 100× (~2 000 000 parcels, ~240 000 industrial) with a plan
layer whose zone boundaries do not follow the parcels, times the pipeline
and prints time, peak memory (RSS of a fresh process per run) and the ratio
against a plain baseline in the same run.  The baseline is the obvious
geopandas way: ``geopandas.overlay`` of parcels and plan for the against-plan
areas, one ``DataFrame.apply`` per parcel for the rules, and
buffer + ``unary_union`` + ``sjoin`` for the blocks.  The baseline runs at 1×
(and at 10× with ``--baseline-scale 10``); at 100× it would take minutes.

    .venv/bin/python scripts/bench_renewal.py             # 1× and 100×
    .venv/bin/python scripts/bench_renewal.py --scales 1 10
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import shapely

CELL = 80.0            # parcel grid step (m)
ZONE = 10              # plan zone = 10 × 10 cells
X0, Y0 = 460_000.0, 3_220_000.0
CHAINS = ["纺织服装", "时尚日用品", "印刷包装", "化妆品", "光电显示", "新能源汽车及零部件", "其他"]


def synthetic(scale=1.0, seed=7):
    """Synthetic parcels and plan: ~20 000 × scale parcels, ~12% industrial."""
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(20_000 * scale)))
    n = side * side
    col, row = np.divmod(np.arange(n), side)
    zx, zy = col // ZONE, row // ZONE
    nz = -(-side // ZONE)
    zone_ind = np.random.default_rng(seed + 1).random((nz, nz)) < 0.13
    ind = zone_ind[zx, zy] & (rng.random(n) < 0.93) | (rng.random(n) < 0.003)
    dlbm = np.where(ind, np.where(rng.random(n) < 0.9, "0601", "0508"),
                    rng.choice(["0101", "0702", "0301", "0503", "1004", "0201"], n,
                               p=[0.35, 0.25, 0.2, 0.08, 0.07, 0.05]))
    w = CELL * (0.9 + 0.1 * rng.random(n))        # some parcels leave gaps (< 8 m)
    x, y = X0 + col * CELL, Y0 + row * CELL
    geom = shapely.box(x, y, x + w, y + CELL)
    area_mu = shapely.area(geom) / (10000 / 15)
    firms = np.where(ind, rng.choice([0, 1, 1, 1, 2, 3], n), 0)
    tax = np.where(firms > 0, rng.lognormal(np.log(4.0), 1.0, n) * area_mu, np.nan)
    tax = np.where((firms > 0) & (rng.random(n) < 0.04), 0.0, tax)
    floor = np.where(firms > 0, rng.lognormal(np.log(1.4), 0.5, n) * area_mu * (10000 / 15), 0.0)
    chain = np.where(firms > 0, rng.choice(CHAINS, n), None)
    grade = np.where(firms > 0, rng.choice(list("ABCD"), n, p=[0.25, 0.45, 0.25, 0.05]), None)
    gprev = np.where(firms > 0, rng.choice(list("ABCD"), n, p=[0.25, 0.45, 0.25, 0.05]), None)
    codes = np.where(firms > 0, rng.choice(["C1811", "C2927", "C3360", "C3974", "C2231"], n,
                                           p=[0.4, 0.3, 0.02, 0.14, 0.14]), None)
    parcels = gpd.GeoDataFrame({
        "parcel_id": np.char.add("T", np.arange(n).astype(str)), "DLBM": dlbm,
        "area_mu": area_mu, "firms": firms, "tax": tax, "value_added": tax * 3,
        "floor_area": floor, "chain": chain, "any_above_size": rng.random(n) < 0.15 * (firms > 0),
        "youngest_years": np.where(firms > 0, rng.integers(0, 25, n), np.nan),
        "grade": grade, "grade_previous": gprev, "industry_codes": codes,
        "platform": np.where(zx < nz // 3, "义乌经开区", ""),
    }, geometry=geom, crs="EPSG:4549")
    # plan zones, offset by 4 m so their edges cut the parcels (slivers below the
    # 0.5 亩 setting); 4% of the zones disagree with 三调
    zc, zr = np.divmod(np.arange(nz * nz), nz)
    flip = np.random.default_rng(seed + 2).random(nz * nz) < 0.04
    zi = zone_ind[zc, zr] ^ flip
    zx0, zy0 = X0 + zc * ZONE * CELL + 4, Y0 + zr * ZONE * CELL + 4
    zg = shapely.box(zx0 - 4 * (zc == 0), zy0 - 4 * (zr == 0),
                     zx0 + ZONE * CELL, zy0 + ZONE * CELL)
    plan = gpd.GeoDataFrame({"YDYHFLDM": np.where(zi, "100101", "0701")}, geometry=zg,
                            crs="EPSG:4549")
    return parcels, plan


def run_fast(parcels, plan, settings):
    from gis.renewal import candidates, renewal_blocks, rule_results

    rr = rule_results(parcels, settings, plan=plan, year=2024)
    c = candidates(parcels, rr)
    b = renewal_blocks(c, settings=settings)
    return {"in_scope": len(c), "flagged": int((c.status == "候选").sum()), "blocks": len(b),
            "block_mu": round(float(b.area_mu.sum()), 1)}


def run_baseline(parcels, plan, settings):
    """The plain way: overlay, row-wise apply, buffer + union + sjoin."""
    from gis.renewal import chain_benchmarks

    s = settings["renewal"]
    ind = parcels.DLBM.str.startswith(("0601", "0508"))
    built = parcels.DLBM.str.startswith(tuple(s["built_codes_sandiao"]))
    ov = gpd.overlay(parcels[ind | built][["parcel_id", "DLBM", "geometry"]],
                     plan[["YDYHFLDM", "geometry"]], how="intersection", keep_geom_type=True)
    ov["a"] = ov.area / (10000 / 15)
    ov["p_ind"] = ov.DLBM.str.startswith(("0601", "0508"))
    ov["z_ind"] = ov.YDYHFLDM.str.startswith(("1001", "1101"))
    mis = ov[ov.p_ind != ov.z_ind].groupby("parcel_id")["a"].sum()
    P = parcels.copy()
    P["mis"] = P.parcel_id.map(mis).fillna(0.0)
    P = P[ind | (built & (P.mis >= s["sliver_mu"]))]
    bench = chain_benchmarks(P, settings)
    kinds = {k: v["kind"] for k, v in settings["chains"]["chains"].items()}

    def test(r):
        other = not r.DLBM.startswith(("0601", "0508"))
        far = r.floor_area / (r.area_mu * 10000 / 15)
        ch = r.chain if isinstance(r.chain, str) else "全部"
        std = bench.standard_far.get(ch, np.nan)
        thr = max(s["far_min"], s["far_standard_share"] * std) if std == std else s["far_min"]
        avg = bench.tax_avg_previous.get(ch, bench.tax_avg_previous["全部"])
        tax = 0.0 if r.firms == 0 else r.tax
        tpm = tax / r.area_mu
        has_firms = r.firms > 0  # no firm: FAR and tax are unknown, not tested
        idle_code = r.DLBM.startswith(tuple(s["idle_codes_sandiao"]))
        fails = {
            "low_far": has_firms and far < thr, "low_tax": has_firms and tpm < s["tax_share"] * avg,
            "grade_d": r.grade == "D", "grade_c_twice": r.grade == "C" and r.grade_previous in ("C", "D"),
            "idle": idle_code and (r.firms == 0 or tax <= 0), "against_plan": r.mis >= s["sliver_mu"],
            "prohibited": isinstance(r.industry_codes, str) and r.industry_codes.startswith(
                tuple(s["prohibited_codes"])),
        }
        if other:
            fails = {"against_plan": fails["against_plan"], "prohibited": fails["prohibited"]}
        lifted = set()
        if r.any_above_size or kinds.get(ch) == "战略性新兴":
            lifted |= {"low_far", "low_tax", "grade_d", "grade_c_twice"}
        if r.firms > 0 and r.youngest_years < s["young_years"]:
            lifted |= {"low_far", "low_tax", "grade_d", "grade_c_twice", "idle"}
        if ch in s["far_exempt_chains"] and tpm > s["far_exempt_min_tax"]:
            lifted |= {"low_far"}
        flagged = [k for k, v in fails.items() if v and k not in lifted]
        return "；".join(flagged)

    P["reasons"] = P.apply(test, axis=1)
    c = P[P.reasons != ""]
    gap = s["block_gap_m"]
    merged = gpd.GeoDataFrame(geometry=[c.buffer(gap / 2).union_all()], crs=c.crs).explode(
        index_parts=False).reset_index(drop=True)
    merged["block"] = np.arange(len(merged))
    j = gpd.sjoin(c[["parcel_id", "geometry"]], merged, predicate="intersects")
    return {"in_scope": len(P), "flagged": len(c), "blocks": int(j.block.nunique()),
            "block_mu": round(float(c.area_mu.sum()), 1)}


def child(scale, method):
    from gis.config import load_settings

    settings = load_settings()
    t0 = time.perf_counter()
    parcels, plan = synthetic(scale)
    t_gen = time.perf_counter() - t0
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    res = (run_fast if method == "fast" else run_baseline)(parcels, plan, settings)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ind = int(parcels.DLBM.str.startswith(("0601", "0508")).sum())
    print(json.dumps({"scale": scale, "method": method, "parcels": len(parcels),
                      "industrial": ind, "gen_s": t_gen, "seconds": dt, "cpu": cpu,
                      "rss_before_mb": rss0, "peak_mb": peak, **res}))


def measure(scale, method):
    out = subprocess.run([sys.executable, __file__, "--child", str(scale), method],
                         capture_output=True, text=True, encoding="utf-8")
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"benchmark run failed: scale {scale} {method}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 100])
    ap.add_argument("--baseline-scale", type=float, nargs="*", default=[1],
                    help="scales at which the baseline also runs (default 1)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        child(float(a.child[0]), a.child[1])
        return
    print(f"{'scale':>6} {'parcels':>9} {'industrial':>10} {'method':>8} {'seconds':>8} {'cpu s':>7} "
          f"{'peak MB':>8} {'+MB':>7} {'flagged':>8} {'blocks':>7} {'ratio':>7}")
    for scale in a.scales:
        fast = measure(scale, "fast")
        rows = [fast]
        if scale in a.baseline_scale:
            base = measure(scale, "baseline")
            rows.append(base)
            if base["flagged"] != fast["flagged"] or base["in_scope"] != fast["in_scope"]:
                print(f"  note: baseline counts differ: {base} vs {fast}")
        for r in rows:
            ratio = rows[-1]["cpu"] / fast["cpu"] if len(rows) > 1 else float("nan")
            print(f"{r['scale']:>6g} {r['parcels']:>9} {r['industrial']:>10} {r['method']:>8} "
                  f"{r['seconds']:>8.2f} {r['cpu']:>7.2f} {r['peak_mb']:>8.0f} {r['peak_mb'] - r['rss_before_mb']:>7.0f} "
                  f"{r['flagged']:>8} {r['blocks']:>7} "
                  f"{(f'{ratio:.1f}x' if r['method'] == 'fast' and ratio == ratio else ''):>7}")
    print("seconds = wall clock, cpu s = process CPU time (the machine may be shared); "
          "ratio = baseline cpu / fast cpu at the same scale; "
          "+MB = peak RSS minus RSS after building the data")


if __name__ == "__main__":
    main()

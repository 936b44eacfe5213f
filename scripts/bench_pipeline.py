"""Benchmark the whole job a planner runs: ``gis demo --scale N``, every stage.

For each size N the demo data are generated first (timed apart, not counted),
then ``gis demo --data D --scale N --out O --timings T`` runs as a fresh
subprocess: load, attach, 亩均 evaluation, renewal, density, maps, report and
GeoPackage.  For each N it prints the wall time, the CPU time and the peak
memory (RSS) of the whole process, the time of each stage (from the run's
own ``--timings`` file; the maps, drawn in the run's second process while
the report is written, with their own time there, marked †; the job's
``合计`` is the run's wall time, imports of the command aside) and each
stage's growth exponent between successive
sizes, ``log(t2 / t1) / log(N2 / N1)`` (1 = linear); an exponent above
:data:`SUPERLINEAR` is marked SUPERLINEAR.  It ends with a markdown table
ready to paste into the README.

On a machine shared with others the wall times are noisy; ``--basis cpu``
takes the exponents from CPU seconds (user + system) instead.

    .venv/bin/python scripts/bench_pipeline.py                 # N = 1 2 4 10
    .venv/bin/python scripts/bench_pipeline.py --large         # and 40, 100
    .venv/bin/python scripts/bench_pipeline.py --scales 1 10 --basis cpu
    .venv/bin/python scripts/bench_pipeline.py --scales 1 10 --parcels-ratio
    .venv/bin/python scripts/bench_pipeline.py --scales 1 10 --contracts-cost   # with / without

``gis demo`` runs with the demo's 宗地 layer (the 宗地 is the land unit);
``--parcels-ratio`` also runs each size with ``--no-parcels`` (the 三调 图斑
standing in) and adds the column 宗地/图斑: the job's time with the 宗地
layer over its time without (the target is at most 1.2). ``--contracts-cost``
runs each size also with ``--no-contracts`` and prints the job's time with the
标准地 contracts over its time without (the target is at most 1.1).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gis.pipeline import STAGE_NAMES_ZH

#: a stage whose growth exponent exceeds this is marked SUPERLINEAR
SUPERLINEAR = 1.2

#: stage key -> column header: the run's own names
STAGES = STAGE_NAMES_ZH

ROOT = Path(__file__).resolve().parent.parent


def _python():
    """The interpreter of this script (the project's venv when run as documented)."""
    return sys.executable


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def generate(scale, folder):
    """Generate the demo data of size ``scale`` into ``folder``; return the seconds taken."""
    code = ("import sys; from gis.demo import demo_inputs; "
            "demo_inputs(sys.argv[1], scale=float(sys.argv[2]))")
    t = time.perf_counter()
    subprocess.run([_python(), "-c", code, str(folder), str(scale)], check=True, env=_env(),
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def run_job(scale, data, out, timings, parcels=True, contracts=True):
    """Run ``gis demo`` once as a subprocess; return its measurements.

    Returns
    -------
    dict
        ``wall_s``, ``cpu_s`` (user + system of the child), ``peak_rss_mb``
        (of the job's process, as it reports it), ``stages`` (wall seconds per stage), ``stages_cpu``,
        ``firms``, ``parcels``.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [_python(), "-m", "gis", "demo", "--data", str(data), "--scale", str(scale),
           "--out", str(out), "--no-progress", "--timings", str(timings)]
    if not parcels:
        cmd.append("--no-parcels")
    if not contracts:
        cmd.append("--no-contracts")
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode == 2 and "--engine dask" in proc.stderr:  # the memory guard, before loading
        return {"stopped": proc.stderr.strip().splitlines()[-1], "wall_s": wall}
    if proc.returncode:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        raise SystemExit(f"gis demo --scale {scale} failed (exit {proc.returncode})")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    doc = json.loads(Path(timings).read_text(encoding="utf-8"))
    # a stage drawn in the run's second process (the maps): its own time there
    # (the time the run still waited for it is in the job's total)
    background = doc.get("background_wall_s") or {}
    return {"wall_s": wall, "cpu_s": cpu, "job_s": doc["total_wall_s"],
            "peak_rss_mb": doc["peak_rss_mb"],
            "second_rss_mb": doc.get("peak_rss_mb_second_process", 0.0),
            "stages": {**doc["wall_s"], **background}, "background": sorted(background),
            "stages_cpu": doc.get("cpu_s", {}), "firms": doc.get("firms"),
            "parcels": doc.get("parcels")}


def exponent(t1, t2, n1, n2):
    """Growth exponent ``log(t2/t1) / log(n2/n1)``; None when a time is too small to tell.

    >>> round(exponent(1.0, 4.0, 1, 2), 2)
    2.0
    >>> exponent(0.0, 1.0, 1, 2) is None
    True
    """
    if t1 is None or t2 is None or t1 <= 0.005 or t2 <= 0 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def exponents(results, basis="wall"):
    """Per successive pair of sizes: {stage or "total": exponent}."""
    key, total = ("stages", "wall_s") if basis == "wall" else ("stages_cpu", "cpu_s")
    out = []
    for (n1, r1), (n2, r2) in zip(results, results[1:]):
        e = {s: exponent(r1[key].get(s), r2[key].get(s), n1, n2) for s in STAGES}
        e["total"] = exponent(r1[total], r2[total], n1, n2)
        out.append(((n1, n2), e))
    return out


def _fmt_exp(e):
    if e is None:
        return "–"
    return f"{e:.2f}" + (" SUPERLINEAR" if e > SUPERLINEAR else "")


def markdown(results, exps, basis):
    """The README table: one row per size, one column per stage, then the exponents.

    Stage times are wall-clock seconds, or CPU seconds with ``basis="cpu"``.
    """
    key = "stages" if basis == "wall" else "stages_cpu"
    bg = {s for _, r in results for s in r.get("background", [])}
    head = ["N", "企业 firms", "宗地 parcels", "任务 job s", "墙钟 wall s", "CPU s", "峰值内存 MB",
            "第二进程 MB"]
    ratio = any("no_parcels_job_s" in r for _, r in results)
    if ratio:
        head += ["无宗地 job s", "宗地/图斑"]
    head += [f"{STAGES[s]}{'†' if s in bg else ''} s" + ("" if basis == "wall" else " CPU")
             for s in STAGES]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for n, r in results:
        row = [f"{n:g}×", f"{r['firms']:,}", f"{r['parcels']:,}", f"{r.get('job_s', 0):.1f}",
               f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", f"{r['peak_rss_mb']:,.0f}",
               f"{r.get('second_rss_mb', 0):,.0f}"]
        if ratio:
            base = r.get("no_parcels_job_s")
            row += [f"{base:.1f}" if base else "–",
                    f"{r.get('job_s', 0) / base:.2f}" if base else "–"]
        row += [f"{r[key].get(s, 0):.2f}" for s in STAGES]
        lines.append("| " + " | ".join(row) + " |")
    for (n1, n2), e in exps:
        row = [f"exponent {n1:g}→{n2:g} ({basis})", "", "", "", _fmt_exp(e["total"]), "", "", ""]
        row += ["", ""] if ratio else []
        row += [_fmt_exp(e[s]) for s in STAGES]
        lines.append("| " + " | ".join(row) + " |")
    if len(results) > 2:
        (n1, r1), (n2, r2) = results[0], results[-1]
        e = exponents([(n1, r1), (n2, r2)], basis)[0][1]
        row = [f"exponent {n1:g}→{n2:g} ({basis})", "", "", "", _fmt_exp(e["total"]), "", "", ""]
        row += ["", ""] if ratio else []
        row += [_fmt_exp(e[s]) for s in STAGES]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 2, 4, 10])
    ap.add_argument("--large", action="store_true", help="also 40 and 100")
    ap.add_argument("--basis", choices=["wall", "cpu"], default="wall",
                    help="exponents from wall-clock (default) or CPU seconds")
    ap.add_argument("--work", default=None, help="folder for data and outputs (default: a temp dir)")
    ap.add_argument("--json", default=None, help="also write the measurements to this file")
    ap.add_argument("--parcels-ratio", action="store_true",
                    help="also run each size without the 宗地 layer (--no-parcels): column 宗地/图斑")
    ap.add_argument("--contracts-cost", action="store_true",
                    help="run each size also without the 标准地 contracts (--no-contracts) and print "
                         "the ratio with / without (issue 26: at most 1.1)")
    args = ap.parse_args(argv)
    scales = sorted(set(args.scales + ([40, 100] if args.large else [])))
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_pipeline_"))
    results, stopped = [], []
    for n in scales:
        data = work / f"data_{n:g}"
        gen = generate(n, data)
        r = run_job(n, data, work / f"out_{n:g}", work / f"timings_{n:g}.json")
        if "stopped" in r:
            print(f"N={n:g}: stopped after {r['wall_s']:.1f} s, before loading: {r['stopped']}", flush=True)
            stopped.append((n, r))
            continue
        if args.parcels_ratio:
            r0 = run_job(n, data, work / f"out_{n:g}_tuban", work / f"timings_{n:g}_tuban.json",
                         parcels=False)
            if "job_s" in r0:
                r["no_parcels_job_s"] = r0["job_s"]
                print(f"N={n:g}: job {r['job_s']:.1f} s with the 宗地 layer, {r0['job_s']:.1f} s "
                      f"without: ratio {r['job_s'] / r0['job_s']:.2f} (CPU {r['cpu_s']:.1f} s / "
                      f"{r0['cpu_s']:.1f} s: {r['cpu_s'] / r0['cpu_s']:.2f})", flush=True)
        results.append((n, r))
        if args.contracts_cost:
            w = run_job(n, data, work / f"out_{n:g}_nc", work / f"timings_{n:g}_nc.json", contracts=False)
            print(f"N={n:g}: with / without 标准地 contracts: job {r['job_s']:.1f} / {w['job_s']:.1f} s "
                  f"= {r['job_s'] / w['job_s']:.3f}, CPU {r['cpu_s']:.1f} / {w['cpu_s']:.1f} s "
                  f"= {r['cpu_s'] / w['cpu_s']:.3f}", flush=True)
        stages = " · ".join(f"{STAGES[s]} {r['stages'].get(s, 0):.2f}" for s in STAGES)
        print(f"N={n:g}: {r['firms']:,} firms, {r['parcels']:,} parcels; data generated in {gen:.1f} s "
              f"(not counted)\n  job: {r['job_s']:.1f} s (its 合计); process {r['wall_s']:.1f} s "
              f"wall, {r['cpu_s']:.1f} s CPU, peak RSS {r['peak_rss_mb']:,.0f} MB "
              f"(second process {r['second_rss_mb']:,.0f} MB)\n  stages (s): {stages}"
              + (f" († {', '.join(STAGES[b] for b in r['background'])}: drawn in the second "
                 "process, its own time)" if r["background"] else ""), flush=True)
    exps = exponents(results, args.basis)
    for (n1, n2), e in exps:
        print(f"exponents {n1:g}→{n2:g} ({args.basis}): "
              + ", ".join(f"{STAGES[s]} {_fmt_exp(e[s])}" for s in STAGES)
              + f", total {_fmt_exp(e['total'])}")
    table = markdown(results, exps, args.basis)
    for n, r in stopped:
        table += f"\n\n{n:g}×: the command stops in {r['wall_s']:.1f} s, before loading: {r['stopped']}"
    print("\n" + table)
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results}, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Compare the figures of two ``gis demo`` output folders (e.g. before and after a speed change).

Checks what a planner reads, from the written files only:

* firms (workbook 企业评价): the same firms, with the same 综合得分 and 评价类别;
* renewal (更新候选, 更新区块): the same parcels with the same 认定结果, the
  same blocks with the same 面积;
* density (``density/*.tif``): the same grids, with the same mass (sum × cell
  area) and the same values;
* the GeoPackage: the layers both have, with the same row counts.

Labels of the columns may have been renamed between the two versions: a
column is looked up by any of its known names.

    .venv/bin/python scripts/compare_outputs.py /work/baseline_out demo_out

Exit code 0 when every compared figure agrees (within 1e-9 relative), 1
otherwise; each difference is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: figure -> names the column has had (first found is used)
COLUMNS = {
    "uscc": ["统一社会信用代码"],
    "score": ["综合得分"],
    "class": ["评价类别"],
    "parcel": ["宗地标识码", "宗地代码", "图斑标识码"],
    "status": ["认定结果", "评价状态", "状态"],
    "block": ["区块编号"],
    "area": ["面积(亩)", "图斑面积(亩)"],
}
RTOL = 1e-9


def _col(df, key):
    for name in COLUMNS[key]:
        if name in df.columns:
            return name
    return None


def _workbook(folder):
    path = next(Path(folder).glob("亩均效益评价_*.xlsx"))
    return pd.read_excel(path, sheet_name=None, engine="calamine")


def _same_numbers(a, b):
    a = pd.to_numeric(a, errors="coerce").to_numpy(float)
    b = pd.to_numeric(b, errors="coerce").to_numpy(float)
    return bool(np.allclose(a, b, rtol=RTOL, atol=1e-12, equal_nan=True))


def compare_firms(old, new, say):
    a, b = old.get("企业评价"), new.get("企业评价")
    if a is None or b is None:
        return say("企业评价: sheet missing")
    key = _col(a, "uscc")
    a, b = a.set_index(key).sort_index(), b.set_index(_col(b, "uscc")).sort_index()
    if not a.index.equals(b.index):
        return say(f"企业评价: firms differ ({len(a)} vs {len(b)})")
    ok = True
    for k in ("score", "class"):
        ca, cb = _col(a, k), _col(b, k)
        if ca is None or cb is None:
            continue
        same = _same_numbers(a[ca], b[cb]) if k == "score" else a[ca].fillna("").astype(str).equals(
            b[cb].fillna("").astype(str))
        if not same:
            ok = say(f"企业评价: {ca} differs for some firms")
    return ok


def compare_renewal(old, new, say):
    ok = True
    # every assessed parcel with its status: 更新评估 where the workbook has it, else 更新候选
    a = old.get("更新评估", old.get("更新候选"))
    b = new.get("更新评估", new.get("更新候选"))
    if a is not None and b is not None:
        pa, pb = _col(a, "parcel"), _col(b, "parcel")
        sa, sb = _col(a, "status"), _col(b, "status")
        ma = a.set_index(pa)[sa].astype(str).sort_index()
        mb = b.set_index(pb)[sb].astype(str).sort_index()
        if not ma.equals(mb):
            ok = say(f"更新候选: statuses differ ({ma.value_counts().to_dict()} vs {mb.value_counts().to_dict()})")
    a, b = old.get("更新区块"), new.get("更新区块")
    if a is not None and b is not None:
        if len(a) != len(b):
            ok = say(f"更新区块: {len(a)} vs {len(b)} blocks")
        elif not _same_numbers(a.sort_values(_col(a, "block"))[_col(a, "area")],
                               b.sort_values(_col(b, "block"))[_col(b, "area")]):
            ok = say("更新区块: block areas differ")
    return ok


def compare_density(old, new, say):
    import rasterio

    ok = True
    ta = {p.name: p for p in Path(old, "density").glob("*.tif")}
    tb = {p.name: p for p in Path(new, "density").glob("*.tif")}
    if set(ta) != set(tb):
        ok = say(f"density: grids differ {sorted(set(ta) ^ set(tb))}")
    for name in sorted(set(ta) & set(tb)):
        with rasterio.open(ta[name]) as ra, rasterio.open(tb[name]) as rb:
            xa, xb = ra.read(1, masked=True).filled(0), rb.read(1, masked=True).filled(0)
            cell = abs(ra.transform.a * ra.transform.e)
            tol = RTOL * max(float(np.abs(xa).max()), 1.0)  # FFT round-off near zero
            if xa.shape != xb.shape or not np.allclose(xa, xb, rtol=RTOL, atol=tol):
                ok = say(f"density {name}: values differ (mass {xa.sum() * cell:.6g} vs {xb.sum() * cell:.6g})")
    return ok


def compare_gpkg(old, new, say):
    import pyogrio

    la = {n: c for n, _, c in _layers(pyogrio, Path(old, "results.gpkg"))}
    lb = {n: c for n, _, c in _layers(pyogrio, Path(new, "results.gpkg"))}
    ok = True
    for name in sorted(set(la) ^ set(lb)):
        print(f"note: results.gpkg layer {name} only in {'the first' if name in la else 'the second'}")
    for name in sorted(set(la) & set(lb)):
        if la.get(name) != lb.get(name):
            ok = say(f"results.gpkg {name}: {la.get(name)} vs {lb.get(name)} features")
    return ok


def _layers(pyogrio, path):
    for name, geom in pyogrio.list_layers(path):
        yield name, geom, pyogrio.read_info(path, layer=name)["features"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    args = ap.parse_args(argv)
    problems = []

    def say(text):
        problems.append(text)
        print("DIFFERENT:", text)
        return False

    old, new = _workbook(args.old), _workbook(args.new)
    for check in (compare_firms, compare_renewal):
        check(old, new, say)
    compare_density(args.old, args.new, say)
    compare_gpkg(args.old, args.new, say)
    print("same figures" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

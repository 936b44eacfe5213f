"""Prove two ``gis demo`` output folders hold the same outputs, cell by cell.

Made for restructurings that must not change behaviour: run the demo before
and after, then

    .venv/bin/python scripts/same_outputs.py /work/before_out demo_out

Compared, from the written files only:

* the workbook (``亩均效益评价_*.xlsx``): the same sheets, each with the same
  shape and the same value in every cell (numbers exactly, text exactly);
* ``results.gpkg``: the same layers, each with the same columns, the same
  values in every row and the same geometry (WKB, byte for byte);
* ``rejects.csv``: the same bytes;
* ``density/*.tif``: the same grids, georeferencing and values (bit for bit);
* ``maps/*.html`` and the HTML report: the same bytes once the identifiers
  that folium and the report draw at random on every run (``map_0f3a…``) and
  the run's date and time are replaced by placeholders.

``scripts/compare_outputs.py`` is the lenient sibling (the figures a planner
reads, within 1e-9): use it when a change is meant to move digits, this one
when nothing may move. Exit code 0 when all is the same, 1 otherwise; every
difference is printed (at most five cells per sheet or layer).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: random element ids folium/branca draw per run (32 hex digits after a name)
_RANDOM_ID = re.compile(r"\b([a-z_]+?)_[0-9a-f]{32}(?![0-9a-f])")
#: images embedded in HTML (compared by their pixels: PNG metadata may carry a time)
_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
#: columns stamped with the time they were written
_TIME_COLUMNS = {"update_time", "last_change"}
#: dates and times stamped by the run
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?")
_MOST = 5


def _cells_differ(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Return up to five descriptions of cells that differ between two frames of one shape."""
    out = []
    for j, col in enumerate(a.columns):
        if col in _TIME_COLUMNS:
            continue
        x, y = _unstamped(a.iloc[:, j]), _unstamped(b.iloc[:, j])
        same = (x == y) | (x.isna() & y.isna())
        for i in np.flatnonzero(~same.to_numpy(bool))[: _MOST - len(out)]:
            out.append(f"row {i + 1}, column {col!r}: {x.iloc[i]!r} vs {y.iloc[i]!r}")
        if len(out) >= _MOST:
            break
    return out


def _unstamped(values: pd.Series) -> pd.Series:
    """Return a column with the run's date and time in text cells replaced by a placeholder."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return values
    return values.map(lambda v: _STAMP.sub("TIME", v) if isinstance(v, str) else v)


def _pixels(match: re.Match) -> str:
    """Return a placeholder naming the SHA-256 of an embedded PNG's decoded pixels."""
    import base64
    import io

    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(match.group(1)))) as im:
        digest = hashlib.sha256(im.tobytes() + str((im.mode, im.size)).encode()).hexdigest()
    return f"data:image/png;pixels={digest}"


def compare_workbook(old: Path, new: Path, say) -> None:
    """Compare every sheet of the two workbooks cell by cell."""
    pa, pb = sorted(old.glob("亩均效益评价_*.xlsx")), sorted(new.glob("亩均效益评价_*.xlsx"))
    if [p.name for p in pa] != [p.name for p in pb]:
        say(f"workbooks differ: {[p.name for p in pa]} vs {[p.name for p in pb]}")
        return
    for a_path, b_path in zip(pa, pb):
        a = pd.read_excel(a_path, sheet_name=None, header=None, engine="calamine")
        b = pd.read_excel(b_path, sheet_name=None, header=None, engine="calamine")
        if list(a) != list(b):
            say(f"{a_path.name}: sheets {list(a)} vs {list(b)}")
        for name in [s for s in a if s in b]:
            x, y = a[name], b[name]
            if x.shape != y.shape:
                say(f"{a_path.name} [{name}]: shape {x.shape} vs {y.shape}")
                continue
            for line in _cells_differ(x, y):
                say(f"{a_path.name} [{name}]: {line}")


def compare_gpkg(old: Path, new: Path, say) -> None:
    """Compare every layer of the two GeoPackages: columns, values, geometry WKB."""
    import pyogrio

    pa, pb = old / "results.gpkg", new / "results.gpkg"
    if not pa.exists() and not pb.exists():
        return
    la = [n for n, _ in pyogrio.list_layers(pa)]
    lb = [n for n, _ in pyogrio.list_layers(pb)]
    if la != lb:
        say(f"results.gpkg: layers {la} vs {lb}")
    for name in [n for n in la if n in lb]:
        x = pyogrio.read_dataframe(pa, layer=name)
        y = pyogrio.read_dataframe(pb, layer=name)
        if list(x.columns) != list(y.columns) or len(x) != len(y):
            say(f"results.gpkg {name}: {len(x)} rows {list(x.columns)} vs {len(y)} rows {list(y.columns)}")
            continue
        geom = getattr(x, "geometry", None)
        if geom is not None:
            wa, wb = x.geometry.to_wkb(), y.geometry.to_wkb()
            bad = np.flatnonzero(~(wa == wb).to_numpy(bool))
            for i in bad[:_MOST]:
                say(f"results.gpkg {name}: geometry of row {i + 1} differs")
            x, y = pd.DataFrame(x.drop(columns="geometry")), pd.DataFrame(y.drop(columns="geometry"))
        for line in _cells_differ(x, y):
            say(f"results.gpkg {name}: {line}")


def _undated(tags: dict) -> dict:
    """Return a GeoTIFF's tags without the date it was written."""
    return {k: v for k, v in tags.items() if k.lower() not in {"date", "datetime", "tifftag_datetime"}}


def compare_rasters(old: Path, new: Path, say) -> None:
    """Compare every density GeoTIFF bit for bit (values, transform, CRS, nodata)."""
    import rasterio

    ta = {p.name: p for p in (old / "density").glob("*.tif")}
    tb = {p.name: p for p in (new / "density").glob("*.tif")}
    if set(ta) != set(tb):
        say(f"density: grids {sorted(set(ta) ^ set(tb))} in one folder only")
    for name in sorted(set(ta) & set(tb)):
        with rasterio.open(ta[name]) as ra, rasterio.open(tb[name]) as rb:
            meta_a = (ra.profile, _undated(ra.tags()), ra.crs)
            meta_b = (rb.profile, _undated(rb.tags()), rb.crs)
            if meta_a != meta_b:
                say(f"density {name}: profile or tags differ")
            if not np.array_equal(ra.read(), rb.read(), equal_nan=True):
                say(f"density {name}: values differ")


def normalised_html(path: Path) -> bytes:
    """Return an HTML file's bytes with per-run random ids and time stamps replaced by placeholders."""
    text = path.read_text(encoding="utf-8")
    text = _PNG.sub(_pixels, text)
    text = _RANDOM_ID.sub(r"\1_ID", text)
    return _STAMP.sub("TIME", text).encode("utf-8")


def compare_html(old: Path, new: Path, say) -> None:
    """Compare the maps and the HTML report after normalisation."""
    fa = sorted(p.relative_to(old) for p in list(old.glob("maps/*.html")) + list(old.glob("*.html")))
    fb = sorted(p.relative_to(new) for p in list(new.glob("maps/*.html")) + list(new.glob("*.html")))
    if fa != fb:
        say(f"HTML files differ: {sorted(set(map(str, fa)) ^ set(map(str, fb)))}")
    for rel in [f for f in fa if f in fb]:
        a, b = normalised_html(old / rel), normalised_html(new / rel)
        if a != b:
            at = next((i for i, (p, q) in enumerate(zip(a, b)) if p != q), min(len(a), len(b)))
            say(f"{rel}: differs from byte {at}: {a[at - 60:at + 60]!r} vs {b[at - 60:at + 60]!r}")


def compare_bytes(old: Path, new: Path, say, names=("rejects.csv",)) -> None:
    """Compare files that must be the same bytes."""
    for name in names:
        a, b = old / name, new / name
        if a.exists() != b.exists():
            say(f"{name}: in one folder only")
        elif a.exists() and hashlib.sha256(a.read_bytes()).digest() != hashlib.sha256(b.read_bytes()).digest():
            say(f"{name}: bytes differ")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    args = ap.parse_args(argv)
    problems: list[str] = []

    def say(text: str) -> None:
        problems.append(text)
        print("DIFFERENT:", text)

    checks = (compare_workbook, compare_gpkg, compare_rasters, compare_html, compare_bytes)
    for check in checks:
        before = len(problems)
        check(args.old, args.new, say)
        print(f"{check.__name__}: {'same' if len(problems) == before else 'DIFFERENT'}")
    print("same outputs" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Screenshots of the standard maps at county and street zoom, for review.

Opens each standard map (``overview``, ``efficiency``, ``renewal``,
``density``) in headless Chromium with the network blocked
(tests/browser.py), once as it opens (county zoom) and once at street zoom
on the busiest platform, and saves ``<name>_county.png`` and
``<name>_street.png``.  A page error or any request to a host fails the run.

    python scripts/map_screenshots.py --maps demo_out/maps --out docs/maps
    python scripts/map_screenshots.py --demo --out docs/maps     # runs the demo first

The PNGs are reduced to a 256-colour palette so they stay small enough to
commit (README).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

#: JavaScript: centre of street view = the platform holding most firms (or the map centre)
STREET_JS = """(zoom) => {
  const map = gis.map, pl = gis.layers.platforms;
  let at = map.getCenter();
  if (pl) {
    const feats = pl.getLayers().slice().sort((a, b) =>
      (b.feature.properties.n_firms || 0) - (a.feature.properties.n_firms || 0));
    if (feats.length) at = feats[0].getBounds().getCenter();
  }
  map.setView(at, zoom, {animate: false});
}"""


def _demo_maps(tmp):
    from gis.demo import demo_inputs
    from gis.pipeline import run

    result = run(**demo_inputs(), out_dir=tmp, stages=("efficiency", "renewal", "density", "maps", "report"),
                 progress=False)
    return Path(result.paths["maps"]["overview"]).parent


def _small_png(path):
    from PIL import Image

    img = Image.open(path).convert("RGB")
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def screenshots(maps_dir, out_dir, street_zoom=15, viewport=(1100, 700)):
    """Save county- and street-zoom screenshots of every standard map in ``maps_dir``; returns the paths."""
    import browser as gisbrowser
    from gis.maps import STANDARD_MAPS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    with gisbrowser.browser() as b:
        for name in STANDARD_MAPS:
            path = Path(maps_dir) / f"{name}.html"
            if not path.is_file():
                print(f"  {name}: not found in {maps_dir}, skipped", file=sys.stderr)
                continue
            with gisbrowser.open_map(b, path, viewport=viewport) as (page, log):
                page.wait_for_timeout(400)
                county = out_dir / f"{name}_county.png"
                page.screenshot(path=str(county))
                page.evaluate(STREET_JS, street_zoom)
                page.wait_for_function("window.gis.isReady()")
                page.wait_for_timeout(600)
                street = out_dir / f"{name}_street.png"
                page.screenshot(path=str(street))
                if log.errors or log.blocked:
                    raise SystemExit(f"{name}: page errors {log.errors[:3]} / requests {log.blocked[:3]}")
            for p in (county, street):
                _small_png(p)
                saved.append(p)
                print(f"  {p} ({p.stat().st_size / 1024:.0f} KB)")
        index = Path(maps_dir).parent / "index.html"  # the folder's front door (gis.site)
        if index.is_file():
            with gisbrowser.open_map(b, index, ready=None, viewport=(1100, 900)) as (page, log):
                p = out_dir / "index.png"
                page.screenshot(path=str(p), full_page=True)
                if log.errors or log.blocked:
                    raise SystemExit(f"index.html: page errors {log.errors[:3]} / requests {log.blocked[:3]}")
            _small_png(p)
            saved.append(p)
            print(f"  {p} ({p.stat().st_size / 1024:.0f} KB)")
    return saved


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--maps", type=Path, help="folder holding overview.html, efficiency.html ...")
    src.add_argument("--demo", action="store_true", help="run the demo pipeline first")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "maps")
    ap.add_argument("--street-zoom", type=int, default=15)
    args = ap.parse_args(argv)
    import browser as gisbrowser

    reason = gisbrowser.unavailable_reason()
    if reason:
        raise SystemExit(f"cannot take screenshots: {reason}")
    if args.demo:
        with tempfile.TemporaryDirectory() as tmp:
            screenshots(_demo_maps(tmp), args.out, args.street_zoom)
    else:
        screenshots(args.maps, args.out, args.street_zoom)
    return 0


if __name__ == "__main__":
    sys.exit(main())

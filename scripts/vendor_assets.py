"""Vendor the web assets of the offline maps into ``gis/static/``.

How the files in ``gis/static/`` were made (re-run to upgrade; needs ``npm``
and the npm registry, never needed at map-building time)::

    python scripts/vendor_assets.py

For each package below, at the version folium 0.20 pins in its CDN URLs,
``npm pack <name>@<version>`` downloads the registry tarball into a temporary
directory outside the repository; only the listed distribution files (JS,
CSS, images) and the licence are copied to ``gis/static/<package>/``, and
``gis/static/VERSIONS.json`` records the package, version, tarball integrity
(sha512) and shasum (sha1), licence and the files taken.

Left out on purpose: bootstrap, bootstrap-glyphicons, font-awesome and
Leaflet.awesome-markers (the maps use no folium ``Icon`` markers, no
bootstrap widgets).  jQuery is vendored because folium's own ``Popup``
needs it; :mod:`gis.maps` inlines it only when such a popup is present.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "gis" / "static"

#: package -> (version, licence file in the tarball, [files to copy], folium URL it replaces)
PACKAGES = {
    "leaflet": (
        "1.9.3", "LICENSE",
        ["dist/leaflet.js", "dist/leaflet.css", "dist/images/layers.png",
         "dist/images/layers-2x.png", "dist/images/marker-icon.png",
         "dist/images/marker-icon-2x.png", "dist/images/marker-shadow.png"],
    ),
    "jquery": ("3.7.1", "LICENSE.txt", ["dist/jquery.min.js"]),
    "leaflet.markercluster": (
        "1.1.0", "MIT-LICENCE.txt",
        ["dist/leaflet.markercluster.js", "dist/MarkerCluster.css",
         "dist/MarkerCluster.Default.css"],
    ),
    "leaflet.fullscreen": (
        "3.0.0", "LICENSE",
        ["Control.FullScreen.js", "Control.FullScreen.css", "icon-fullscreen.svg"],
    ),
    "leaflet-measure": (
        "2.1.7", "LICENSE",
        ["dist/leaflet-measure.min.js", "dist/leaflet-measure.css"]
        + [f"dist/images/{n}{s}.png" for n in ("cancel", "check", "focus", "rulers",
                                                "start", "trash") for s in ("", "_@2X")],
    ),
    "leaflet-search": (
        "2.9.7", "license.txt",
        ["dist/leaflet-search.min.js", "dist/leaflet-search.min.css",
         "images/search-icon.png", "images/loader.gif"],
    ),
    "leaflet-mouse-position": (
        "1.2.0", "MIT-LICENCE.txt",
        ["src/L.Control.MousePosition.js", "src/L.Control.MousePosition.css"],
    ),
}


def _pack(name, version, workdir):
    out = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--json"],
        cwd=workdir, check=True, capture_output=True, text=True,
    )
    info = json.loads(out.stdout)[0]
    return workdir / info["filename"], info


def _extract(tgz, dest):
    with tarfile.open(tgz, "r:gz") as tf:
        tf.extractall(dest, filter="data")
    return dest / "package"


def main():
    versions = []
    with tempfile.TemporaryDirectory(prefix="gis-vendor-") as tmp:
        tmp = Path(tmp)
        for name, (version, licence, files) in PACKAGES.items():
            tgz, info = _pack(name, version, tmp)
            pkg = _extract(tgz, tmp / name)
            meta = json.loads((pkg / "package.json").read_text(encoding="utf-8"))
            target = STATIC / name
            if target.exists():
                shutil.rmtree(target)
            copied = []
            for rel in files:
                src = pkg / rel
                # keep the layout below dist/ so relative CSS url()s still resolve
                dst_rel = rel[5:] if rel.startswith("dist/") else rel
                if name == "leaflet-search":
                    dst_rel = rel  # its CSS points at ../images/
                dst = target / dst_rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                copied.append(dst_rel)
            shutil.copyfile(pkg / licence, target / "LICENSE")
            versions.append({
                "package": name,
                "version": meta["version"],
                "licence": meta.get("license"),
                "integrity": info["integrity"],
                "shasum": info["shasum"],
                "tarball": f"{name}-{meta['version']}.tgz (npm registry)",
                "files": copied,
            })
            print(f"{name}@{meta['version']}: {len(copied)} files", file=sys.stderr)
    with open(STATIC / "VERSIONS.json", "w", encoding="utf-8") as fh:
        json.dump(versions, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()

"""The web files an offline map page is made of: vendored Leaflet and plugins, inlined.

folium (and each plugin used) names the JS/CSS files a page needs; each is
known here by its file name only and maps to the copy vendored into
``gis/static/`` (versions and licences in ``gis/static/VERSIONS.json``), or to
None when the feature is not used.  An unknown file is an error, so a new
plugin cannot silently bring in a request.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from pathlib import Path

import folium
import pandas as pd
from branca.element import Element

from .._errors import GisError

__all__ = [
    "STATIC_DIR",
    "vendored_file",
    "vendored_assets",
    "inline_assets",
]


STATIC_DIR = Path(__file__).parent.parent / "static"


# ---------------------------------------------------------------------------
# Vendored assets.  folium (and each plugin used here) names the web files a
# page needs; each is known here by its file name only (no host, no version)
# and maps to the vendored copy that is inlined, or to None when the feature
# is not used (bootstrap, font-awesome, awesome-markers).  A page never
# refers to any host.  An unknown file is an error, so a new plugin cannot
# silently bring in a request.
# ---------------------------------------------------------------------------
_JQUERY = "jquery-3.7.1.min.js"
_ASSETS = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    _JQUERY: "jquery/jquery.min.js",
    "bootstrap.bundle.min.js": None,
    "bootstrap.min.css": None,
    "bootstrap-glyphicons.css": None,
    "all.min.css": None,  # font-awesome
    "leaflet.awesome-markers.js": None,
    "leaflet.awesome-markers.css": None,
    "leaflet.awesome.rotate.min.css": None,
    "leaflet.markercluster.js": "leaflet.markercluster/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster/MarkerCluster.Default.css",
    "Control.FullScreen.min.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "leaflet-measure.min.js": "leaflet-measure/leaflet-measure.min.js",
    "leaflet-measure.min.css": "leaflet-measure/leaflet-measure.css",
    "L.Control.MousePosition.min.js": "leaflet-mouse-position/src/L.Control.MousePosition.js",
    "L.Control.MousePosition.min.css": "leaflet-mouse-position/src/L.Control.MousePosition.css",
    "leaflet-search.min.js": "leaflet-search/dist/leaflet-search.min.js",
    "leaflet-search.min.css": "leaflet-search/dist/leaflet-search.min.css",
    # the toolkit's own helpers
    "gis-maps.js": "gis-maps/gis-maps.js",
    "gis-maps.css": "gis-maps/gis-maps.css",
}
MARKERCLUSTER_JS = [("markerclusterjs", "leaflet.markercluster.js")]
MARKERCLUSTER_CSS = [("markerclustercss", "MarkerCluster.css"),
                      ("markerclusterdefaultcss", "MarkerCluster.Default.css")]


def vendored_file(url):
    """The vendored file (under :data:`STATIC_DIR`) standing in for a web asset, or None.

    ``url`` is what folium writes in ``default_js``/``default_css``; only its
    file name counts.  None means the asset is not needed (dropped).

    Raises
    ------
    GisError
        For a file with no vendored copy.

    Examples
    --------
    >>> vendored_file("leaflet.css"), vendored_file("bootstrap.min.css")
    ('leaflet/leaflet.css', None)
    """
    name = url.rsplit("/", 1)[-1]
    if name not in _ASSETS:
        raise GisError(f"no vendored copy of {url}: add the package to "
                       "scripts/vendor_assets.py and gis.maps._ASSETS")
    return _ASSETS[name]


_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml",
         ".jpg": "image/jpeg", ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf"}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def vendored_assets():
    """The vendored web packages: a DataFrame of package, version, licence, integrity.

    Returns
    -------
    pandas.DataFrame
        One row per npm package in ``gis/static/VERSIONS.json``.

    Examples
    --------
    >>> v = vendored_assets().set_index("package")
    >>> v.loc["leaflet", "version"]
    '1.9.3'
    """
    with open(STATIC_DIR / "VERSIONS.json", encoding="utf-8") as fh:
        return pd.DataFrame(json.load(fh))


@functools.lru_cache(maxsize=None)
def _asset_text(rel):
    path = STATIC_DIR / rel
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if rel.endswith(".css"):
        def to_data_uri(match):
            ref = match.group(2).strip()
            if ref.startswith(("data:", "#")):
                return match.group(0)
            target = (path.parent / ref).resolve()
            if not target.is_file() or STATIC_DIR.resolve() not in target.parents:
                raise GisError(f"{path}: url({ref}) points to no vendored file")
            mime = _MIME.get(target.suffix.lower(), "application/octet-stream")
            data = base64.b64encode(target.read_bytes()).decode("ascii")
            return f'url("data:{mime};base64,{data}")'

        text = _CSS_URL.sub(to_data_uri, text)
        return text.replace("</style", "<\\/style")
    return text.replace("</script", "<\\/script")


def _walk(element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def inline_assets(m):
    """Replace every default_js/default_css URL under the figure by inline code."""
    root = m.get_root()
    elements = list(_walk(root))
    needs_jquery = bool(getattr(m, "objects_to_stay_in_front", None)) or any(
        isinstance(e, folium.Popup) for e in elements
    )
    js, css = [], []
    for e in elements:
        for attr, out in (("default_js", js), ("default_css", css)):
            links = getattr(e, attr, None)
            if not links:
                continue
            for _, url in links:
                if url not in out:
                    out.append(url)
            setattr(e, attr, [])
    files = [(vendored_file(u), "style") for u in css] + [(vendored_file(u), "script") for u in js]
    jquery = _ASSETS[_JQUERY]
    if needs_jquery and (jquery, "script") not in files:
        files.insert(len(css) + 1, (jquery, "script"))
    for rel, tag in files:
        if rel and (rel != jquery or needs_jquery):
            root.header.add_child(Element(f"<{tag}>{_asset_text(rel)}</{tag}>"),
                                  name=f"gis_{'css' if tag == 'style' else 'js'}_{rel}")


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------
REMOTE_ASSET = re.compile(r"""<(?:script|link)\b[^>]*(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)

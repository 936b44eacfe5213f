"""Links from the report to the maps, at the places it discusses.

A table cell of the HTML report that names a platform, a park, a township, a
firm or a renewal block (or a candidate parcel) becomes a link to the map
that shows it, with the name in the URL fragment (``maps/renewal.html#q=RB0012``):
the map (``gis-maps.js`` ``gis.openHash``) zooms to that feature and opens
its popup.  Only whole cells equal to a known name are linked, so a number or
a sentence is never touched.

* :func:`map_targets`: ``{text: (map name)}`` from a run's layers.
* :func:`link_cells`: the report HTML with those cells linked.
* :func:`link_report`: the same, rewriting the report file in place.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from urllib.parse import quote

__all__ = ["map_targets", "map_href", "link_cells", "link_report"]

_CELL = re.compile(r"<td>([^<>]{1,200})</td>")


def map_targets(layers, maps):
    """Which map shows each name: ``{text: map name}``.

    Parameters
    ----------
    layers : dict
        The maps' layers (:func:`gis.pipeline.map_layers`): ``platforms``,
        ``parks``, ``townships`` (``name_zh``), ``enterprises`` (``name``),
        ``renewal_blocks`` (``block_id``), ``renewal_parcels`` (``parcel_id``).
    maps : iterable of str
        The maps written (``overview``, ``efficiency``, ``renewal``, ``density``).

    Returns
    -------
    dict
        Zones and firms on the 亩均 map (else the overview), blocks and
        candidate parcels on the renewal map.
    """
    maps = set(maps)
    zone_map = next((m for m in ("efficiency", "overview") if m in maps), None)
    out = {}

    def put(key, col, where):
        v = layers.get(key)
        if where is None or v is None or col not in v:
            return
        for text in v[col].dropna().astype(str):
            text = text.strip()
            if text and text not in out:
                out[text] = where

    put("renewal_blocks", "block_id", "renewal" if "renewal" in maps else None)
    put("renewal_parcels", "parcel_id", "renewal" if "renewal" in maps else None)
    for key in ("platforms", "parks", "townships"):
        put(key, "name_zh", zone_map)
    put("enterprises", "name", zone_map)
    return out


def map_href(report_dir, map_path, text):
    """The link from a report in ``report_dir`` to ``text`` on the map file ``map_path``.

    >>> map_href("/o", "/o/maps/renewal.html", "RB0001")
    'maps/renewal.html#q=RB0001'
    >>> map_href("/o", "/o/maps/efficiency.html", "稠江街道")
    'maps/efficiency.html#q=%E7%A8%A0%E6%B1%9F%E8%A1%97%E9%81%93'
    """
    rel = Path(os.path.relpath(Path(map_path), Path(report_dir)))
    return "/".join(quote(p) for p in rel.parts) + "#q=" + quote(text, safe="")


def link_cells(doc, links):
    """``doc`` with every table cell whose whole text is a key of ``links`` made a link.

    Parameters
    ----------
    doc : str
        The report HTML (cells as written by :func:`gis.report.html_table`).
    links : dict
        Text -> href.

    Returns
    -------
    tuple
        ``(html, number of cells linked)``.

    Examples
    --------
    >>> link_cells("<td>稠江街道</td><td>12</td>", {"稠江街道": "maps/e.html#q=x"})
    ('<td><a href="maps/e.html#q=x" title="在地图上查看">稠江街道</a></td><td>12</td>', 1)
    """
    n = 0

    def sub(m):
        nonlocal n
        href = links.get(html.unescape(m.group(1)).strip())
        if href is None:
            return m.group(0)
        n += 1
        return f'<td><a href="{html.escape(href, quote=True)}" title="在地图上查看">{m.group(1)}</a></td>'

    return _CELL.sub(sub, doc), n


def link_report(report_html, maps, layers):
    """Link the report's names to the maps (rewrites ``report_html`` whole); returns the count.

    Parameters
    ----------
    report_html : str or Path
    maps : dict
        ``{map name: Path}`` of the maps written.
    layers : dict
        The maps' layers (see :func:`map_targets`).
    """
    report_html = Path(report_html)
    targets = map_targets(layers, maps)
    links = {t: map_href(report_html.parent, maps[m], t) for t, m in targets.items()}
    doc = report_html.read_text(encoding="utf-8")
    doc, n = link_cells(doc, links)
    if n:
        tmp = report_html.with_name(f".{report_html.name}.partial")
        tmp.write_text(doc, encoding="utf-8", newline="\n")
        os.replace(tmp, report_html)
    return n

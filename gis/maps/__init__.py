"""Interactive maps that work offline: self-contained Folium HTML.

Every map is one HTML file holding Leaflet, its plugins, their CSS and
icons (vendored from the npm registry into ``gis/static/``, versions and
licences in ``gis/static/VERSIONS.json``), inlined, so it opens from disk or
an intranet server with no request to any host; with a configured tile
server it requests only that host.

Builders compose: :func:`base_map` makes the map, each ``add_*`` function
draws one GeoDataFrame (EPSG:4549, or any CRS it can be projected from) and
returns the map, :func:`save_map` writes it, :func:`standard_maps` writes the
standard set (overview, 亩均, renewal, density)::

    m = base_map(yiwu, lang="zh")
    add_boundary(m, yiwu)
    add_platforms(m, platforms)
    add_enterprises(m, firms)
    save_map(m, "maps/overview.html")

Reading the map
---------------
- Zones (townships, platforms, parks, renewal blocks, the county outline) are
  SVG outlines in a pane above the data canvas: only their stroke catches a
  click, so the smallest feature under the cursor answers; their names are
  permanent labels (thinned so none overlaps), clickable at county zoom.
- Below ``maps.detail_zoom`` (county zoom) zones may be filled (亩均税收, or
  A+B share in public mode) and parcels of the 亩均 map are not drawn; from
  street zoom the parcels come in and the zone fill goes.
- Popups are 260-420 px wide, wrap long text, stay below the title, and start
  with what was clicked (``_title``/``_sub``: parcel id, township,
  platform/park, firms; block number and priority).
- Colours: :func:`class_colours` (A/B/C/D, colour-blind safe, and firms
  without a class by why), :func:`chain_colours` (one per industry chain);
  cluster bubbles are neutral grey.
- Furniture: title with year, data date, source, marking
  (:func:`gis.confidential.marking`) and 合成演示数据 for demo data; north
  arrow, scale bar, CGCS2000 / EPSG:4549 note, measuring in 亩.

Safety and size
---------------
- Values reach the page as JSON data and are written into popups, tooltips,
  legends and the search box with ``textContent``: markup in a name is shown
  as text, never run.
- ``public=True`` (on :func:`base_map`) puts every layer through
  :func:`gis.confidential.public_frame` before anything is written: no
  confidential column, no confidential figure inside a text (renewal
  evidence, targets).
- Polygons are simplified in EPSG:4549 (``maps.simplify_m``), coordinates
  rounded (``maps.coord_decimals``), only popup columns kept, vectors drawn on
  a canvas; points are clustered; layers beyond ``maps.feature_budget`` /
  ``maps.point_budget`` are aggregated to hexagons with a note on the map.
"""

from __future__ import annotations

from .assets import STATIC_DIR, vendored_assets, vendored_file  # noqa: F401
from .tiles import BASEMAPS  # noqa: F401
from .colours import chain_colours, class_colours, firm_categories  # noqa: F401
from .classify import hex_aggregate, natural_breaks_spread  # noqa: F401
from .base import base_map, confidential_columns, legends, public_frame, save_map, to_html  # noqa: F401
from .layers import (  # noqa: F401
    BLOCK_CLICK_ZOOM, add_background, add_boundary, add_clusters, add_contracts, add_density, add_efficiency,
    add_enterprises, add_hotspots, add_landuse, add_parks, add_platforms, add_polygons, add_renewal,
    add_townships,
)
from .standard import STANDARD_MAPS, standard_maps  # noqa: F401

__all__ = [
    "STANDARD_MAPS",
    "BLOCK_CLICK_ZOOM",
    "natural_breaks_spread",
    "BASEMAPS",
    "STATIC_DIR",
    "base_map",
    "add_boundary",
    "add_townships",
    "add_platforms",
    "add_parks",
    "add_landuse",
    "add_enterprises",
    "add_efficiency",
    "add_renewal", "add_contracts",
    "add_density",
    "add_hotspots",
    "add_clusters",
    "add_polygons",
    "hex_aggregate",
    "confidential_columns",
    "public_frame",
    "to_html",
    "save_map",
    "standard_maps",
    "vendored_assets",
    "vendored_file",
    "legends",
    "class_colours",
    "chain_colours",
    "firm_categories",
    "add_background",
]

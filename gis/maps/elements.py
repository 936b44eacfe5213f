"""The page elements of a map: Leaflet templates for data layers, legends, notes, title and furniture.

Values reach the page as JSON data (:func:`to_json`, :func:`script_safe`) and
are written with ``textContent``: markup in a name is shown as text.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import types

import branca.element
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from .assets import MARKERCLUSTER_CSS, MARKERCLUSTER_JS, STATIC_DIR

__all__ = [
    "plain_text_elements",
    "MapHelpers",
    "script_safe",
    "to_json",
    "DataLayer",
    "ImageLayer",
    "LegendControl",
    "MapNote",
    "SearchControl",
    "SearchAll",
    "BlockClick",
    "MapTitle",
    "MapFurniture",
    "MetricScale",
]


#: jinja2 syntax, or a carriage return (jinja2 rewrites newlines): such text is compiled
_JINJA_SYNTAX = ("{{", "{%", "{#", "\r")


class _Text:
    """Stands in for the jinja2 Template of a text without template syntax.

    Renders as the text itself, as jinja2 does (less one trailing newline,
    jinja2's ``keep_trailing_newline=False``).
    """

    def __init__(self, text):
        self.text = text[:-1] if text.endswith("\n") else text
        self.module = types.SimpleNamespace()  # no macros (header/html/script), as jinja2's

    def render(self, *args, **kwargs):
        return self.text


def _template_of(source, _jinja=branca.element.Template):
    """A jinja2 Template of ``source``, or a :class:`_Text` when it has no template syntax."""
    if isinstance(source, str) and not any(mark in source for mark in _JINJA_SYNTAX):
        return _Text(source)
    return _jinja(source)


@contextlib.contextmanager
def plain_text_elements():
    """While a map renders, ``branca.element.Element(text)`` does not compile ``text``.

    Rendering a map wraps each layer's rendered HTML/JS (megabytes of inline
    data and scripts) in a new ``Element``, whose text branca compiles as a
    jinja2 template; compiling was most of a map's build time.  The page is
    the same.
    """
    saved = branca.element.Template
    branca.element.Template = _template_of
    try:
        yield
    finally:
        branca.element.Template = saved


class MapHelpers(JSCSSMixin, MacroElement):
    default_js = [("gis_maps_js", "gis-maps.js")]
    default_css = [("gis_maps_css", "gis-maps.css")]
    _template = Template("")


_SAFE_JSON = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
              0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_safe(text):
    """``text.translate(_SAFE_JSON)``, by one C-speed replace per character (translate is ~10x slower)."""
    for code, escape in _SAFE_JSON.items():
        text = text.replace(chr(code), escape)
    return text


def to_json(obj):
    """JSON that is safe inside a <script> element."""
    return script_safe(json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


class DataLayer(JSCSSMixin, Layer):
    """A vector layer drawn by gis-maps.js from column-wise JSON data."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gis.dataLayer({{ this.spec_json }});
        {% endmacro %}
        """
    )

    def __init__(self, spec_json, name, show=True, points=False):
        # Leaflet's layer control writes names with innerHTML: escape them
        super().__init__(name=html.escape(name), overlay=True, control=True, show=show)
        self._name = "GisDataLayer"
        self.spec_json = spec_json
        if points:
            self.default_js = list(MARKERCLUSTER_JS)
            self.default_css = list(MARKERCLUSTER_CSS)


class ImageLayer(Layer):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.imageOverlay({{ this.url|tojson }}, {{ this.bounds|tojson }},
            {opacity: {{ this.opacity|tojson }}, interactive: false, className: "gis-image"});
        gis.register({{ this.key|tojson }}, {{ this.get_name() }}, 1);
        {% endmacro %}
        """
    )

    def __init__(self, url, bounds, key, name, opacity, show=True):
        super().__init__(name=html.escape(name), overlay=True, control=True, show=show)
        self._name = "GisImageLayer"
        self.url, self.bounds, self.key, self.opacity = url, bounds, key, opacity


class LegendControl(MacroElement):
    """A categorical legend or a colour scale bound to a layer (gis-maps.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.legend({{ this._parent.get_name() }}, {{ this.layer.get_name() }}, {{ this.spec_json }});
        {% endmacro %}
        """
    )

    def __init__(self, layer, spec):
        super().__init__()
        self._name = "GisLegend"
        self.layer = layer
        self.spec = spec
        self.spec_json = to_json(spec)


class MapNote(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.note({{ this._parent.get_name() }}, {{ this.text_json }}, "bottomleft");
        {% endmacro %}
        """
    )

    def __init__(self, text):
        super().__init__()
        self._name = "GisNote"
        self.text = text
        self.text_json = to_json(text)


class SearchControl(JSCSSMixin, MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.search({{ this._parent.get_name() }}, {{ this.layer.get_name() }}, {{ this.opts_json }});
        {% endmacro %}
        """
    )
    default_js = [("Leaflet.Search.js", "leaflet-search.min.js")]
    default_css = [("Leaflet.Search.css", "leaflet-search.min.css")]

    def __init__(self, layer, opts):
        super().__init__()
        self._name = "GisSearch"
        self.layer = layer
        self.opts_json = to_json(opts)


class SearchAll(JSCSSMixin, MacroElement):
    """ONE search box over every layer of the map (gis-maps.js ``gis.searchAll``): names,
    credit codes, parcel numbers, block ids; and the ``#q=`` link a report follows."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.markerImages({{ this.icons_json }});
        gis.measureInSvg();
        gis.searchAll({{ this._parent.get_name() }}, {{ this.opts_json }});
        gis.chineseControls({{ this._parent.get_name() }}, {{ this.controls_json }});
        gis.openHash();
        {% endmacro %}
        """
    )
    default_js = [("Leaflet.Search.js", "leaflet-search.min.js")]
    default_css = [("Leaflet.Search.css", "leaflet-search.min.css")]

    def __init__(self, opts, controls):
        super().__init__()
        self._name = "GisSearchAll"
        self.opts_json = to_json(opts)
        # Leaflet's default marker (the measuring tool's point) from the vendored images,
        # not from a path guessed next to the page
        self.icons_json = to_json({k: "data:image/png;base64," + base64.b64encode(
            (STATIC_DIR / "leaflet" / "images" / f).read_bytes()).decode("ascii")
            for k, f in (("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
                         ("shadowUrl", "marker-shadow.png"))})
        self.controls_json = to_json(controls)


class BlockClick(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.fillClick({{ this._parent.get_name() }}, "renewal_blocks", {{ this.zoom }});
        {% endmacro %}
        """
    )

    def __init__(self, zoom):
        super().__init__()
        self._name = "GisBlockClick"
        self.zoom = int(zoom)


class MapTitle(MacroElement):
    """The title block: title (with the year), data date and source, marking, demo notice."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}<div class="gis-title"><div class="gis-title-main">{{ this.text }}
        {%- if this.marking %}<span class="gis-marking{{ ' gis-marking-public' if this.public }}">{{ this.marking }}</span>{% endif %}
        {%- if this.demo %}<span class="gis-demo">{{ this.demo }}</span>{% endif %}</div>
        {%- if this.sub %}<div class="gis-title-sub">{{ this.sub }}</div>{% endif %}</div>{% endmacro %}
        """
    )

    def __init__(self, text, sub="", marking="", public=False, demo=""):
        super().__init__()
        self._name = "GisTitle"
        self.text = html.escape(str(text))
        self.sub = html.escape(str(sub or ""))
        self.marking = html.escape(str(marking or ""))
        self.public = bool(public)
        self.demo = html.escape(str(demo or ""))


class MapFurniture(MacroElement):
    """Panes and zoom behaviour, north arrow, coordinate-system note."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gis.panes({{ this._parent.get_name() }}, {{ this.detail_zoom }});
        gis.northArrow({{ this._parent.get_name() }}, {{ this.north_json }});
        gis.note({{ this._parent.get_name() }}, {{ this.crs_json }}, "bottomleft").getContainer().className = "gis-crs leaflet-bar leaflet-control";
        {% endmacro %}
        """
    )

    def __init__(self, detail_zoom, north, crs_note):
        super().__init__()
        self._name = "GisFurniture"
        self.detail_zoom = int(detail_zoom)
        self.north_json = to_json(north)
        self.crs_json = to_json(crs_note)


class MetricScale(MacroElement):
    """A metric-only scale bar, and a plain attribution prefix (no flag icon)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, position: "bottomleft"}).addTo({{ this._parent.get_name() }});
        {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "GisScale"

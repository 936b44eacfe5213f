/* gis-maps.js: helpers of the Yiwu toolkit's offline maps (gis.maps).
 *
 * Data arrive column-wise ({geoms|x,y, props: {column: [values]}}) to keep the
 * HTML small.  Every value shown in a popup, tooltip, legend or search tip is
 * written with textContent, never innerHTML, so a name such as
 * an enterprise name holding HTML markup is displayed as text.
 *
 * window.gis.layers[key]  -> the Leaflet layer of each data layer (for tests)
 * window.gis.counts[key]  -> number of features added to it
 * window.gis.isReady()    -> true once every layer has finished loading
 */
(function () {
  "use strict";
  var gis = (window.gis = window.gis || {});
  gis.layers = gis.layers || {};
  gis.counts = gis.counts || {};
  gis.legends = gis.legends || {};
  gis.pending = gis.pending || {};

  gis.isReady = function () {
    // a clustered layer still loading counts only while it is on the map
    for (var k in gis.pending) if (gis.pending[k] && gis.layers[k] && gis.layers[k]._map) return false;
    return true;
  };

  function fmt(v, dec, lang) {
    if (v === null || v === undefined || (typeof v === "number" && isNaN(v))) return "—";
    if (typeof v === "number") {
      if (dec === null || dec === undefined) return String(v);
      return v.toLocaleString(lang === "en" ? "en-US" : "zh-CN", {
        minimumFractionDigits: dec, maximumFractionDigits: dec });
    }
    if (typeof v === "boolean") return v ? (lang === "en" ? "yes" : "是") : (lang === "en" ? "no" : "否");
    return String(v);
  }
  gis.fmt = fmt;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  gis.popupContent = function (props, spec) {
    var div = el("div", "gis-popup");
    if (spec.title && props[spec.title] !== undefined) div.appendChild(el("div", "gis-popup-title", fmt(props[spec.title], null, spec.lang)));
    var t = el("table");
    (spec.fields || []).forEach(function (f) {
      if (f[0] === spec.title) return;
      var v = props[f[0]];
      if (v === undefined) return;
      var tr = t.insertRow();
      tr.appendChild(el("th", null, f[1]));
      var missing = v === null || (typeof v === "number" && isNaN(v));
      tr.appendChild(el("td", null, fmt(v, f[3], spec.lang) + (f[2] && !missing ? " " + f[2] : "")));
    });
    div.appendChild(t);
    return div;
  };

  function propsAt(spec, i) {
    var p = {};
    for (var k in spec.props) p[k] = spec.props[k][i];
    return p;
  }

  function bind(layer, spec) {
    layer.bindPopup(function (l) { return gis.popupContent(l.feature.properties, spec); }, { maxWidth: 360 });
    if (spec.tooltip) {
      layer.bindTooltip(function (l) {
        return el("span", null, fmt(l.feature.properties[spec.tooltip], null, spec.lang));
      }, { sticky: true });
    }
  }

  function polygonLayer(spec) {
    var base = spec.style || {};
    var layer = L.geoJSON(null, {
      style: function (f) {
        var s = {};
        for (var k in base) s[k] = base[k];
        if (spec.palette) {
          var c = spec.palette[f.properties._c];
          s.fillColor = c;
          if (spec.strokeByClass) s.color = c;
        }
        return s;
      },
      onEachFeature: function (f, l) { bind(l, spec); },
    });
    var n = spec.geoms.length, feats = new Array(n);
    for (var i = 0; i < n; i++) feats[i] = { type: "Feature", geometry: spec.geoms[i], properties: propsAt(spec, i) };
    layer.addData(feats);
    gis.counts[spec.key] = n;
    return layer;
  }

  function pointLayer(spec) {
    var style = el("style");
    var css = "";
    (spec.palette || ["#3182bd"]).forEach(function (c, i) {
      css += ".gis-pt-" + spec.key + "-" + i + "{background:" + c + ";}";
    });
    style.textContent = css;
    document.head.appendChild(style);
    var icons = (spec.palette || ["#3182bd"]).map(function (c, i) {
      return L.divIcon({ className: "gis-pt gis-pt-" + spec.key + "-" + i, iconSize: [11, 11] });
    });
    gis.pending[spec.key] = true;
    var grp = L.markerClusterGroup({
      chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50,
      disableClusteringAtZoom: 18,
      chunkProgress: function (done, total) { if (done >= total) gis.pending[spec.key] = false; },
    });
    var n = spec.x.length, markers = new Array(n);
    for (var i = 0; i < n; i++) {
      var p = propsAt(spec, i);
      var m = L.marker([spec.y[i], spec.x[i]], { icon: icons[p._c || 0] });
      m.feature = { type: "Feature", properties: p, geometry: { type: "Point", coordinates: [spec.x[i], spec.y[i]] } };
      bind(m, spec);
      markers[i] = m;
    }
    grp.addLayers(markers);
    if (n === 0) gis.pending[spec.key] = false;
    gis.counts[spec.key] = n;
    return grp;
  }

  gis.dataLayer = function (spec) {
    var layer = spec.kind === "points" ? pointLayer(spec) : polygonLayer(spec);
    gis.layers[spec.key] = layer;
    return layer;
  };

  gis.register = function (key, layer, n) {
    gis.layers[key] = layer;
    if (n !== undefined) gis.counts[key] = n;
  };

  /* A legend control bound to a layer: shown while the layer is on the map. */
  gis.legend = function (map, layer, spec) {
    var ctl = L.control({ position: spec.position || "bottomright" });
    ctl.onAdd = function () {
      var box = el("div", "gis-legend leaflet-bar");
      box.setAttribute("data-gis-legend", spec.key);
      box.appendChild(el("div", "gis-legend-title", spec.title));
      if (spec.type === "continuous") {
        var bar = el("div", "gis-legend-bar");
        bar.style.background = "linear-gradient(to right," + spec.colours.join(",") + ")";
        box.appendChild(bar);
        var ticks = el("div", "gis-legend-ticks");
        ticks.appendChild(el("span", "gis-legend-min", spec.min));
        ticks.appendChild(el("span", "gis-legend-max", spec.max));
        box.appendChild(ticks);
        if (spec.unit) box.appendChild(el("div", "gis-legend-unit", spec.unit));
      } else {
        spec.entries.forEach(function (e) {
          var row = el("div", "gis-legend-entry");
          var sw = el("i", "gis-legend-swatch");
          sw.style.background = e[0];
          if (spec.outline) { sw.style.background = "transparent"; sw.style.border = "2px solid " + e[0]; }
          row.appendChild(sw);
          row.appendChild(el("span", "gis-legend-label", e[1]));
          box.appendChild(row);
        });
      }
      if (spec.note) box.appendChild(el("div", "gis-legend-note", spec.note));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    gis.legends[spec.key] = ctl;
    if (spec.shown) ctl.addTo(map);
    map.on("overlayadd", function (e) { if (e.layer === layer) ctl.addTo(map); });
    map.on("overlayremove", function (e) { if (e.layer === layer) ctl.remove(); });
    return ctl;
  };

  /* A text note on the map (e.g. "aggregated to hexagons"). */
  gis.note = function (map, text, position) {
    var ctl = L.control({ position: position || "bottomleft" });
    ctl.onAdd = function () { return el("div", "gis-note leaflet-bar", text); };
    ctl.addTo(map);
    return ctl;
  };

  /* Enterprise-name search (leaflet-search), tips built with textContent. */
  gis.search = function (map, layer, opts) {
    var ctl = new L.Control.Search({
      layer: layer, propertyName: opts.property, initial: false, zoom: 17,
      textPlaceholder: opts.placeholder, textErr: opts.notFound, textCancel: opts.cancel,
      position: "topleft", marker: { icon: false, circle: { radius: 14, color: "#00ffff", weight: 3 } },
      buildTip: function (text) { return el("a", null, text); },
      moveToLocation: function (latlng, title, m) {
        if (layer.zoomToShowLayer && latlng.layer) {
          layer.zoomToShowLayer(latlng.layer, function () { latlng.layer.openPopup(); });
        } else { m.setView(latlng, 17); }
      },
    });
    // leaflet-search puts its layer on the map: keep a hidden layer hidden
    var shown = map.hasLayer(layer);
    map.addControl(ctl);
    if (!shown && map.hasLayer(layer)) map.removeLayer(layer);
    gis.searchControl = ctl;
    return ctl;
  };
})();

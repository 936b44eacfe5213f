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
  gis.zoomed = gis.zoomed || {};

  /* popups sized to their content (260-420 px), kept below the title */
  gis.popupOptions = { minWidth: 260, maxWidth: 420, autoPanPaddingTopLeft: [12, 96],
                       autoPanPaddingBottomRight: [12, 12], className: "gis-leaflet-popup" };
  gis.detailZoom = 14;

  gis.isReady = function () {
    if (gis.map && gis.map._animatingZoom) return false;  // the opening fit may still be zooming
    // a clustered layer still loading counts only while it is on the map
    for (var k in gis.pending) if (gis.pending[k] && gis.layers[k] && gis.layers[k]._map) return false;
    return true;
  };

  function fmt(v, dec, lang) {
    if (v === null || v === undefined || (typeof v === "number" && isNaN(v))) return "—";
    if (typeof v === "number") {
      if (dec === null || dec === undefined) return String(v);
      // a small positive number that would print as 0.000 (a p value): "< 0.001"
      if (v > 0 && v < Math.pow(10, -dec) / 2) return "< " + Math.pow(10, -dec).toFixed(dec);
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
    if (props._title !== undefined && props._title !== null) {
      div.appendChild(el("div", "gis-popup-title", String(props._title)));
    } else if (spec.title && props[spec.title] !== undefined) {
      div.appendChild(el("div", "gis-popup-title", fmt(props[spec.title], null, spec.lang)));
    }
    if (props._sub) div.appendChild(el("div", "gis-popup-sub", String(props._sub)));
    var t = el("table");
    (spec.fields || []).forEach(function (f) {
      if (f[0] === spec.title) return;
      var v = props[f[0]];
      if (v === undefined) return;
      // no empty rows: a text field with nothing to say is left out (a missing number says —)
      if ((f[3] === null || f[3] === undefined) && (v === null || (typeof v === "string" && !v.trim()))) return;
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
    layer.bindPopup(function (l) { return gis.popupContent(l.feature.properties, spec); }, gis.popupOptions);
    if (spec.tooltip) {
      layer.bindTooltip(function (l) {
        return el("span", null, fmt(l.feature.properties[spec.tooltip], null, spec.lang));
      }, { sticky: true });
    }
  }

  function polygonLayer(spec) {
    var base = spec.style || {};
    var opts = {
      style: function (f) {
        var s = { stroke: true, fill: true };  // restored after a zoom-dependent hide
        for (var k in base) s[k] = base[k];
        if (spec.palette) {
          var c = spec.palette[f.properties._c];
          s.fillColor = c;
          if (spec.strokeByClass) s.color = c;
        }
        return s;
      },
      onEachFeature: function (f, l) { if (base.interactive !== false) bind(l, spec); },
    };
    if (spec.pane) { opts.pane = spec.pane; opts.renderer = gis.renderer(spec.pane); }
    if (base.interactive === false) opts.interactive = false;
    var layer = L.geoJSON(null, opts);
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
      disableClusteringAtZoom: 16,
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
    grp._gisMarkers = markers;  // in data order: gis.find answers with an index
    if (n === 0) gis.pending[spec.key] = false;
    gis.counts[spec.key] = n;
    return grp;
  }

  /* One renderer per custom pane: zones (SVG, outlines catch clicks on their
   * stroke only, so the feature under the cursor answers) and the background. */
  gis.renderers = gis.renderers || {};
  gis.renderer = function (pane) {
    if (!gis.renderers[pane]) gis.renderers[pane] = pane === "gisBackground" ? L.canvas({ pane: pane }) : L.svg({ pane: pane });
    return gis.renderers[pane];
  };
  gis.panes = function (map, detailZoom) {
    if (detailZoom !== undefined) gis.detailZoom = detailZoom;
    [["gisBackground", 250], ["gisZones", 450], ["gisLabels", 640]].forEach(function (p) {
      if (!map.getPane(p[0])) map.createPane(p[0]).style.zIndex = p[1];
    });
    gis.map = map;
    var county = function () {
      var c = map.getZoom() < gis.detailZoom;
      L.DomUtil[c ? "addClass" : "removeClass"](map.getContainer(), "gis-county");
      for (var k in gis.zoomed) gis.zoomed[k]();
    };
    gis.zoomed = gis.zoomed || {};
    map.on("zoomend", county);
    map.whenReady(county);
  };

  /* zoom-dependent drawing: county fill of zones, detail layers from street zoom */
  function zoomBehaviour(layer, spec) {
    if (!spec.countyFill && !spec.minZoom) return;
    var base = layer.options.style;
    gis.zoomed[spec.key] = function () {
      var map = gis.map, z = map.getZoom();
      if (spec.countyFill) {
        var county = z < gis.detailZoom;
        layer.setStyle(function (f) {
          var s = base(f);
          s.fillOpacity = county ? spec.countyFill : 0;
          return s;
        });
      }
      if (spec.minZoom) {
        var on = z >= spec.minZoom;
        layer.eachLayer(function (l) { l.options.interactive = on; });
        layer.setStyle(on ? base : { stroke: false, fill: false });
      }
    };
    layer.on("add", function () { if (gis.map) gis.zoomed[spec.key](); });
  }

  /* permanent Chinese names of zones, thinned so that none overlaps */
  gis.labelGroups = gis.labelGroups || {};
  function zoneLabels(layer, spec) {
    var lab = spec.labels;
    if (!lab) return;
    var grp = L.layerGroup();
    var feats = layer.getLayers();
    lab.text.forEach(function (t, i) {
      if (t === null || t === undefined || t === "") return;
      var span = el("span", "gis-label gis-label-" + spec.key, String(t));
      var m = L.marker([lab.y[i], lab.x[i]], {
        icon: L.divIcon({ className: "gis-label-icon", html: span, iconSize: null }),
        pane: "gisLabels", keyboard: false, rank: lab.rank || 0 });
      m.on("click", function () { if (feats[i]) feats[i].openPopup(m.getLatLng()); });
      grp.addLayer(m);
    });
    gis.labelGroups[spec.key] = { group: grp, min: lab.minZoom, max: lab.maxZoom, rank: lab.rank || 0 };
    var update = function () {
      var map = gis.map;
      if (!map) return;
      var z = map.getZoom(), want = map.hasLayer(layer) && z >= lab.minZoom && z <= lab.maxZoom;
      if (want && !map.hasLayer(grp)) grp.addTo(map);
      if (!want && map.hasLayer(grp)) map.removeLayer(grp);
      gis.thinLabels();
    };
    var prev = gis.zoomed[spec.key];
    gis.zoomed[spec.key] = function () { if (prev) prev(); update(); };
    layer.on("add remove", function () { setTimeout(update, 0); });
  }

  gis.thinLabels = function () {
    var map = gis.map;
    if (!map) return;
    var groups = Object.keys(gis.labelGroups).map(function (k) { return gis.labelGroups[k]; })
      .sort(function (a, b) { return a.rank - b.rank; });
    var taken = [];
    groups.forEach(function (g) {
      if (!map.hasLayer(g.group)) return;
      g.group.eachLayer(function (m) {
        var e = m.getElement();
        if (!e) return;
        e.style.visibility = "visible";
        var r = e.firstChild ? e.firstChild.getBoundingClientRect() : e.getBoundingClientRect();
        var hit = taken.some(function (o) {
          return !(r.right + 4 < o.left || r.left - 4 > o.right || r.bottom + 2 < o.top || r.top - 2 > o.bottom);
        });
        if (hit) e.style.visibility = "hidden"; else taken.push(r);
      });
    });
  };

  gis.dataLayer = function (spec) {
    var layer = spec.kind === "points" ? pointLayer(spec) : polygonLayer(spec);
    if (spec.fillClickZoom && gis.map) gis.fillClick(gis.map, spec.key, spec.fillClickZoom);
    gis.layers[spec.key] = layer;
    gis.specs = gis.specs || {};
    gis.specs[spec.key] = spec;
    if (spec.kind !== "points") { zoomBehaviour(layer, spec); zoneLabels(layer, spec); }
    return layer;
  };

  /* One search over every layer of the map: names (firm, platform, park, township),
   * credit code, parcel number, block id.  A hit is {key, i, label, exact}. */
  gis.searchKeys = [["name", 0], ["name_zh", 0], ["uscc", 1], ["block_id", 1], ["parcel_id", 1],
                    ["BSM", 1]];
  gis.find = function (text, most) {
    text = String(text || "").trim();
    most = most || 12;
    if (!text) return [];
    var hits = [], seen = {}, low = text.toLowerCase();
    Object.keys(gis.specs || {}).forEach(function (key) {
      var spec = gis.specs[key], props = spec.props || {};
      gis.searchKeys.forEach(function (sk) {
        var col = props[sk[0]];
        if (!col) return;
        for (var i = 0; i < col.length; i++) {
          var v = col[i];
          if (v === null || v === undefined || v === "") continue;
          v = String(v);
          var lv = v.toLowerCase(), exact = lv === low;
          // names match anywhere, codes and numbers from their start (or exactly)
          if (!(exact || (sk[1] === 0 ? lv.indexOf(low) >= 0 : lv.indexOf(low) === 0))) continue;
          var id = key + ":" + i;
          if (seen[id]) continue;
          seen[id] = true;
          var title = props._title ? props._title[i] : (spec.title && props[spec.title] ? props[spec.title][i] : v);
          var label = sk[1] === 0 ? v : v + " · " + String(title);
          // the feature's own id (its popup title says it), not the parcel a firm is on
          var own = sk[1] === 0 || spec.title === sk[0] || String(title).indexOf(v) >= 0;
          hits.push({ key: key, i: i, label: label, exact: exact, own: own ? 1 : 0 });
        }
      });
    });
    // exact first, then where the text is the feature's own id (a block, not its parcels)
    hits.sort(function (a, b) {
      return (b.exact - a.exact) || (b.own - a.own) || (a.label.length - b.label.length);
    });
    return hits.slice(0, most);
  };

  /* Show a hit: its layer on, zoom to it, its popup open. */
  gis.open = function (hit, done) {
    var map = gis.map, layer = gis.layers[hit.key], spec = gis.specs[hit.key];
    if (!map || !layer) return false;
    if (!map.hasLayer(layer)) map.addLayer(layer);
    if (spec.kind === "points") {
      var m = layer._gisMarkers[hit.i];
      if (gis.pending[hit.key] || !layer.hasLayer(m)) {  // a clustered layer just put on: still loading
        hit.tries = (hit.tries || 0) + 1;
        if (hit.tries < 200) setTimeout(function () { gis.open(hit, done); }, 50);
        return true;
      }
      layer.zoomToShowLayer(m, function () { m.openPopup(); if (done) done(); });
      return true;
    }
    var f = layer.getLayers()[hit.i];
    if (!f) return false;
    var z = Math.max(spec.minZoom || 0, Math.min(map.getBoundsZoom(f.getBounds()), 17));
    var at = f.getBounds().getCenter();
    if (f.getLatLngs && L.Polygon && f instanceof L.Polygon && !f.getBounds().contains(at)) at = f.getBounds().getNorthWest();
    map.once("moveend", function () { f.openPopup(at); if (done) done(); });
    map.setView(f.getBounds().getCenter(), z);
    return true;
  };

  /* The search box of every map (leaflet-search over gis.find). */
  gis.searchAll = function (map, opts) {
    var found = {};
    var ctl = new L.Control.Search({
      sourceData: function (text, cb) {
        var recs = {};
        gis.find(text, 12).forEach(function (h) {
          var ll = L.latLng(0, 0);
          ll.hit = h;
          recs[h.label] = ll;
        });
        found = recs;
        cb(recs);
        return { abort: function () {} };
      },
      formatData: function (recs) { return recs; },
      filterData: function (text, recs) { return recs; },
      initial: false, zoom: 17, minLength: 1, autoCollapse: false,
      textPlaceholder: opts.placeholder, textErr: opts.notFound, textCancel: opts.cancel,
      position: "topleft", marker: false,
      buildTip: function (text) { return el("a", null, text); },
      moveToLocation: function (latlng) { if (latlng && latlng.hit) gis.open(latlng.hit); },
    });
    map.addControl(ctl);
    var btn = ctl._button || ctl._container.querySelector(".search-button");
    if (btn) { btn.setAttribute("title", opts.placeholder); btn.setAttribute("aria-label", opts.placeholder); }
    if (ctl._input) ctl._input.setAttribute("aria-label", opts.placeholder);
    var cancel = ctl._cancel || ctl._container.querySelector(".search-cancel");
    if (cancel) { cancel.setAttribute("title", opts.cancel); cancel.setAttribute("aria-label", opts.cancel); }
    L.DomEvent.on(ctl._input, "input", function (e) {
      if (e.isComposing) return;
      ctl._handleKeypress({ keyCode: 0, type: "input" });
    });
    gis.searchControl = ctl;
    return ctl;
  };

  /* A link such as overview.html#q=稠江街道 (the report links to the maps so) opens that
   * feature once the map is ready; a number (credit code, parcel, block) must match exactly. */
  gis.openHash = function () {
    var h = window.location.hash || "";
    var m = /^#q=(.+)$/.exec(h);
    if (!m) return;
    var text;
    try { text = decodeURIComponent(m[1]); } catch (e) { return; }
    var tries = 0;
    var go = function () {
      if (!gis.isReady() && tries++ < 100) { setTimeout(go, 100); return; }
      var hits = gis.find(text, 50).filter(function (x) { return x.exact; });
      if (hits.length) gis.open(hits[0]);
    };
    setTimeout(go, 0);
  };
  window.addEventListener("hashchange", function () { gis.openHash(); });

  /* Zones whose inside answers a click up to a zoom (renewal blocks at 16): a class on the
   * map container lets their fill catch the click (CSS), above it the parcels answer. */
  gis.fillClick = function (map, key, maxZoom) {
    var cls = "gis-fillclick-" + key;
    var sync = function () { L.DomUtil[map.getZoom() <= maxZoom ? "addClass" : "removeClass"](map.getContainer(), cls); };
    map.on("zoomend", sync);
    map.whenReady(sync);
  };

  /* Leaflet's default marker images given as data: URIs (nothing requested next to the page). */
  gis.markerImages = function (urls) {
    L.Icon.Default.mergeOptions(urls);
    L.Icon.Default.prototype.options.imagePath = "";
  };

  /* leaflet-measure styles its vertices through their SVG path: while measuring, new vector
   * layers of a canvas-preferring map are drawn in SVG (else every click throws). */
  gis.measureInSvg = function () {
    var M = L.Control.Measure;
    if (!M || M.prototype._gisSvg) return;
    // the handlers are looked up when a measurement starts (not when the control was added)
    ["_handleMeasureClick", "_handleMeasureMove", "_handleMeasureDoubleClick"].forEach(function (name) {
      var fn = M.prototype[name];
      if (!fn) return;
      M.prototype[name] = function () {
        var map = this._map, prev = map.options.renderer;
        map.options.renderer = this._gisSvgRenderer || (this._gisSvgRenderer = L.svg());
        try { return fn.apply(this, arguments); } finally { map.options.renderer = prev; }
      };
    });
    M.prototype._gisSvg = true;
  };

  /* Controls' tooltips in the map's language (Leaflet and its plugins write English). */
  gis.chineseControls = function (map, t) {
    var put = function (sel, text) {
      Array.prototype.forEach.call(map.getContainer().querySelectorAll(sel), function (e) {
        e.setAttribute("title", text);
        e.setAttribute("aria-label", text);
      });
    };
    var run = function () {
      put(".leaflet-control-zoom-in", t.zoom_in);
      put(".leaflet-control-zoom-out", t.zoom_out);
      put(".leaflet-control-layers-toggle", t.layers);
      var fs = map.getContainer().querySelector(".leaflet-control-fullscreen-button, .leaflet-fullscreen-button");
      if (fs && !fs.getAttribute("aria-label")) fs.setAttribute("aria-label", fs.getAttribute("title") || t.fullscreen);
    };
    setTimeout(run, 0);
    map.whenReady(run);
  };

  gis.register = function (key, layer, n) {
    gis.layers[key] = layer;
    if (n !== undefined) gis.counts[key] = n;
  };

  /* A legend control bound to a layer: shown while the layer is on the map. */
  gis.legend = function (map, layer, spec) {
    var ctl = L.control({ position: spec.position || "topright" });
    ctl.onAdd = function () {
      var box = el("div", "gis-legend leaflet-bar");
      box.setAttribute("data-gis-legend", spec.key);
      var single = spec.entries && spec.entries.length === 1 && spec.entries[0][1] === spec.title;
      if (!single) box.appendChild(el("div", "gis-legend-title", spec.title));
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
          row.appendChild(el("span", single ? "gis-legend-label gis-legend-title" : "gis-legend-label", e[1]));
          box.appendChild(row);
        });
      }
      if (spec.note) box.appendChild(el("div", "gis-legend-note", spec.note));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    gis.legends[spec.key] = ctl;
    // shown while the layer is on the map and, for a county-only fill, below street zoom
    var want = function () {
      var lspec = (gis.specs || {})[spec.key] || {};
      var on = map.hasLayer(layer);
      if (lspec.countyFill) on = on && map.getZoom() < gis.detailZoom;
      return on;
    };
    var sync = function () {
      var on = want();
      if (on && !ctl._map) ctl.addTo(map);
      if (!on && ctl._map) ctl.remove();
    };
    if (spec.shown) ctl.addTo(map);
    map.on("overlayadd overlayremove zoomend", sync);
    layer.on("add remove", function () { setTimeout(sync, 0); });
    return ctl;
  };

  /* A text note on the map (e.g. "aggregated to hexagons"). */
  gis.note = function (map, text, position) {
    var ctl = L.control({ position: position || "bottomleft" });
    ctl.onAdd = function () { return el("div", "gis-note leaflet-bar", text); };
    ctl.addTo(map);
    return ctl;
  };

  /* Map furniture: north arrow */
  gis.northArrow = function (map, text) {
    var ctl = L.control({ position: "bottomleft" });
    ctl.onAdd = function () {
      var box = el("div", "gis-north leaflet-bar");
      box.setAttribute("title", text);
      box.innerHTML = '<svg width="26" height="34" viewBox="0 0 26 34" aria-hidden="true">' +
        '<polygon points="13,2 22,30 13,24 4,30" fill="#333"/><polygon points="13,2 13,24 4,30" fill="#fff" stroke="#333" stroke-width="1"/></svg>';
      box.appendChild(el("div", "gis-north-text", text));
      return box;
    };
    ctl.addTo(map);
    return ctl;
  };

  /* Enterprise-name search (leaflet-search), tips built with textContent. */
  gis.search = function (map, layer, opts) {
    var ctl = new L.Control.Search({
      layer: L.layerGroup(), propertyName: opts.property, initial: false, zoom: 17,
      textPlaceholder: opts.placeholder, textErr: opts.notFound, textCancel: opts.cancel,
      position: "topleft", marker: { icon: false, circle: { radius: 14, color: "#00ffff", weight: 3 } },
      buildTip: function (text) { return el("a", null, text); },
      moveToLocation: function (latlng, title, m) {
        if (!m.hasLayer(layer)) m.addLayer(layer);  // the layer control and legend follow
        var f = latlng.layer;
        if (layer.zoomToShowLayer && f) {
          layer.zoomToShowLayer(f, function () { f.openPopup(); });
        } else if (f && f.getBounds) {
          m.fitBounds(f.getBounds(), { maxZoom: 17 });
          m.once("moveend", function () { f.openPopup(f.getBounds().getCenter()); });
        } else { m.setView(latlng, 17); }
      },
    });
    // leaflet-search puts the layer it is given on the map: give it an empty one and
    // search the real layer, so a hidden layer stays hidden until the planner opens the
    // search box (a clustered layer is searched while on the map)
    map.addControl(ctl);
    ctl._layer = layer;
    ctl.on("search:expanded", function () { if (!map.hasLayer(layer)) map.addLayer(layer); });
    // Chinese typed through an input method arrives as "input" events (keyCode 229 or no
    // keyup at all): search on those too, not only on key-ups
    L.DomEvent.on(ctl._input, "input", function (e) {
      if (e.isComposing) return;
      ctl._handleKeypress({ keyCode: 0, type: "input" });
    });
    gis.searchControl = ctl;
    return ctl;
  };
})();

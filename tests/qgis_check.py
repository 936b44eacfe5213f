"""Open a results GeoPackage with PyQGIS as a planner's QGIS would; report what it shows.

Run with the system Python that has PyQGIS (Debian ``python3-qgis
qgis-providers``), not the project's venv::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_check.py results.gpkg out/qgis

Prints one JSON object: per layer whether it is valid, its renderer type,
its categories or ranges (value, label, colour, shown), the field aliases,
whether labels are on; the QGIS version and the PNGs written
(``<prefix>_<view>.png``, one per :data:`VIEWS`: firms and parcels by class
and renewal candidates close up on the largest platform, renewal blocks and
hot spots over the county).  Imports nothing from the ``gis`` package.
"""

import json
import os
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

LAYERS = ["enterprises", "parcels", "platforms", "parks", "townships", "renewal_parcels",
          "renewal_blocks", "hotspots", "clusters", "contracts"]
#: the PNGs drawn: view -> (layers, top first; extent)
VIEWS = {
    "classes": (["enterprises", "platforms", "townships", "parcels"], "zoom"),
    "renewal": (["platforms", "townships", "renewal_parcels"], "zoom"),
    "blocks": (["platforms", "townships", "renewal_blocks"], "county"),
    "hotspots": (["platforms", "parks", "townships", "hotspots"], "county"),
}


def describe(layer):
    """Renderer, categories/ranges, aliases and labelling of a loaded layer."""
    r = layer.renderer()
    out = {"valid": layer.isValid(), "features": layer.featureCount(),
           "renderer": r.type() if r else None, "labels": layer.labelsEnabled(),
           "aliases": {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())}}
    if r is not None and r.type() == "categorizedSymbol":
        out["attr"] = r.classAttribute()
        out["categories"] = [[str(c.value()), c.label(), c.symbol().color().name(), c.renderState()]
                             for c in r.categories()]
    if r is not None and r.type() == "graduatedSymbol":
        out["attr"] = r.classAttribute()
        out["ranges"] = [[g.lowerValue(), g.upperValue(), g.label(), g.symbol().color().name()]
                         for g in r.ranges()]
    if layer.labelsEnabled() and layer.labeling() is not None:
        out["label_field"] = layer.labeling().settings().fieldName
    return out


def render(layers, extent, png):
    """Draw ``layers`` (top first) over ``extent`` into a 1400 px PNG; return its path."""
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[0].crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(1400, 1400))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(png, "png")
    return png


def main(path, prefix):
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    report = {"qgis": Qgis.QGIS_VERSION, "layers": {}}
    loaded = {}
    for name in LAYERS:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")  # loads the default style
        if not layer.isValid():
            report["layers"][name] = {"valid": False}
            continue
        loaded[name] = layer
        report["layers"][name] = describe(layer)
    if "townships" in loaded and "platforms" in loaded:
        county = QgsRectangle(loaded["townships"].extent())
        county.scale(1.03)
        # the largest platform, close up
        biggest = max(loaded["platforms"].getFeatures(), key=lambda f: f.geometry().area())
        zoom = QgsRectangle(biggest.geometry().boundingBox())
        zoom.scale(0.8)
        report["png"] = {}
        for view, (names, where) in VIEWS.items():
            layers = [loaded[n] for n in names if n in loaded]
            out = f"{prefix}_{view}.png"
            report["png"][view] = render(layers, county if where == "county" else zoom, out)
    print(json.dumps(report, ensure_ascii=False), flush=True)
    os._exit(0)  # QgsApplication.exitQgis() crashes on teardown in offscreen mode (QGIS 3.22)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

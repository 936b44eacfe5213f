"""Loading and validation: bureau files in, clean tables and a rejects ledger out.

Enterprise tables (.xlsx/.csv, Chinese or English headers, a title row or
several above the header) go through :func:`load_enterprises`; vector layers
(GeoPackage, Shapefile in GBK with or without .cpg, FileGDB, GeoJSON,
GeoParquet) through :func:`read_layer`, :func:`read_landuse` (三调 DLTB) and
:func:`read_plan` (用地用海).  Everything comes out in EPSG:4549 with a
``source_row`` column; every row that did not make it is in the
:class:`gis.ledger.Ledger` with a reason, so that
``rows read == loaded + rejected`` always holds.

Numbers written as text
-----------------------
``"1,234.5"`` and full-width ``"１２３"`` are read as numbers; blanks and
``-`` are missing.  A unit written in the cell is converted to the
column's unit with the ``io.unit_factors`` setting (``"300元"`` under
税收(万元) is 0.03, ``"10000平方米"`` under 用地面积(亩) is 15); a unit that
cannot apply (``"2公顷"`` under 税收) is rejected as ``wrong_unit``.  万,
十万, 百万, 千万 and 亿 multiply the unit that follows, or the column's unit;
in columns whose unit already starts with 万 (万元, 万千瓦时) ``"12.5万"`` is
12.5 万元 (how planners write it) and ``"3千万"`` 3 000 万元.  A header that
names another unit (``税收(元)``, ``用地面积(平方米)``) is converted with the
same factors.  Percentages (``"5%"``) are refused (reason ``percent``):
no enterprise column is a ratio.  Excel error cells (``#DIV/0!``, ``#N/A``,
``#VALUE!``, ``#REF!``) are ledgered as ``excel_error`` in any column;
totals rows (合计, 小计, 其中) as ``totals_row``.  Coordinates in
degrees-minutes-seconds (``120°04'30"``, ``29度18分``) are read.
"""

from __future__ import annotations

from .settings import settings_problems  # noqa: F401
from .tables import (  # noqa: F401
    TABLE_SUFFIXES, VECTOR_SUFFIXES, column_mapping, is_table, normalise_header, read_table,
)
from .numbers import EXCEL_ERRORS, INVISIBLE, excel_errors, number_cells, parse_numbers  # noqa: F401
from .enterprises import base_coords, dms_degrees, load_enterprises, resolve_coords  # noqa: F401
from .vectors import (  # noqa: F401
    code_text, layer_kind, no_sidecar_files, read_landuse, read_layer, read_plan,
)
from .validation import coordinate_report, validate_file  # noqa: F401

__all__ = [
    "settings_problems",
    "TABLE_SUFFIXES",
    "VECTOR_SUFFIXES",
    "normalise_header",
    "read_table",
    "column_mapping",
    "parse_numbers",
    "dms_degrees",
    "number_cells",
    "excel_errors",
    "EXCEL_ERRORS",
    "load_enterprises",
    "resolve_coords",
    "base_coords",
    "read_layer",
    "read_landuse",
    "code_text",
    "read_plan",
    "is_table",
    "layer_kind",
    "validate_file",
    "coordinate_report",
    "no_sidecar_files",
    "INVISIBLE",
]

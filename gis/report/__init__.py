"""The yearly 亩均 report: an Excel workbook and a one-file HTML report.

This module publishes tables that are already computed (by
:mod:`gis.efficiency`); it computes no indicator itself.  Every table is a
plain DataFrame with the toolkit's internal English column names; a *label
map* (internal name -> Chinese header with unit, e.g. ``"tax_per_mu" ->
"亩均税收(万元/亩)"``) turns them into what a planner reads.

* :func:`write_workbook`: an ``.xlsx`` with a 汇总 (run summary) sheet first,
  Chinese headers, frozen header row, number formats per column kind,
  column widths fitted to the content (CJK characters count double) and an
  autofilter on every sheet.
* :func:`write_html_report`: ONE self-contained HTML file (no external
  request: charts inlined as ``data:`` URIs, CSS inline, a map embedded with
  ``<iframe srcdoc>``); every value HTML-escaped.
* :func:`write_report`: both, for the yearly batch job.

Number formats follow column *kinds* (see ``gis/defaults/report.yaml``):
``wan_yuan`` and ``mu`` with 2 decimals, ``share`` (fractions 0..1) as %,
``percent`` (values already in %) as is, ``count`` as integers, ``score``
with 1 decimal.  :func:`column_kinds` says which kind each column gets.
"""

from __future__ import annotations

from .texts import CLASS_NAMES, REPORT_LABELS, SUMMARY_LABELS, report_labels  # noqa: F401
from .workbook import (  # noqa: F401
    EXCEL_MAX_ROWS, column_kinds, display_width, summary_frame, workbook_path, write_workbook,
)
from .html_page import external_references, html_table, write_html_report  # noqa: F401
from .document import write_report  # noqa: F401

__all__ = [
    "REPORT_LABELS",
    "SUMMARY_LABELS",
    "CLASS_NAMES",
    "EXCEL_MAX_ROWS",
    "report_labels",
    "column_kinds",
    "display_width",
    "summary_frame",
    "write_workbook",
    "workbook_path",
    "html_table",
    "external_references",
    "write_html_report",
    "write_report",
]

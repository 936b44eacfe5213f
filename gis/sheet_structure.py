"""The structure of a firm sheet below its header: repeated headers and second tables.

A bureau sheet is not always one table.  Below the firms may come a blank
row or two, a title (``二、已注销企业``), a repeated header and rows of
another kind (deregistered firms, a notes block); a header printed on every
page repeats in the middle of one table.  These rows are not firms:

* a row naming as many known column names as a header is a **repeated
  header** (``repeated_header``) when the table goes on right below it;
* a title row (one text cell) after a blank row, or a repeated header after
  a blank row or a title, starts a **second table**: that row and every
  row below it are ledgered as ``second_table`` (with the row it starts
  at and its title), never read as more firms.
"""

from __future__ import annotations

import numpy as np

__all__ = ["structure_rows"]


def _title(cells):
    """True where a row holds exactly one non-blank cell and it is text."""
    out = np.zeros(len(cells), dtype=bool)
    for i, row in enumerate(cells):
        filled = [v for v in row if v is not None and not (isinstance(v, float) and v != v)
                  and not (isinstance(v, str) and not v.strip())]
        out[i] = len(filled) == 1 and isinstance(filled[0], str)
    return out


def structure_rows(cells, rows, heads):
    """Which data rows are a repeated header or part of a second table.

    Parameters
    ----------
    cells : 2-D object array
        The data rows (blank rows already dropped).
    rows : array of int
        Their Excel row numbers (a gap means blank rows in between).
    heads : array of bool
        Rows that name as many known column names as a header does.

    Returns
    -------
    list of (mask, reason, detail)
        ``reason`` is ``"second_table"`` or ``"repeated_header"``.

    Examples
    --------
    >>> import numpy as np
    >>> cells = np.array([["甲", 1], ["乙", 2], ["已注销企业", None], ["名称", "税收"], ["丙", 3]], dtype=object)
    >>> out = structure_rows(cells, np.array([3, 4, 6, 7, 8]), np.array([0, 0, 0, 1, 0], dtype=bool))
    >>> [(r, m.tolist(), d) for m, r, d in out]
    [('second_table', [False, False, True, True, True], '第6行起 / from row 6: 已注销企业')]
    """
    rows = np.asarray(rows)
    heads = np.asarray(heads, dtype=bool)
    n = len(rows)
    out = []
    if n == 0:
        return out
    gap = np.zeros(n, dtype=bool)
    gap[1:] = np.diff(rows) > 1
    title = _title(cells)
    title[0] = False  # the first row under the header is data (or its own problem)
    after_title = np.zeros(n, dtype=bool)
    after_title[1:] = title[:-1]
    start = np.flatnonzero((title & gap) | (heads & (gap | after_title)))
    second = np.zeros(n, dtype=bool)
    if len(start):
        s = int(start[0])
        second[s:] = True
        label = next((str(v).strip() for v in cells[s] if isinstance(v, str) and v.strip()), "") if title[s] else ""
        detail = f"第{rows[s]}行起 / from row {rows[s]}" + (f": {label}" if label else "")
        out.append((second, "second_table", detail))
    repeated = heads & ~second
    if repeated.any():
        out.append((repeated, "repeated_header", ""))
    return out

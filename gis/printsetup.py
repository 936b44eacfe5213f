"""Print setup of the report workbook's sheets (XlsxWriter page setup).

A planner prints 汇总 and the tables: each sheet is set to A4, landscape
when it is wide, fitted to the page width (as many pages down as needed),
its header row repeated on every page, the marking (内部资料 / 公开版) and
the sheet's title in the page header and 第 N 页，共 M 页 in the footer.

* :func:`print_setup`: set up one XlsxWriter worksheet.
"""

from __future__ import annotations

__all__ = ["WIDE_COLUMNS", "header_text", "print_setup"]

#: sheets with more columns than this print landscape
WIDE_COLUMNS = 6


def _amp(text):
    """Text for an Excel header/footer: ``&`` doubled (a single one starts a code)."""
    return str(text).replace("&", "&&")


def header_text(marking, title):
    """The page header: marking on the left (bold), the sheet's title in the centre.

    >>> header_text("内部资料 · 注意保密", "平台&园区")
    '&L&"-,Bold"内部资料 · 注意保密&C平台&&园区'
    """
    left = f'&L&"-,Bold"{_amp(marking)}' if marking else ""
    return f"{left}&C{_amp(title)}"


def print_setup(ws, n_columns, title, marking=None, header_rows=1, wide=WIDE_COLUMNS):
    """Set up ``ws`` for printing.

    Parameters
    ----------
    ws : xlsxwriter.worksheet.Worksheet
    n_columns : int
        Columns of the sheet (landscape above ``wide``).
    title : str
        The sheet's title, in the page header.
    marking : str, optional
        The marking (:func:`gis.confidential.marking`), in the page header.
    header_rows : int
        Rows repeated at the top of every printed page (0: none).
    wide : int
    """
    ws.set_paper(9)  # A4
    if n_columns > wide:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)  # one page wide, as many pages down as needed
    if header_rows:
        ws.repeat_rows(0, header_rows - 1)
    ws.set_header(header_text(marking, title))
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)

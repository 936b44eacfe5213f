"""A withheld figure must not be recomputable from the figures a public edition shows.

The 公开版 hides the confidential columns (:func:`gis.confidential.public_frame`);
a column computed from a hidden one gives it back (规上产值 = 2030年目标 −
差距, or 目标 × 完成进度).  :data:`DERIVED` says which columns are computed
from which; :func:`drop_derived` drops those whose source was dropped, and
:func:`recomputable` checks a public report against the internal one: for
every figure the internal report shows and the public one does not, no
single figure or pair of figures shown in the same row gives it back by
+, −, ×, ÷ or a percentage.

* :func:`drop_derived`: the public table without the columns computed from hidden ones.
* :func:`report_tables`: the tables of an HTML report, by caption.
* :func:`recomputable`: the withheld figures a public report gives back.
"""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

__all__ = ["DERIVED", "drop_derived", "report_tables", "recomputable"]

#: column -> the columns it is computed from (a derived column goes when one of them goes)
DERIVED = {
    "gap_yi": ("output_yi",),
    "progress_pct": ("output_yi", "current"),
    "gap": ("current",),
}


def drop_derived(public, original):
    """``public`` without the columns computed from a column it no longer has.

    Parameters
    ----------
    public : pandas.DataFrame
        The public form of ``original`` (some columns dropped).
    original : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"chain": ["甲"], "output_yi": [484.3], "target_yi": [700.0],
    ...                   "gap_yi": [215.7], "progress_pct": [69.19]})
    >>> list(drop_derived(t.drop(columns="output_yi"), t).columns)
    ['chain', 'target_yi']
    >>> list(drop_derived(t, t).columns)
    ['chain', 'output_yi', 'target_yi', 'gap_yi', 'progress_pct']
    """
    gone = set(map(str, original.columns)) - set(map(str, public.columns))
    derived = [c for c in public.columns if set(DERIVED.get(str(c), ())) & gone]
    return public.drop(columns=derived) if derived else public


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.caption, self._h2, self._cell, self._row, self._table = {}, "", False, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._h2, self.caption = True, ""
        elif tag == "table":
            self._table = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "h2":
            self._h2 = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            name, i = self.caption, 2
            while name in self.tables:
                name, i = f"{self.caption} ({i})", i + 1
            self.tables[name] = self._table
            self._table = None

    def handle_data(self, data):
        if self._h2:
            self.caption += data
        if self._cell is not None:
            self._cell += data


def report_tables(text):
    """The tables of an HTML report: ``{caption: [header row, row, ...]}`` of cell texts."""
    p = _Tables()
    p.feed(text)
    p.close()
    return p.tables


_NUM = re.compile(r"^[-−]?[\d,]*\.?\d+%?$")


def _number(cell):
    s = cell.replace(",", "").replace("−", "-").rstrip("%").strip()
    if not s or not _NUM.match(cell.strip().replace(" ", "")):
        return None
    try:
        return float(s)
    except ValueError:
        return None


def _decimals(cell):
    s = cell.rstrip("%")
    return len(s.split(".")[1]) if "." in s else 0


def _gives_back(w, tol, shown):
    for a in shown:
        if abs(a - w) <= tol:
            return f"{a:g}"
    for a, b in itertools.permutations(shown, 2):
        for how, v in (("+", a + b), ("−", a - b), ("×", a * b), ("×%", a * b / 100),
                       ("÷", a / b if b else None), ("÷%", a / b * 100 if b else None)):
            if v is not None and abs(v - w) <= tol:
                return f"{a:g} {how} {b:g}"
    return None


def recomputable(internal_html, public_html, precision=0.005):
    """The figures withheld from a public report that its shown figures give back.

    For each table of the public report, each row (matched to the internal
    row by its first cell) and each column the internal report shows but the
    public one does not: is the withheld number equal (to the internal
    report's rounding) to a number shown in the public row, or to ``a + b``,
    ``a − b``, ``a × b``, ``a ÷ b``, ``a × b ÷ 100`` or ``a ÷ b × 100`` of
    two of them?

    Parameters
    ----------
    internal_html, public_html : str
        The two editions of one report.
    precision : float
        Withheld figures shown coarser than this share of their value are
        not checked (a rank 3, a count 5: two numbers of any row give those
        back by chance; 484.30 is given back only by its own computation).

    Returns
    -------
    list of tuple
        ``(table, row, column, withheld value, how)``: empty when nothing is given back.
    """
    inner, public = report_tables(internal_html), report_tables(public_html)
    out = []
    for cap, rows in public.items():
        full = inner.get(cap)
        if not full or not rows or not full[0]:
            continue
        shown_cols, all_cols = rows[0], full[0]
        hidden = [j for j, h in enumerate(all_cols) if h not in shown_cols]
        if not hidden:
            continue
        by_key = {r[0]: r for r in full[1:] if r}
        for r in rows[1:]:
            if not r or r[0] not in by_key:
                continue
            shown = [v for v in (_number(c) for c in r[1:]) if v is not None]
            full_row = by_key[r[0]]
            for j in hidden:
                if j >= len(full_row):
                    continue
                w = _number(full_row[j])
                if w is None:
                    continue
                tol = 0.51 * 10 ** -_decimals(full_row[j]) + 1e-9
                if tol > precision * abs(w):
                    continue
                how = _gives_back(w, tol, shown)
                if how is not None:
                    out.append((cap, r[0], all_cols[j], w, how))
    return out

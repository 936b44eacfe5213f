"""Year-over-year changes of the 亩均 evaluation (two years, joined on USCC).

Inputs are two :func:`gis.efficiency.evaluate` outputs (this year and last
year), each with ``uscc``, ``tax_per_mu`` and ``class``; ``name`` is used
when present.

:func:`year_changes` columns (index ``uscc``, firms of either year):

=========================  ==================================================
name                       this year's name (last year's for firms that left)
status                     ``both`` | ``entered`` (new this year) | ``left``
status_zh                  两年均参评 | 新增 | 退出
tax_per_mu_prev            last year's 亩均税收 (万元/亩)
tax_per_mu                 this year's 亩均税收 (万元/亩)
tax_per_mu_change          this − last (万元/亩)
tax_per_mu_change_pct      change / last × 100 (missing when last ≤ 0)
class_prev, class          A/B/C/D (missing when not graded)
transition                 e.g. ``"B→C"``; ``"新增→A"``, ``"C→退出"``,
                           ``"未定级"`` for an ungraded year
moved                      ``up`` | ``down`` | ``same`` | missing
stayed_c_or_d              in C or D both years (C→C, C→D, D→C, D→D)
stayed_d                   in D both years
=========================  ==================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._errors import ValidationError
from .labels import code_labels, column_labels

__all__ = ["year_changes", "transition_matrix", "matrix_of_changes", "STATUS_ZH", "CHANGE_LABELS_ZH"]

STATUS_ZH = code_labels("change_status")

CHANGE_LABELS_ZH = column_labels("changes", [
    "uscc", "name", "status", "status_zh", "tax_per_mu_prev", "tax_per_mu", "tax_per_mu_change",
    "tax_per_mu_change_pct", "class_prev", "class", "transition", "moved", "moved_zh",
    "stayed_c_or_d", "stayed_d"])

_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}


def _keyed(df, which):
    problems = [f"column '{c}' is missing" for c in ("uscc", "tax_per_mu", "class")
                if c not in df.columns]
    if problems:
        raise ValidationError(problems, source=which)
    u = df["uscc"].astype(object)
    dup = u.duplicated(keep=False) & u.notna()
    if dup.any():
        raise ValidationError(
            [f"duplicate uscc in {int(dup.sum())} rows (first: {sorted(u[dup].astype(str).unique())[:5]})"],
            source=which,
        )
    cols = ["uscc", "tax_per_mu", "class"] + (["name"] if "name" in df.columns else [])
    out = pd.DataFrame(df[cols]).dropna(subset=["uscc"])
    out["uscc"] = out["uscc"].astype(str)
    return out.set_index("uscc")


def year_changes(current, previous):
    """Changes of 亩均税收 and class between two evaluations, joined on USCC.

    Parameters
    ----------
    current, previous : DataFrame
        :func:`gis.efficiency.evaluate` outputs of this year and last year.

    Returns
    -------
    DataFrame indexed by ``uscc`` with the columns in the module docstring;
    firms of both years first, then entered, then left, each by USCC.

    Examples
    --------
    >>> cur = pd.DataFrame({"uscc": ["a", "b"], "tax_per_mu": [12.0, 3.0], "class": ["A", "D"]})
    >>> pre = pd.DataFrame({"uscc": ["a", "b"], "tax_per_mu": [10.0, 4.0], "class": ["B", "C"]})
    >>> year_changes(cur, pre)[["transition", "tax_per_mu_change_pct", "stayed_c_or_d"]].values.tolist()
    [['B→A', 20.0, False], ['C→D', -25.0, True]]
    """
    cur = _keyed(current, "current")
    pre = _keyed(previous, "previous")
    j = cur.join(pre.add_suffix("_prev"), how="outer")
    in_c = j.index.isin(cur.index)
    in_p = j.index.isin(pre.index)
    status = np.select([in_c & in_p, in_c], ["both", "entered"], "left").astype(object)
    name = None
    if "name" in j.columns:
        name = j["name"].where(j["name"].notna(), j.get("name_prev"))
    tcur = pd.to_numeric(j["tax_per_mu"], errors="coerce")
    tpre = pd.to_numeric(j["tax_per_mu_prev"], errors="coerce")
    change = tcur - tpre
    pct = change / tpre.where(tpre > 0) * 100
    c_now = j["class"].astype(object).where(j["class"].notna(), None)
    c_pre = j["class_prev"].astype(object).where(j["class_prev"].notna(), None)
    left_txt = np.where(in_p, c_pre.fillna("未定级").astype(object), "新增")
    right_txt = np.where(in_c, c_now.fillna("未定级").astype(object), "退出")
    transition = pd.Series(left_txt, index=j.index).astype(str) + "→" + pd.Series(
        right_txt, index=j.index).astype(str)
    o_now = c_now.map(_ORDER)
    o_pre = c_pre.map(_ORDER)
    moved = np.select([o_now < o_pre, o_now > o_pre, o_now == o_pre], ["up", "down", "same"], "")
    moved = pd.Series(moved.astype(object), index=j.index).replace("", None)
    cd = {"C", "D"}
    out = pd.DataFrame(
        {
            "name": name if name is not None else pd.Series(None, index=j.index, dtype=object),
            "status": status,
            "status_zh": pd.Series(status, index=j.index).map(STATUS_ZH),
            "tax_per_mu_prev": tpre,
            "tax_per_mu": tcur,
            "tax_per_mu_change": change,
            "tax_per_mu_change_pct": pct,
            "class_prev": c_pre,
            "class": c_now,
            "transition": transition,
            "moved": moved,
            "stayed_c_or_d": (c_now.isin(cd) & c_pre.isin(cd)).astype(bool),
            "stayed_d": ((c_now == "D") & (c_pre == "D")).astype(bool),
        },
        index=j.index,
    )
    order = pd.Series(status, index=j.index).map({"both": 0, "entered": 1, "left": 2})
    out = out.assign(_o=order.to_numpy(), _u=out.index.to_numpy()).sort_values(
        ["_o", "_u"], kind="mergesort").drop(columns=["_o", "_u"])
    out.index.name = "uscc"
    return out


def transition_matrix(current, previous):
    """Counts of firms by last year's class (rows) and this year's (columns).

    Rows ``A, B, C, D, 未定级, 新增`` and columns ``A, B, C, D, 未定级, 退出``
    (未定级: in the table that year but not graded).

    Returns
    -------
    DataFrame of int, index name ``上年``, columns name ``本年``.

    Examples
    --------
    >>> cur = pd.DataFrame({"uscc": ["a", "b", "c"], "tax_per_mu": 1.0, "class": ["A", "D", "B"]})
    >>> pre = pd.DataFrame({"uscc": ["a", "b", "d"], "tax_per_mu": 1.0, "class": ["B", "D", "C"]})
    >>> m = transition_matrix(cur, pre)
    >>> int(m.loc["B", "A"]), int(m.loc["D", "D"]), int(m.loc["新增", "B"]), int(m.loc["C", "退出"])
    (1, 1, 1, 1)
    """
    return matrix_of_changes(year_changes(current, previous))


def matrix_of_changes(ch):
    """The class transition matrix of a :func:`year_changes` table.

    Returns
    -------
    DataFrame of int, as :func:`transition_matrix`.
    """
    frm = ch["transition"].str.split("→").str[0]
    to = ch["transition"].str.split("→").str[1]
    rows = ["A", "B", "C", "D", "未定级", "新增"]
    cols = ["A", "B", "C", "D", "未定级", "退出"]
    m = pd.crosstab(frm, to).reindex(index=rows, columns=cols, fill_value=0).astype(int)
    m.index.name = "上年"
    m.columns.name = "本年"
    return m

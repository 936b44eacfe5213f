"""Known-answer tests of gis.changes (two years joined on USCC)."""

import numpy as np
import pandas as pd
import pytest

from gis import ValidationError
from gis.changes import transition_matrix, year_changes


def two_years():
    prev = pd.DataFrame({
        "uscc": ["A1", "B1", "C1", "D1", "X1", "N1"],
        "name": ["甲", "乙", "丙", "丁", "戊", "己"],
        "tax_per_mu": [20.0, 10.0, 4.0, 2.0, 8.0, 0.0],
        "class": ["A", "B", "C", "D", "B", None],
    })
    cur = pd.DataFrame({
        "uscc": ["D1", "C1", "B1", "A1", "Y1", "N1"],  # other order on purpose
        "name": ["丁", "丙", "乙", "甲(更名)", "庚", "己"],
        "tax_per_mu": [3.0, 5.0, 8.0, 25.0, 12.0, 6.0],
        "class": ["C", "D", "C", "A", "B", "B"],
    })
    return cur, prev


def test_year_changes_values():
    cur, prev = two_years()
    ch = year_changes(cur, prev)
    assert ch.loc["A1", "tax_per_mu_change"] == pytest.approx(25 - 20)
    assert ch.loc["A1", "tax_per_mu_change_pct"] == pytest.approx((25 - 20) / 20 * 100)
    assert ch.loc["B1", "tax_per_mu_change_pct"] == pytest.approx(-20.0)
    assert ch.loc["D1", "tax_per_mu_change_pct"] == pytest.approx(50.0)
    # last year 0 -> no percentage
    assert np.isnan(ch.loc["N1", "tax_per_mu_change_pct"])
    assert ch.loc["A1", "name"] == "甲(更名)"
    assert ch.loc["B1", "transition"] == "B→C" and ch.loc["B1", "moved"] == "down"
    assert ch.loc["D1", "transition"] == "D→C" and ch.loc["D1", "moved"] == "up"
    assert ch.loc["A1", "moved"] == "same"
    assert ch.loc["N1", "transition"] == "未定级→B"
    assert ch.loc["Y1", "transition"] == "新增→B" and ch.loc["Y1", "status"] == "entered"
    assert ch.loc["X1", "transition"] == "B→退出" and ch.loc["X1", "status_zh"] == "退出"
    assert ch.loc["X1", "name"] == "戊"


def test_stayed_in_c_or_d():
    cur, prev = two_years()
    ch = year_changes(cur, prev)
    # C→D and D→C stayed in C/D; B→C did not; nobody D→D
    assert sorted(ch.index[ch["stayed_c_or_d"]]) == ["C1", "D1"]
    assert not ch["stayed_d"].any()
    cur2 = cur.assign(**{"class": ["D", "D", "C", "A", "B", "B"]})
    ch2 = year_changes(cur2, prev)
    assert list(ch2.index[ch2["stayed_d"]]) == ["D1"]


def test_order_and_counts():
    cur, prev = two_years()
    ch = year_changes(cur, prev)
    # both years (by USCC), then entered, then left
    assert list(ch.index) == ["A1", "B1", "C1", "D1", "N1", "Y1", "X1"]
    assert (ch["status"] == "both").sum() == 5


def test_transition_matrix():
    cur, prev = two_years()
    m = transition_matrix(cur, prev)
    assert m.loc["A", "A"] == 1 and m.loc["B", "C"] == 1 and m.loc["C", "D"] == 1
    assert m.loc["D", "C"] == 1 and m.loc["未定级", "B"] == 1
    assert m.loc["新增", "B"] == 1 and m.loc["B", "退出"] == 1
    assert m.to_numpy().sum() == 7  # every firm of either year once


def test_duplicate_uscc_refused():
    cur, prev = two_years()
    bad = pd.concat([cur, cur.iloc[[0]]])
    with pytest.raises(ValidationError, match="duplicate uscc"):
        year_changes(bad, prev)

"""Derived figures that several outputs show, each computed in one place.

One fact, one function: the land-unit (图斑) sheet, the ``parcels`` layer of
``results.gpkg``, the maps and the renewal rules read a parcel's figures from
here, so they cannot disagree.

* :func:`firm_parcel_shares` — how a firm's figures are shared among its
  parcels (一企多地): in proportion to the parcels' land (三调 area), or, with
  ``attach.multi_parcel: per_parcel``, as already apportioned per parcel by
  :func:`gis.attach.parcel_units`.
* :func:`parcel_figures` — the land-unit table, now
  :func:`gis.land_figures.land_figures` (own area, Σ of the firms using the
  land, 地块亩均).
* :func:`worst_class` — the worst 亩均 class of the firms on each parcel.
* :func:`previous_class` — last year's class of each firm, joined by its
  credit code (统一社会信用代码), never by parcel.
* :func:`parcel_facts` — per parcel, the facts the renewal rules read
  (firms, tax, value added, floor area, main chain, exemptions, grades).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import load_settings

__all__ = [
    "per_parcel_units",
    "SHARED_COLUMNS",
    "firm_parcel_shares",
    "parcel_units",
    "parcel_figures",
    "worst_class",
    "previous_class",
    "parcel_facts",
]

#: Firm figures shared among a firm's parcels (with ``land_mu``).
SHARED_COLUMNS = ("tax", "value_added", "revenue", "floor_area")

_WORST = {"A": 0, "B": 1, "C": 2, "D": 3}


def per_parcel_units(ev, settings):
    """Whether ``ev`` holds one row per (firm, parcel) unit (``attach.multi_parcel: per_parcel``)."""
    return settings["attach"]["multi_parcel"] == "per_parcel" and "firm" in ev.columns


def firm_parcel_shares(ev, land, settings=None):
    """Each firm's parcels and the share of its figures each one gets.

    Parameters
    ----------
    ev : DataFrame
        Evaluated firms (:func:`gis.pipeline.evaluate_firms`), with
        ``parcel_id`` and, for 一企多地, ``parcel_ids`` (``;``-separated).
    land : Series
        Land (亩) by parcel id (:func:`gis.attach.parcel_land`): a firm's
        figures are shared among its parcels in proportion to it (equal
        shares when none of its parcels has land).
    settings : dict, optional
        With ``attach.multi_parcel: per_parcel`` the rows of ``ev`` are
        already one unit per firm and parcel (figures apportioned by
        :func:`gis.attach.parcel_units`): each keeps its ``parcel_id`` whole.

    Returns
    -------
    DataFrame
        ``unit`` (label in ``ev.index``), ``parcel_id`` (missing for a firm
        without a parcel: it keeps one row, share 1) and ``share``; a
        firm's shares sum to 1.

    Examples
    --------
    >>> ev = pd.DataFrame({"parcel_id": ["p", "q", None], "parcel_ids": ["p;q", "q", None]},
    ...                   index=["甲", "乙", "丙"])
    >>> sh = firm_parcel_shares(ev, pd.Series({"p": 30.0, "q": 10.0}))
    >>> sh["unit"].tolist(), sh["parcel_id"].tolist(), sh["share"].tolist()
    (['甲', '甲', '乙', '丙'], ['p', 'q', 'q', None], [0.75, 0.25, 1.0, 1.0])
    """
    settings = settings or load_settings()
    if per_parcel_units(ev, settings) or "parcel_ids" not in ev.columns:
        ids = ev["parcel_id"]
    else:
        ids = ev["parcel_ids"].where(ev["parcel_ids"].notna(), ev["parcel_id"])
    pids = pd.Series(ids.astype(object).to_numpy(), dtype=object).str.split(";")
    links = pd.DataFrame({"unit": ev.index, "pid": pids.to_numpy()}).explode("pid")
    links = links[links["pid"].isna() | links["pid"].astype(bool)].reset_index(drop=True)
    lz = pd.Series(land)
    lz = lz[~lz.index.duplicated()]
    mu = links["pid"].map(lz).fillna(0.0).where(links["pid"].notna(), 0.0)
    tot = mu.groupby(links["unit"], sort=False).transform("sum")
    n = links.groupby("unit", sort=False)["pid"].transform("size")
    share = np.where(tot > 0, mu / tot.where(tot > 0, 1.0), 1.0 / n)
    return pd.DataFrame({"unit": links["unit"].to_numpy(),
                         "parcel_id": pd.Series(np.where(links["pid"].notna(),
                                                         links["pid"].astype(object), None),
                                                dtype=object),
                         "share": share.astype(float)})


def parcel_units(ev, land, settings=None):
    """One row per firm and parcel, the firm's figures multiplied by its share.

    ``land_mu`` and :data:`SHARED_COLUMNS` are multiplied by the share of
    :func:`firm_parcel_shares`; every other column (class, scope, chain...)
    is the firm's.  Summing a column over the rows gives the firms' total.

    Returns
    -------
    DataFrame
        ``ev``'s columns (no geometry) with ``parcel_id`` replaced by the
        unit's parcel, plus ``unit`` and ``share``; a fresh RangeIndex.
    """
    sh = firm_parcel_shares(ev, land, settings)
    base = pd.DataFrame(ev.drop(columns=getattr(ev, "_geometry_column_name", None) or [],
                                errors="ignore"))
    out = base.loc[sh["unit"]].reset_index(drop=True)
    out["parcel_id"] = sh["parcel_id"].to_numpy()
    out["unit"] = sh["unit"].to_numpy()
    out["share"] = sh["share"].to_numpy()
    for c in ("land_mu",) + SHARED_COLUMNS:
        if c in out:
            out[c] = pd.to_numeric(out[c], errors="coerce") * out["share"]
    return out


def worst_class(classes, keys):
    """The worst 亩均 class (D worst) per key; keys without a class are left out.

    Examples
    --------
    >>> worst_class(pd.Series(["A", "C", None, "B"]), pd.Series(["p", "p", "q", "r"])).to_dict()
    {'p': 'C', 'r': 'B'}
    """
    k = pd.Series(np.asarray(classes, dtype=object)).map(_WORST)
    worst = k.groupby(np.asarray(keys, dtype=object)).max().dropna()
    return worst.map({v: c for c, v in _WORST.items()}).astype(object)


def previous_class(ev, previous, key="uscc"):
    """Last year's class of each firm, joined by its credit code.

    Parameters
    ----------
    ev, previous : DataFrame
        This year's and last year's evaluated firms, with ``key`` and
        ``class``.

    Returns
    -------
    Series aligned to ``ev.index`` (missing for a firm not graded last year).

    Examples
    --------
    >>> now = pd.DataFrame({"uscc": ["X", "Y", "Z"]})
    >>> prev = pd.DataFrame({"uscc": ["Y", "X"], "class": ["C", "A"]})
    >>> previous_class(now, prev).tolist()
    ['A', 'C', None]
    """
    if previous is None or key not in previous or key not in ev or "class" not in previous:
        return pd.Series(None, index=ev.index, dtype=object, name="class_previous")
    last = previous[previous[key].notna()].drop_duplicates(key).set_index(key)["class"]
    out = ev[key].map(last).astype(object)
    return out.where(out.notna(), None).rename("class_previous")


def parcel_figures(ev, land, settings=None):
    """The land-unit table: :func:`gis.land_figures.land_figures` (kept for callers of this name).

    Each land unit's own area (``area_mu``), the Σ of the firms using it
    (tenants per ``efficiency.tenants``) and its 地块亩均; one function, so
    the sheet, the layer, the maps and the renewal rules agree.
    """
    from .land_figures import land_figures

    return land_figures(ev, land, settings)


def _joined_codes(keys, codes):
    """Per key, its distinct codes sorted and joined with ";" (one pass, no Python per row).

    >>> _joined_codes(pd.Series(["p1", "p1", "p2", "p1"]), pd.Series(["C2", "C1", None, "C2"])).to_dict()
    {'p1': 'C1;C2'}
    """
    t = pd.DataFrame({"k": keys.to_numpy(), "c": codes.to_numpy()}).dropna()
    t["c"] = t["c"].astype(str)
    t = t.drop_duplicates().sort_values(["k", "c"], kind="mergesort")
    k, c = t["k"].to_numpy(), t["c"].to_numpy(dtype=object)
    if not len(k):
        return pd.Series(dtype=object).astype(str)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    return pd.Series([";".join(c[a:b]) for a, b in zip(starts, ends)], index=k[starts]).astype(str)


def parcel_facts(ev, parcels, year=None, previous=None, settings=None):
    """Per-parcel facts for the renewal rules, from the evaluated firms.

    The land unit's tax, value added and 地块亩均 (``tax_per_mu``,
    ``va_per_mu``) are those of the land-unit sheet
    (:func:`gis.land_figures.land_figures`: the firms counted under
    ``efficiency.tenants``, NaN when none is); its floor area and ``firms``
    count every firm on it, tenants included.  A firm on several parcels
    (``parcel_ids``) has its figures shared among them
    (:func:`firm_parcel_shares`: by parcel area, or per parcel
    under ``attach.multi_parcel: per_parcel``).

    Parameters
    ----------
    ev : DataFrame
        :func:`gis.stages.evaluate_firms` output (``parcel_id``, ``parcel_ids``, ``tax``,
        ``value_added``, ``floor_area``, ``chain``, ``size_class``,
        ``start_year``, ``class``, ``industry_code``, ``uscc``).
    parcels : GeoDataFrame
        三调 parcels (``BSM``, ``DLBM``), with ``platform``/``park`` if known.
    year : int, optional
        Evaluation year (for ``youngest_years``).
    previous : DataFrame, optional
        Last year's evaluated firms: ``grade_previous`` is the worst of last
        year's classes of the firms on the parcel THIS year, each joined by
        its credit code (:func:`gis.previous_class`).

    Returns
    -------
    GeoDataFrame
        ``parcels`` with the columns of the :mod:`gis.renewal` input
        contract: ``parcel_id``, ``area_mu``, ``firms``, ``tax``,
        ``value_added``, ``tax_per_mu``, ``va_per_mu``, ``floor_area``
        (NaN where no firm),
        ``chain``, ``any_above_size`` and ``youngest_years`` (of the firms
        holding the land, tenants excluded), ``grade``, ``grade_previous``
        (when ``previous`` is given), ``industry_codes``.
    """
    from . import efficiency, land_figures

    settings = settings or load_settings()
    drop = [c for c in list(efficiency.AGG_LABELS_ZH) + ["grade", "area_mu"] if c in parcels.columns]
    out = parcels.drop(columns=drop)
    out["parcel_id"] = out["BSM"]
    land = land_figures.unit_area(parcels, settings)
    out["area_mu"] = out["BSM"].map(land).astype(float)
    # the land unit's money and 地块亩均: the one function every output reads
    lf = land_figures.land_figures(ev, land, settings)
    lf = lf.drop(index=lf.index[-1])[["tax", "value_added", "tax_per_mu", "va_per_mu"]]
    if previous is not None:
        ev = ev.assign(class_previous=previous_class(ev, previous).to_numpy())
    f = parcel_units(ev, land, settings)
    f = f[f["parcel_id"].notna()].rename(columns={"parcel_id": "pid"}).reset_index(drop=True)
    firm = f["firm"] if per_parcel_units(ev, settings) else f["unit"]
    money = pd.DataFrame({c: pd.to_numeric(f[c], errors="coerce").fillna(0.0)
                          for c in ("tax", "value_added", "floor_area")})
    money["pid"] = f["pid"]
    sums = money.groupby("pid")[["floor_area"]].sum()
    sums = sums.join(lf, how="left")
    sums["firms"] = firm.groupby(f["pid"]).nunique()
    f = f.assign(share_tax=money["tax"])
    chain = (f.groupby(["pid", "chain"])["share_tax"].sum().reset_index()
             .sort_values(["pid", "share_tax", "chain"], ascending=[True, False, True])
             .drop_duplicates("pid").set_index("pid")["chain"])
    sums["chain"] = chain
    # exemptions come from the firms holding the land, not from tenants: a
    # tenant that moved in last year does not exempt its landlord's parcel
    lessee = f["lessee"].fillna(False).astype(bool) if "lessee" in f else pd.Series(False, index=f.index)
    holders = f[~lessee]
    sums["any_above_size"] = holders.assign(a=holders["size_class"].eq("规上")).groupby("pid")["a"].any()
    if year is not None and "start_year" in f:
        newest = pd.to_numeric(holders["start_year"], errors="coerce").groupby(holders["pid"]).max()
        sums["youngest_years"] = year - newest
    if "class" in f:
        sums["grade"] = worst_class(f["class"], f["pid"])
    if "class_previous" in f:
        sums["grade_previous"] = worst_class(f["class_previous"], f["pid"])
    sums["industry_codes"] = _joined_codes(f["pid"], f["industry_code"]).reindex(sums.index).fillna("")
    out = out.merge(sums, left_on="parcel_id", right_index=True, how="left")
    out["firms"] = out["firms"].fillna(0).astype(int)
    # no firm on the parcel: its tax and floor area are unknown, not zero
    # (the renewal rules then say "not tested" rather than "FAR 0.00 < 1.00")
    out["any_above_size"] = out["any_above_size"].astype("boolean").fillna(False).astype(bool)
    return out

"""The land unit and its one measure: area, Σ of the firms using it, 地块亩均.

One piece of land, one set of figures.  The land-unit sheet of the workbook
(图斑, or 宗地 when a cadastral layer is given), the ``parcels`` layer of
``results.gpkg``, the 亩均 map's popups, the renewal rules and the report all
read a land unit's figures from :func:`land_figures`, so they cannot disagree.

The land unit
-------------
Without a cadastral 宗地 layer the land unit is the 三调 图斑 (a land-cover
patch, not a land-rights parcel) and every output says so
(:data:`SUBSTITUTE_NOTE`, 以三调图斑代替宗地).  Its area is its own: the
图斑's 地类面积 ``TBDLMJ`` (or its geometry area), never the sum of what the
firms on it declared (:func:`unit_area`).

Stable column names (other modules and issue 26's contracts attach by them):

``parcel_id``  the land unit's id (图斑 ``BSM``; 宗地代码 ``ZDDM`` for a 宗地)
``area_mu``    the land unit's own area in 亩

Figures of a land unit
----------------------
``tax``, ``value_added``, ``revenue`` are Σ over the firms using the land (a
firm on several land units shares its figures among them by area, see
:func:`gis.figures.firm_parcel_shares`); ``tax_per_mu`` (地块亩均税收),
``va_per_mu`` (地块亩均增加值) and ``revenue_per_mu`` are those sums ÷
``area_mu``.  A firm's own 亩均 stays a firm figure (企业评价 sheet).

Tenants (租赁企业), ``efficiency.tenants`` (a county rule, domain.md §9):

``separate``     tenants are evaluated on their own (listed separately, as
                 慈溪); the land unit counts the firms holding it only.
``merged``       tenants' figures are merged into the land they use and the
                 result shared (遂昌); the land unit counts them.
``actual_land``  each firm's land is 自有 + 租赁 − 出租 (温州经开区): a
                 tenant is evaluated on its leased land, its landlord on its
                 own land minus what it lets (:func:`actual_land`); the land
                 unit counts every firm using it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import load_settings

__all__ = [
    "TENANT_RULES",
    "SUBSTITUTE_NOTE",
    "ID_COL",
    "AREA_COL",
    "tenant_rule",
    "tenant_rule_text",
    "land_unit_text",
    "counted_scopes",
    "unit_area",
    "actual_land",
    "land_figures",
    "declared_land_check",
    "note_declared_land",
    "land_unit_kind",
    "zongdi_settings",
    "holder_links",
    "land_join",
    "ZONGDI_LABELS",
    "ZONGDI_SUMMARY",
    "report_labels",
]

#: the values of ``efficiency.tenants``
TENANT_RULES = ("separate", "merged", "actual_land")

#: what every output says when the 三调 图斑 stands in for the 宗地
SUBSTITUTE_NOTE = "以三调图斑代替宗地（未提供宗地图层）"

#: the land unit's id and own-area columns (stable: other modules join on them)
ID_COL = "parcel_id"
AREA_COL = "area_mu"

_TENANT_TEXT = {
    "separate": "租赁企业单独评价（单列），不计入所用地块的亩均效益；地块只计自有用地企业",
    "merged": "租赁企业数据并入所用地块合并计算，共享地块评价结果",
    "actual_land": "按实际用地评价：企业用地 = 自有 + 租赁 − 出租；地块计入全部使用企业",
}


def tenant_rule(settings=None):
    """The tenant rule in force (``efficiency.tenants``; ``separate`` when not set).

    Examples
    --------
    >>> tenant_rule({"efficiency": {"tenants": "merged"}})
    'merged'
    """
    settings = settings or load_settings()
    return (settings.get("efficiency") or {}).get("tenants") or "separate"


def tenant_rule_text(settings=None):
    """The tenant rule in words, for 汇总 and 评价办法.

    >>> tenant_rule_text({"efficiency": {"tenants": "separate"}})[:8]
    '租赁企业单独评价'
    """
    return _TENANT_TEXT[tenant_rule(settings)]


def land_unit_kind(settings=None):
    """The land unit of the run: ``"图斑"`` or ``"宗地"`` (``cadastre.land_unit``)."""
    settings = settings or load_settings()
    return (settings.get("cadastre") or {}).get("land_unit") or "图斑"


def zongdi_settings(settings):
    """The settings of a run whose land unit is the 宗地 (a 宗地 layer given).

    A copy with ``cadastre.land_unit: 宗地``, each firm's land from its 宗地
    (``attach.land_source: parcel``), no 一企多地 links guessed from declared
    land (``attach.infer_multi_parcel: false``: the holder's credit code says
    which 宗地 a firm holds, ``attach.register_first: true``: and only it,
    the point's 宗地 for the firms not found) and the land-unit sheet named 宗地.
    """
    import copy

    s = copy.deepcopy(settings)
    s["cadastre"]["land_unit"] = "宗地"
    s["attach"]["land_source"] = "parcel"
    s["attach"]["infer_multi_parcel"] = False
    s["attach"]["register_first"] = True
    if "parcels" in (s.get("report") or {}).get("sheets", {}):
        s["report"]["sheets"]["parcels"] = "宗地"
    return s


def holder_links(firms, parcels):
    """(``uscc``, ``parcel_id``) links of the 宗地 held by the firms, or None without 宗地.

    The 宗地 whose holder's credit code (``QLRZJH``, valid) is a firm's
    ``uscc`` belong to that firm (一企多地: all of them); other firms are
    joined by location (:func:`gis.attach.firm_parcels`).
    """
    if parcels is None or "ZDDM" not in parcels or "uscc" not in parcels or "uscc" not in firms:
        return None
    reg = pd.DataFrame({"uscc": parcels["uscc"].to_numpy(), "parcel_id": parcels["ZDDM"].to_numpy()})
    return reg.dropna().reset_index(drop=True)


def land_join(firms, units, register):
    """How each firm was joined to its land: ``credit_code``, ``location`` or ``none``.

    ``credit_code``: the firm holds a 宗地 under its credit code (权利人证件号);
    ``location``: its point lies on (or near) a land unit; ``none``: neither.
    """
    by_code = firms["uscc"].isin(register["uscc"]).to_numpy() if register is not None and "uscc" in firms \
        else np.zeros(len(firms), dtype=bool)
    has = units["parcel_id"].notna().to_numpy() if "parcel_id" in units else np.zeros(len(firms), bool)
    return pd.Series(np.where(by_code, "credit_code", np.where(has, "location", "none")),
                     index=firms.index, name="land_join")


#: the labels that change when the 宗地 is the land unit: table key -> column -> label
#: (the workbook and the HTML report; every other label is the same for both units)
ZONGDI_LABELS = {
    "firms": {"parcel_id": "宗地代码", "parcel_ids": "全部宗地", "n_parcels": "宗地数(宗)",
              "n_inferred": "推断宗地数(宗)", "firms_on_parcel": "同宗地企业数(家)",
              "parcel_mu": "宗地分摊用地面积(亩)", "share": "宗地分摊比例"},
    "parcels": {"parcel_id": "宗地代码", "area_mu": "宗地面积(亩)"},
    "renewal_parcels": {"parcel_id": "宗地代码", "area_mu": "宗地面积(亩)"},
    "renewal_assessed": {"parcel_id": "宗地代码", "area_mu": "宗地面积(亩)"},
    "renewal_blocks": {"parcel_ids": "成员宗地", "n_parcels": "宗地数(宗)"},
}
#: the 汇总 keys that change when the 宗地 is the land unit
ZONGDI_SUMMARY = {"parcels": "宗地数(宗)", "candidates": "更新候选宗地(宗)"}


def report_labels(settings, sheet_labels=None):
    """``(labels, sheet_labels)`` for :func:`gis.report.write_report` under the run's land unit.

    Unchanged for a 图斑 run; for a 宗地 run the 宗地 words of
    :data:`ZONGDI_LABELS` / :data:`ZONGDI_SUMMARY` over ``sheet_labels``.
    """
    sheet_labels = dict(sheet_labels or {})
    if land_unit_kind(settings) != "宗地":
        return None, sheet_labels
    for key, lab in ZONGDI_LABELS.items():
        sheet_labels[key] = {**(sheet_labels.get(key) or {}), **lab}
    return dict(ZONGDI_SUMMARY), sheet_labels


def land_unit_text(kind="图斑"):
    """What the land unit of the run is, for 汇总, 评价办法, the report and the maps.

    >>> land_unit_text()
    '以三调图斑代替宗地（未提供宗地图层）'
    """
    if kind == "宗地":
        return "宗地（地籍宗地图层；现状地类取自三调图斑，按面积占比）"
    return SUBSTITUTE_NOTE


def counted_scopes(settings=None):
    """The evaluation scopes summed onto a land unit under the tenant rule.

    ``efficiency.aggregate_scopes`` (the evaluated firms), plus ``lessee``
    under ``merged`` (under ``actual_land`` tenants have land of their own
    and are evaluated, so they are already in the evaluated scopes).

    >>> s = {"efficiency": {"tenants": "merged", "aggregate_scopes": ["graded"]}}
    >>> counted_scopes(s)
    ['graded', 'lessee']
    """
    settings = settings or load_settings()
    scopes = list(settings["efficiency"]["aggregate_scopes"])
    if tenant_rule(settings) == "merged" and "lessee" not in scopes:
        scopes.append("lessee")
    return scopes


def unit_area(parcels, settings=None):
    """Each land unit's own area (亩), indexed by its id.

    The 图斑's 地类面积 (``attach.parcel_area_col``, ㎡) where present and
    positive, else its geometry area (:func:`gis.attach.parcel_land`).
    """
    from .attach import parcel_land

    return parcel_land(parcels, settings).rename(AREA_COL)


def actual_land(units, settings=None):
    """Firms' land under ``efficiency.tenants: actual_land`` (自有 + 租赁 − 出租).

    A tenant (no own land, 租赁面积 > 0) gets its 租赁面积 as its land and so
    is evaluated like any firm; the firms holding the land unit it sits on
    let that land, so their land falls by it (shared among them in
    proportion to their own land; never below 0).  Under any other rule
    ``units`` is returned unchanged.

    Parameters
    ----------
    units : DataFrame
        Attached firms (:func:`gis.pipeline.attach_firms`): ``land_mu``,
        ``leased_mu``, ``parcel_id``, ``lessee``.

    Returns
    -------
    DataFrame
        ``units`` with ``land_mu`` changed and ``leased_out_mu`` added.

    Examples
    --------
    >>> u = pd.DataFrame({"land_mu": [20.0, 0.0, 0.0], "leased_mu": [None, 4.0, 6.0],
    ...                   "parcel_id": ["p", "p", "p"], "lessee": [False, True, True]})
    >>> a = actual_land(u, {"efficiency": {"tenants": "actual_land"}})
    >>> a["land_mu"].tolist(), a["leased_out_mu"].tolist()
    ([10.0, 4.0, 6.0], [10.0, 0.0, 0.0])
    """
    settings = settings or load_settings()
    if tenant_rule(settings) != "actual_land" or "leased_mu" not in units:
        return units
    own = pd.to_numeric(units["land_mu"], errors="coerce")
    leased = pd.to_numeric(units["leased_mu"], errors="coerce").fillna(0.0)
    lessee = (units["lessee"].fillna(False).astype(bool) if "lessee" in units
              else (own.isna() | (own <= 0)) & (leased > 0))
    pid = units["parcel_id"] if "parcel_id" in units else pd.Series(None, index=units.index)
    let = leased[lessee & pid.notna()].groupby(pid[lessee & pid.notna()]).sum()
    holder = ~lessee & pid.notna() & (own > 0)
    hold_sum = own[holder].groupby(pid[holder]).transform("sum")
    out_mu = pd.Series(0.0, index=units.index)
    out_mu[holder] = (pid[holder].map(let).fillna(0.0) * own[holder] / hold_sum).to_numpy()
    land = own.where(~lessee, leased)
    land = (land - out_mu).clip(lower=0.0).where(land.notna())
    return units.assign(land_mu=land.to_numpy(), leased_out_mu=out_mu.to_numpy())


def land_figures(ev, area, settings=None):
    """The land-unit table: each unit's own area, the Σ of the firms using it, 地块亩均.

    Parameters
    ----------
    ev : DataFrame
        Evaluated firms (:func:`gis.pipeline.evaluate_firms`) with
        ``parcel_id`` (and ``parcel_ids`` for 一企多地) and ``scope``.
    area : Series
        Own area (亩) by land-unit id (:func:`unit_area`).
    settings : dict, optional

    Returns
    -------
    DataFrame indexed by ``parcel_id`` (units with at least one counted firm,
    ranked by ``tax_per_mu``) plus a last ``efficiency.total_label`` row
    summing them: ``firms``, ``graded``, ``area_mu`` (own area),
    ``tax``, ``value_added``, ``revenue`` (Σ over the counted firms, a
    firm's share on each of its units), ``tax_per_mu`` (地块亩均税收),
    ``va_per_mu`` (地块亩均增加值), ``revenue_per_mu`` (÷ ``area_mu``),
    ``n_A``..``n_D``, ``share_A``..``share_D``, ``rank``, ``grade`` (worst
    class of its firms).  Firms counted: :func:`counted_scopes`; firms
    without a land unit are on none (they are in the firm list only).  In
    the total row each firm counts once however many units it uses.

    Examples
    --------
    Two firms on one 10 亩 图斑 (tax 30 and 10), a tenant (tax 20) on it:

    >>> ev = pd.DataFrame({"parcel_id": ["p", "p", "p"], "tax": [30.0, 10.0, 20.0],
    ...                    "land_mu": [8.0, 8.0, 0.0], "scope": ["graded", "graded", "lessee"],
    ...                    "class": ["A", "B", None]})
    >>> s = load_settings()
    >>> s["efficiency"]["tenants"] = "separate"
    >>> land_figures(ev, pd.Series({"p": 10.0}), s).loc["p", ["area_mu", "tax", "tax_per_mu"]].tolist()
    [10.0, 40.0, 4.0]
    >>> s["efficiency"]["tenants"] = "merged"
    >>> land_figures(ev, pd.Series({"p": 10.0}), s).loc["p", ["area_mu", "tax", "tax_per_mu"]].tolist()
    [10.0, 60.0, 6.0]
    """
    from . import efficiency, figures

    settings = settings or load_settings()
    scopes = counted_scopes(settings)
    lz = pd.Series(area, dtype=float)
    lz = lz[~lz.index.duplicated()]
    units = figures.parcel_units(ev, lz, settings)
    units = units[units["parcel_id"].notna()]
    if "scope" in units:
        units = units[units["scope"].isin(scopes)]
    table = efficiency.aggregate(units, "parcel_id", land=lz, settings=settings, scopes=scopes)
    total = table.index[-1]
    table = table.rename(columns={"land_mu": AREA_COL})
    counted = ev
    if "scope" in counted:
        counted = counted[counted["scope"].isin(scopes)]
    counted = counted[counted["parcel_id"].notna()] if "parcel_id" in counted else counted.iloc[:0]
    if "firm" in counted.columns:  # per_parcel units: count firms, not units
        counted = counted.drop_duplicates("firm")
    cls = counted["class"] if "class" in counted else pd.Series(None, index=counted.index)
    table.loc[total, "firms"] = len(counted)
    graded = int(counted["scope"].eq("graded").sum()) if "scope" in counted else len(counted)
    table.loc[total, "graded"] = graded
    for c in "ABCD":
        table.loc[total, f"n_{c}"] = int((cls == c).sum())
        table.loc[total, f"share_{c}"] = (cls == c).sum() / graded if graded else np.nan
    if "class" in units:
        table["grade"] = figures.worst_class(units["class"], units["parcel_id"]).reindex(table.index)
    return table


def declared_land_check(firms, area, tolerance=None, settings=None):
    """Firms whose declared 用地面积 differs from their land units' own area.

    Parameters
    ----------
    firms : DataFrame
        Attached firms with ``table_mu`` (declared 用地面积, 亩), ``parcel_id``
        and ``parcel_ids`` (``;``-separated, 一企多地); lessees are skipped.
    area : Series
        Own area (亩) by land-unit id.
    tolerance : float, optional
        Allowed relative difference (``attach.disagreement_tolerance``).

    A firm alone on its land units (``firms_on_parcel`` 1, or the column
    absent) is compared both ways; a firm sharing its land unit with others
    (一地多企) only when it declares more than the whole units' area.

    Returns
    -------
    DataFrame indexed like ``firms`` (only the firms that differ):
    ``declared_mu``, ``unit_mu`` (Σ own area of the firm's land units, each
    counted once even when shared with other firms), ``diff_share``
    (|declared − unit| ÷ unit).

    Examples
    --------
    >>> f = pd.DataFrame({"table_mu": [31.86, 10.0], "parcel_id": ["p", "q"],
    ...                   "parcel_ids": [None, None]})
    >>> declared_land_check(f, pd.Series({"p": 15.86, "q": 10.2}), 0.1).round(2).to_dict("list")
    {'declared_mu': [31.86], 'unit_mu': [15.86], 'diff_share': [1.01]}
    """
    settings = settings or load_settings()
    tol = settings["attach"]["disagreement_tolerance"] if tolerance is None else tolerance
    cols = ["declared_mu", "unit_mu", "diff_share"]
    if "table_mu" not in firms or "parcel_id" not in firms:
        return pd.DataFrame(columns=cols)
    ids = firms["parcel_ids"].where(firms["parcel_ids"].notna(), firms["parcel_id"]) \
        if "parcel_ids" in firms else firms["parcel_id"]
    lz = pd.Series(area, dtype=float)
    lz = lz[~lz.index.duplicated()]
    links = pd.DataFrame({"f": firms.index, "pid": ids.astype(object).to_numpy()}).dropna()
    links["pid"] = links["pid"].astype(str).str.split(";")
    links = links.explode("pid")
    unit = links["pid"].map(lz).groupby(links["f"], sort=False).sum(min_count=1)
    declared = pd.to_numeric(firms["table_mu"], errors="coerce")
    lessee = firms["lessee"].fillna(False).astype(bool) if "lessee" in firms else False
    u = unit.reindex(firms.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = (declared - u).abs() / u
    alone = pd.to_numeric(firms["firms_on_parcel"], errors="coerce").fillna(1) <= 1 \
        if "firms_on_parcel" in firms else pd.Series(True, index=firms.index)
    over = declared > u * (1 + tol)
    bad = (declared > 0) & (u > 0) & (diff > tol) & (alone | over) \
        & ~pd.Series(lessee, index=firms.index)
    return pd.DataFrame({"declared_mu": declared[bad], "unit_mu": u[bad], "diff_share": diff[bad]})


def note_declared_land(firms, units, parcels, ledger, source, settings=None):
    """Note in the ledger each firm whose declared 用地面积 differs from its land units' area.

    One ``declared_land_differs`` note per firm (:func:`declared_land_check`,
    tolerance ``attach.disagreement_tolerance``): the firm keeps the land the
    ``attach.land_source`` setting gives it; the note says the two disagree.
    """
    from pathlib import Path

    if ledger is None or parcels is None or not len(parcels) or "parcel_id" not in units:
        return
    if "firm" in units.columns:  # attach.multi_parcel: per_parcel (one row per firm and parcel)
        units = units.drop_duplicates("firm").set_index("firm")
    area = unit_area(parcels, settings)
    bad = declared_land_check(units, area, settings=settings)
    if not len(bad):
        return
    mask = firms.index.isin(bad.index)
    rows = firms["source_row"].to_numpy() if "source_row" in firms else np.arange(len(firms))
    b = bad.reindex(firms.index)
    ledger.add(mask, "declared_land_differs", file=Path(str(source)).name, rows=rows,
               column="用地面积", values=b["declared_mu"].round(2).to_numpy(),
               detail=b["unit_mu"].round(2).to_numpy())

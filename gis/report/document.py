"""The yearly report (亩均效益评价): :func:`write_report` writes the workbook and the HTML page (and PDF).

Key figures, the class lists, quality counts, the method, the public
edition (公开版) and the charts of each step.
"""

from __future__ import annotations

import datetime as _dt
import html
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..labels import CLASSES, SUMMARY, code_labels, column_label
from ..yearly import KEY_FIGURES, Html, planner_sheet
from .html_page import format_number, html_table, write_html_report
from .texts import report_labels, report_settings, settings_or_default
from .workbook import (
    as_datetime,
    ledger_frame,
    sheet_label_map,
    summary_frame,
    summary_kind,
    with_index,
    workbook_path,
    write_workbook,
)

__all__ = [
    "write_report",
]


def _quality_counts(ledger):
    """Data-quality counts: entries per file, type and reason (the 读取 rows left out)."""
    if "severity" in ledger.columns:
        ledger = ledger[ledger["severity"] != code_labels("severity")["source"]]
    keys = [c for c in ("file", "severity", "reason") if c in ledger.columns]
    if not keys:
        return pd.DataFrame({"count": [len(ledger)]})
    return (ledger.groupby(keys, dropna=False, sort=True).size().rename("count").reset_index()
            .sort_values("count", ascending=False, kind="mergesort").reset_index(drop=True))


def _summary_cards(sf, cfg):
    """The numbers of the summary as cards (texts go to the subtitle)."""
    cards = {}
    for key, item, v in zip(sf["key"], sf["item"], sf["value"]):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)):
            continue
        kind = summary_kind(key, item, v, {}, cfg)
        cards[item] = format_number(float(v), kind, cfg)
    return cards


def _marking(public):
    from ..confidential import marking

    return marking(public)


def _public(df, settings, labels=None):
    """The public form of a table (None stays None); ledger values go too.

    A column whose Chinese label names a confidential quantity goes too
    (the aggregates' 亩均税收排名).
    """
    from ..confidential import mentions_confidential, public_frame

    if df is None:
        return None
    from ..recompute import drop_derived

    out = public_frame(df, settings)
    named = [c for c in out.columns if mentions_confidential(str((labels or {}).get(c, "")))]
    out = drop_derived(out.drop(columns=named), df)  # 差距 gives a hidden 规上产值 back
    return out.drop(columns=["value"], errors="ignore") if "severity" in out.columns else out


def _by_size(firms):
    """(size class, firms) of each size class present, 规上 first ("" and all without one)."""
    if firms is None:
        return []
    if "size_class" not in firms.columns:
        return [("", firms)]
    return [(s, firms[firms["size_class"] == s]) for s in ("规上", "规下")
            if (firms["size_class"] == s).any()]


def _method_html(method, settings):
    """The 评价办法 section: sub-headings with sentences or tables."""
    parts = []
    for head, content in method.items():
        parts.append(f"<h3>{html.escape(str(head))}</h3>")
        if isinstance(content, pd.DataFrame):
            table = html_table(content, labels={}, max_rows=len(content) + 1, settings=settings)
            if "权重(分)" in content.columns:  # the indicators and weights: policy, public
                from ..confidential import POLICY_CLOSE, POLICY_OPEN

                table = POLICY_OPEN + table + POLICY_CLOSE
            parts.append(table)
        else:
            parts.append('<ul class="method">' + "".join(
                f"<li>{html.escape(str(x))}</li>" for x in content) + "</ul>")
    return Html("".join(parts))


def _public_method(method):
    """The 评价办法 of a public edition: the indicators and weights (the method is
    policy) without the benchmark values (county sums of the firms' confidential
    figures), each sentence through :func:`gis.confidential.public_text`."""
    from ..confidential import WITHHELD, public_text

    out = {}
    for head, content in method.items():
        if isinstance(content, pd.DataFrame):
            if "权重(分)" in content.columns:
                out[head] = content.drop(columns=["基准值"], errors="ignore")
                out[head + "（说明）"] = ["基准值为全市参评企业经营数据的汇总，公开版不列出（见内部版）。"]
            else:  # the data sources: files, dates and row counts, no firm's figure
                out[head] = content
            continue
        items = [public_text(str(x)) for x in content]
        out[head] = [x for x in items if x != WITHHELD] or [WITHHELD]
    return out


def _key_figures_section(summary, previous_summary, public):
    from ..confidential import mentions_confidential
    from ..yearly import key_figures, key_figures_html, year_figures

    t = key_figures(year_figures(summary), year_figures(previous_summary or {}))
    if public:
        t = t[~t["item"].map(mentions_confidential) & ~t["key"].isin(["tax_per_mu", "va_per_mu"])]
    prev_year = (previous_summary or {}).get("year") or summary.get("previous_year")
    out = key_figures_html(t, summary.get("year"), prev_year)
    basis = (previous_summary or {}).get("renewal_basis")
    if basis:  # last year's renewal figures are recomputed: say on what
        out = Html(str(out) + f'<p class="note">上年低效用地指标按同一认定规则重算'
                   f'（{html.escape(str(basis))}）。</p>')
    return out


def _firm_lists(tables, changes, lab, n, settings):
    """Rank lists per size class, the transition matrix, D list, two-year C/D list."""
    from ..changes import matrix_of_changes
    from ..yearly import class_list, rank_lists, two_year_cd

    out = {}
    firms = tables.get("firms")
    if "platform_targets" in tables:
        out["平台目标"] = (tables["platform_targets"], lab("platform_targets"))
    if firms is not None and {"rank", "class", "name"} <= set(firms.columns):
        f = with_index(firms)
        rank_lab = lab("firms")
        for cap, t in rank_lists(f, n=n).items():
            out[cap] = (t, rank_lab, len(t) + 1)
        d = class_list(f, "D")
        out[f"D类（{CLASSES['D']}）企业名单（{len(d)}家）"] = (d, rank_lab, len(d) + 1)
    if changes is not None and "transition" in with_index(changes).columns:
        c = with_index(changes)
        m = matrix_of_changes(c)
        out["类别变化（行：上年类别，列：本年类别，企业数）"] = (m.reset_index(), {})
        if "stayed_c_or_d" in c.columns:
            cd = two_year_cd(c, firms=with_index(firms) if firms is not None else None)
            out[f"连续两年C/D类企业（{len(cd)}家）"] = (cd, lab("changes"), len(cd) + 1)
    return out


def _html_content(summary, previous_summary, method, tables, changes, labels, sheet_labels,
                  extra_tables, public, settings):
    """The sections and tables of the HTML report, in the order a bureau publishes them."""
    cfg = report_settings(settings)

    def lab(key):
        return sheet_label_map(key, cfg["sheets"].get(key, key), labels, sheet_labels)

    sections = {"本年主要指标（同比）": _key_figures_section(summary, previous_summary, public)}
    sf = summary_frame(summary, labels, settings)
    # the run's other figures (the key figures are in the table above)
    sf = sf[~sf["key"].isin([*KEY_FIGURES, "year", "count", "previous_year"])]
    sections["概况"] = _summary_cards(sf, cfg)
    if summary.get("demo"):
        sections["说明"] = cfg["demo_note"]
    rules = [summary[k] for k in ("zone_rule", "zero_use_rule", "land_unit", "tenant_rule")
             if summary.get(k)]
    if rules:  # how the figures were made (gis.pipeline.run_summary)
        sections["计算口径"] = rules
    if method:
        sections["评价办法"] = _method_html(_public_method(method) if public else method, settings)
    html_tables = {}
    for key, cap in (("platforms", "平台"), ("chains", "产业链"), ("parks", "园区"),
                     ("townships", "镇街"), ("targets", "规划目标")):
        if key in tables:
            html_tables[cap] = (tables[key], lab(key))
    html_tables.update(_firm_lists(tables, changes, lab, int(cfg["yearly"]["list_n"]), settings))
    for cap, item in (extra_tables or {}).items():
        if public:
            item = (_public(item[0], settings), *item[1:]) if isinstance(item, tuple) \
                else _public(item, settings)
        html_tables[cap] = item
    led = tables.get("ledger")
    if led is not None:
        html_tables["数据质量（剔除与修正记录条数）"] = (_quality_counts(led), lab("ledger"))
    return sections, html_tables


def write_report(out_dir, year, tables, ledger=None, summary=None, previous=None, labels=None,
                 map_html=None, boundary=None, areas=None, number_formats=None,
                 generated_at=None, title=None, sheet_labels=None, settings=None, progress=True,
                 extra_tables=None, extra_charts=None, previous_summary=None, method=None,
                 public=False, pdf=False):
    """Write the yearly 亩均 report: the workbook and the one-file HTML report.

    Parameters
    ----------
    out_dir : str or Path
        Output folder (created).
    year : int
        Evaluation year (file names, titles).
    tables : dict
        Computed tables with internal column names, keyed ``firms``
        (every firm: indicators, score, class, rank), ``parcels``,
        ``platforms``, ``parks``, ``townships``, ``chains``, ``targets``;
        any may be missing.  Charts read the firm table's columns named in
        ``report.columns`` (``name``, ``platform``, ``chain``, ``grade``,
        ``score``, ``tax_per_mu``); a chart whose columns are missing is
        skipped with a warning.  A GeoDataFrame of firms also gives the
        static map when ``map_html`` is not given.
    ledger : DataFrame or gis.ledger.Ledger, optional
        The rejects ledger (sheet 数据质量; counts in the HTML).
    summary : dict, optional
        The run summary (see :func:`summary_frame`): firms_read,
        firms_evaluated, firms_graded, firms_rejected, totals,
        class_counts, source, demo ...
    previous : DataFrame, optional
        The year-on-year change table; the 年度变化 sheet is written only
        when it is given (here or as ``tables["changes"]``).
    labels : dict, optional
        Internal name -> Chinese header with unit.
    map_html : str, optional
        A self-contained map page, embedded in the HTML report.
    boundary, areas : GeoDataFrame, optional
        City outline and platform/park outlines for the static map.
    number_formats : dict, optional
        Column -> kind or Excel format (see :func:`write_workbook`).
    generated_at : datetime or ISO str, optional
        Fixes the generation time (deterministic workbook bytes).
    title : str, optional
        Default "义乌市{year}年度工业企业亩均效益评价".
    sheet_labels : dict, optional
        Table key -> label map for that table only (see :func:`write_workbook`).
    settings : dict, optional
    progress : bool
        Show a progress bar when the steps take more than
        ``report.progress_delay_s`` seconds.

    extra_tables : dict, optional
        More HTML sections from other stages (renewal, density): caption ->
        DataFrame or ``(DataFrame, labels)``.  Their workbook sheets go in
        ``tables`` under keys of ``report.sheets``.
    extra_charts : dict, optional
        Caption -> PNG bytes or SVG text, shown after the 亩均 charts.
    previous_summary : dict, optional
        Last year's run summary: the key figures show it beside this year's
        with the change (同比).
    method : dict, optional
        :func:`gis.yearly.method_sections` of the settings used (评价办法).
    public : bool
        Public edition (公开版): confidential columns and figures are dropped
        from every table (:func:`gis.confidential.public_frame`), the charts
        of confidential figures are left out.
    pdf : bool
        Also print the HTML report to an A4 PDF (:func:`gis.yearly.write_pdf`).

    Returns
    -------
    dict
        ``{"workbook": Path, "html": Path}`` (and ``"pdf"``).
    """
    settings = settings_or_default(settings)
    from tqdm import tqdm

    cfg = report_settings(settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = as_datetime(generated_at) or _dt.datetime.now().replace(microsecond=0)
    tables, changes = _report_tables(tables, previous, ledger, cfg)
    summary = _report_summary(summary, year, stamp, public)
    if public:
        tables, changes = _public_tables(tables, changes, labels, sheet_labels, settings)
    firms = tables.get("firms")
    bar = tqdm(_REPORT_STEPS, desc="亩均报告", unit="步", delay=cfg["progress_delay_s"], disable=not progress)
    paths, charts, map_png = {}, {}, None
    for step in bar:
        bar.set_postfix_str(_REPORT_STEPS[step])
        if step == "workbook":
            paths["workbook"] = write_workbook(
                workbook_path(out_dir, year, settings),
                {k: planner_sheet(with_index(v)) for k, v in tables.items()}, labels=labels,
                number_formats=number_formats, summary=summary, generated_at=stamp,
                sheet_labels=sheet_labels, settings=settings)
        elif step == "map":
            map_png = _class_map_png(firms, map_html, boundary, areas, settings)
        elif step == "html":
            sections, html_tables = _html_content(
                summary, previous_summary, method, tables, changes, labels, sheet_labels,
                extra_tables, public, settings)
            paths["html"] = write_html_report(
                out_dir / cfg["html_name"].format(year=year), sections, {**charts, **(extra_charts or {})},
                html_tables, map_html=map_html, title=title or f"义乌市{year}年度工业企业亩均效益评价",
                subtitle=_report_subtitle(stamp, summary, cfg), map_png=map_png, labels=labels,
                settings=settings, marking_text=_marking(public))
            if pdf:
                from ..yearly import write_pdf

                paths["pdf"] = write_pdf(paths["html"])
        else:
            charts.update(_step_charts(step, firms, labels, public, settings))
    bar.close()
    return paths


#: the steps of :func:`write_report` and their names in its progress bar
_REPORT_STEPS = {"workbook": "Excel工作簿", "class_share": "分类占比图", "distribution": "亩均税收分布图",
                 "top_bottom": "前后企业图", "map": "地图", "html": "HTML报告"}


def _report_tables(tables, previous, ledger, cfg):
    """The tables of the report, completed from the other arguments of :func:`write_report`.

    Parameters
    ----------
    tables : dict or None
        The computed tables (not changed).
    previous : DataFrame or None
        The year-on-year changes; default ``tables["changes"]``.
    ledger : DataFrame or gis.ledger.Ledger or None
        The rejects ledger.
    cfg : dict
        The ``report`` settings.

    Returns
    -------
    tables : dict
        A new dict: the tables plus ``changes`` and ``ledger`` (when given)
        and ``platform_targets`` checked (counts as integers, mismatches
        flagged: :func:`gis.yearly.target_check`).
    changes : DataFrame or None
    """
    tables = dict(tables or {})
    changes = previous if previous is not None else tables.pop("changes", None)
    tables.pop("changes", None)
    if changes is not None:
        tables["changes"] = changes
    led = ledger_frame(ledger)
    if led is not None:
        tables["ledger"] = led
    if tables.get("platform_targets") is not None:
        from ..yearly import target_check

        factor = float(cfg["yearly"]["target_mismatch_factor"])
        tables["platform_targets"] = target_check(tables["platform_targets"], factor)
    return tables, changes


def _report_summary(summary, year, stamp, public):
    """The run summary as the workbook and the HTML report show it.

    The workbook says on its face what it is (密级 ``marking``, as the maps
    and the HTML report do); the source is the file name, never the folder
    it sits in; the coordinate system is named in Chinese.

    Parameters
    ----------
    summary : dict or None
        The run summary (see :func:`summary_frame`).
    year : int
    stamp : datetime
        Generation time (``generated_at`` unless the summary has one).
    public : bool
        Public edition: no confidential figure (税收合计, 亩均税收 ...).

    Returns
    -------
    dict
        A new dict.
    """
    summary = {"marking": _marking(public), "year": year, **dict(summary or {})}
    summary.setdefault("generated_at", stamp)
    if summary.get("source"):
        summary["source"] = Path(str(summary["source"])).name
    if isinstance(summary.get("coords"), str):
        summary["coords"] = code_labels("coords").get(summary["coords"], summary["coords"])
    if public:
        from ..confidential import mentions_confidential

        summary = {k: v for k, v in summary.items()
                   if not mentions_confidential(str(SUMMARY.get(k, k)))}
    return summary


def _public_tables(tables, changes, labels, sheet_labels, settings):
    """The tables and the changes of the public edition (公开版): ``(tables, changes)``.

    Confidential columns are dropped from every table
    (:func:`gis.confidential.public_frame`, by each sheet's labels).

    Returns
    -------
    tables : dict
        A new dict.
    changes : DataFrame or None
    """
    sheets = report_settings(settings)["sheets"]
    tables = {k: _public(v, settings, sheet_label_map(k, sheets.get(k, k), labels, sheet_labels))
              for k, v in tables.items()}
    return tables, _public(changes, settings)


def _step_charts(step, firms, labels, public, settings):
    """The 亩均 chart(s) of one step of :func:`write_report`.

    Parameters
    ----------
    step : {"class_share", "distribution", "top_bottom"}
        各平台企业分类占比, 各产业链亩均税收分布, or per size class the
        first and last firms by (capped) score.
    firms : DataFrame or None
        The firm table, columns named in ``report.columns``; a chart whose
        columns are missing is skipped with a warning (silently in the
        public edition, which has no confidential columns to chart).
    labels : dict or None
    public : bool
    settings : dict

    Returns
    -------
    dict
        Caption -> PNG bytes or SVG text (empty without firms).
    """
    from .. import charts as ch

    cfg = report_settings(settings)
    cols = cfg["columns"]
    out = {}

    def chart(caption, need, fn, data, **kw):
        if data is None or not len(data):
            return
        miss = [c for c in need if c not in data.columns]
        if miss and not public:
            warnings.warn(f"write_report: chart '{caption}' skipped, the firm table has no column(s) {miss}",
                          stacklevel=4)  # the caller of write_report
        if not miss:
            out[caption] = fn(data, settings=settings, **kw)

    if step == "class_share":
        chart("各平台企业分类占比", [cols["platform"], cols["klass"]], ch.class_share_chart, firms,
              by=cols["platform"], klass=cols["klass"])
    elif step == "distribution":
        chart("各产业链亩均税收分布", [cols["chain"], cols["tax_per_mu"]], ch.distribution_chart, firms,
              value=cols["tax_per_mu"], by=cols["chain"],
              xlabel=report_labels(labels).get(cols["tax_per_mu"], column_label("tax_per_mu")))
    elif step == "top_bottom":  # per size class, as ranked; the score charted is the capped one
        for size, part in _by_size(firms):
            chart(f"{size}企业综合得分前后{cfg['charts']['top_n']}名（封顶后得分）",
                  [cols["score"], cols["name"]], ch.top_bottom_chart, part,
                  score=cols["score"], name=cols["name"], klass=cols["klass"],
                  title=f"{size}企业综合得分前{{n}}名与后{{n}}名（封顶后得分）")
    return out


def _class_map_png(firms, map_html, boundary, areas, settings):
    """The static map of the firms' classes (PNG bytes) for the HTML report.

    Made only when no map page (``map_html``) is given and the firms are a
    GeoDataFrame with the class column (``report.columns.klass``); else None.
    """
    from .. import charts as ch

    klass = report_settings(settings)["columns"]["klass"]
    if map_html is None and firms is not None and hasattr(firms, "geometry") and klass in firms.columns:
        return ch.class_map_chart(firms, klass=klass, boundary=boundary, areas=areas, fmt="png",
                                  settings=settings)
    return None


def _report_subtitle(stamp, summary, cfg):
    """The HTML report's subtitle: generation time, data source, the demo note (str)."""
    subtitle = f"生成时间 {stamp.isoformat(sep=' ')}"
    if summary.get("source"):
        subtitle += f"；数据来源 {summary['source']}"
    if summary.get("demo"):
        subtitle += f"；{cfg['demo_note']}"
    return subtitle

"""The report's words: class names, column and summary labels (from :mod:`gis.labels`), its settings."""

from __future__ import annotations

from ..config import load_settings, section
from ..labels import CLASSES, SUMMARY, column_labels

__all__ = [
    "CLASS_NAMES",
    "REPORT_LABELS",
    "SUMMARY_LABELS",
    "settings_or_default",
    "report_settings",
    "report_labels",
    "producer_labels",
]


#: Class letter -> Chinese name (浙政发〔2018〕5号 practice), from :mod:`gis.labels`.
CLASS_NAMES = CLASSES

#: Default Chinese headers (with units) of the report's internal names (the
#: one labels table, :data:`gis.labels.COLUMNS`).  The labels passed by the
#: caller take precedence.
REPORT_LABELS = column_labels()

#: Labels of the run-summary keys (汇总 sheet and HTML summary).
SUMMARY_LABELS = SUMMARY


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def settings_or_default(settings):
    """The settings, loaded once (load_settings() parses every YAML file)."""
    return load_settings() if settings is None else settings


def report_settings(settings):
    """Return the ``report`` section of the settings (:func:`gis.config.section`)."""
    return section(settings, "report")


def report_labels(labels=None):
    """Return the label map used for headers: defaults updated by ``labels``.

    Parameters
    ----------
    labels : dict, optional
        Internal name -> Chinese header; overrides :data:`REPORT_LABELS`.

    Returns
    -------
    dict

    Examples
    --------
    >>> report_labels({"tax": "实缴税金(万元)"})["tax"]
    '实缴税金(万元)'
    >>> report_labels()["tax_per_mu"]
    '亩均税收(万元/亩)'
    """
    out = dict(REPORT_LABELS)
    if labels:
        out.update({str(k): str(v) for k, v in labels.items()})
    return out


#: table key -> its context in the labels table (:data:`gis.labels.CONTEXTS`)
_TABLE_CONTEXT = {
    "firms": "firms",
    "renewal_parcels": "renewal",
    "renewal_blocks": "renewal",
    "renewal_plan": "renewal",
    "renewal_assessed": "renewal",
    "clusters": "clusters",
    "location_quotients": "clusters",
    "parcels": "land",
    "platforms": "aggregate",
    "parks": "aggregate",
    "townships": "aggregate",
    "chains": "aggregate",
    "changes": "changes",
    "targets": "targets",
    "platform_targets": "targets",
    "contracts": "contracts",
    "contract_indicators": "contracts",
}


def producer_labels(key):
    """The labels of table ``key``: the labels table in the table's context."""
    return column_labels(_TABLE_CONTEXT.get(key))

"""标准地 履约: are the land contracts delivering what they promised? (domain.md §10).

:mod:`gis.contracts.check` checks each contract (pure functions);
:mod:`gis.contracts.load` reads the bureau's contract ledger (``--contracts``);
:mod:`gis.contracts.land` attaches each contract to a land unit and the
holder's figures; :mod:`gis.contracts.outputs` makes the sheet, the report
section, the layer and the summary line.
"""

from .check import (
    CHECKPOINT_ZH,
    INDICATORS,
    PRIORITY,
    STATUS_ZH,
    anniversary,
    check_contracts,
    check_date,
    indicator_table,
    indicator_values,
    settings_problems,
)

__all__ = [
    "CHECKPOINT_ZH", "INDICATORS", "PRIORITY", "STATUS_ZH", "anniversary", "check_contracts",
    "check_date", "indicator_table", "indicator_values", "settings_problems",
]

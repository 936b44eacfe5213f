"""The yearly 亩均 report, for the batch job (a thin wrapper over the package).

Same as ``gis report ...`` (the ``report`` command of :mod:`gis.cli`); every
option is the command's::

    python scripts/yearly_report.py --enterprises 企业.xlsx --year 2025 --out 报告/ \\
        [--settings 设置.yaml] [--previous 企业_2024.xlsx]

The work is done by :mod:`gis.cli` (loading, evaluation) and
:func:`gis.report.write_report` (workbook and HTML report); this file holds
no logic of its own.
"""

import sys


def main(argv=None):
    """Run ``gis report`` with these arguments; returns the exit code."""
    try:
        from gis.cli import main as cli_main
    except ImportError as exc:  # the package is not installed
        sys.exit(f"yearly_report: cannot import gis.cli ({exc}); install the package: pip install -e .")
    return cli_main(["report", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

"""The README tells the truth: its sample run is what the current code prints.

The block between the ``demo-sample`` markers is regenerated from the
session's default demo run (scale 1) and compared with README.md; only the
measured time and memory are taken from the README as they are.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("readme_sample", ROOT / "scripts" / "readme_sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_readme_sample_run_is_current(demo_zongdi_run):
    sample = _script()
    old = sample.current_block(sample.README.read_text(encoding="utf-8"))
    new = sample.sample_block(demo_zongdi_run, *sample.measured_timing(old))
    assert new == old, f"README.md's sample run is stale: run `{sample.COMMAND}` and commit README.md"


def test_readme_block_quotes_the_summary_figures():
    """The block is made of the summary's figures (hand-made summary, known text)."""
    from types import SimpleNamespace

    summary = {"firms_read": 4122, "firms_loaded": 4116, "firms_rejected": 6, "firms_evaluated": 2044,
               "firms_graded": 1922, "class_counts": {"A": 480, "B": 866, "C": 480, "D": 96},
               "firms_scored_not_graded": 122, "firms_lessee": 2000, "firms_out_of_scope": 72,
               "parcels": 11164, "land_mu": 35654.59, "tax": 975378.06, "tax_per_mu": 27.356,
               "extra_lines": {"renewal": "低效工业用地: 候选 1 宗"}}
    block = _script().sample_block(SimpleNamespace(summary=summary, renewal=None, ledger=None), 31.2, 0.74)
    assert "needs about 30 s of CPU time and 0.7 GB of memory" in block
    assert "(4 122 enterprise rows, 2 044 evaluated firms on 35 655 亩, 11 164 parcels)" in block
    assert "(A 480, B 866, C 480, D 96)" in block
    assert "用地 35,654.6 亩, 税收 975,378.1 万元, 亩均税收 27.36 万元/亩" in block
    assert block.splitlines()[-2:] == ["```", _script().END] and "低效工业用地: 候选 1 宗" in block

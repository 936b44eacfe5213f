"""Regenerate the README's sample run from the current code.

Runs the default demo exactly as ``make demo`` does (scale 1, default seed,
all stages), measures its CPU time and peak memory, and rewrites the block of
``README.md`` between the ``demo-sample`` markers: the sentence quoting
the demo's size and the summary lines it prints.  Run it after changing a
rule that moves a figure::

    .venv/bin/python scripts/readme_sample.py          # rewrites README.md
    .venv/bin/python scripts/readme_sample.py --check  # exit 1 when the README is stale

``tests/test_readme.py`` checks the block against the session demo run
(every figure except the measured time and memory).
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COMMAND = ".venv/bin/python scripts/readme_sample.py"
START = f"<!-- demo-sample: written by `{COMMAND}`, do not edit by hand -->"
END = "<!-- /demo-sample -->"
_TIMING = re.compile(r"needs about (\S+) s of CPU time and (\S+) GB")


def _n(x):
    """``4122`` -> ``4 122`` (the README's thousands separator)."""
    return f"{x:,.0f}".replace(",", " ")


def sample_block(result, seconds, peak_gb):
    """Return the README block (markers included) for a demo ``result``.

    Parameters
    ----------
    result : gis.pipeline.Run
        The default demo run (scale 1); its summary holds every figure quoted.
    seconds, peak_gb : float or str
        Measured CPU time (user + system: the same on a busy machine) and
        peak memory of the demo (shown rounded).

    Returns
    -------
    str
    """
    from gis.pipeline import summary_lines

    s = result.summary
    secs = seconds if isinstance(seconds, str) else f"{5 * round(float(seconds) / 5):.0f}"
    gb = peak_gb if isinstance(peak_gb, str) else f"{float(peak_gb):.1f}"
    return "\n".join([
        START,
        f"`make demo` needs about {secs} s of CPU time and {gb} GB of memory for the default demo",
        f"({_n(s['firms_read'])} enterprise rows, {_n(s['firms_evaluated'])} evaluated firms on "
        f"{_n(s['land_mu'])} 亩, {_n(s['parcels'])} parcels).",
        "It prints the run summary:",
        "",
        "```",
        *summary_lines(result),
        "```",
        END,
    ])


def current_block(text):
    """Return the block of README ``text`` between the markers (markers included)."""
    i, j = text.find(START), text.find(END)
    if i < 0 or j < i:
        raise SystemExit(f"README.md: markers not found ({START} ... {END})")
    return text[i: j + len(END)]


def measured_timing(block):
    """Return the ``(seconds, GB)`` strings quoted in a block (kept when only figures are checked)."""
    m = _TIMING.search(block)
    return (m.group(1), m.group(2)) if m else ("?", "?")


def run_demo(folder):
    """Run the default demo into ``folder``; return ``(result, cpu_seconds, peak_gb)``."""
    from gis import demo, pipeline

    def cpu():  # this process and any worker process it waited for
        return time.process_time() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), k)
                                         for k in ("ru_utime", "ru_stime"))

    t0 = cpu()
    inputs = demo.demo_inputs(Path(folder) / "data", scale=1.0, parcels=True)  # as gis demo
    result = pipeline.run(**inputs, out_dir=Path(folder) / "out", progress=False)
    seconds = cpu() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result, seconds, peak_kb / 1024 ** 2


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check; exit 1 when README.md is stale")
    args = p.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    old = current_block(text)
    with tempfile.TemporaryDirectory(prefix="readme_sample_") as tmp:
        result, seconds, gb = run_demo(tmp)
    if args.check:
        new = sample_block(result, *measured_timing(old))
        if new != old:
            print(f"README.md sample run is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        print("README.md sample run is current")
        return 0
    new = sample_block(result, seconds, gb)
    README.write_text(text.replace(old, new), encoding="utf-8")
    print(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())

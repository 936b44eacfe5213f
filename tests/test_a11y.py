"""Accessibility: axe-core finds no serious or critical violation on the report, the maps
and index.html (the demo run's files, in headless Chromium, network blocked).

axe-core is vendored for this test only (tests/vendor/axe-core: version, licence and
checksums in VERSION.json); it is injected into each page, never written into an output.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import browser as gisbrowser  # noqa: E402

VENDOR = Path(__file__).parent / "vendor" / "axe-core"
RUN_AXE = """async () => { const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, n: v.nodes.length,
                                 at: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"""


def test_axe_is_vendored_with_version_and_licence():
    import hashlib

    info = json.loads((VENDOR / "VERSION.json").read_text(encoding="utf-8"))
    assert info["package"] == "axe-core" and info["licence"] == "MPL-2.0"
    js = (VENDOR / "axe.min.js").read_bytes()
    assert hashlib.sha256(js).hexdigest() == info["axe.min.js_sha256"]
    assert f"axe v{info['version']}".encode() in js[:400]
    assert (VENDOR / "LICENSE").read_text(encoding="utf-8").startswith("Mozilla Public License")


@pytest.mark.browser
@pytest.mark.slow
def test_no_serious_or_critical_violation(demo_run):
    reason = gisbrowser.unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the browser tests cannot run: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    result, out, _, _ = demo_run
    pages = {"index.html": (Path(out) / "index.html", None),
             "report": (Path(result.paths["report_html"]), None)}
    for name, path in result.paths["maps"].items():
        pages[name] = (Path(path), "window.gis && window.gis.isReady()")
    axe = (VENDOR / "axe.min.js").read_text(encoding="utf-8")
    found = {}
    with gisbrowser.browser() as b:
        for name, (path, ready) in pages.items():
            with gisbrowser.open_map(b, path, ready=ready) as (page, log):
                page.add_script_tag(content=axe)
                bad = [v for v in page.evaluate(RUN_AXE) if v["impact"] in ("serious", "critical")]
                if bad:
                    found[name] = bad
                assert log.blocked == [], (name, log.blocked)
    assert len(pages) == 6
    assert found == {}

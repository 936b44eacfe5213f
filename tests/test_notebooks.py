"""Execute every planner notebook top to bottom, offline.

The kernel starts with ``tests/netguard`` on PYTHONPATH, whose
``sitecustomize`` refuses any connection to a host other than loopback: a
notebook that downloads anything fails here.  The demo data are generated
at a reduced scale (``GIS_DEMO_SCALE``) into a temporary folder
(``GIS_DEMO_DIR``) to keep the suite fast.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NETGUARD = Path(__file__).parent / "netguard"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("nbdemo")


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_offline(path, demo_dir, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(NETGUARD), str(ROOT)]))
    monkeypatch.setenv("GIS_DEMO_DIR", str(demo_dir))
    monkeypatch.setenv("GIS_DEMO_SCALE", "0.25")
    monkeypatch.setenv("GIS_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    # every code cell ran, and none printed a traceback or an error output
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    executed = [c for c in nb.cells if c.cell_type == "code"]
    assert executed and all(c.get("execution_count") for c in executed)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1

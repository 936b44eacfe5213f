"""The second process of a run (gis.background): same maps, warnings and errors come back."""

from __future__ import annotations

import pickle
import re
import warnings

import pytest

from gis import pipeline
from gis._errors import ConfigError, ValidationError
from gis.background import Background, worth_it
from gis.config import check_settings, load_settings
from gis.demo import sample


def test_errors_come_back_as_themselves():
    """A problem list pickles to the same message (what a spawned process sends back)."""
    err = ValidationError(["column 'X' missing", "rows 3, 4"], source="企业.xlsx")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ValidationError and str(back) == str(err)
    with Background() as bg:
        with pytest.raises(ValueError, match="invalid literal"):
            bg.result(bg.submit(int, ("二",)))


def test_warnings_are_raised_again_here():
    with Background() as bg, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, seconds = bg.result(bg.submit(warnings.warn, ("字体缺字", UserWarning)))
    assert value is None and seconds >= 0
    assert [str(w.message) for w in caught] == ["字体缺字"]


def test_parallel_maps_setting_is_checked_and_read():
    s = load_settings()
    s["engine"]["parallel_maps"] = "yes"
    with pytest.raises(ConfigError, match="engine.parallel_maps"):
        check_settings(s)
    assert worth_it({"engine": {"parallel_maps": False}}) is False


def _without_ids(text):
    return re.sub(r"[0-9a-f]{32}", "ID", text)


def test_maps_drawn_beside_the_report_equal_maps_drawn_in_turn(tmp_path):
    """The sample with and without the second process: the same map files, the same
    pages (but for folium's random element ids); the run says how long they took there."""
    smp = sample()
    runs = {}
    for parallel in (False, True):
        s = load_settings()
        s["engine"]["parallel_maps"] = parallel
        runs[parallel] = pipeline.run(**smp.inputs, out_dir=tmp_path / str(parallel), settings=s,
                                      stages=("renewal", "maps"), progress=False)
    one, two = runs[False], runs[True]
    assert "maps" not in one.timings_background
    assert two.timings_background["maps"] > 0
    assert sorted(one.paths["maps"]) == sorted(two.paths["maps"]) != []
    for name, path in one.paths["maps"].items():
        other = two.paths["maps"][name]
        assert str(other).startswith(str(tmp_path / "True"))
        a = open(path, encoding="utf-8").read()
        b = open(other, encoding="utf-8").read()
        assert _without_ids(a) == _without_ids(b), name

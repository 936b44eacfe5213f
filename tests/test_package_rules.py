"""Rules of the developers' guide checked on the source of the package itself.

* every public function (no leading underscore, defined at module level) of
  every ``gis/*.py`` and ``gis/<package>/*.py`` module is in that module's
  ``__all__``, and every name in ``__all__`` exists;
* no function or method in ``gis/`` is longer than 120 lines
  (``end_lineno - lineno + 1``, decorators excluded);
* no public function or method takes ``**kwargs``: a misspelt keyword
  fails (TypeError) instead of being swallowed, also through the
  ``staged`` wrapper of ``run``/``publish`` and their stage options.
"""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "gis"
#: the modules of gis/ and of its sub-packages (gis/scale, gis/maps, ...)
MODULES = sorted(ROOT.glob("*.py")) + sorted(p for p in ROOT.glob("*/*.py") if (p.parent / "__init__.py").exists())
MAX_LINES = 120


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    return ".".join(rel.parts)


def _public_functions(tree):
    return [n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and not n.name.startswith("_")]


def test_the_rules_see_the_whole_package():
    # guard against a glob that finds nothing (a test that cannot fail)
    names = {_module_name(p) for p in MODULES}
    assert {"gis.renewal", "gis.attach", "gis.crs", "gis.scale.run"} <= names
    assert len(MODULES) > 30


@pytest.mark.parametrize("path", MODULES, ids=_module_name)
def test_every_public_function_is_in_all(path):
    public = _public_functions(_tree(path))
    if path.name == "__main__.py" or not public:
        return
    module = importlib.import_module(_module_name(path))
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{_module_name(path)} has public functions but no __all__"
    missing = [f for f in public if f not in exported]
    assert not missing, f"{_module_name(path)}.__all__ lacks {missing}"
    unknown = [n for n in exported if not hasattr(module, n)]
    assert not unknown, f"{_module_name(path)}.__all__ names what it does not define: {unknown}"


def _long_functions(path, name):
    """``"<module>.<function> (<n> lines, line <k>)"`` for each function over MAX_LINES."""
    out = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            if n > MAX_LINES:
                out.append(f"{name}.{node.name} ({n} lines, line {node.lineno})")
    return out


def test_long_function_finder_knows_a_long_function(tmp_path):
    src = tmp_path / "m.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))  # def line + 120 = 121
    src.write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n", encoding="utf-8")
    assert _long_functions(src, "m") == [f"m.long ({MAX_LINES + 1} lines, line 5)"]


#: functions still over the limit, each split by the engineer who owns it;
#: the test below fails when one is fixed but left listed, so the list only
#: shrinks (gis.report.write_report was split; check_contracts came in with the
#: 标准地 check, seen once the rule reached the sub-packages: one status per
#: contract over eight checkpoints, to split by checkpoint)
KNOWN_LONG = {"gis.contracts.check.check_contracts"}


def test_no_function_longer_than_120_lines():
    found = [x for p in MODULES for x in _long_functions(p, _module_name(p))]
    names = {x.split(" (")[0] for x in found}
    assert names <= KNOWN_LONG, f"functions over {MAX_LINES} lines: {sorted(names - KNOWN_LONG)}"
    assert KNOWN_LONG <= names, f"no longer over {MAX_LINES} lines, drop from KNOWN_LONG: {KNOWN_LONG - names}"


def _keyword_swallowers(path, name):
    """``"<module>.<function>(**<name>)"`` for each public function or method taking ``**kwargs``.

    Public: module-level functions without a leading underscore, and the
    public methods of public classes (dunder methods included).
    """
    out = []
    for node in _tree(path).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            if node.args.kwarg is not None:
                out.append(f"{name}.{node.name}(**{node.args.kwarg.arg})")
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for m in node.body:
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.args.kwarg is not None \
                        and (not m.name.startswith("_") or m.name.endswith("__")):
                    out.append(f"{name}.{node.name}.{m.name}(**{m.args.kwarg.arg})")
    return out


def test_keyword_swallower_finder_knows_one(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f(a, *, b=1, **_ignored):\n    return a\n\n\ndef _g(**kw):\n    return kw\n\n\n"
                   "class C:\n    def m(self, **kw):\n        return kw\n", encoding="utf-8")
    assert _keyword_swallowers(src, "m") == ["m.f(**_ignored)", "m.C.m(**kw)"]


def test_public_functions_take_explicit_keywords():
    # a misspelt keyword must fail (TypeError), not be swallowed by **kwargs
    found = [x for p in MODULES for x in _keyword_swallowers(p, _module_name(p))]
    assert not found, f"public functions taking **kwargs: {found}"


def test_a_misspelt_keyword_of_a_staged_function_fails_before_any_folder(tmp_path):
    # gis.outputs.staged wraps run/publish in (*args, **kwargs) but binds them to the real signature
    from gis import pipeline

    out = tmp_path / "out"
    with pytest.raises(TypeError, match="stagse"):
        pipeline.run("firms.xlsx", out, 2025, stagse=("renewal",))
    assert not out.exists()


def test_a_misspelt_stage_option_fails_before_any_work(tmp_path):
    # map_options/report_options become keywords of the maps/report stages: checked up front
    from gis import pipeline

    out = tmp_path / "out"
    with pytest.raises(TypeError, match=r"map_options \['pubic'\]"):
        pipeline.run("firms.xlsx", out, 2025, map_options={"pubic": True})
    with pytest.raises(TypeError, match=r"report_options \['pfd'\]"):
        pipeline.run("firms.xlsx", out, 2025, report_options={"pfd": True})
    assert not out.exists()

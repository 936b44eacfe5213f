"""Settings: the numbers a planner may change, as YAML with documented defaults.

Defaults ship as one YAML file per concern in ``gis/defaults/`` (the file
name is the top-level key: ``efficiency.yaml`` -> ``settings["efficiency"]``).
A user file overrides any subset of them::

    efficiency:
      min_land_mu: 5
    renewal:
      far_min: 1.2

Unknown keys and values of the wrong type fail at load with the key and the
reason (:class:`gis.ConfigError`), never later in the run.  Each module that
owns a section also contributes a *checker* of its values (ranges, choices,
names of rules, chains and indicators that must exist), registered in
:data:`CHECKERS`; :func:`load_settings` runs them all and raises one
:class:`gis.ConfigError` listing every problem as ``key.path: reason``.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path

import yaml

from ._errors import ConfigError

__all__ = ["DEFAULTS_DIR", "CHECKERS", "load_settings", "default_settings", "merge_settings",
           "section", "settings_problems", "check_settings", "number_problems", "choice_problems"]

DEFAULTS_DIR = Path(__file__).parent / "defaults"


def _read_yaml(path):
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def default_settings():
    """Return the shipped default settings (a fresh nested dict).

    Returns
    -------
    dict
        ``{section: {key: value}}`` with one section per file in
        ``gis/defaults/``.
    """
    paths = sorted(DEFAULTS_DIR.glob("*.yaml"))
    key = tuple((p.name, p.stat().st_mtime_ns) for p in paths)
    if _CACHE.get("key") != key:
        _CACHE["key"] = key
        _CACHE["value"] = {p.stem: _read_yaml(p) for p in paths}
    return copy.deepcopy(_CACHE["value"])


_CACHE = {}


def _type_name(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "mapping"
    return "null" if v is None else type(v).__name__


def merge_settings(base, override, where="", source="settings", open_keys=()):
    """Merge ``override`` into a copy of ``base``, checking keys and types.

    Parameters
    ----------
    base : dict
        Defaults.
    override : dict
        The user's values.
    where : str
        Dotted path of ``base`` (for messages).
    source : str
        File name (for messages).
    open_keys : iterable of str
        Dotted paths of mappings whose keys the user may choose freely
        (e.g. the list of industry chains).

    Returns
    -------
    dict
    """
    out = copy.deepcopy(base)
    problems = []
    for key, value in override.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in base:
            if where in open_keys:
                out[key] = value
                continue
            problems.append(
                f"{path}: unknown key '{key}' (known: {', '.join(map(str, base)) or 'none'})"
            )
            continue
        default = base[key]
        if isinstance(default, dict) and isinstance(value, dict):
            try:
                out[key] = merge_settings(default, value, path, source, open_keys)
            except ConfigError as exc:
                problems.extend(exc.problems)
            continue
        td, tv = _type_name(default), _type_name(value)
        if default is not None and value is not None and td != tv:
            problems.append(f"{path}: must be a {td}, got {tv} {value!r}")
            continue
        if tv == "number" and isinstance(value, (int, float)) and value != value:
            problems.append(f"{path}: is not a number")
            continue
        out[key] = value
    if problems:
        if where:
            raise ConfigError(problems)
        raise ConfigError(problems, source=source)
    return out


#: mappings whose keys belong to the user (not checked against defaults)
OPEN_KEYS = (
    "chains.chains", "efficiency.benchmarks", "chains.targets_2030_yi",
    "renewal.standard_far", "renewal.tax_average_previous", "renewal.benchmark_tax_per_mu",
    "renewal.benchmark_value_added_per_mu", "renewal.match.lead_chains", "renewal.local",
    "io.landuse.code_fields",
)


#: section -> "module:function" checking that section's values.  The function
#: takes the whole settings (a section may refer to another, e.g. chains) and
#: returns a list of problems, each ``"section.key: reason"``.
CHECKERS = {
    "attach": "gis.attach:settings_problems",
    "cadastre": "gis.cadastre:settings_problems",
    "chains": "gis.chains:settings_problems",
    "contracts": "gis.contracts.check:settings_problems",
    "density": "gis.density:settings_problems",
    "efficiency": "gis.efficiency:settings_problems",
    "engine": "gis.scale.cluster:settings_problems",
    "io": "gis.io:settings_problems",
    "plausibility": "gis.plausibility:settings_problems",
    "renewal": "gis.renewal:settings_problems",
}


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v


def number_problems(cfg, where, key, *, low=None, high=None, above=None, integer=False,
                    allow_none=False):
    """Problems of one numeric setting (missing, not a number, out of range).

    Parameters
    ----------
    cfg : dict
        The mapping holding the setting.
    where : str
        Its dotted path (for the message), e.g. ``"density.kde"``.
    key : str
    low, high : float, optional
        Inclusive bounds.
    above : float, optional
        Exclusive lower bound (``above=0``: must be > 0).
    integer : bool
        Must be a whole number.
    allow_none : bool
        ``null`` is a valid value.

    Returns
    -------
    list of str

    Examples
    --------
    >>> number_problems({"radius_m": -5}, "density.kde", "radius_m", above=0)
    ['density.kde.radius_m: must be > 0, got -5']
    >>> number_problems({"cap": None}, "e", "cap", above=0)
    ['e.cap: must be a number, got null']
    """
    path = f"{where}.{key}"
    v = cfg.get(key) if isinstance(cfg, dict) else None
    if v is None and allow_none:
        return []
    if not _is_number(v):
        return [f"{path}: must be a number, got {_type_name(v)} {v!r}".replace(" None", "")]
    if integer and float(v) != int(v):
        return [f"{path}: must be a whole number, got {v!r}"]
    if above is not None and not v > above:
        return [f"{path}: must be > {above:g}, got {v!r}"]
    if low is not None and v < low:
        return [f"{path}: must be >= {low:g}, got {v!r}"]
    if high is not None and v > high:
        return [f"{path}: must be <= {high:g}, got {v!r}"]
    return []


def choice_problems(cfg, where, key, choices):
    """Problems of a setting that must be one of ``choices``.

    >>> choice_problems({"kernel": "box"}, "density.kde", "kernel", ("quartic", "gaussian"))
    ["density.kde.kernel: must be one of quartic, gaussian, got 'box'"]
    """
    v = cfg.get(key) if isinstance(cfg, dict) else None
    if v in choices:
        return []
    return [f"{where}.{key}: must be one of {', '.join(map(str, choices))}, got {v!r}"]


def settings_problems(settings, sections=None):
    """Every problem the section checkers (:data:`CHECKERS`) find in ``settings``.

    Parameters
    ----------
    settings : dict
        Full settings (as from :func:`load_settings`).
    sections : iterable of str, optional
        Only these sections (default: every section with a checker).

    Returns
    -------
    list of str
        ``"section.key: reason"``, in section order.

    Examples
    --------
    >>> s = default_settings()
    >>> settings_problems(s)
    []
    >>> s["renewal"]["yearly_target_mu"] = 0
    >>> settings_problems(s)
    ['renewal.yearly_target_mu: must be > 0, got 0']
    """
    problems = []
    for name in sections or CHECKERS:
        if name not in settings or name not in CHECKERS:
            continue
        module, func = CHECKERS[name].split(":")
        problems.extend(getattr(importlib.import_module(module), func)(settings))
    return problems


def check_settings(settings, source=None, sections=None):
    """Return ``settings`` when every checker passes; else raise one :class:`ConfigError`.

    Raises
    ------
    ConfigError
        With ``problems``: every problem found, each naming its key.
    """
    problems = settings_problems(settings, sections)
    if problems:
        raise ConfigError(problems, source=source)
    return settings


def load_settings(path=None):
    """Load the settings: the defaults, overridden by ``path`` when given.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file with any subset of the default sections and keys.

    Returns
    -------
    dict

    Raises
    ------
    ConfigError
        Listing every problem (``problems``), each naming the key and the
        reason: an unknown key, a wrong type, or a value a section checker
        refuses (:data:`CHECKERS`).

    Examples
    --------
    >>> s = load_settings()
    >>> s["chains"]["targets_2030_yi"]["光电显示"]
    400
    """
    base = default_settings()
    if path is None:
        if _CACHE.get("checked") != _CACHE.get("key"):
            check_settings(base, source=str(DEFAULTS_DIR))
            _CACHE["checked"] = _CACHE.get("key")
        return base
    user = _read_yaml(path)
    merged = merge_settings(base, user, source=str(path), open_keys=OPEN_KEYS)
    return check_settings(merged, source=str(path))


def section(settings, name):
    """Return one section of ``settings`` (the defaults when ``settings`` is None).

    Raises
    ------
    ConfigError
        When the section is missing, naming its defaults file.

    Examples
    --------
    >>> section(None, "chains")["targets_2030_yi"]["化妆品"]
    80
    """
    if settings is None:
        settings = load_settings()
    try:
        return settings[name]
    except KeyError:
        raise ConfigError(f"settings have no '{name}' section (gis/defaults/{name}.yaml)") from None

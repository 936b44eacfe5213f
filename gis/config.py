"""Settings: the numbers a planner may change, as YAML with documented defaults.

Defaults ship as one YAML file per concern in ``gis/defaults/`` (the file
name is the top-level key: ``efficiency.yaml`` -> ``settings["efficiency"]``).
A user file overrides any subset of them::

    efficiency:
      min_land_mu: 5
    renewal:
      far_min: 1.2

Unknown keys and values of the wrong type fail at load with the key and the
reason (:class:`gis.ConfigError`), never later in the run.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from ._errors import ConfigError

__all__ = ["DEFAULTS_DIR", "load_settings", "default_settings", "merge_settings", "section"]

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
                f"unknown key '{path}' (known: {', '.join(map(str, base)) or 'none'})"
            )
            continue
        default = base[key]
        if isinstance(default, dict) and isinstance(value, dict):
            try:
                out[key] = merge_settings(default, value, path, source, open_keys)
            except ConfigError as exc:
                problems.extend(exc.args[0].split("\n"))
            continue
        td, tv = _type_name(default), _type_name(value)
        if default is not None and value is not None and td != tv:
            problems.append(f"'{path}' must be a {td}, got {tv} {value!r}")
            continue
        if tv == "number" and isinstance(value, (int, float)) and value != value:
            problems.append(f"'{path}' is not a number")
            continue
        out[key] = value
    if problems:
        raise ConfigError("\n".join(problems) if where else f"{source}: " + "; ".join(problems))
    return out


#: mappings whose keys belong to the user (not checked against defaults)
OPEN_KEYS = (
    "chains.chains", "efficiency.benchmarks", "chains.targets_2030_yi",
    "renewal.standard_far", "renewal.tax_average_previous", "renewal.benchmark_tax_per_mu",
    "renewal.benchmark_value_added_per_mu", "renewal.match.lead_chains", "renewal.local",
)


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
        Naming the key and the reason, for an unknown key or a wrong type.

    Examples
    --------
    >>> s = load_settings()
    >>> s["chains"]["targets_2030_yi"]["光电显示"]
    400
    """
    base = default_settings()
    if path is None:
        return base
    user = _read_yaml(path)
    return merge_settings(base, user, source=str(path), open_keys=OPEN_KEYS)


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

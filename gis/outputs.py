"""How outputs are written: safe file names, whole runs or nothing, one run at a time.

- :func:`safe_filename` reduces a name that comes from the data (an
  industry chain, a zone) to a file name that stays inside the output folder
  on every system; :func:`output_path` joins it to a folder and checks it.
- :func:`staged` (a decorator of :func:`gis.pipeline.run` and
  :func:`gis.pipeline.publish`) runs into a temporary folder beside
  ``out_dir`` and moves the finished files into place at the end, then writes
  ``run.json`` last (inputs, settings hash, versions, ``"status":
  "complete"``).  Interrupted before the move, ``out_dir`` keeps the previous
  complete outputs; interrupted during the move, ``run.json`` says
  ``"incomplete"``.  A run stopped by a user error (e.g. every row rejected,
  or a late stage failing) moves in only the ledger (``rejects.csv``) and
  says ``"failed"``.
- :func:`csv_safe` and :func:`write_xlsx` keep text text in a spreadsheet:
  a name such as ``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0`` is never a
  formula (CSV: a ``'`` in front, per the OWASP CSV-injection guidance;
  .xlsx: a string cell).
- :func:`run_lock` holds ``out_dir/.gis-run.lock`` (pid, host, start time,
  command) for the whole run: a second run into the same folder stops at once
  with :class:`OutputBusy` naming the running one; a lock left by a process
  that no longer runs (same host) is taken over with a note.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import inspect
import json
import os
import platform
import re
import shutil
import socket
import sys
import tempfile
import unicodedata
from pathlib import Path

from ._errors import ConfigError, GisError, ValidationError

__all__ = [
    "LOCK_NAME",
    "RUN_JSON",
    "OutputBusy",
    "safe_filename",
    "unique_filenames",
    "output_path",
    "writable_folder",
    "run_lock",
    "settings_hash",
    "run_record",
    "write_json_atomic",
    "staged",
    "FORMULA_START",
    "spreadsheet_text",
    "csv_safe",
    "write_xlsx",
]

#: lock file inside the output folder while a run writes into it
LOCK_NAME = ".gis-run.lock"
#: the record of the last run, written last
RUN_JSON = "run.json"

_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
             "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
_BAD = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_MAX_BYTES = 120  # UTF-8 bytes of a name (file systems allow 255; leave room for suffixes)


class OutputBusy(GisError):
    """Another run is writing into the same output folder."""


def safe_filename(name, default="未命名", max_bytes=_MAX_BYTES):
    """A file name (without folder) made from any text, safe on Windows, macOS and Linux.

    Path separators, control characters and ``<>:"|?*`` become "_", leading
    and trailing dots and spaces go (so ``..`` cannot climb), Windows device
    names (``CON``, ``NUL.txt``, ``COM1`` ...) get a "_" in front, an empty
    result becomes ``default``, and a name longer than ``max_bytes`` UTF-8
    bytes is cut and ends with a short hash of the whole name (so two long
    names stay distinct).  Chinese and other letters are kept.

    Parameters
    ----------
    name : str or any
    default : str
    max_bytes : int

    Returns
    -------
    str

    Examples
    --------
    >>> safe_filename("../../../x"), safe_filename("/etc/x"), safe_filename("NUL.txt")
    ('x', 'etc_x', '_NUL.txt')
    >>> safe_filename("光电显示"), safe_filename(" .. "), safe_filename("a:b*c")
    ('光电显示', '未命名', 'a_b_c')
    """
    text = unicodedata.normalize("NFC", "" if name is None else str(name))
    text = _BAD.sub("_", text).strip(" ._")
    text = re.sub(r"_{2,}", "_", text)
    if not text:
        text = default
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = "_" + text
    raw = text.encode("utf-8")
    if len(raw) > max_bytes:
        tag = hashlib.sha1(str(name).encode("utf-8")).hexdigest()[:8]
        cut = raw[:max_bytes - 9].decode("utf-8", errors="ignore").rstrip(" .")
        text = f"{cut}_{tag}"
    return text


def unique_filenames(names, default="未命名"):
    """``{name: safe file name}`` with no two names on the same file (case-insensitive).

    A name whose safe form is taken by an earlier one gets ``_2``, ``_3`` ...

    Examples
    --------
    >>> unique_filenames(["a/b", "a_b", "A_B"])
    {'a/b': 'a_b', 'a_b': 'a_b_2', 'A_B': 'A_B_3'}
    """
    out, taken = {}, set()
    for name in names:
        base = safe_filename(name, default)
        slug, k = base, 1
        while slug.lower() in taken:
            k += 1
            slug = safe_filename(f"{base}_{k}", default)
        taken.add(slug.lower())
        out[name] = slug
    return out


def output_path(folder, name, suffix=""):
    """``folder / (safe_filename(name) + suffix)``, checked to lie inside ``folder``.

    Raises
    ------
    ValidationError
        If the result would not be inside ``folder`` (cannot happen with
        :func:`safe_filename`; the check guards against future edits).
    """
    folder = Path(folder)
    path = folder / (safe_filename(name) + suffix)
    if path.resolve().parent != folder.resolve():
        raise ValidationError(f"file name {name!r} would be written outside {folder}")
    return path


# ---------------------------------------------------------------- spreadsheets
#: a text cell starting with one of these is a formula to a spreadsheet
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value):
    """``value`` with a ``'`` in front when it is a text a spreadsheet would run as a formula.

    Examples
    --------
    >>> print(spreadsheet_text('=HYPERLINK("http://x","y")'), spreadsheet_text("义乌"), spreadsheet_text(-3))
    '=HYPERLINK("http://x","y") 义乌 -3
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_safe(frame):
    """A copy of ``frame`` fit for a CSV opened in Excel: text cells and headers via :func:`spreadsheet_text`.

    Numbers are left as they are (a negative number is a number, not a
    formula).
    """
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(spreadsheet_text)
    out.columns = [spreadsheet_text(c) for c in out.columns]
    return out


def write_xlsx(sheets, path):
    """Write ``{sheet name: DataFrame}`` to ``path`` with every text as a string cell, never a formula.

    Parameters
    ----------
    sheets : dict of str -> DataFrame
    path : str or Path

    Returns
    -------
    pathlib.Path
    """
    import pandas as pd

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as xw:
        for name, df in sheets.items():
            df.to_excel(xw, index=False, sheet_name=str(name)[:31])
    return path


# ---------------------------------------------------------------- lock
def writable_folder(out_dir, keep=True):
    """Prove ``out_dir`` can be created and written; raise a one-line error if not.

    Parameters
    ----------
    out_dir : str or Path
    keep : bool
        True: the folder is created and stays.  False: folders the probe
        creates are removed again (the check writes nothing).

    Raises
    ------
    ValidationError
        When ``out_dir`` is an existing file or cannot be written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValidationError(f"--out {out} is an existing file, not a folder / 输出目录是一个已存在的文件")
    missing = [p for p in [out, *out.parents] if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ValidationError(f"--out {out}: cannot write there ({why}) / 输出目录无法写入") from None
    finally:
        if not keep or not out.is_dir():
            for p in missing:  # deepest first
                if p.is_dir():
                    p.rmdir()
    return out


def _alive(pid):
    try:
        import psutil

        return psutil.pid_exists(pid)
    except ImportError:  # pragma: no cover - psutil comes with dask
        if os.name != "posix":
            return True  # cannot tell: treat as running
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _now():
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _read_lock(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def run_lock(out_dir, command="run", echo=None):
    """Hold the lock of ``out_dir`` for the duration of a ``with`` block.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing.
    command : str
        What runs (written into the lock, shown to a second run).
    echo : callable, optional
        Receives the note when a stale lock is taken over (default: stderr).

    Raises
    ------
    OutputBusy
        When a running process (or one on another host) holds the lock.
    ValidationError
        When ``out_dir`` is an existing file or cannot be written.
    """
    out = writable_folder(out_dir)
    path = out / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": _now(), "command": command}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            held = _read_lock(path)
            pid, host = held.get("pid"), held.get("host")
            if isinstance(pid, int) and host == me["host"] and not _alive(pid):
                (echo or (lambda s: print(s, file=sys.stderr)))(
                    f"gis: 接管过期的运行锁 / taking over a stale lock: {path} "
                    f"(pid {pid}, started {held.get('started', '?')}, no longer running)")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                continue
            if not held:  # being written this instant, or unreadable
                raise OutputBusy(f"{out}: 另一次运行正在写入此目录 / another run is writing into this "
                                 f"folder (lock file {path} unreadable; delete it if no run is going on)")
            raise OutputBusy(
                f"{out}: 另一次运行正在写入此目录 / another run is writing into this folder: "
                f"gis {held.get('command', '?')}, pid {pid} on {host}, started {held.get('started', '?')} "
                f"(lock {path}; delete it only if that run is gone)")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh, ensure_ascii=False)
        break
    else:
        raise OutputBusy(f"{out}: could not take the lock {path}")
    try:
        yield path
    finally:
        if _read_lock(path).get("pid") == me["pid"]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


# ---------------------------------------------------------------- run.json
def settings_hash(settings):
    """SHA-256 of the settings (keys sorted), the same for the same settings."""
    text = json.dumps(settings, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _versions():
    from . import __version__

    out = {"gis": __version__, "python": platform.python_version()}
    for mod in ("numpy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "rasterio", "folium"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    return out


def _describe_input(value):
    p = Path(value)
    if not p.exists():
        return {"path": str(value)}
    st = p.stat()
    out = {"path": str(p.resolve()), "bytes": st.st_size if p.is_file() else None,
           "modified": _dt.datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(timespec="seconds")}
    if p.is_file() and st.st_size <= 200 * 2**20:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(2**20), b""):
                h.update(block)
        out["sha256"] = h.hexdigest()
    return out


def run_record(command, status, inputs=None, settings=None, files=(), started=None, error=None):
    """The content of ``run.json``.

    Parameters
    ----------
    command : str
    status : {"complete", "incomplete", "failed"}
    inputs : dict, optional
        ``{role: path}``; each file is described by path, size, time and
        SHA-256 (files up to 200 MiB).
    settings : dict, optional
    files : iterable of str
        Files written, relative to the output folder.
    started : str, optional
    error : str, optional

    Returns
    -------
    dict
    """
    rec = {"status": status, "command": command, "started": started, "finished": _now(),
           "host": socket.gethostname(), "pid": os.getpid(),
           "inputs": {k: _describe_input(v) for k, v in (inputs or {}).items()},
           "settings_sha256": settings_hash(settings) if settings is not None else None,
           "versions": _versions(), "files": sorted(files)}
    if error:
        rec["error"] = error
    return rec


def write_json_atomic(path, obj):
    """Write JSON to ``path`` through a temporary file and a rename (never half-written)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=2, default=str)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


# ---------------------------------------------------------------- staging
#: what a run stopped by a user error publishes (besides run.json): the ledger only
FAILED_RUN_FILES = ("rejects.csv",)


def _move_in(stage, out, only=None):
    """Move every file of ``stage`` (or those named in ``only``) under ``out``; the relative paths."""
    moved = []
    for src in sorted(p for p in stage.rglob("*") if p.is_file() and (only is None or p.name in only)):
        rel = src.relative_to(stage)
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dst)
        except OSError:  # another file system
            shutil.move(str(src), str(dst))
        moved.append(rel.as_posix())
    return moved


def _relocate(obj, stage, out):
    """``obj`` with every path under ``stage`` pointing under ``out`` (dicts changed in place)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            obj[k] = _relocate(v, stage, out)
        return obj
    if isinstance(obj, list):
        return [_relocate(v, stage, out) for v in obj]
    if isinstance(obj, (str, Path)):
        try:
            rel = Path(obj).relative_to(stage)
        except ValueError:
            return obj
        return out / rel if isinstance(obj, Path) else str(out / rel)
    return obj


def _relocated_error(exc, stage, out):
    """The same user error, its message naming ``out`` instead of the temporary folder."""
    if isinstance(exc, (ValidationError, ConfigError)):
        problems = [p.replace(str(stage), str(out)) for p in exc.problems]
        return type(exc)(problems, source=exc.source)
    return exc


def _inputs_of(arguments):
    roles = ("enterprises", "previous", "landuse", "plan")
    return {r: arguments[r] for r in roles if arguments.get(r) is not None}


def staged(command, check=None):
    """Decorate a function writing into ``out_dir``: whole outputs or none.

    The decorated function (``out_dir`` one of its parameters, returning an
    object with a ``paths`` dict, such as :class:`gis.pipeline.Run`) runs
    with ``out_dir`` replaced by a temporary folder beside it, under
    :func:`run_lock`.  When it returns, ``run.json`` is written with
    ``"status": "incomplete"``, the files are moved into ``out_dir``, the
    returned paths are changed to their new place, and ``run.json`` is
    written again with ``"status": "complete"``.  When it raises a
    :class:`~gis._errors.GisError`, only the ledger it wrote (``rejects.csv``) is
    moved in and ``run.json`` says ``"failed"``; on any other exception or
    Ctrl-C nothing is moved and ``out_dir`` is as it was.  The temporary
    folder is always removed.

    Parameters
    ----------
    command : str
        Name recorded in the lock and in ``run.json``.
    check : callable, optional
        Called with the bound arguments (a dict) before anything is locked or
        written: the function's own argument checks (e.g. the output folder
        with :func:`writable_folder` ``keep=False``), so that a wrong
        argument leaves no folder behind.
    """
    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            if check is not None:
                check(bound.arguments)  # before the lock makes the folder
            out = Path(bound.arguments["out_dir"])
            settings = bound.arguments.get("settings")
            inputs = _inputs_of(bound.arguments)
            created = not out.exists()
            try:
                return _staged_call(fn, bound, out, command, settings, inputs)
            finally:
                if created and out.is_dir() and not any(out.iterdir()):
                    out.rmdir()  # a run that wrote nothing leaves no folder behind
        return wrapper
    return deco


def _staged_call(fn, bound, out, command, settings, inputs):
    """The body of :func:`staged`: lock, run into a temporary folder, move in, record."""
    with run_lock(out, command):
        started = _now()
        stage = _stage_folder(out)
        try:
            bound.arguments["out_dir"] = stage
            try:
                result = fn(*bound.args, **bound.kwargs)
            except GisError as exc:
                _record_failure(exc, stage, out, command, settings, inputs, started)
            settings = getattr(result, "settings", settings)
            settings = settings if isinstance(settings, dict) else None
            inputs = inputs or dict(getattr(result, "inputs", None) or {})
            write_json_atomic(out / RUN_JSON, run_record(command, "incomplete", inputs, settings,
                                                         (), started))
            moved = _move_in(stage, out)
            result.paths = _relocate(result.paths, stage, out)
            if isinstance(getattr(result, "density", None), dict):
                _relocate(result.density, stage, out)
            write_json_atomic(out / RUN_JSON, run_record(command, "complete", inputs, settings,
                                                         moved, started))
            return result
        finally:
            shutil.rmtree(stage, ignore_errors=True)


def _stage_folder(out):
    """A new temporary folder beside ``out`` (inside it when its parent cannot be written)."""
    try:
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.gis-tmp-", dir=out.parent))
    except OSError:
        return Path(tempfile.mkdtemp(prefix=".gis-tmp-", dir=out))


def _record_failure(exc, stage, out, command, settings, inputs, started):
    """Move in the ledger a run stopped by a user error wrote, say "failed", raise the error again.

    A late stage that fails (the report, after the workbook, maps and
    density were written) publishes nothing of them: only ``rejects.csv``
    and ``run.json``.
    """
    moved = _move_in(stage, out, only=FAILED_RUN_FILES)
    err = _relocated_error(exc, stage, out)
    if moved:  # nothing written: the folder stays as it was
        write_json_atomic(out / RUN_JSON, run_record(
            command, "failed", inputs, settings if isinstance(settings, dict) else None,
            moved, started, error=str(err)))
    if err is exc:
        raise exc
    raise err from None

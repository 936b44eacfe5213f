"""Headless Chromium for the map tests (and scripts/bench_maps.py).

Opens an HTML file with the network blocked: every request that is not
``file:``/``data:``/``blob:``/``about:`` is aborted and recorded, console
errors, page errors and dialogs (``alert``) are recorded too.

Uses Playwright for Python with the system Chromium (``/usr/bin/chromium``,
Debian package ``chromium``; or ``$GIS_CHROMIUM``); ``playwright install``
is never run.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]


def chromium_path():
    """Path of the Chromium executable, or None."""
    for cand in (os.environ.get("GIS_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    return None


def unavailable_reason():
    """Why browser tests cannot run here (None when they can)."""
    if chromium_path() is None:
        return "Chromium not found (apt-get install chromium, or set GIS_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed (pip install playwright; no 'playwright install' needed)"
    return None


@dataclass
class PageLog:
    """What happened while a page was open."""

    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    blocked: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)
    load_s: float = float("nan")

    @property
    def errors(self):
        return self.console_errors + self.page_errors


@contextmanager
def browser():
    """A headless Chromium (Playwright Browser), closed on exit."""
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if exe is None:
        raise RuntimeError(unavailable_reason())
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def open_map(b, path, ready="window.gis && window.gis.isReady()", timeout_ms=60_000,
             viewport=(1200, 800)):
    """Open ``path`` in a new page with the network blocked; yields (page, PageLog).

    Waits for the 'load' event and then until the JavaScript expression
    ``ready`` is true; ``log.load_s`` is the time from navigation start to then.
    """
    ctx = b.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                        service_workers="block")
    log = PageLog()

    def on_route(route):
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort()

    ctx.route("**/*", on_route)
    page = ctx.new_page()
    page.on("console", lambda msg: msg.type == "error" and log.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.on("request", lambda req: None if req.url.startswith(LOCAL_SCHEMES)
            else (req.url not in log.blocked and log.blocked.append(req.url)))

    def on_dialog(d):
        log.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    t0 = time.perf_counter()
    try:
        page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=timeout_ms)
        if ready:
            page.wait_for_function(ready, timeout=timeout_ms, polling=50)
        log.load_s = time.perf_counter() - t0
        yield page, log
    finally:
        ctx.close()

"""Pytest fixtures for browser tests: Debian's Chromium driven by Playwright, against the app served by uvicorn.

A suite (the kernel's ``tests/browser``, or a plugin's own tests) imports them in
its ``conftest.py`` and defines ``live_site``, the site to serve::

    from kernel.testing import browser, live_server, shots  # noqa: F401 - fixtures

    @pytest.fixture
    def live_site(make_site):
        return make_site(plugins=("notes",), default_locale="en")

Mark the tests ``@pytest.mark.browser`` and run them with ``pytest -m browser``.
Without ``/usr/bin/chromium`` they skip, except in CI (``CI=true``), where a
missing browser is a failure. ``shots(page, "step")`` saves a full-page
screenshot under ``artifacts/screenshots`` of the pytest root directory. ``new_page(browser, PHONE)``
opens a page that keeps its script errors in ``page.errors``; ``sign_in(page, base, email, password)``
signs it in; ``follow_menu_link(page, "Pools")`` opens a menu entry on any screen;
``assert_no_sideways_scroll(page)`` fails when it is wider than its viewport.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .site import Site

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
SCREENSHOT_DIR = Path("artifacts") / "screenshots"  # under the pytest root directory
#: a folder for the documentation's screenshots (``CRM_DOCS_SCREENSHOTS=docs/img pytest -m browser``)
DOCS_SCREENSHOTS_ENV = "CRM_DOCS_SCREENSHOTS"
START_TIMEOUT = 20.0
PHONE = {"width": 375, "height": 812}
WIDE_ELEMENTS = ("Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
                 ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now: within ``$CRM_TEST_PORTS``
    (``"8880-8889"``, for machines where each runner owns a range) when set, else any. Under
    pytest-xdist each worker takes its own slice of the range, so two workers never pick the same port."""
    low, _, high = os.environ.get("CRM_TEST_PORTS", "").partition("-")
    candidates = range(int(low), int(high or low) + 1) if low.isdigit() else range(0, 1)
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER", "gw0"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if low.isdigit() and workers > 1 and worker[2:].isdigit():
        size = len(candidates) // workers
        candidates = candidates[int(worker[2:]) * size:(int(worker[2:]) + 1) * size]
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError(f"no free port in CRM_TEST_PORTS={os.environ['CRM_TEST_PORTS']}")


@contextmanager
def serve(site: Site) -> Iterator[str]:
    """The app for ``site`` on 127.0.0.1:PORT in a background thread; yields its base URL."""
    import uvicorn

    from .web.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(site=site), host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")  # Playwright's sync loop must be gone before other modules' async tests
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright ``Browser``), shared by the tests of one module."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def live_server(live_site: Site) -> Iterator[str]:
    """The suite's ``live_site`` served over HTTP; yields its base URL."""
    with serve(live_site) as url:
        yield url


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Any:
    """``shots(page, "step")`` saves ``artifacts/screenshots/<test>-<step>.png`` and returns its path.

    ``shots(page, "step", docs="tour-dashboard")`` also saves ``tour-dashboard.png`` (the visible
    viewport) into the folder named by ``CRM_DOCS_SCREENSHOTS`` when it is set: the documentation's
    screenshots are taken by the browser tests, so they show the UI as it is.
    """
    folder = Path(request.config.rootpath) / SCREENSHOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    prefix = request.node.name.replace("[", "-").replace("]", "").replace("/", "_")
    docs_folder = os.environ.get(DOCS_SCREENSHOTS_ENV)

    def take(page: Any, step: str, docs: str | None = None) -> Path:
        path = folder / f"{prefix}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        if docs and docs_folder:
            Path(docs_folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(docs_folder) / f"{docs}.png"))
        return path

    return take


def sign_in(page: Any, base: str, email: str, password: str) -> Any:
    """Sign ``page`` in at ``base`` through the login form (found by its fields' names, so in
    either language) and wait until the browser has left ``/login``; returns ``page``."""
    page.goto(base + "/login")
    form = page.locator("form[action='/login']")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def new_page(browser: Any, viewport: dict[str, int], *, locale: str = "en-US", timezone_id: str = "Asia/Shanghai",
             timeout_ms: int = 15_000, **context: Any) -> Any:
    """A page in a new context of ``browser`` (``viewport`` such as :data:`PHONE`; ``context``: more of
    Playwright's context options, ``is_mobile=True``), waiting at most ``timeout_ms`` for anything; the
    page's uncaught script errors collect in ``page.errors``, so a test ends with ``assert page.errors == []``."""
    page = browser.new_context(viewport=viewport, locale=locale, timezone_id=timezone_id, **context).new_page()
    page.set_default_timeout(timeout_ms)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def follow_menu_link(page: Any, name: str) -> None:
    """Click the main menu's link ``name``: in the sidebar, or through the menu button on a screen
    narrower than 1024 px."""
    if page.viewport_size["width"] < 1024:
        page.locator(".nav-toggle summary").click()
        page.locator(".nav-toggle .nav").get_by_role("link", name=name, exact=True).first.click()
    else:
        page.locator(".sidebar").get_by_role("link", name=name, exact=True).first.click()


def assert_no_sideways_scroll(page: Any) -> None:
    """Fail when the page is wider than its viewport (a phone would scroll it sideways), naming the
    first elements that stick out."""
    width, viewport = page.evaluate("document.documentElement.scrollWidth"), page.viewport_size["width"]
    if width > viewport + 1:
        wide = page.evaluate(WIDE_ELEMENTS)
        raise AssertionError(f"the page is {width} px wide, the viewport {viewport} px: {wide}")

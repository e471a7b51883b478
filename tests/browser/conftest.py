"""Browser fixtures for the kernel's walk: the generic ones come from :mod:`kernel.browsertesting`.

Run with ``pytest -m browser``. Without ``/usr/bin/chromium`` the tests skip, except
in CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.browsertesting import CHROMIUM, CHROMIUM_ARGS, browser, free_port, live_server, serve, shots  # noqa: F401 - fixtures
from tests.example import plugin as notes_plugin
from tests.web.ui_extras import plugin as ui_extras

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def live_site(make_site):
    return make_site(notes_plugin, ui_extras, default_locale="en")

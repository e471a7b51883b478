"""Plugins' own files (kernel.web.assets): versioned URLs, linked from every page, gone with the plugin."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from kernel import Actor
from kernel.pluginstate import disable_plugin
from kernel.testing import plugin_module
from kernel.web.app import create_app
from tests.example import plugin as notes_plugin
from tests.web.test_ui import add_user, signed_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
LINK = re.compile(r'href="(/static/plugins/shiny/([0-9a-f]{12})/plugin\.css)"')


@pytest.fixture
def shiny(tmp_path):
    """A plugin module living in a folder with ``static/plugin.css``, ``static/plugin.js`` and an image."""
    folder = tmp_path / "shiny"
    (folder / "static" / "img").mkdir(parents=True)
    (folder / "static" / "plugin.css").write_text(".shiny { color: gold; }\n")
    (folder / "static" / "plugin.js").write_text("window.shiny = true;\n")
    (folder / "static" / "img" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (folder / "secret.py").write_text("PASSWORD = 'not served'\n")
    module = plugin_module("shiny")
    module.__file__ = str(folder / "plugin.py")
    return module


@pytest.fixture
def client(make_site, shiny):
    site = make_site(notes_plugin, shiny, default_locale="en")
    add_user(site, "admin@example.com", "admin")
    client, _ = signed_in(create_app(site=site), "admin@example.com")
    client.site = site
    return client


def test_every_page_links_the_plugin_stylesheet_and_script_and_they_are_long_cached(client):
    page = client.get("/").text
    href, version = LINK.search(page).groups()
    assert f'src="/static/plugins/shiny/{version}/plugin.js"' in page
    answer = client.get(href)
    assert answer.status_code == 200 and "gold" in answer.text
    assert answer.headers["content-type"].startswith("text/css")
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    svg = client.get(f"/static/plugins/shiny/{version}/img/logo.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg")


def test_an_old_version_still_answers_but_is_not_cached_for_long(client):
    answer = client.get("/static/plugins/shiny/000000000000/plugin.css")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["../secret.py", "..%2Fsecret.py", "img/../../secret.py", "missing.css", "img", ""])
def test_nothing_outside_the_folder_and_no_folder_listing_is_served(client, path):
    assert client.get(f"/static/plugins/shiny/v/{path}").status_code == 404


def test_an_unknown_plugin_and_a_write_are_404(client):
    assert client.get("/static/plugins/nobody/v/plugin.css").status_code == 404
    assert client.post("/static/plugins/shiny/v/plugin.css").status_code in (404, 405)


def test_a_disabled_plugin_loses_its_files_and_its_links(client):
    href = LINK.search(client.get("/").text).group(1)
    disable_plugin(client.site, Actor.system(), "shiny")
    assert client.get(href).status_code == 404
    assert "/static/plugins/shiny/" not in client.get("/").text


def test_templates_build_urls_with_asset_url(client):
    from kernel.web.assets import enabled_assets
    from kernel.web.ui.templating import build_environment

    view = client.site.view
    env = build_environment(view)
    url = env.from_string('{{ asset_url("shiny", "img/logo.svg") }}').render()
    assert url == f"/static/plugins/shiny/{enabled_assets(view)['shiny'].version}/img/logo.svg"
    with pytest.raises(ValueError, match="not enabled or ships no static"):
        env.from_string('{{ asset_url("nobody", "x.css") }}').render()

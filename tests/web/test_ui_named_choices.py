"""A select whose choices are another entity's names shows that record's label (a user's role)."""

import re

from kernel.testing import create_app
from tests.web.test_ui import add_user, signed_in


def test_the_users_list_shows_role_labels_not_codes(make_site):
    site = make_site(plugins=("customers",), default_locale="zh_CN")
    app = create_app(site=site)
    add_user(site, "boss@example.com", "admin")
    add_user(site, "rep@example.com", "sales_rep")
    client, _ = signed_in(app, "boss@example.com")
    page = client.get("/r/users").text
    cells = re.sub(r"<[^>]+>", " ", page[page.index("<tbody"):page.index("</tbody>")])
    assert "sales_rep" not in cells and "销售代表" in cells

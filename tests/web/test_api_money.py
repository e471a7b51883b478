"""Money over HTTP: custom money values and Decimals travel as decimal strings (CONTRACT.md)."""

from __future__ import annotations

import json
from decimal import Decimal

from kernel.fielddefs import add_field
from kernel.web.payload import JSON


def test_decimals_are_written_as_strings():
    assert json.loads(JSON({"total": Decimal("12345.67"), "whole": Decimal("3"), "yen": Decimal("1E+3")}).body) == {
        "total": "12345.67", "whole": "3", "yen": "1000"
    }


async def test_money_round_trips_as_a_string_and_noise_is_refused(client, site, admin):
    add_field(site, admin, "notes", "budget", {"type": "number", "format": "money"})
    created = await client.post("/api/v1/notes", content=b'{"title": "x", "custom": {"budget": "12345.67"}}', headers={"content-type": "application/json"})
    assert created.status_code == 201 and '"budget":"12345.67"' in created.text
    id_ = created.json()["id"]
    assert (await client.get(f"/api/v1/notes/{id_}")).json()["custom"]["budget"] == "12345.67"
    patched = await client.patch(f"/api/v1/notes/{id_}", content=b'{"custom": {"budget": 12.5}}', headers={"content-type": "application/json"})
    assert patched.status_code == 200 and patched.json()["custom"]["budget"] == "12.50"
    noisy = await client.patch(f"/api/v1/notes/{id_}", content=b'{"custom": {"budget": 0.30000000000000004}}', headers={"content-type": "application/json"})
    assert noisy.status_code == 422
    detail = noisy.json()["error"]["details"][0]
    assert detail["loc"] == ["custom", "budget"] and "more than 2 decimals" in detail["msg"]
    for low, expected in (("12.50", [id_]), ("100.00", [])):
        listed = (await client.get("/api/v1/notes", params={"budget__gte": low})).json()
        assert [r["id"] for r in listed["items"]] == expected
    spec = (await client.get("/api/v1/openapi.json")).json()
    budget = spec["components"]["schemas"]["notes.Custom"]["properties"]["budget"]["anyOf"][0]
    assert budget["type"] == "string" and budget["x-currency"] == "CNY"

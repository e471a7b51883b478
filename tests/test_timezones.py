"""Time zones: the site's setting, a user's preference, and local dates by the moved clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from kernel import Actor, ConfigError, day_start, local_date, local_today, site_zone, user_zone
from kernel.preferences import put
from kernel.settings import parse_settings
from kernel.testing import create_app, issue_token
from kernel.timezones import offsets, zone

SYSTEM = Actor.system("cli")


def test_the_site_zone_defaults_to_shanghai_and_a_bad_name_stops_start_up():
    assert parse_settings({}).time_zone == "Asia/Shanghai"
    assert parse_settings({"crm": {"time_zone": "Europe/Berlin"}}).time_zone == "Europe/Berlin"
    for bad in ("Mars/Olympus", "../etc/passwd", "", 8):
        with pytest.raises(ConfigError) as raised:
            parse_settings({"crm": {"time_zone": bad}})
        assert raised.value.key == "crm.time_zone"


def test_today_and_day_boundaries_follow_the_user_then_the_site(site, clock):
    clock.set(datetime(2026, 1, 31, 20, 0, tzinfo=timezone.utc))  # 1 Feb 04:00 in Shanghai
    user = site.records.create(SYSTEM, "users", {"email": "ny@example.cn", "role": "sales_rep"})
    assert site_zone(site).key == "Asia/Shanghai"
    assert local_today(site) == local_today(site, user["id"]) == date(2026, 2, 1)
    put(site, user["id"], "time_zone", "America/New_York")
    assert user_zone(site, user["id"]).key == "America/New_York"
    assert local_today(site, user["id"]) == date(2026, 1, 31) and local_today(site) == date(2026, 2, 1)
    shanghai = zone("Asia/Shanghai")
    assert day_start(date(2026, 2, 1), shanghai) == datetime(2026, 1, 31, 16, 0, tzinfo=timezone.utc)
    assert local_date(datetime(2026, 1, 31, 15, 59, 59), shanghai) == date(2026, 1, 31)  # naive is UTC
    # summer time: New York's day of 8 March 2026 lasts 23 hours
    ny = zone("America/New_York")
    assert day_start(date(2026, 3, 9), ny) - day_start(date(2026, 3, 8), ny) == timedelta(hours=23)
    first, changes = offsets(ny)
    assert first == timedelta(hours=-5) and (datetime(2026, 3, 8, 7, 0, tzinfo=timezone.utc), timedelta(hours=-4)) in changes
    assert offsets(shanghai) == (timedelta(hours=8), [])


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_user_sets_their_zone_through_the_api(site, anyio_backend):
    user = site.records.create(SYSTEM, "users", {"email": "me@example.cn", "role": "sales_rep"})
    headers = {"Authorization": f"Bearer {issue_token(site, user['id'])['token']}"}
    transport = httpx.ASGITransport(app=create_app(site=site))
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test", headers=headers) as client:
        assert (await client.get("/api/v1/auth/preferences")).json() == {"locale": None, "time_zone": None}
        bad = await client.put("/api/v1/auth/preferences", json={"locale": "en", "time_zone": "Asia/Nowhere"})
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["time_zone"]
        assert (await client.get("/api/v1/auth/preferences")).json()["locale"] is None  # nothing stored
        good = await client.put("/api/v1/auth/preferences", json={"time_zone": "Europe/London"})
        assert good.status_code == 200 and good.json() == {"locale": None, "time_zone": "Europe/London"}
    assert user_zone(site, user["id"]).key == "Europe/London"

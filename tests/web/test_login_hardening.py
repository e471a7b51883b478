"""Logins under attack: bounded input, one hash check on every path, an atomic throttle."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from kernel import Actor
from kernel.errors import RateLimited, Unauthorized
from kernel.models import LoginFailure
from kernel.passwords import cheap_hasher
from kernel.web import auth, throttle
from tests.web.test_auth import PASSWORD, browser

pytestmark = pytest.mark.anyio
FAILURES = LoginFailure.__table__


class CountingHasher:
    """The tests' cheap argon2 hasher, counting verifications (thread-safe), optionally slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.inner = cheap_hasher()
        self.time_cost, self.memory_cost, self.parallelism = self.inner.time_cost, self.inner.memory_cost, self.inner.parallelism
        self.delay = delay
        self.checked = 0
        self.lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        with self.lock:
            self.checked += 1
        time.sleep(self.delay)
        return self.inner.verify(stored, password)


def failure_rows(site):
    with site.engine.connect() as conn:
        return conn.execute(sa.select(FAILURES)).all()


# -- item 4: nothing unbounded is stored or worked on ----------------------------------


async def test_an_oversized_email_is_refused_before_any_work(app, site):
    site.passwords = hasher = CountingHasher()
    async with browser(app) as client:
        for path in ("/api/v1/auth/token", "/api/v1/auth/login"):
            response = await client.post(path, json={"email": "a" * 5_000 + "@example.com", "password": "x"})
            assert response.status_code == 422, response.text
            assert response.json()["error"]["details"][0]["loc"] == ["body", "email"]
            huge = await client.post(path, json={"email": "a" * 100_000 + "@example.com", "password": "x"})
            assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
        long_password = await client.post("/api/v1/auth/token", json={"email": "rep@example.com", "password": "p" * 5000})
        assert long_password.status_code == 422
        assert long_password.json()["error"]["details"][0]["loc"] == ["body", "password"]
    assert failure_rows(site) == [] and hasher.checked == 0


async def test_token_names_are_bounded(app, site, rep_user):
    async with browser(app) as client:
        body = {"email": rep_user["email"], "password": PASSWORD, "name": "n" * 10_000}
        response = await client.post("/api/v1/auth/token", json=body)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["loc"] == ["body", "name"]
        assert (await client.post("/api/v1/auth/token", json={**body, "name": "n" * 120})).status_code == 201


async def test_stored_login_failures_hold_bounded_strings(app, site):
    email = "x" * 240 + "@example.com"  # the longest an email may be, near enough
    async with browser(app) as client:
        assert (await client.post("/api/v1/auth/token", json={"email": email, "password": "guess"})).status_code == 401
    [row] = failure_rows(site)
    assert row.email == email and len(row.email) <= 254


# -- item 11: one hash check with the real parameters, whoever asks --------------------


def test_every_login_path_checks_exactly_one_hash(site):
    site.passwords = hasher = CountingHasher()
    system = Actor.system("cli")
    site.records.create(system, "users", {"email": "on@example.com", "password": PASSWORD, "role": "sales_rep"})
    site.records.create(system, "users", {"email": "off@example.com", "password": PASSWORD, "role": "sales_rep", "active": False})
    site.records.create(system, "users", {"email": "nopass@example.com", "role": "sales_rep"})
    hasher.checked = 0
    cases = [("nobody@example.com", PASSWORD), ("on@example.com", "wrong-password"), ("off@example.com", PASSWORD),
             ("nopass@example.com", PASSWORD)]
    for email, password in cases:
        before = hasher.checked
        with pytest.raises(Unauthorized):
            auth.login(site, email, password, ip=f"10.1.0.{len(email)}")
        assert hasher.checked - before == 1, email
    before = hasher.checked
    auth.login(site, "on@example.com", PASSWORD)
    assert hasher.checked - before == 1


# -- item 17: check and count in one atomic step ----------------------------------------


def attack(site, email: str, attempts: int) -> list[str]:
    """``attempts`` simultaneous wrong logins for ``email``, from as many addresses."""
    start = threading.Barrier(attempts)
    outcomes: list[str] = []

    def one(n: int) -> None:
        start.wait()
        try:
            auth.login(site, email, "wrong-password", ip=f"10.2.{n // 250}.{n % 250}")
        except Unauthorized:
            outcomes.append("401")
        except RateLimited:
            outcomes.append("429")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_simultaneous_bad_logins_check_at_most_the_limit_of_passwords(site):
    site.records.create(Actor.system("cli"), "users", {"email": "target@example.com", "password": PASSWORD, "role": "sales_rep"})
    site.passwords = hasher = CountingHasher(delay=0.05)
    outcomes = attack(site, "target@example.com", 16)
    assert hasher.checked <= throttle.ACCOUNT_LIMIT
    assert sorted(outcomes) == ["401"] * hasher.checked + ["429"] * (16 - hasher.checked)
    assert len(failure_rows(site)) == hasher.checked


def test_simultaneous_bad_logins_for_unknown_emails_are_bounded_too(site):
    site.passwords = hasher = CountingHasher(delay=0.05)
    assert len(attack(site, "ghost@example.com", 12)) == 12
    assert hasher.checked <= throttle.ACCOUNT_LIMIT


def test_a_right_password_within_the_limit_clears_its_reservation(site):
    site.records.create(Actor.system("cli"), "users", {"email": "ok@example.com", "password": PASSWORD, "role": "sales_rep"})
    for _ in range(throttle.ACCOUNT_LIMIT - 1):
        with pytest.raises(Unauthorized):
            auth.login(site, "ok@example.com", "wrong-password", ip="10.3.0.1")
    auth.login(site, "ok@example.com", PASSWORD, ip="10.3.0.1")
    assert failure_rows(site) == []


async def test_the_login_page_refuses_an_oversized_email_without_storing_it(app, site, rep_user):
    site.passwords = hasher = CountingHasher()
    async with browser(app) as client:
        page = await client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"csrf_token": token, "email": "b" * 5_000 + "@example.com", "password": "x", "next": "/"}
        response = await client.post("/login", data=form)
        assert response.status_code == 422 and "crm_session" not in response.headers.get("set-cookie", "")
    assert failure_rows(site) == [] and hasher.checked == 0

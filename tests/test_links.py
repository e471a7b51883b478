"""Signed links (kernel.links): one purpose, one record, expiring, revocable, single use when asked."""

from __future__ import annotations

from datetime import timedelta
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from kernel import LinkRefused, ValidationError, revoke_links, sign_link, verify_link
from kernel.jobs import run_due_jobs
from tests.example import plugin as notes_plugin


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin)


def test_a_link_verifies_for_its_purpose_and_record(site):
    token = sign_link(site, "rate", "notes", 7, expires=timedelta(days=14))
    link = verify_link(site, token, "rate")
    assert (link.purpose, link.entity, link.record_id, link.single_use) == ("rate", "notes", 7, False)
    assert link.expires_at == site.clock.now().replace(microsecond=0) + timedelta(days=14)
    assert verify_link(site, token, "rate").id == link.id  # not single use: good again


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),          # one character of the signature
    lambda t: str(int(t.split(".")[0]) + 1) + "." + t.split(".")[1],  # another link's id
    lambda t: t + "x",
    lambda t: "",
    lambda t: "../../etc/passwd",
])
def test_a_tampered_token_is_not_valid(site, mangle):
    token = sign_link(site, "rate", "notes", 7, expires=timedelta(days=1))
    sign_link(site, "rate", "notes", 8, expires=timedelta(days=1))  # so that the next id exists
    with pytest.raises(LinkRefused, match="not valid"):
        verify_link(site, mangle(token), "rate")


def test_a_token_for_another_purpose_is_not_valid(site):
    token = sign_link(site, "unsubscribe", "notes", 7, expires=timedelta(days=30))
    with pytest.raises(LinkRefused, match="not valid"):
        verify_link(site, token, "verify_email")


def test_a_token_signed_under_another_site_key_is_not_valid(make_site):
    first = make_site(notes_plugin, secret_key="k" * 40)
    second = make_site(notes_plugin, migrate=False, secret_key="o" * 40)  # the same database
    token = sign_link(first, "rate", "notes", 7, expires=timedelta(days=1))
    verify_link(first, token, "rate")
    with pytest.raises(LinkRefused, match="not valid"):
        verify_link(second, token, "rate")


def test_expiry_uses_the_site_clock(site, clock):
    token = sign_link(site, "rate", "notes", 7, expires=timedelta(hours=2))
    clock.advance(hours=1, minutes=59)
    verify_link(site, token, "rate")
    clock.advance(minutes=1)
    with pytest.raises(LinkRefused, match="expired"):
        verify_link(site, token, "rate")


def test_revoking_withdraws_every_live_link_of_the_record_or_one_purpose(site):
    rate = sign_link(site, "rate", "notes", 7, expires=timedelta(days=1))
    follow = sign_link(site, "follow", "notes", 7, expires=timedelta(days=1))
    other = sign_link(site, "rate", "notes", 8, expires=timedelta(days=1))
    assert revoke_links(site, "notes", 7, purpose="rate") == 1
    with pytest.raises(LinkRefused, match="withdrawn"):
        verify_link(site, rate, "rate")
    verify_link(site, follow, "follow")
    assert revoke_links(site, "notes", 7) == 1
    with pytest.raises(LinkRefused, match="withdrawn"):
        verify_link(site, follow, "follow")
    verify_link(site, other, "rate")


def test_a_single_use_link_is_spent_once_even_by_two_requests_at_once(site):
    token = sign_link(site, "rate", "notes", 7, expires=timedelta(days=1), single_use=True)
    verify_link(site, token, "rate")  # looking does not spend it
    barrier = Barrier(2)

    def use() -> str:
        barrier.wait()
        try:
            verify_link(site, token, "rate", use=True)
            return "used"
        except LinkRefused as exc:
            return str(exc)

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: use(), range(2)))
    assert outcomes == ["this link was used already", "used"]
    with pytest.raises(LinkRefused, match="used already"):
        verify_link(site, token, "rate")


def test_a_link_spent_in_a_rolled_back_transaction_stays_good(site):
    token = sign_link(site, "rate", "notes", 7, expires=timedelta(days=1), single_use=True)
    with pytest.raises(RuntimeError):
        with site.write() as conn:
            verify_link(site, token, "rate", use=True, conn=conn)
            raise RuntimeError("the rating failed")
    verify_link(site, token, "rate", use=True)


def test_a_link_signed_in_a_rolled_back_transaction_does_not_exist(site):
    with pytest.raises(RuntimeError):
        with site.write() as conn:
            token = sign_link(site, "rate", "notes", 7, expires=timedelta(days=1), conn=conn)
            raise RuntimeError("the mail could not be queued")
    with pytest.raises(LinkRefused, match="not valid"):
        verify_link(site, token, "rate")


@pytest.mark.parametrize("purpose, expires, loc", [
    ("Rate Us", timedelta(days=1), "purpose"),
    ("", timedelta(days=1), "purpose"),
    ("rate", timedelta(0), "expires"),
    ("rate", timedelta(days=400), "expires"),
])
def test_bad_arguments_name_the_argument(site, purpose, expires, loc):
    with pytest.raises(ValidationError) as caught:
        sign_link(site, purpose, "notes", 7, expires=expires)
    assert caught.value.details[0]["loc"] == [loc]


def test_the_daily_job_deletes_links_expired_a_month_ago(site, clock):
    old = sign_link(site, "rate", "notes", 7, expires=timedelta(days=1))
    fresh = sign_link(site, "rate", "notes", 7, expires=timedelta(days=40))
    clock.advance(days=32)
    outcome = {o.job: o for o in run_due_jobs(site)}["kernel.purge_links"]
    assert outcome.status == "done" and outcome.result == 1
    with pytest.raises(LinkRefused, match="not valid"):  # gone: no longer known at all
        verify_link(site, old, "rate")
    verify_link(site, fresh, "rate")

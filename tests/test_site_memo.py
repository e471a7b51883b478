"""Site.memo: per-process reuse of per-request lookups, bounded by refresh_seconds."""

from tests.example import plugin as notes_plugin


def counter():
    calls = []

    def compute(value="x"):
        calls.append(value)
        return value

    return calls, compute


def test_memo_reuses_values_until_forgotten(make_site):
    site = make_site(notes_plugin, refresh_seconds=3600)
    calls, compute = counter()
    assert site.memo("k", compute) == "x" and site.memo("k", compute) == "x"
    assert len(calls) == 1
    site.forget()
    site.memo("k", compute)
    assert len(calls) == 2


def test_memo_never_keeps_none_and_keeps_nothing_when_refresh_is_zero(make_site):
    site = make_site(notes_plugin, refresh_seconds=3600)
    calls, compute = counter()
    site.memo("missing", lambda: compute(None))
    site.memo("missing", lambda: compute(None))
    assert calls == [None, None]
    eager = make_site(notes_plugin)  # refresh_seconds=0, as in every other test
    calls, compute = counter()
    eager.memo("k", compute)
    eager.memo("k", compute)
    assert len(calls) == 2

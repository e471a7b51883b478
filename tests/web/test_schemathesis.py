"""schemathesis against the app's own OpenAPI document, in-process, as an admin.

Every operation gets a bounded, derandomized run of valid and invalid requests:
no 5xx, and every response matches the documented status codes, content types
and schemas. Each operation runs as a fresh admin, so an earlier operation that
deleted or demoted a user does not hide the later ones.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from tests.example import plugin as notes_plugin
from tests.web import extras
from tests.web.conftest import make_user

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
SETTINGS = hypothesis.settings(
    max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=list(hypothesis.HealthCheck)
)


@pytest.fixture
def site(make_site):
    """The usual site, re-reading its registry every minute instead of on every request."""
    return make_site(notes_plugin, extras, refresh_seconds=60)


def test_api_conforms_to_its_openapi(site, app):
    reader = make_user(site, "reader@example.com", "sales_rep")["token"]  # the document needs a login
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, headers={"Authorization": f"Bearer {reader}"})
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for number, operation in enumerate(operations):
        token = make_user(site, f"admin{number}@example.com", "admin")["token"]
        cases = st.one_of(operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE))

        @SETTINGS
        @hypothesis.given(case=cases)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)

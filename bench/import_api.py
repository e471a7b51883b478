"""The API under load while an import runs: a served app in its own process, and its clients.

``python -m bench.import_api URL`` (started by :mod:`bench.import_million`, not by hand): builds a
site on the database ``URL`` (already migrated), adds a user with a password (the production
argon2 parameters, as ``crm serve`` hashes them) and a bearer token, serves the kernel's app with
:func:`kernel.testing.serve` (uvicorn in a thread of this process, not of the importing one) and
prints ``ready``. Then, until a line arrives on stdin, two client threads time, over HTTP:

- reads: ``GET /api/v1/customers?limit=50`` with the token, one every :data:`READ_EVERY` seconds;
- logins: ``POST /api/v1/auth/token`` with the email and password, one every :data:`LOGIN_EVERY` seconds.

On that line it prints one JSON object, ``{"reads": [ms, …], "logins": [ms, …], "errors": {…}}``,
and exits. Pacing keeps the clients from taking the import's CPU away more than an office would.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

from kernel import Actor, Settings, Site
from kernel.testing import serve
from kernel.web.auth import issue_token

READ_EVERY = 0.1
LOGIN_EVERY = 1.0
EMAIL = "bench-reader@example.com"


def _timed(request: urllib.request.Request) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return (time.perf_counter() - started) * 1000, status


def _client(make: Any, every: float, into: list[float], errors: Counter[str], name: str, stop: threading.Event) -> None:
    while not stop.is_set():
        began = time.monotonic()
        try:
            ms, status = _timed(make())
        except OSError as exc:  # refused, reset, timed out: counted, never timed as fast
            errors[f"{name}: {type(exc).__name__}"] += 1
        else:
            if status == 200 or (name == "logins" and status == 201):
                into.append(ms)
            else:
                errors[f"{name}: HTTP {status}"] += 1
        stop.wait(max(0.0, every - (time.monotonic() - began)))


def main() -> None:
    url = sys.argv[1]
    site = Site(Settings(database_url=url, plugins=("customers",)))
    password = secrets.token_urlsafe(16)
    user = site.records.create(Actor.system("cli"), "users", {"email": EMAIL, "name": "Bench reader", "role": "admin", "password": password})
    token = issue_token(site, user["id"], name="bench")["token"]
    reads: list[float] = []
    logins: list[float] = []
    errors: Counter[str] = Counter()
    stop = threading.Event()
    with serve(site) as base:
        def read() -> urllib.request.Request:
            return urllib.request.Request(f"{base}/api/v1/customers?limit=50", headers={"Authorization": f"Bearer {token}"})

        def login() -> urllib.request.Request:
            body = json.dumps({"email": EMAIL, "password": password}).encode()
            return urllib.request.Request(f"{base}/api/v1/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST")

        threads = [
            threading.Thread(target=_client, args=(read, READ_EVERY, reads, errors, "reads", stop), daemon=True),
            threading.Thread(target=_client, args=(login, LOGIN_EVERY, logins, errors, "logins", stop), daemon=True),
        ]
        for thread in threads:
            thread.start()
        print("ready", flush=True)
        sys.stdin.readline()
        stop.set()
        for thread in threads:
            thread.join(timeout=150)
    site.close()
    print(json.dumps({"reads": reads, "logins": logins, "errors": dict(errors)}), flush=True)


if __name__ == "__main__":
    main()

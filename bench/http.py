"""Scenario 2, one command: ``python -m bench.http [--db sqlite|postgres|both] [--rows N] [--duration S]``.

For each database: a fresh SQLite file or PostgreSQL schema, the kernel migrated,
the bench plugin's ``deals`` loaded to ``--rows`` with raw Core (setup), its five
custom fields defined (``amount`` indexed), an admin user and a bearer token.
Then two servers, each uvicorn with 2 workers on loopback:

- ours: the kernel's app (``bench.http_app``), the way ``crm serve --workers 2`` runs it;
- the limit: a minimal Starlette app (``bench.http_limit``) running the same SQL inline.

wrk loads each with an authenticated ``GET /api/v1/deals?limit=50&amount__gte=X&sort=-amount``
(the limit: the same page and count) and a ``POST`` create of one deal, for
``--duration`` seconds each after a short warm-up, and prints requests/s,
ours/limit and latency p50/p99. Any non-2xx answer or socket error fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel import Actor, Site
from kernel.web.auth import issue_token

from .data import VALUE_RANGE
from .databases import fresh_database
from .http_app import SECRET_ENV, URL_ENV
from .http_limit import statements
from .plugin import INDEXED_FIELD
from .queries import READER, bulk_load
from .run import build_site

TARGET = 0.5  # our requests/s / the limit's, at least
WORKERS = 2
PAGE = 50
REPO = Path(__file__).resolve().parent.parent
CREATE_SCRIPT = Path(__file__).resolve().parent / "http_create.lua"
TOKEN_ENV = "CRM_BENCH_HTTP_TOKEN"
MAX_DURATION = 10
WARMUP = 2
START_TIMEOUT = 60.0


class BenchError(RuntimeError):
    """The run is not valid: a server did not start, answered an error, or the two disagree."""


@dataclass
class Prepared:
    url: str
    token: str
    threshold: int


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


@dataclass
class Row:
    database: str
    endpoint: str
    ours: Load
    limit: Load


# -- setup ----------------------------------------------------------------------------------------


def prepare(url: str, rows: int, selectivity: float) -> Prepared:
    """Migrate, load ``rows`` deals, define the custom fields, add an admin and a token; check the SQL matches."""
    site = build_site(url)
    try:
        started = time.perf_counter()
        bulk_load(site, rows, seed=3)
        print(f"  loaded {rows:,} deals in {time.perf_counter() - started:.0f} s", flush=True)
        password = secrets.token_urlsafe(16)
        admin = site.records.create(
            Actor.system("cli"), "users", {"email": "bench-admin@example.com", "name": "Bench admin", "role": "admin", "password": password}
        )
        token = issue_token(site, admin["id"], name="bench")["token"]
        threshold = int(VALUE_RANGE * (1 - selectivity))
        check_same_sql(site, threshold)
    finally:
        site.close()
    return Prepared(url, token, threshold)


def _normalized(sql: str) -> str:
    """Compiled SQL with bind parameter names and whitespace made uniform."""
    sql = re.sub(r"%\([^)]*\)s", "%s", sql)
    sql = re.sub(r":[A-Za-z_][\w]*", ":p", sql)
    return re.sub(r"\s+", " ", sql).strip()


def check_same_sql(site: Site, threshold: int) -> None:
    """The limit's page must compile to the very SELECT ``Records.list`` runs."""
    ours = site.records.list_query(READER, "deals", filters={f"{INDEXED_FIELD}__gte": threshold}, sort=f"-{INDEXED_FIELD}", limit=PAGE)
    page, _ = statements(site.engine.dialect.name)
    ours_sql, limit_sql = (_normalized(str(stmt.compile(site.engine))) for stmt in (ours, page))
    if ours_sql != limit_sql:
        raise BenchError(f"the limit's SELECT differs from the records service's:\n  ours:  {ours_sql}\n  limit: {limit_sql}")


# -- servers --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback only
        return answer.status, json.loads(answer.read())


@contextmanager
def server(target: str, url: str) -> Iterator[str]:
    """``uvicorn TARGET --factory --workers 2`` on a free loopback port; yields its base URL, always stopped after."""
    port = free_port()
    env = {**os.environ, URL_ENV: url, SECRET_ENV: "bench-" + secrets.token_hex(16)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--workers", str(WORKERS)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise BenchError(f"{target} exited with code {process.returncode} before answering")
            try:
                if _request(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"{target} did not answer /healthz within {START_TIMEOUT:.0f} s")
            time.sleep(0.2)
        time.sleep(1.0)  # let the second worker finish starting too
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (the uvicorn supervisor and its workers), SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass
    try:  # workers left behind by a supervisor that died first
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# -- load -----------------------------------------------------------------------------------------


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> Load:
    """Requests/s and p50/p99 from ``wrk --latency``; any non-2xx answer or socket error is a failure."""
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    if bad:
        raise BenchError(f"wrk saw {bad.group(1)} non-2xx/3xx responses:\n{output}")
    errors = re.search(r"Socket errors:.*", output)
    if errors:
        raise BenchError(f"wrk saw socket errors ({errors.group(0)}):\n{output}")
    rps = re.search(r"Requests/sec:\s*([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE)
    if not (rps and total and p50 and p99):
        raise BenchError(f"cannot read wrk's output:\n{output}")
    return Load(float(rps.group(1)), _latency_ms(p50.group(1)), _latency_ms(p99.group(1)), int(total.group(1)))


def wrk(url: str, seconds: int, args: argparse.Namespace, *, token: str = "", post: bool = False) -> Load:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    env = {**os.environ, TOKEN_ENV: token}
    if post:
        command += ["-s", str(CREATE_SCRIPT)]
    elif token:
        command += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, env=env, timeout=seconds + 30, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def measure(url: str, args: argparse.Namespace, *, token: str = "", post: bool = False) -> Load:
    wrk(url, WARMUP, args, token=token, post=post)  # warm both workers' pools, caches and compiled statements
    return wrk(url, args.duration, args, token=token, post=post)


def check_answers(ours: str, limit: str, prepared: Prepared) -> None:
    """One request of each kind to each server, before loading: 2xx, and the same page of deals."""
    auth = {"Authorization": f"Bearer {prepared.token}"}
    status, mine = _request(ours, headers=auth)
    status_limit, theirs = _request(limit)
    if status != 200 or status_limit != 200:
        raise BenchError(f"list answered {status} (ours) and {status_limit} (limit)")
    if mine["total"] != theirs["total"] or [d["id"] for d in mine["items"]] != [d["id"] for d in theirs["items"]]:
        raise BenchError(f"ours found {mine['total']} deals, the limit {theirs['total']}, or another page")
    if len(mine["items"]) != PAGE:
        raise BenchError(f"the list gave {len(mine['items'])} deals, not {PAGE}: load more rows")
    body = re.search(r"wrk\.body = (.*)", CREATE_SCRIPT.read_text(), re.DOTALL)
    assert body is not None
    payload = "".join(re.findall(r"'([^']*)'", body.group(1))).encode()
    for url, headers in ((ours, auth), (limit, {})):
        status, created = _request(url.split("?")[0], body=payload, headers={**headers, "Content-Type": "application/json"})
        if status != 201 or "id" not in created:
            raise BenchError(f"create at {url} answered {status}: {created}")


def run_database(kind: str, args: argparse.Namespace) -> list[Row]:
    with fresh_database(kind) as url:
        print(f"[{kind}] preparing {args.rows:,} deals", flush=True)
        prepared = prepare(url, args.rows, args.selectivity)
        query = f"?limit={PAGE}&{INDEXED_FIELD}__gte={prepared.threshold}&sort=-{INDEXED_FIELD}"
        with server("bench.http_app:app", url) as ours, server("bench.http_limit:app", url) as limit:
            ours_list, limit_list = f"{ours}/api/v1/deals{query}", f"{limit}/deals?{INDEXED_FIELD}__gte={prepared.threshold}"
            check_answers(ours_list, limit_list, prepared)
            print(f"[{kind}] servers up; {args.duration} s of wrk per endpoint and server", flush=True)
            results = {}
            for name, ours_url, limit_url, post in (
                ("GET list 50", ours_list, limit_list, False),
                ("POST create", f"{ours}/api/v1/deals", f"{limit}/deals", True),
            ):
                results[name] = (measure(ours_url, args, token=prepared.token, post=post), measure(limit_url, args, post=post))
    return [Row(kind, name, mine, theirs) for name, (mine, theirs) in results.items()]


# -- report ---------------------------------------------------------------------------------------


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print(f"\n{args.rows:,} deals, filter matches {args.selectivity:.0%}; wrk -t{args.threads} -c{args.connections} -d{args.duration}s; 2 uvicorn workers each")
    headers = ["database", "endpoint", "ours req/s", "limit req/s", "ours/limit", "ours p50/p99 ms", "limit p50/p99 ms"]
    lines = [headers]
    for r in rows:
        ratio = r.ours.rps / r.limit.rps
        verdict = "ok" if ratio >= TARGET else f"below {TARGET}"
        lines.append(
            [
                r.database,
                r.endpoint,
                f"{r.ours.rps:,.0f}",
                f"{r.limit.rps:,.0f}",
                f"{ratio:.2f} ({verdict})",
                f"{r.ours.p50_ms:.1f} / {r.ours.p99_ms:.1f}",
                f"{r.limit.p50_ms:.1f} / {r.limit.p99_ms:.1f}",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    for line in lines:
        print("  ".join(cell.ljust(width) if i < 2 else cell.rjust(width) for i, (cell, width) in enumerate(zip(line, widths))))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows", type=int, default=1_000_000, help="deals in the table (default 1,000,000)")
    parser.add_argument("--duration", type=int, default=10, choices=range(1, MAX_DURATION + 1), metavar="S", help="seconds of load per endpoint and server, at most 10 (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--selectivity", type=float, default=0.01, help="share of rows the filter matches (default 0.01)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if subprocess.run(["wrk", "--version"], capture_output=True, check=False).returncode not in (0, 1):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    rows = [row for kind in kinds for row in run_database(kind, args)]
    print_table(rows, args)


if __name__ == "__main__":
    main()

"""Scenario 2, one command: ``python -m bench.http [--db sqlite|postgres|both] [--rows N] [--duration S]``.

For each database: a fresh SQLite file or PostgreSQL schema, the kernel migrated,
the bench plugin's ``deals`` loaded to ``--rows`` with raw Core (setup), its five
custom fields defined (``amount`` indexed), an admin user and a bearer token.
Then two servers, each uvicorn with 2 workers on loopback:

- ours: the kernel's app (``bench.http_app``), the way ``crm serve --workers 2`` runs it;
- the limit: a minimal Starlette app (``bench.http_limit``) running the same SQL inline.

wrk loads each, for ``--duration`` seconds after a short warm-up, with

- an admin's ``GET /api/v1/deals?limit=50&amount__gte=X&sort=-amount`` (the limit: the same page and count);
- the same list as a sales rep, whose record rule (the deals of the rep's team) is part of the SQL;
- a ``POST`` create of one deal;
- a mixed load: the admin's list while creates run, reporting the reads' p99;

and prints requests/s, ours/limit and latency p50/p99. Any non-2xx answer or
socket error fails the run. Last, the stall check: ``/healthz`` latency on our
server while this process holds the write lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: a deal's row, ``FOR UPDATE``), a PATCH of that deal waits for it and
8 logins hash passwords with the production argon2 parameters.
"""

from __future__ import annotations

import argparse
import json
import statistics
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Site
from kernel.cli.deployment import server_stack
from kernel.db import make_engine
from kernel.models import Role
from kernel.web.auth import issue_token

from .data import VALUE_RANGE
from .databases import fresh_database
from .http_app import SECRET_ENV, URL_ENV
from .http_limit import statements
from .plugin import INDEXED_FIELD, Deal
from .queries import READER, analyze, bulk_load
from .run import build_site

TARGET = 0.5  # our requests/s / the limit's, at least
STALL_TARGET_MS = 100.0  # /healthz while writes wait for a lock and logins hash, at most
STALL_LOGINS = 8
STALL_SAMPLES = 20
TEAM_SIZE = 5  # the rep's team; deals are spread over OWNERS users
OWNERS = 50
MIXED_WRITERS = 2  # wrk connections posting creates during the mixed load
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
    rep_id: int
    rep_token: str
    rep_email: str
    rep_password: str


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    cpu_ms: float = 0.0  # CPU time of the server's processes per request (on PostgreSQL, without the database's)


@dataclass
class Row:
    database: str
    endpoint: str
    ours: Load
    limit: Load


@dataclass
class Stall:
    database: str
    p50_ms: float
    max_ms: float


# -- setup ----------------------------------------------------------------------------------------


def prepare(url: str, rows: int, selectivity: float) -> Prepared:
    """Migrate, load ``rows`` deals, define the custom fields, add an admin, a sales team and tokens; check the SQL matches."""
    site = build_site(url)
    try:
        started = time.perf_counter()
        bulk_load(site, rows, seed=3)
        system = Actor.system("cli")
        password = secrets.token_urlsafe(16)
        admin = site.records.create(system, "users", {"email": "bench-admin@example.com", "name": "Bench admin", "role": "admin", "password": password})
        rep_id, rep_password = add_sales_team(site, rows)
        print(f"  loaded {rows:,} deals over {OWNERS} owners in {time.perf_counter() - started:.0f} s", flush=True)
        token = issue_token(site, admin["id"], name="bench")["token"]
        rep_token = issue_token(site, rep_id, name="bench")["token"]
        threshold = int(VALUE_RANGE * (1 - selectivity))
        check_same_sql(site, threshold, rep_actor(site, rep_id))
    finally:
        site.close()
    return Prepared(url, token, threshold, rep_id, rep_token, REP_EMAIL, rep_password)


REP_EMAIL = "bench-rep-1@example.com"


def add_sales_team(site: Site, rows: int) -> tuple[int, str]:
    """``OWNERS`` sales reps, the first ``TEAM_SIZE`` in one team; deals spread over them; reps read their team's deals.

    Returns the first rep's id and password.
    """
    system = Actor.system("cli")
    team = site.records.create(system, "teams", {"name": "Bench team"})
    other = site.records.create(system, "teams", {"name": "Bench others"})
    password = secrets.token_urlsafe(16)
    ids = []
    for n in range(1, OWNERS + 1):
        values = {"email": f"bench-rep-{n}@example.com", "name": f"Rep {n}", "role": "sales_rep", "team_id": team["id"] if n <= TEAM_SIZE else other["id"]}
        if n <= STALL_LOGINS:  # the stall check signs in this many reps at once, one each (the throttle allows 5 in flight per account)
            values["password"] = password
        ids.append(site.records.create(system, "users", values)["id"])
    table = Deal.__table__
    with site.write() as conn:  # setup, not measured: owners round-robin
        owner = sa.case(*((table.c.id % OWNERS == i, user_id) for i, user_id in enumerate(ids)))
        conn.execute(sa.update(table).values(owner_id=owner))
        grants = ["deals.create", "deals.read:team", "deals.update"]
        conn.execute(sa.update(Role.__table__).where(Role.__table__.c.name == "sales_rep").values(permissions=grants))
        site.bump(conn)
    analyze(site)
    return ids[0], password


def rep_actor(site: Site, rep_id: int) -> Actor:
    user = site.records.get(Actor.system("cli"), "users", rep_id)
    return Actor(user_id=rep_id, label=user["email"], role=user["role"], team_id=user["team_id"], channel="api")


def _normalized(sql: str) -> str:
    """Compiled SQL with bind parameter names and whitespace made uniform."""
    sql = re.sub(r"%\([^)]*\)s", "%s", sql)
    sql = re.sub(r":[A-Za-z_][\w]*", ":p", sql)
    return re.sub(r"\s+", " ", sql).strip()


def check_same_sql(site: Site, threshold: int, rep: Actor) -> None:
    """The limit's pages must compile to the very SELECTs ``Records.list`` runs, for the admin and for the rep."""
    for actor, is_rep in ((READER, False), (rep, True)):
        ours = site.records.list_query(actor, "deals", filters={f"{INDEXED_FIELD}__gte": threshold}, sort=f"-{INDEXED_FIELD}", limit=PAGE)
        page, _ = statements(site.engine.dialect.name, rep=is_rep)
        ours_sql, limit_sql = (_normalized(str(stmt.compile(site.engine))) for stmt in (ours, page))
        if ours_sql != limit_sql:
            raise BenchError(f"the limit's SELECT differs from the records service's:\n  ours:  {ours_sql}\n  limit: {limit_sql}")


# -- servers --------------------------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port, within ``$CRM_TEST_PORTS`` when set (machines where each runner owns a range)."""
    from kernel.browsertesting import free_port as in_range

    return in_range()


def _request(url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None, timeout: float = 10) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method or ("POST" if body is not None else "GET"))
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - loopback only
        return answer.status, json.loads(answer.read())


@contextmanager
def server(target: str, url: str, workers: int = WORKERS) -> Iterator[str]:
    """``uvicorn TARGET --factory --workers N`` (2 unless told) on a free loopback port; yields its base URL, always stopped after."""
    port = free_port()
    env = {**os.environ, URL_ENV: url, SECRET_ENV: "bench-" + secrets.token_hex(16)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    stack = server_stack()  # uvloop + httptools, as crm serve runs
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--workers", str(workers), "--loop", stack["loop"], "--http", stack["http"]]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    _GROUPS[base] = process.pid
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


#: A running server's base URL → its process group (the supervisor's pid), for its CPU time.
_GROUPS: dict[str, int] = {}
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(url: str) -> float:
    """User + system CPU seconds used so far by the processes of the server behind ``url``."""
    group = next((pid for base, pid in _GROUPS.items() if url.startswith(base)), None)
    if group is None:
        raise BenchError(f"no server started for {url}")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group:  # pgrp (fields counted after the command name)
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / _TICKS


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


def wrk_command(url: str, seconds: int, args: argparse.Namespace, *, token: str = "", post: bool = False, connections: int | None = None) -> list[str]:
    threads = min(args.threads, connections or args.connections)
    command = ["wrk", f"-t{threads}", f"-c{connections or args.connections}", f"-d{seconds}s", "--latency"]
    if post:
        command += ["-s", str(CREATE_SCRIPT)]
    elif token:
        command += ["-H", f"Authorization: Bearer {token}"]
    return [*command, url]


def wrk(url: str, seconds: int, args: argparse.Namespace, *, token: str = "", post: bool = False, connections: int | None = None) -> Load:
    command = wrk_command(url, seconds, args, token=token, post=post, connections=connections)
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, TOKEN_ENV: token}, timeout=seconds + 30, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def measure(url: str, args: argparse.Namespace, *, token: str = "", post: bool = False) -> Load:
    wrk(url, WARMUP, args, token=token, post=post)  # warm both workers' pools, caches and compiled statements
    before = cpu_seconds(url)
    load = wrk(url, args.duration, args, token=token, post=post)
    load.cpu_ms = (cpu_seconds(url) - before) * 1000 / max(1, load.requests)
    return load


def measure_mixed(list_url: str, create_url: str, args: argparse.Namespace, *, token: str = "") -> Load:
    """The list loaded while ``MIXED_WRITERS`` connections post creates the whole time; the reads' figures."""
    wrk(list_url, WARMUP, args, token=token)
    seconds = args.duration + 2  # the writers start first and stop last
    command = wrk_command(create_url, seconds, args, token=token, post=True, connections=MIXED_WRITERS)
    writers = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, TOKEN_ENV: token})
    try:
        time.sleep(1.0)
        before = cpu_seconds(list_url)
        reads = wrk(list_url, args.duration, args, token=token, connections=max(1, args.connections - MIXED_WRITERS))
        reads.cpu_ms = (cpu_seconds(list_url) - before) * 1000 / max(1, reads.requests)  # the writers' share included
        out, err = writers.communicate(timeout=seconds + 30)
    finally:
        if writers.poll() is None:
            writers.kill()
            writers.wait()
    if writers.returncode != 0:
        raise BenchError(f"wrk (writers) failed ({writers.returncode}): {err or out}")
    parse_wrk(out)  # any failed create fails the run too
    return reads


def check_answers(ours: str, limit: str, prepared: Prepared, *, rep: bool = False) -> None:
    """One list request to each server, before loading: 2xx, and the same page of deals; with ``rep``, as the rep."""
    auth = {"Authorization": f"Bearer {prepared.rep_token if rep else prepared.token}"}
    status, mine = _request(ours, headers=auth)
    status_limit, theirs = _request(limit, headers=auth)
    if status != 200 or status_limit != 200:
        raise BenchError(f"list answered {status} (ours) and {status_limit} (limit)")
    if mine["total"] != theirs["total"] or [d["id"] for d in mine["items"]] != [d["id"] for d in theirs["items"]]:
        raise BenchError(f"ours found {mine['total']} deals, the limit {theirs['total']}, or another page")
    if len(mine["items"]) != PAGE:
        raise BenchError(f"the list gave {len(mine['items'])} deals, not {PAGE}: load more rows")


def check_creates(ours: str, limit: str, prepared: Prepared) -> None:
    body = re.search(r"wrk\.body = (.*)", CREATE_SCRIPT.read_text(), re.DOTALL)
    assert body is not None
    payload = "".join(re.findall(r"'([^']*)'", body.group(1))).encode()
    for url, headers in ((ours, {"Authorization": f"Bearer {prepared.token}"}), (limit, {"Authorization": f"Bearer {prepared.token}"})):
        status, created = _request(url, body=payload, headers={**headers, "Content-Type": "application/json"})
        if status != 201 or "id" not in created:
            raise BenchError(f"create at {url} answered {status}: {created}")


# -- stall ----------------------------------------------------------------------------------------


def measure_stall(kind: str, base: str, prepared: Prepared) -> Stall:
    """``/healthz`` latency while this process holds the write lock, a PATCH waits for it and 8 logins hash."""
    table = Deal.__table__
    engine = make_engine(prepared.url)
    logins = [json.dumps({"email": f"bench-rep-{n}@example.com", "password": prepared.rep_password}).encode() for n in range(1, STALL_LOGINS + 1)]
    json_headers = {"Content-Type": "application/json"}
    timings: list[float] = []
    try:
        with engine.connect() as holder, ThreadPoolExecutor(STALL_LOGINS + 1) as pool:
            holder.execution_options(crm_write=True)  # SQLite: BEGIN IMMEDIATE, the write lock
            holding = holder.begin()
            pending: list[Future[tuple[int, Any]]] = []
            try:
                deal_id = holder.execute(sa.select(table.c.id).order_by(table.c.id).limit(1).with_for_update()).scalar_one()
                holder.execute(sa.update(table).where(table.c.id == deal_id).values(stage="won"))
                patch = json.dumps({"stage": "lost"}).encode()
                auth = {**json_headers, "Authorization": f"Bearer {prepared.token}"}
                pending.append(pool.submit(_request, f"{base}/api/v1/deals/{deal_id}", body=patch, headers=auth, method="PATCH", timeout=60))
                pending += [pool.submit(_request, f"{base}/api/v1/auth/token", body=login, headers=json_headers, timeout=60) for login in logins]
                time.sleep(0.3)  # the PATCH waits for the lock; the logins hash, then wait too (SQLite)
                for _ in range(STALL_SAMPLES):
                    started = time.perf_counter()
                    _request(f"{base}/healthz", timeout=60)
                    timings.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.02)
                if all(f.done() for f in pending):
                    raise BenchError("the PATCH and the logins were done before the lock was let go: nothing was measured")
            finally:
                holding.rollback()
            statuses = [f.result()[0] for f in pending]
    finally:
        engine.dispose()
    if statuses != [200] + [201] * STALL_LOGINS:
        raise BenchError(f"the PATCH and the logins answered {statuses}")
    return Stall(kind, statistics.median(timings), max(timings))


def run_database(kind: str, args: argparse.Namespace) -> tuple[list[Row], Stall]:
    with fresh_database(kind) as url:
        print(f"[{kind}] preparing {args.rows:,} deals", flush=True)
        prepared = prepare(url, args.rows, args.selectivity)
        query = f"?limit={PAGE}&{INDEXED_FIELD}__gte={prepared.threshold}&sort=-{INDEXED_FIELD}"
        with server("bench.http_app:app", url) as ours, server("bench.http_limit:app", url) as limit:
            ours_list, limit_list = f"{ours}/api/v1/deals{query}", f"{limit}/deals?{INDEXED_FIELD}__gte={prepared.threshold}"
            limit_rep_list = f"{limit_list}&rep={prepared.rep_id}"
            ours_create, limit_create = f"{ours}/api/v1/deals", f"{limit}/deals"
            check_answers(ours_list, limit_list, prepared)
            check_answers(ours_list, limit_rep_list, prepared, rep=True)
            check_creates(ours_create, limit_create, prepared)
            print(f"[{kind}] servers up; {args.duration} s of wrk per scenario and server", flush=True)
            results = {
                "GET list 50 (admin)": (measure(ours_list, args, token=prepared.token), measure(limit_list, args, token=prepared.token)),
                "GET list 50 (rep, team rule)": (measure(ours_list, args, token=prepared.rep_token), measure(limit_rep_list, args, token=prepared.rep_token)),
                "POST create": (measure(ours_create, args, token=prepared.token, post=True), measure(limit_create, args, token=prepared.token, post=True)),
                f"GET list during creates ({MIXED_WRITERS} writers)": (
                    measure_mixed(ours_list, ours_create, args, token=prepared.token),
                    measure_mixed(limit_list, limit_create, args, token=prepared.token),
                ),
            }
            print(f"[{kind}] stall check: /healthz while a write waits for a lock and {STALL_LOGINS} logins hash", flush=True)
            stall = measure_stall(kind, ours, prepared)
    return [Row(kind, name, mine, theirs) for name, (mine, theirs) in results.items()], stall


# -- report ---------------------------------------------------------------------------------------


def print_stalls(stalls: list[Stall]) -> None:
    print(f"\n/healthz on ours while a write waits for a held lock and {STALL_LOGINS} logins hash (argon2id, production cost); {STALL_SAMPLES} samples")
    for stall in stalls:
        verdict = "ok" if stall.max_ms < STALL_TARGET_MS else f"above {STALL_TARGET_MS:.0f} ms"
        print(f"  {stall.database:<9} p50 {stall.p50_ms:6.1f} ms   max {stall.max_ms:6.1f} ms   ({verdict})")


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print(f"\n{args.rows:,} deals, filter matches {args.selectivity:.0%}; wrk -t{args.threads} -c{args.connections} -d{args.duration}s; 2 uvicorn workers each on uvloop + httptools")
    headers = ["database", "endpoint", "ours req/s", "limit req/s", "ours/limit", "ours p50/p99 ms", "limit p50/p99 ms", "CPU ms/req ours, limit", "by CPU"]
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
                f"{r.ours.cpu_ms:.2f}, {r.limit.cpu_ms:.2f}",
                f"{r.limit.cpu_ms / r.ours.cpu_ms:.2f}" if r.ours.cpu_ms else "-",
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
    done = [run_database(kind, args) for kind in kinds]
    print_table([row for rows, _ in done for row in rows], args)
    print_stalls([stall for _, stall in done])


if __name__ == "__main__":
    main()

"""Wall and CPU seconds of a measured step, the database's share included, and medians of interleaved runs.

On a machine shared with other work, wall-clock seconds swing by a factor of two from run
to run; CPU seconds much less. :class:`CpuClock` reads this process's CPU time
(``time.process_time``: on SQLite that is all the work, the database runs in-process) plus,
on PostgreSQL, the CPU time of the server processes serving the engine's connections (read
from ``/proc/PID/stat``, so only when the server runs on this machine; else it says so and
counts this process alone). Background server work (the WAL writer, checkpoints) is left out
on both sides alike.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds and CPU seconds (this process, plus the PostgreSQL backends when readable)."""

    wall: float
    cpu: float


class CpuClock:
    """CPU seconds used so far by this process and the database server processes ``engine`` talks to."""

    def __init__(self, engine: sa.Engine) -> None:
        self.backends: set[int] = set()
        self.server_visible = engine.dialect.name != "postgresql"
        if engine.dialect.name == "postgresql":
            engine.dispose()  # connections made from now on are seen, and their backends counted
            sa.event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
        cursor.close()
        if Path(f"/proc/{pid}/stat").exists():
            self.backends.add(pid)
            self.server_visible = True

    def __call__(self) -> float:
        used = time.process_time()
        for pid in list(self.backends):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                self.backends.discard(pid)  # a backend that ended: its share is lost for the runs after
                continue
            used += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        return used

    @property
    def scope(self) -> str:
        if self.server_visible and self.backends:
            return "this process + its PostgreSQL backends"
        return "this process (the PostgreSQL server is not on this machine)" if not self.server_visible else "this process (in-process database)"


@contextmanager
def measured(clock: Callable[[], float], into: list[Timing]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), clock()
    yield
    into.append(Timing(time.perf_counter() - wall, clock() - cpu))


@dataclass(frozen=True)
class Comparison:
    """Interleaved runs of ours and the limit: medians, and the median of each run's limit/ours."""

    ours: Sequence[Timing]
    limit: Sequence[Timing]

    def median(self, side: str, what: str) -> float:
        return statistics.median(getattr(t, what) for t in getattr(self, side))

    def ratio(self, what: str) -> float:
        """The median over runs of limit/ours (``what``: ``wall`` or ``cpu``); runs are paired as they ran."""
        return statistics.median(getattr(a, what) / max(getattr(b, what), 1e-9) for a, b in zip(self.limit, self.ours))

    def spread(self, what: str) -> tuple[float, float]:
        ratios = [getattr(a, what) / max(getattr(b, what), 1e-9) for a, b in zip(self.limit, self.ours)]
        return min(ratios), max(ratios)

"""A plugin ``work`` with background task kinds for the task queue's tests.

``work.count`` reports progress in steps and returns what it saw; ``work.fail`` always raises;
``work.once`` allows one attempt only. A payload may name a :class:`Gate` (``{"gate": "g1"}``):
the handler reports its first step, signals ``started`` and waits for ``release`` before going
on, so a test can look at (or cancel, or take over) a task while it runs — no sleeping.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from kernel import TaskContext, TaskKind
from kernel.testing import plugin_module

PATIENCE = 30  # seconds a gate waits before the test is declared stuck
LEASE = timedelta(minutes=5)
BACKOFF = timedelta(seconds=30)
GATES: dict[str, "Gate"] = {}
RUNS: list[tuple[int, int, str]] = []  # (task id, attempt, worker thread name), in order
RUNS_LOCK = threading.Lock()


class Gate:
    def __init__(self, name: str, attempts: tuple[int, ...] = (1,)):
        self.started, self.release, self.finished = threading.Event(), threading.Event(), threading.Event()
        self.attempts = attempts  # the attempts that stop at the gate
        GATES[name] = self


def count(context: TaskContext) -> dict[str, Any]:
    with RUNS_LOCK:
        RUNS.append((context.task_id, context.attempt, threading.current_thread().name))
    payload = context.payload or {}
    steps = int(payload.get("steps", 3))
    context.progress(0, steps, "starting")
    gate = GATES.get(payload.get("gate", ""))
    for step in range(1, steps + 1):
        context.progress(step, message=f"step {step} of {steps}")
        if step == 1 and gate is not None and context.attempt in gate.attempts:
            gate.started.set()
            assert gate.release.wait(PATIENCE), "the test never released the gate"
    if gate is not None:
        gate.finished.set()
    return {"steps": steps, "attempt": context.attempt, "actor": context.actor.label, "role": context.actor.role}


def fail(context: TaskContext) -> None:
    raise ValueError(f"boom {context.attempt}")


def reset() -> None:
    GATES.clear()
    with RUNS_LOCK:
        RUNS.clear()


KINDS = [
    TaskKind("work.count", count, {"en": "Count", "zh_CN": "计数"}, lease=LEASE, backoff=BACKOFF),
    TaskKind("work.fail", fail, {"en": "Fail", "zh_CN": "失败"}, max_attempts=3, lease=LEASE, backoff=BACKOFF),
    TaskKind("work.once", count, {"en": "Once", "zh_CN": "一次"}, max_attempts=1, lease=LEASE, backoff=BACKOFF),
]
plugin = plugin_module("work", register_task_kinds=lambda: KINDS)

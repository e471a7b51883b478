"""Blocking work off the server's event loop: each HTTP request runs in a worker thread.

Handlers are ``async def`` and call the synchronous database and argon2 inline;
on the server's loop one slow call (a login hashing a password, a write waiting
for SQLite's lock) would stall every other request of the process. So
:class:`Offload`, the outermost middleware, hands each HTTP request's whole app
call to one of a fixed number of worker threads, as many as the database pool
keeps connections. Each thread owns a persistent event loop and runs one
request at a time on it, so a handler may block freely: it holds only its own
thread. ``receive`` and ``send`` are bridged back to the server's loop, so
request bodies, forms, uploads and streaming responses work unchanged; requests
beyond the threads wait in line without holding the loop. A response's start
travels with its first body message, and its last message is sent by the
server's loop when it learns that the app returned: a one-part response costs
one hop each way, as a call into a thread pool does (each hop wakes a thread,
which on a busy machine costs more than the rest of a cheap request).

``/healthz`` and static files stay on the server's loop: they answer even while
every worker thread is busy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Paths answered on the server's loop (no database call, or Starlette's own threads).
ON_LOOP_PATHS = ("/healthz",)
ON_LOOP_PREFIXES = ("/static/",)
#: …except plugins' files: whether a plugin is enabled may need the database.
OFF_LOOP_PREFIXES = ("/static/plugins/",)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (it is with ``uvicorn[standard]``), asyncio's otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


class _Job:
    __slots__ = ("make", "future", "loop", "task")

    def __init__(self, make: Callable[[], Awaitable[Any]]):
        self.make = make
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None

    def cancel_task(self) -> None:
        """Run on the worker's loop: cancel the request's task if it still runs."""
        if self.task is not None:
            self.task.cancel()


class LoopThreads:
    """Up to ``size`` daemon threads, each with its own event loop, running one coroutine at a time.

    Threads start on demand and stay until :meth:`close` or until this object is
    garbage; jobs beyond ``size`` wait in a queue.
    """

    def __init__(self, size: int, name: str = "crm-request"):
        if size < 1:
            raise ValueError("at least one worker thread is needed")
        self.size, self.name = size, name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._count = [0]  # threads started, shared with the finalizer (which must not hold self)
        self._closer = weakref.finalize(self, _stop_threads, self._jobs, self._lock, self._count)

    def submit(self, make: Callable[[], Awaitable[Any]]) -> _Job:
        """Run ``make()``'s coroutine on a worker thread's loop; the job's ``future`` holds its outcome."""
        job = _Job(make)
        self._jobs.put(job)
        if not self._idle.acquire(blocking=False):
            with self._lock:
                if self._count[0] < self.size:
                    self._count[0] += 1
                    name = f"{self.name}-{self._count[0]}"
                    threading.Thread(target=_work, args=(self._jobs, self._idle), name=name, daemon=True).start()
        return job

    def close(self) -> None:
        """Let every thread finish its current job and stop."""
        self._closer()


def _stop_threads(jobs: queue.SimpleQueue[_Job | None], lock: threading.Lock, count: list[int]) -> None:
    with lock:
        for _ in range(count[0]):
            jobs.put(None)
        count[0] = 0


def _work(jobs: queue.SimpleQueue[_Job | None], idle: threading.Semaphore) -> None:
    """A worker thread: one event loop, one job at a time, until told to stop."""
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        while (job := jobs.get()) is not None:
            job.loop = loop
            if job.future.set_running_or_notify_cancel():
                job.task = loop.create_task(job.make())  # type: ignore[arg-type]
                try:
                    job.future.set_result(loop.run_until_complete(job.task))
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting request, whatever it is
                    job.future.set_exception(exc)
                job.task = None
            idle.release()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class Offload:
    """ASGI middleware: each HTTP request's app call runs on a :class:`LoopThreads` worker."""

    def __init__(self, app: ASGIApp, threads: LoopThreads):
        self.app, self.threads = app, threads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _on_loop(scope["path"]):
            await self.app(scope, receive, send)
            return
        server_loop = asyncio.get_running_loop()

        async def receive_bridged() -> Message:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(receive(), server_loop))  # type: ignore[arg-type]

        # A response's start waits to travel with its first body message, and its end (the
        # last body message) waits for the app to return: the server's loop then sends it as
        # it learns the request is done, in one wake-up. An app that goes on after its
        # response ends (background work) has the end sent at once instead.
        held: list[Message] = []
        sending: list[concurrent.futures.Future[None]] = []

        async def send_all(messages: list[Message]) -> None:
            for message in messages:
                await send(message)

        def send_end_unless_done(task: asyncio.Task[Any] | None) -> None:
            if held and task is not None and not task.done():
                sending.append(asyncio.run_coroutine_threadsafe(send_all(held[:]), server_loop))
                held.clear()

        async def send_bridged(message: Message) -> None:
            held.append(message)
            if message["type"] == "http.response.start":
                return
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                asyncio.get_running_loop().call_soon(send_end_unless_done, asyncio.current_task())
                return
            messages = held[:]
            held.clear()
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send_all(messages), server_loop))  # type: ignore[arg-type]

        async def send_held() -> None:
            for sent in sending:
                await asyncio.wrap_future(sent)
            if held:
                await send_all(held)

        job = self.threads.submit(lambda: self.app(scope, receive_bridged, send_bridged))
        try:
            await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            if not job.future.cancel() and job.loop is not None:
                job.loop.call_soon_threadsafe(job.cancel_task)
            raise
        except BaseException:
            await send_held()  # what the app sent before it failed
            raise
        await send_held()


def _on_loop(path: str) -> bool:
    return path in ON_LOOP_PATHS or (path.startswith(ON_LOOP_PREFIXES) and not path.startswith(OFF_LOOP_PREFIXES))

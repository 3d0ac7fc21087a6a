"""A remote worker: registers, leases, runs a handler in threads, and answers each lease."""

from __future__ import annotations

import http.client
import json
import logging
import random
import signal
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from .client import Capability, Client
from .errors import SwitchboardError
from .progress import Reporter

logger = logging.getLogger("switchboard")

# A lease whose expiry cannot be read (a server clock far from ours) is taken to last this.
_DEFAULT_LEASE_MS = 30_000
# The shortest lease asked for on extension: a shorter one would keep the worker extending.
_MIN_LEASE_MS = 1_000


class TaskContext:
    """What a handler knows of the task it runs, besides its payload.

    ``cancelled`` is set when the task was cancelled or its lease lost (the server answered
    409 or 404 to an extension), and when the worker closes without draining or its drain
    times out; ``reason`` then says why. A long handler should look at it now and then
    (``ctx.cancelled.is_set()``, or ``ctx.cancelled.wait(seconds)`` instead of a sleep).

    ``traceparent`` and ``tracestate`` are the W3C trace context the lease carries (``None``
    when the task has none): the server's span of this attempt when it traces, else the
    submitter's. This package imports no tracer; a handler that traces passes them to its
    own, e.g. with OpenTelemetry's ``TraceContextTextMapPropagator().extract(...)``, so that
    its spans join the task's trace.
    """

    def __init__(self, lease: Mapping[str, Any], reporter: Optional[Reporter] = None) -> None:
        self.task_id: str = lease["id"]
        self.capability: str = lease["capability"]
        self.attempt: int = lease["attempt"]
        self.priority: Optional[str] = lease.get("priority")
        self.session_key: Optional[str] = lease.get("sessionKey")
        self.traceparent: Optional[str] = lease.get("traceparent")
        self.tracestate: Optional[str] = lease.get("tracestate")
        self.cancelled = threading.Event()
        self.reason: Optional[str] = None
        self._reporter = reporter

    def progress(self, value: Any) -> None:
        """Reports the task's progress: a number or a small JSON value (at most 4 KiB of
        JSON). The last value is on the task's view, and followers get a ``task.progress``
        event. Sent from a thread of its own with one request in flight; values reported
        meanwhile are coalesced (the last wins). Raises :class:`SwitchboardError`
        ``invalid_request`` (not JSON) or ``payload_too_large``."""
        if self._reporter is None:
            raise RuntimeError("this context reports to no server")
        self._reporter.progress(value)

    def stream(self, chunk: Any) -> None:
        """Appends a chunk of partial output (an LLM token, a log line: any JSON value) to
        the task's stream, which clients read as it is produced. Chunks reported while a
        request is in flight go together in the next one, in order; the task's answer is sent
        after them. Raises :class:`SwitchboardError` ``invalid_request`` (not JSON) or
        ``payload_too_large`` (over 64 KiB)."""
        if self._reporter is None:
            raise RuntimeError("this context reports to no server")
        self._reporter.stream(chunk)

    def _cancel(self, reason: str) -> None:
        if not self.cancelled.is_set():
            self.reason = reason
            self.cancelled.set()


Handler = Callable[[Any, TaskContext], Any]
"""A task handler: ``handler(payload, ctx)`` returns the task's result (JSON) or raises."""


class _Held:
    """A lease the worker holds, from the poll that brought it to the server's answer to it."""

    def __init__(self, lease: Mapping[str, Any], agent_id: str, worker: "Worker") -> None:
        self.token: str = lease["leaseToken"]
        self.reporter = Reporter(
            worker.client,
            lease["id"],
            self.token,
            lambda reason: self.ctx._cancel(reason),
            worker.on_error,
            worker.backoff_ms,
            worker.max_backoff_ms,
        )
        self.ctx = TaskContext(lease, self.reporter)
        self.payload = lease.get("payload")
        self.agent_id = agent_id
        left = _left_s(lease.get("leaseExpiresAt"))
        self.lease_ms = max(_MIN_LEASE_MS, int((left or _DEFAULT_LEASE_MS / 1000) * 1000))
        self.next_extend = time.monotonic() + (left or self.lease_ms / 1000) / 2


def _left_s(expires_at: Any) -> Optional[float]:
    """Seconds until an epoch-ms instant, or None when it is past or implausibly far."""
    if not isinstance(expires_at, (int, float)):
        return None
    left = expires_at / 1000 - time.time()
    return left if 0 < left <= 86_400 else None


def _retryable(error: BaseException) -> bool:
    return not getattr(error, "retryable", True) is False


class Worker:
    """A remote agent of the Switchboard HTTP API that runs ``handler`` for each task.

    It registers, long-polls leases up to its free ``concurrency`` (one thread a task),
    heartbeats on the interval the server gave, and extends each running task's lease before
    it expires. A handler's return value completes the task; an exception fails it, retryable
    unless it is a :class:`~switchboard.NonRetryableError` or has ``retryable = False``. On 404
    (the server failed the agent over) it registers again; on 503 and connection errors it
    backs off with jitter and tries again, so it outlives a server restart, and with a durable
    backend completes the leases it held with their tokens.

    Example::

        def handle(payload, ctx):
            return {"title": fetch_title(payload["url"])}

        Worker("http://127.0.0.1:8787", ["browser"], handle, concurrency=4).run()
    """

    def __init__(
        self,
        url: str,
        capabilities: Sequence[Capability],
        handler: Handler,
        concurrency: int = 1,
        name: Optional[str] = None,
        token: Optional[str] = None,
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        poll_wait_ms: int = 10_000,
        backoff_ms: int = 100,
        max_backoff_ms: int = 5_000,
        on_error: Optional[Callable[[BaseException], None]] = None,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer ≥ 1, got {concurrency!r}")
        if isinstance(capabilities, (str, bytes)):
            # A bare string is a sequence of one-letter capabilities: never what was meant.
            raise TypeError(f"capabilities must be a list, such as [{capabilities!r}]")
        if len(capabilities) == 0:
            raise ValueError("capabilities: at least one is needed")
        if not 0 <= poll_wait_ms <= 30_000:
            raise ValueError(f"poll_wait_ms must be in 0..30000, got {poll_wait_ms!r}")
        self.client = Client(url, token)
        self.capabilities = list(capabilities)
        self.handler = handler
        self.concurrency = concurrency
        self.name = name
        self.metadata = metadata
        self.poll_wait_ms = poll_wait_ms
        self.backoff_ms = backoff_ms
        self.max_backoff_ms = max_backoff_ms
        self.on_error = on_error or _log_error
        self._cond = threading.Condition()
        self._agent: Optional[Dict[str, Any]] = None
        self._held: Dict[str, _Held] = {}
        self._poll: Optional[http.client.HTTPConnection] = None
        self._closing = threading.Event()
        self._abandon = threading.Event()
        self._stopped = threading.Event()
        self._wake = threading.Event()
        self._threads: List[threading.Thread] = []
        self._started = False

    @property
    def agent_id(self) -> Optional[str]:
        """The id the server gave at the last registration; None before the first."""
        with self._cond:
            return None if self._agent is None else self._agent["id"]

    @property
    def active(self) -> int:
        """How many tasks the worker holds now."""
        with self._cond:
            return len(self._held)

    def start(self) -> "Worker":
        """Starts leasing in background threads and returns at once."""
        with self._cond:
            if self._started:
                raise RuntimeError("the worker was started already")
            self._started = True
        for target, name in ((self._lease_loop, "lease"), (self._keep_loop, "keeper")):
            thread = threading.Thread(target=target, name=f"switchboard-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def run(self) -> None:
        """Starts and blocks until :meth:`close`. Ctrl-C, and SIGTERM when the program has no
        handler of its own for it, close with a drain; a second one during the drain raises
        KeyboardInterrupt at once."""
        self.start()
        restore = _sigterm_interrupts()
        try:
            while not self._stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            self.close(drain=True)
        finally:
            restore()

    def close(self, drain: bool = True, timeout: Optional[float] = None) -> None:
        """Stops leasing; with ``drain`` waits for the tasks in flight (up to ``timeout``
        seconds, if given) to finish and be answered; then leaves, which puts whatever the
        worker still holds back to the queue. Without ``drain`` the running tasks' contexts
        are cancelled and their answers not waited for."""
        self._closing.set()
        with self._cond:
            _shut(self._poll)
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        if drain:
            with self._cond:
                while self._held:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._cond.wait(left)
        with self._cond:
            held = list(self._held.values())
            agent = self._agent
        # Abandoned first: a handler that stops at its cancellation then sends no answer, and
        # the leave below puts its task back to the queue.
        self._abandon.set()
        for h in held:
            h.ctx._cancel("the worker closed")
        if self._threads:
            self._threads[0].join()
        if agent is not None:
            try:
                self.client.leave(agent["id"])
            except SwitchboardError as error:
                # Already gone (failed over, or the server restarted on the memory backend).
                if error.status != 404:
                    self.on_error(error)
        self._stopped.set()
        self._wake.set()
        for thread in self._threads[1:]:
            thread.join()

    # The lease loop.

    def _lease_loop(self) -> None:
        failures = 0
        while not self._closing.is_set():
            agent_id = self._registered()
            if agent_id is None:
                return
            with self._cond:
                while len(self._held) >= self.concurrency and not self._closing.is_set():
                    self._cond.wait()
                free = self.concurrency - len(self._held)
            if self._closing.is_set():
                return
            try:
                answer = self.client._lease(agent_id, free, self.poll_wait_ms, self._hold_poll)
            except SwitchboardError as error:
                if self._closing.is_set():
                    return
                if error.status == 404:
                    self._forget(agent_id)
                    continue
                self.on_error(error)
                self._pause(failures)
                failures += 1
                continue
            failures = 0
            for lease in answer.get("tasks", []):
                self._begin(lease, agent_id)

    def _registered(self) -> Optional[str]:
        """The agent's id, registering (again) first when needed; None once closing."""
        failures = 0
        while not self._closing.is_set():
            with self._cond:
                if self._agent is not None:
                    return self._agent["id"]
            try:
                agent = self.client.register_agent(
                    self.capabilities,
                    name=self.name,
                    max_concurrency=self.concurrency,
                    metadata=self.metadata,
                )
            except SwitchboardError as error:
                # Every failure is tried again: a 401 or 400 may be a token or config that an
                # operator is fixing, and the error reaches on_error each time.
                self.on_error(error)
                self._pause(failures)
                failures += 1
                continue
            with self._cond:
                self._agent = agent
            self._wake.set()
            return agent["id"]
        return None

    def _forget(self, agent_id: str) -> None:
        """The server no longer knows `agent_id`: the next turn of the loop registers again."""
        with self._cond:
            if self._agent is not None and self._agent["id"] == agent_id:
                self._agent = None

    def _hold_poll(self, conn: Optional[http.client.HTTPConnection]) -> None:
        with self._cond:
            self._poll = conn
            if self._closing.is_set():
                _shut(conn)

    def _pause(self, failures: int) -> None:
        """Sleeps a backoff with jitter (half fixed, half random), or less once closing."""
        ceiling = min(self.max_backoff_ms, self.backoff_ms * 2 ** min(failures, 16)) / 1000
        self._closing.wait(ceiling / 2 + random.uniform(0, ceiling / 2))

    # One task.

    def _begin(self, lease: Mapping[str, Any], agent_id: str) -> None:
        held = _Held(lease, agent_id, self)
        with self._cond:
            self._held[held.ctx.task_id] = held
        self._wake.set()
        name = f"switchboard-task-{held.ctx.task_id}"
        threading.Thread(target=self._run, args=(held,), name=name, daemon=True).start()

    def _run(self, held: _Held) -> None:
        task_id = held.ctx.task_id
        try:
            try:
                value = self.handler(held.payload, held.ctx)
            except Exception as error:  # noqa: BLE001 - a handler's failure fails its task
                held.reporter.flush(held.lease_ms / 1000)
                message = str(error) or type(error).__name__
                retryable = _retryable(error)
                self._answer(held, lambda: self._fail(held, message, retryable))
                return
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as error:
                # Another attempt would return the same kind of value: no retry.
                message = f"the result is not JSON: {error}"
                self._answer(held, lambda: self._fail(held, message, False))
                return
            # Readers of the task's stream get every chunk before they learn the task ended;
            # a server out of reach for a whole lease's length does not hold the answer longer.
            held.reporter.flush(held.lease_ms / 1000)
            self._answer(held, lambda: self.client.complete(task_id, held.token, value))
        finally:
            held.reporter.close()
            with self._cond:
                self._held.pop(task_id, None)
                self._cond.notify_all()

    def _fail(self, held: _Held, message: str, retryable: bool) -> Any:
        return self.client.fail(held.ctx.task_id, held.token, message, retryable)

    def _answer(self, held: _Held, send: Callable[[], Any]) -> None:
        """Sends a lease's answer, again and again while the server is unreachable: with a
        durable backend the lease outlives a restart and its token still answers."""
        failures = 0
        while not self._abandon.is_set():
            try:
                send()
                return
            except SwitchboardError as error:
                if error.status in (404, 409):
                    # Cancelled, or the lease was lost (expired, or the agent failed over):
                    # the task is someone else's now. Expected after a cancel; worth a word else.
                    if not held.ctx.cancelled.is_set():
                        self.on_error(error)
                    return
                self.on_error(error)
                if not error.retryable:
                    return
                self._abandon.wait(min(self.max_backoff_ms, self.backoff_ms * 2**failures) / 1000)
                failures = min(failures + 1, 16)

    # Heartbeats and extensions.

    def _keep_loop(self) -> None:
        next_beat = time.monotonic()
        while not self._stopped.is_set():
            now = time.monotonic()
            with self._cond:
                due = [h for h in self._held.values() if h.next_extend <= now]
                agent = self._agent
            for held in due:
                self._extend(held)
            if agent is not None and now >= next_beat:
                next_beat = now + agent.get("heartbeatIntervalMs", 5_000) / 1000
                self._heartbeat(agent["id"])
            with self._cond:
                wake = min([next_beat] + [h.next_extend for h in self._held.values()])
            self._wake.wait(max(0.01, wake - time.monotonic()))
            self._wake.clear()

    def _heartbeat(self, agent_id: str) -> None:
        try:
            self.client.heartbeat(agent_id, {"queueSize": self.active})
        except SwitchboardError as error:
            if error.status == 404:
                self._forget(agent_id)
            elif not self._closing.is_set():
                self.on_error(error)

    def _extend(self, held: _Held) -> None:
        try:
            lease = self.client.extend(held.ctx.task_id, held.token, held.lease_ms)
        except SwitchboardError as error:
            if error.status in (404, 409):
                held.ctx._cancel(error.message)
                held.next_extend = float("inf")
                return
            # Unreachable for now: try again soon, well before the lease ends.
            held.next_extend = time.monotonic() + min(1.0, held.lease_ms / 4000)
            if not self._closing.is_set():
                self.on_error(error)
            return
        left = _left_s(lease.get("leaseExpiresAt")) or held.lease_ms / 1000
        held.next_extend = time.monotonic() + left / 2


def _shut(conn: Optional[http.client.HTTPConnection]) -> None:
    """Ends a connection from another thread: its blocked read returns at once."""
    sock = None if conn is None else conn.sock
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        # Closed already by its own thread, which is what was wanted.
        pass


def _sigterm_interrupts() -> Callable[[], None]:
    """Makes SIGTERM raise KeyboardInterrupt as Ctrl-C does, so that a supervisor's stop
    (systemd, Docker, Kubernetes) drains the worker; returns what puts things back. Only in
    the main thread (where Python runs signal handlers) and only over the default action."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return lambda: None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _log_error(error: BaseException) -> None:
    logger.warning("switchboard worker: %s", error)


__all__ = ["Handler", "TaskContext", "Worker"]

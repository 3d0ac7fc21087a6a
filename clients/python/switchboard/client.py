"""A typed client of the Switchboard HTTP API (docs/http.md), over ``http.client``."""

from __future__ import annotations

import http.client
import json
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Union
from urllib.parse import quote, urlencode, urlsplit

from .errors import SwitchboardError
from .events import EventStream
from .progress import MAX_PROGRESS_BYTES, encode_reported
from .task_stream import TaskStream

Capability = Union[str, Mapping[str, Any]]
"""A capability: its name, or ``{"name": ..., "version": ...}``."""

# The keyword options of a task and their names on the wire. Explicit, so that a misspelled
# option is a TypeError instead of a field the server rejects (or, worse, ignores).
_TASK_FIELDS = {
    "priority": "priority",
    "timeout_ms": "timeoutMs",
    "max_attempts": "maxAttempts",
    "idempotency_key": "idempotencyKey",
    "session_key": "sessionKey",
    "fairness_key": "fairnessKey",
    "delay_ms": "delayMs",
    "metadata": "metadata",
    "traceparent": "traceparent",
    "tracestate": "tracestate",
}

# Tells an argument left out from one given as None (a progress value may be null).
_UNSET: Any = object()

# The answer to a long poll may take its whole wait: the socket waits that long and this more.
_SLACK_S = 10.0


def task_body(
    capability: str,
    payload: Any = None,
    *,
    priority: Optional[str] = None,
    timeout_ms: Optional[int] = None,
    max_attempts: Optional[int] = None,
    idempotency_key: Optional[str] = None,
    session_key: Optional[str] = None,
    fairness_key: Optional[str] = None,
    delay_ms: Optional[int] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    traceparent: Optional[str] = None,
    tracestate: Optional[str] = None,
) -> Dict[str, Any]:
    """The wire body of a task submission; options left ``None`` are left out."""
    body: Dict[str, Any] = {"capability": capability}
    if payload is not None:
        body["payload"] = payload
    options = {
        "priority": priority,
        "timeout_ms": timeout_ms,
        "max_attempts": max_attempts,
        "idempotency_key": idempotency_key,
        "session_key": session_key,
        "fairness_key": fairness_key,
        "delay_ms": delay_ms,
        "metadata": metadata,
        "traceparent": traceparent,
        "tracestate": tracestate,
    }
    for name, value in options.items():
        if value is not None:
            body[_TASK_FIELDS[name]] = value
    return body


class Client:
    """A client of every endpoint of the Switchboard HTTP API.

    Answers are the server's JSON documents, as ``dict`` and ``list``. An error answer raises
    :class:`SwitchboardError` with the contract's ``code``, ``message``, ``details`` and the
    HTTP ``status``. Each call opens its own connection, so one client may be shared by threads.

    Example::

        client = Client("http://127.0.0.1:8787")
        task_id = client.submit("browser", {"url": "https://example.org"})["id"]
        task = client.result(task_id, wait_ms=30_000)
    """

    def __init__(self, url: str, token: Optional[str] = None, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be http://host[:port] or https://..., got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = token

    # Agents (remote workers).

    def register_agent(
        self,
        capabilities: Sequence[Capability],
        *,
        name: Optional[str] = None,
        role: Optional[str] = None,
        max_concurrency: Optional[int] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Registers a remote agent; answers the agent, with its ``id`` and ``heartbeatIntervalMs``."""
        body: Dict[str, Any] = {"capabilities": list(capabilities)}
        if name is not None:
            body["name"] = name
        if role is not None:
            body["role"] = role
        if max_concurrency is not None:
            body["maxConcurrency"] = max_concurrency
        if metadata is not None:
            body["metadata"] = metadata
        return self._call("POST", "/v1/agents", body)

    def list_agents(self) -> Dict[str, Any]:
        """``{"agents": [agent, ...]}``."""
        return self._call("GET", "/v1/agents")

    def get_agent(self, agent_id: str) -> Dict[str, Any]:
        """One agent. Raises ``not_found`` for an unknown one."""
        return self._call("GET", f"/v1/agents/{_id(agent_id)}")

    def heartbeat(
        self, agent_id: str, metrics: Optional[Mapping[str, float]] = None
    ) -> Dict[str, Any]:
        """A sign of life. Raises ``not_found`` (404) when the agent must register again."""
        body = {} if metrics is None else {"metrics": dict(metrics)}
        return self._call("POST", f"/v1/agents/{_id(agent_id)}/heartbeat", body)

    def lease(self, agent_id: str, max: int = 1, wait_ms: int = 0) -> Dict[str, Any]:
        """Long-polls up to ``wait_ms`` for up to ``max`` tasks: ``{"tasks": [task-lease, ...]}``."""
        return self._lease(agent_id, max, wait_ms)

    def leave(self, agent_id: str) -> Any:
        """A graceful leave: the agent's leased tasks go back to the queue at once."""
        return self._call("DELETE", f"/v1/agents/{_id(agent_id)}")

    # Tasks.

    def submit(self, capability: str, payload: Any = None, **options: Any) -> Dict[str, Any]:
        """Queues a task: ``{"id", "status": "queued"}``.

        ``options`` are those of the contract, by their Python names: ``priority``,
        ``timeout_ms``, ``max_attempts``, ``idempotency_key``, ``session_key``,
        ``fairness_key`` (tasks of one key share the agents fairly with other keys, by weight),
        ``delay_ms``, ``metadata``, and ``traceparent`` and ``tracestate`` (W3C trace context:
        the span the task's trace continues). Any other name is a TypeError.
        """
        return self._call("POST", "/v1/tasks", task_body(capability, payload, **options))

    def submit_many(self, tasks: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        """Queues all the tasks or none: ``{"ids": [...]}``.

        Each task is a mapping of :meth:`submit`'s arguments by name: ``{"capability": ...,
        "payload": ..., "timeout_ms": ...}``; an unknown key is a TypeError.
        """
        return self._call("POST", "/v1/tasks/batch", {"tasks": [task_body(**t) for t in tasks]})

    def get(self, task_id: str) -> Dict[str, Any]:
        """The task as it stands."""
        return self._call("GET", f"/v1/tasks/{_id(task_id)}")

    def list_tasks(
        self,
        *,
        status: Optional[str] = None,
        capability: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> Dict[str, Any]:
        """One page of tasks, newest first: ``{"tasks": [...], "nextCursor": ...}``.

        Pass ``nextCursor`` back as ``cursor`` for the next page; a page may be short while
        ``nextCursor`` is there. ``limit`` is 1 to 1000 (the server's default is 50).
        """
        query = {
            "status": status,
            "capability": capability,
            "idempotencyKey": idempotency_key,
            "limit": limit,
            "cursor": cursor,
        }
        given = {key: str(value) for key, value in query.items() if value is not None}
        return self._call("GET", "/v1/tasks" + ("?" + urlencode(given) if given else ""))

    def result(self, task_id: str, wait_ms: int = 0) -> Dict[str, Any]:
        """The task once it is terminal, or as it stands after ``wait_ms`` (at most 60,000)."""
        path = f"/v1/tasks/{_id(task_id)}/result?waitMs={int(wait_ms)}"
        return self._call("GET", path, timeout=self.timeout + wait_ms / 1000)

    def cancel(self, task_id: str) -> Dict[str, Any]:
        """Cancels a task. Raises ``conflict`` (409) when it is already terminal."""
        return self._call("POST", f"/v1/tasks/{_id(task_id)}/cancel")

    def complete(self, task_id: str, lease_token: str, result: Any = None) -> Dict[str, Any]:
        """Completes a lease. Raises ``conflict`` (409) for a stale or foreign lease token."""
        body: Dict[str, Any] = {"leaseToken": lease_token}
        if result is not None:
            body["result"] = result
        return self._call("POST", f"/v1/tasks/{_id(task_id)}/complete", body)

    def fail(
        self, task_id: str, lease_token: str, message: str, retryable: bool = True
    ) -> Dict[str, Any]:
        """Fails a lease: retried while attempts remain and ``retryable``, else a dead letter."""
        body = {"leaseToken": lease_token, "error": {"message": message, "retryable": retryable}}
        return self._call("POST", f"/v1/tasks/{_id(task_id)}/fail", body)

    def extend(self, task_id: str, lease_token: str, ms: int) -> Dict[str, Any]:
        """Moves a lease's expiry to ``ms`` from now; answers the task-lease."""
        body = {"leaseToken": lease_token, "ms": int(ms)}
        return self._call("POST", f"/v1/tasks/{_id(task_id)}/extend", body)

    def progress(
        self,
        task_id: str,
        lease_token: str,
        value: Any = _UNSET,
        chunks: Optional[Sequence[Any]] = None,
        extend_ms: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Reports a lease's progress (``value``: a number or a small JSON value, at most 4 KiB
        of JSON) and appends ``chunks`` to the task's stream; renews the lease as :meth:`extend`
        does (to ``extend_ms``, default the task's ``timeoutMs``). Answers ``{"id",
        "leaseExpiresAt", "lastSeq"?}``. Raises ``conflict`` (409) for a stale lease token."""
        body: Dict[str, Any] = {"leaseToken": lease_token}
        if value is not _UNSET:
            encode_reported(value, "value", MAX_PROGRESS_BYTES)
            body["value"] = value
        if chunks is not None:
            body["chunks"] = list(chunks)
        if extend_ms is not None:
            body["extendMs"] = int(extend_ms)
        return self._call("POST", f"/v1/tasks/{_id(task_id)}/progress", body)

    def stream(
        self,
        task_id: str,
        *,
        last_event_id: int = 0,
        backoff_ms: int = 100,
        max_backoff_ms: int = 5_000,
    ) -> TaskStream:
        """Follows ``GET /v1/tasks/{id}/stream``, the task's partial output: an iterator of
        ``{"type": "chunk", "seq", "data", "at"}``, ``{"type": "dropped", "count"}`` where
        chunks were no longer kept, and a last ``{"type": "end", "status"}``. It reconnects,
        resuming after the last chunk it got. See :class:`~switchboard.task_stream.TaskStream`."""
        return TaskStream(self, task_id, last_event_id, backoff_ms, max_backoff_ms)

    def answer(self, answers: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        """Completes and fails up to 1,000 leases in one request, each on its own.

        Each answer is ``{"taskId", "leaseToken", "result"}`` (a completion) or ``{"taskId",
        "leaseToken", "error": {"message", "retryable"}}`` (a failure). The server answers
        ``{"answers": [...]}``, one outcome per answer in order: ``{"taskId", "status"}`` or
        ``{"taskId", "error": {"code", "message", "status"}}`` with the HTTP status the answer
        would have had alone (409 for a stale token or one already applied).
        """
        return self._call("POST", "/v1/tasks/answers", {"answers": list(answers)})

    # Schedules.

    def put_schedule(
        self,
        schedule_id: str,
        task: Mapping[str, Any],
        *,
        cron: Optional[str] = None,
        timezone: Optional[str] = None,
        every_ms: Optional[int] = None,
        overlap: Optional[str] = None,
        catch_up: Optional[str] = None,
        catch_up_limit: Optional[int] = None,
        paused: Optional[bool] = None,
    ) -> Dict[str, Any]:
        """Creates or replaces the schedule ``schedule_id``: a ``cron`` expression (5 fields, or
        6 with seconds first; read in ``timezone``, UTC by default) or an interval of
        ``every_ms``, and the task each tick submits, as the wire has it (``{"capability",
        "payload", "priority", "timeoutMs", "maxAttempts", "sessionKey", "metadata"}``).
        ``overlap`` is ``skip`` (default) or ``allow``; ``catch_up`` is ``none`` (default),
        ``last`` or ``all`` (up to ``catch_up_limit``). Answers the schedule with its
        ``nextRuns``. See docs/schedules.md."""
        body: Dict[str, Any] = {"task": dict(task)}
        options = {
            "cron": cron,
            "timezone": timezone,
            "everyMs": every_ms,
            "overlap": overlap,
            "catchUp": catch_up,
            "catchUpLimit": catch_up_limit,
            "paused": paused,
        }
        for name, value in options.items():
            if value is not None:
                body[name] = value
        return self._call("PUT", f"/v1/schedules/{_id(schedule_id)}", body)

    def list_schedules(self) -> Dict[str, Any]:
        """``{"schedules": [schedule, ...]}``, by id, each with its next fire times."""
        return self._call("GET", "/v1/schedules")

    def get_schedule(self, schedule_id: str) -> Dict[str, Any]:
        """One schedule, with ``nextRuns`` (epoch ms), ``lastFiredAt`` and ``lastTaskId``."""
        return self._call("GET", f"/v1/schedules/{_id(schedule_id)}")

    def pause_schedule(self, schedule_id: str) -> Dict[str, Any]:
        """No tick of the schedule fires until it is resumed."""
        return self._call("POST", f"/v1/schedules/{_id(schedule_id)}/pause")

    def resume_schedule(self, schedule_id: str) -> Dict[str, Any]:
        """The schedule's ticks fire again, counted from now."""
        return self._call("POST", f"/v1/schedules/{_id(schedule_id)}/resume")

    def delete_schedule(self, schedule_id: str) -> Any:
        """Deletes the schedule."""
        return self._call("DELETE", f"/v1/schedules/{_id(schedule_id)}")

    # Fairness keys (docs/fairness.md).

    def get_fairness(self) -> Dict[str, Any]:
        """The policy in force: ``backend``, ``enforced``, ``defaultWeight``,
        ``maxConcurrency``, ``maxConcurrencyByCapability`` and ``keys`` (those set apart)."""
        return self._call("GET", "/v1/fairness")

    def get_fairness_key(self, key: str) -> Dict[str, Any]:
        """One key's ``weight`` and ``maxConcurrency`` as they apply, and ``leased`` now."""
        return self._call("GET", f"/v1/fairness/keys/{_id(key)}")

    def set_fairness_key(
        self, key: str, *, weight: Optional[int] = None, max_concurrency: Optional[int] = None
    ) -> Dict[str, Any]:
        """Replaces the key's own settings (admin); those left out return to the defaults."""
        body: Dict[str, Any] = {}
        if weight is not None:
            body["weight"] = weight
        if max_concurrency is not None:
            body["maxConcurrency"] = max_concurrency
        return self._call("PUT", f"/v1/fairness/keys/{_id(key)}", body)

    def clear_fairness_key(self, key: str) -> Dict[str, Any]:
        """Clears the key's own settings (admin): it follows the defaults again."""
        return self._call("DELETE", f"/v1/fairness/keys/{_id(key)}")

    # Dead letters, events, operations.

    def dead_letters(self) -> Dict[str, Any]:
        """``{"tasks": [task, ...]}``: the dead-letter queue."""
        return self._call("GET", "/v1/dead-letters")

    def replay(self, task_id: str) -> Dict[str, Any]:
        """Queues a dead letter again, its attempts starting over."""
        return self._call("POST", f"/v1/dead-letters/{_id(task_id)}/replay")

    def delete_dead_letter(self, task_id: str) -> Any:
        """Removes a dead letter."""
        return self._call("DELETE", f"/v1/dead-letters/{_id(task_id)}")

    def publish(self, topic: str, data: Any = None) -> Any:
        """Publishes an event to the subscribers of ``topic`` (``task.*`` and ``agent.*`` are reserved)."""
        return self._call("POST", "/v1/events", {"topic": topic, "data": data})

    def events(
        self,
        topics: Optional[Sequence[str]] = None,
        *,
        last_event_id: Optional[str] = None,
        backoff_ms: int = 100,
        max_backoff_ms: int = 5_000,
    ) -> EventStream:
        """Follows ``GET /v1/events`` (topic patterns: ``*`` one segment, ``**`` any; every
        event when none): an iterator of events that reconnects, resuming after the last event
        id it got; ``close()`` ends it. See :class:`~switchboard.events.EventStream`."""
        return EventStream(self, topics, last_event_id, backoff_ms, max_backoff_ms)

    def stats(self) -> Dict[str, Any]:
        """Agents, queue depth, task counters, throughput and latency."""
        return self._call("GET", "/v1/stats")

    # The wire.

    def _lease(
        self,
        agent_id: str,
        max: int,
        wait_ms: int,
        hold: Optional[Callable[[Optional[http.client.HTTPConnection]], None]] = None,
    ) -> Dict[str, Any]:
        path = f"/v1/agents/{_id(agent_id)}/lease"
        body = {"max": int(max), "waitMs": int(wait_ms)}
        return self._call("POST", path, body, timeout=wait_ms / 1000 + _SLACK_S, hold=hold)

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        timeout: Optional[float] = None,
        hold: Optional[Callable[[Optional[http.client.HTTPConnection]], None]] = None,
    ) -> Any:
        """One request on its own connection. ``hold`` is given the connection while it is
        open, so that another thread may shut it down (the worker ends its long poll so)."""
        headers = self._headers("application/json")
        data: Optional[bytes] = None
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn = self._connection(timeout or self.timeout)
        try:
            conn.connect()
            if hold is not None:
                hold(conn)
            conn.request(method, self._prefix + path, body=data, headers=headers)
            res = conn.getresponse()
            status = res.status
            text = res.read()
        except (OSError, http.client.HTTPException) as error:
            raise SwitchboardError(
                "unavailable", f"{method} {self.url}{path}: no answer ({error})"
            ) from error
        finally:
            if hold is not None:
                hold(None)
            conn.close()
        if 200 <= status < 300:
            return _decode(text)
        raise self._failure(status, text, method, path)

    def _headers(self, accept: str) -> Dict[str, str]:
        headers = {"Accept": accept, "Connection": "close"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=timeout)

    def _failure(self, status: int, text: bytes, method: str, path: str) -> SwitchboardError:
        """The error of an answer's status and body (the contract's error body, usually)."""
        value = _decode(text)
        error = value.get("error") if isinstance(value, dict) else None
        if not isinstance(error, dict):
            return SwitchboardError("internal", f"{method} {path}: HTTP {status}", status, value)
        code = error.get("code")
        message = error.get("message")
        return SwitchboardError(
            code if isinstance(code, str) else "internal",
            message if isinstance(message, str) else f"HTTP {status}",
            status,
            error.get("details"),
        )


def _id(value: str) -> str:
    return quote(value, safe="")


def _decode(text: bytes) -> Any:
    if text == b"":
        return None
    try:
        return json.loads(text)
    except ValueError:
        # An answer that is not JSON (a proxy's error page, say) is kept as text for the error.
        return text.decode("utf-8", "replace")


__all__ = ["Capability", "Client", "task_body"]

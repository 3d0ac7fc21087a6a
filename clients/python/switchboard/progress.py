"""A running task's progress and partial output, sent to the server as they come."""

from __future__ import annotations

import json
import random
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from .errors import SwitchboardError

if TYPE_CHECKING:
    from .client import Client

# The server's bounds: a progress value of at most 4 KiB of JSON, a chunk of at most 64 KiB
# (unless the server is set to less), at most 1,000 chunks a report.
MAX_PROGRESS_BYTES = 4096
MAX_CHUNK_BYTES = 64 * 1024
_MAX_CHUNKS_A_REPORT = 1000
_MAX_BYTES_A_REPORT = 512 * 1024
# Chunks held for a task while the server cannot be reached; older ones go first.
_MAX_PENDING_CHUNKS = 10_000

_UNSET: Any = object()


def encode_reported(value: Any, what: str, max_bytes: int) -> str:
    """The JSON text of a value a task reports; raises :class:`SwitchboardError`
    ``invalid_request`` (400) when it is not JSON, ``payload_too_large`` (413) when it is
    longer than ``max_bytes``, as the server would answer."""
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise SwitchboardError("invalid_request", f"{what}: not JSON ({error})", 400) from error
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise SwitchboardError(
            "payload_too_large",
            f"{what}: {size} bytes of JSON, over the limit of {max_bytes}",
            413,
            {"field": what, "bytes": size, "maxBytes": max_bytes},
        )
    return text


class Reporter:
    """Sends one task's progress and chunks with ``POST /v1/tasks/{id}/progress``, with at
    most one request in flight, from a thread of its own started at the first report: what
    the handler reports while a request is out goes in the next one (the last progress value,
    every chunk in order). So a handler that streams an LLM's tokens one by one costs one
    request per round trip, not one per token. A report is also a heartbeat of the lease."""

    def __init__(
        self,
        client: "Client",
        task_id: str,
        token: str,
        lost: Callable[[str], None],
        on_error: Callable[[BaseException], None],
        backoff_ms: int = 100,
        max_backoff_ms: int = 5_000,
    ) -> None:
        self._client = client
        self._task_id = task_id
        self._token = token
        self._lost = lost
        self._on_error = on_error
        self._backoff_ms = backoff_ms
        self._max_backoff_ms = max_backoff_ms
        self._cond = threading.Condition()
        self._value: Any = _UNSET
        self._chunks: List[Any] = []
        self._sending = False
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def progress(self, value: Any) -> None:
        """Checks ``value`` and queues it (a newer value replaces one not sent yet)."""
        encode_reported(value, "progress", MAX_PROGRESS_BYTES)
        with self._cond:
            if self._closed:
                return
            self._value = value
            self._kick()

    def stream(self, chunk: Any) -> None:
        """Checks ``chunk`` and queues it after the others."""
        encode_reported(chunk, "chunk", MAX_CHUNK_BYTES)
        dropped = 0
        with self._cond:
            if self._closed:
                return
            self._chunks.append(chunk)
            if len(self._chunks) > _MAX_PENDING_CHUNKS:
                dropped = len(self._chunks) - _MAX_PENDING_CHUNKS
                del self._chunks[:dropped]
            self._kick()
        if dropped:
            self._on_error(RuntimeError(f"{dropped} chunk(s) dropped: the server is unreachable"))

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until what was reported so far is sent (or given up)."""
        with self._cond:
            self._cond.wait_for(lambda: not self._sending, timeout)

    def close(self) -> None:
        """Drops what waits and takes no more reports (the lease is over)."""
        with self._cond:
            self._closed = True
            self._value = _UNSET
            self._chunks = []
            self._cond.notify_all()

    def _kick(self) -> None:
        """Called with the lock held: makes sure the sender runs."""
        self._sending = True
        if self._thread is None:
            name = f"switchboard-progress-{self._task_id}"
            self._thread = threading.Thread(target=self._send_loop, name=name, daemon=True)
            self._thread.start()
        else:
            self._cond.notify_all()

    def _take(self) -> Optional[Dict[str, Any]]:
        """Called with the lock held: the next report, or None when nothing waits."""
        if self._closed or (self._value is _UNSET and not self._chunks):
            return None
        report: Dict[str, Any] = {}
        if self._value is not _UNSET:
            report["value"] = self._value
            self._value = _UNSET
        count, size = 0, 0
        while count < len(self._chunks) and count < _MAX_CHUNKS_A_REPORT:
            more = len(json.dumps(self._chunks[count]))
            if count > 0 and size + more > _MAX_BYTES_A_REPORT:
                break
            size += more
            count += 1
        if count:
            report["chunks"] = self._chunks[:count]
            del self._chunks[:count]
        return report

    def _put_back(self, report: Dict[str, Any]) -> None:
        """Called with the lock held: a report that failed goes back ahead of newer ones."""
        if "value" in report and self._value is _UNSET:
            self._value = report["value"]
        self._chunks[:0] = report.get("chunks", [])

    def _send_loop(self) -> None:
        failures = 0
        while True:
            with self._cond:
                report = self._take()
                while report is None:
                    self._sending = False
                    self._cond.notify_all()
                    if self._closed:
                        return
                    self._cond.wait()
                    report = self._take()
            try:
                self._client.progress(self._task_id, self._token, **report)
                failures = 0
            except Exception as error:  # noqa: BLE001 - the sender must not die with reports waiting
                if not isinstance(error, SwitchboardError):
                    self._on_error(error)
                    continue
                if error.status in (404, 409):
                    self.close()
                    self._lost(error.message)
                    continue
                self._on_error(error)
                if not error.retryable:
                    continue
                with self._cond:
                    self._put_back(report)
                ceiling = min(self._max_backoff_ms, self._backoff_ms * 2 ** min(failures, 16))
                failures += 1
                with self._cond:
                    self._cond.wait_for(lambda: self._closed, ceiling / 2000 * (1 + random.random()))


__all__ = ["MAX_CHUNK_BYTES", "MAX_PROGRESS_BYTES", "Reporter", "encode_reported"]

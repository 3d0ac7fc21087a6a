"""Following ``GET /v1/events``, the Server-Sent Events stream, with reconnection."""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence
from urllib.parse import quote

from .errors import SwitchboardError

if TYPE_CHECKING:
    from .client import Client

# The server sends a comment line on an idle stream every 15 s: a read that waits longer than
# this without one means the connection is dead, and the stream reconnects.
_IDLE_TIMEOUT_S = 45.0


class SseParser:
    """The Server-Sent Events parser of the WHATWG HTML standard (§9.2.6), fed line by line:
    a line starting with ``:`` is a comment, ``data`` lines join with a newline, and a message
    is dispatched at a blank line unless it has no data. The last ``id`` is remembered across
    messages, as ``EventSource`` does."""

    def __init__(self) -> None:
        self.last_event_id: Optional[str] = None
        self._event = ""
        self._data: List[str] = []
        self._has_id = False

    def line(self, line: str) -> Optional[Dict[str, Any]]:
        """Takes one line (without its end); answers the message it completes, if any:
        ``{"event", "data", "id"?}``."""
        if line == "":
            message: Optional[Dict[str, Any]] = None
            if self._data:
                message = {"event": self._event or "message", "data": "\n".join(self._data)}
                if self._has_id and self.last_event_id is not None:
                    message["id"] = self.last_event_id
            self._event, self._data, self._has_id = "", [], False
            return message
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
            self._has_id = True
        return None


class EventStream:
    """An iterator over the events of ``GET /v1/events``, as dicts: ``topic``, ``at``, the
    topic's fields, and ``eventId``. When the connection ends or fails it reconnects with
    backoff, sending the last event id it received, so that a reconnection within the
    server's replay window misses nothing (the server sends a ``switchboard.missed`` event
    when it cannot tell). :meth:`close`, from any thread, ends the iteration; a bad token or
    bad topics raise :class:`SwitchboardError`.

    Example::

        with client.events(["task.*"]) as stream:
            for event in stream:
                if event["topic"] == "task.dead":
                    print(event["taskId"], event["error"]["message"])
    """

    def __init__(
        self,
        client: "Client",
        topics: Optional[Sequence[str]] = None,
        last_event_id: Optional[str] = None,
        backoff_ms: int = 100,
        max_backoff_ms: int = 5_000,
    ) -> None:
        self._client = client
        query = "" if not topics else "?topics=" + quote(",".join(topics), safe="*,")
        self._path = "/v1/events" + query
        self.last_event_id = last_event_id
        self.backoff_ms = backoff_ms
        self.max_backoff_ms = max_backoff_ms
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._conn: Optional[http.client.HTTPConnection] = None

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Ends the iteration, at once, from any thread."""
        self._closed.set()
        with self._lock:
            conn = self._conn
        sock = None if conn is None else conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                # Closed already by the reading thread, which is what was wanted.
                pass

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        failures = 0
        while not self._closed.is_set():
            try:
                for event in self._follow():
                    failures = 0
                    yield event
            except SwitchboardError as error:
                if self._closed.is_set():
                    return
                if not error.retryable:
                    raise
            if self._closed.is_set():
                return
            # The server ended the stream (draining, a slow reader) or the connection broke.
            ceiling = min(self.max_backoff_ms, self.backoff_ms * 2 ** min(failures, 16)) / 1000
            self._closed.wait(ceiling / 2 + random.uniform(0, ceiling / 2))
            failures += 1

    def _item(self, message: Dict[str, Any], data: Any) -> Optional[Dict[str, Any]]:
        """What one message of the stream yields: its event, with its id as ``eventId``."""
        if "id" in message and isinstance(data, dict):
            self.last_event_id = message["id"]
            data["eventId"] = message["id"]
        return data

    def _follow(self) -> Iterator[Dict[str, Any]]:
        """One connection's events, until it ends."""
        client = self._client
        conn = client._connection(_IDLE_TIMEOUT_S)
        headers = client._headers("text/event-stream")
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        try:
            with self._lock:
                self._conn = conn
            if self._closed.is_set():
                return
            try:
                conn.connect()
                conn.request("GET", client._prefix + self._path, headers=headers)
                res = conn.getresponse()
                if res.status != 200:
                    raise client._failure(res.status, res.read(), "GET", self._path)
                parser = SseParser()
                for raw in res:
                    message = parser.line(raw.decode("utf-8").rstrip("\r\n"))
                    if message is None:
                        continue
                    try:
                        data = json.loads(message["data"])
                    except ValueError:
                        # A message that is not JSON is not the server's: skipped, not fatal.
                        continue
                    item = self._item(message, data)
                    if item is not None:
                        yield item
            except (OSError, http.client.HTTPException) as error:
                raise SwitchboardError(
                    "unavailable", f"GET {client.url}{self._path}: {error}"
                ) from error
        finally:
            with self._lock:
                self._conn = None
            conn.close()


__all__ = ["EventStream", "SseParser"]

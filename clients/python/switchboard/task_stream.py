"""Following ``GET /v1/tasks/{id}/stream``, a task's partial output, with reconnection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional
from urllib.parse import quote

from .events import EventStream

if TYPE_CHECKING:
    from .client import Client


class TaskStream(EventStream):
    """An iterator over a task's stream of partial output, as dicts: ``{"type": "chunk",
    "seq", "data", "at"}`` for each chunk (``seq`` 1 for the first the task streamed),
    ``{"type": "dropped", "count"}`` where chunks not read yet were no longer kept by the
    server, and a last ``{"type": "end", "status"}`` once the task is terminal, after which
    the iteration ends. When the connection ends early or fails it reconnects with backoff,
    sending the seq of the last chunk it got as ``Last-Event-ID``. :meth:`close`, from any
    thread, ends it; an unknown task raises :class:`SwitchboardError` ``not_found``.

    Example::

        for item in client.stream(task_id):
            if item["type"] == "chunk":
                print(item["data"], end="", flush=True)
    """

    def __init__(
        self,
        client: "Client",
        task_id: str,
        last_event_id: int = 0,
        backoff_ms: int = 100,
        max_backoff_ms: int = 5_000,
    ) -> None:
        start = str(int(last_event_id)) if last_event_id else None
        super().__init__(client, None, start, backoff_ms, max_backoff_ms)
        self._path = f"/v1/tasks/{quote(task_id, safe='')}/stream"

    def _item(self, message: Dict[str, Any], data: Any) -> Optional[Dict[str, Any]]:
        if not isinstance(data, dict):
            return None
        event = message["event"]
        if event == "chunk" and isinstance(data.get("seq"), int):
            self.last_event_id = str(data["seq"])
            return {"type": "chunk", "seq": data["seq"], "data": data.get("data"), "at": data.get("at")}
        if event == "dropped" and isinstance(data.get("count"), int):
            return {"type": "dropped", "count": data["count"]}
        if event == "end" and isinstance(data.get("status"), str):
            # Nothing follows the end: the iteration stops after this item.
            self._closed.set()
            return {"type": "end", "status": data["status"]}
        return None


__all__ = ["TaskStream"]

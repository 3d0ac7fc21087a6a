"""The event stream against a real server, and its parser on its own."""

from __future__ import annotations

import threading
import time
import unittest
from typing import Any, Dict, List

from server import ServerTest, wait_until

from switchboard import Client, EventStream, SwitchboardError
from switchboard.events import SseParser


class Collector:
    """Iterates a stream in a thread of its own, keeping what it yields or raises."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.events: List[Dict[str, Any]] = []
        self.error: Any = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.stream:
                self.events.append(event)
        except SwitchboardError as error:
            self.error = error

    def topics(self) -> List[str]:
        return [e["topic"] for e in self.events]


def subscribed(client: Client, collector: Collector, mark: str) -> None:
    """Publishes `mark` until the collector got it: the stream is live from then on."""
    deadline = time.monotonic() + 10
    while mark not in collector.topics():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {mark} event within 10 s")
        client.publish(mark, {"ping": True})
        time.sleep(0.05)


class EventsTest(ServerTest):
    def setUp(self) -> None:
        self.client = Client(self.server.url)

    def test_events_of_the_topics_asked_for_arrive_with_their_ids(self) -> None:
        with self.client.events(["task.*", "py.ready"]) as stream:
            collector = Collector(stream)
            subscribed(self.client, collector, "py.ready")
            task_id = self.client.submit("e-job", {"n": 1}, priority="high")["id"]
            self.client.publish("py.other")
            self.client.cancel(task_id)
            wait_until(lambda: "task.cancelled" in collector.topics(), 5, "task.cancelled")
        collector.thread.join(5)
        self.assertFalse(collector.thread.is_alive())
        mine = [e for e in collector.events if e.get("taskId") == task_id]
        self.assertEqual([e["topic"] for e in mine], ["task.queued", "task.cancelled"])
        queued = mine[0]
        self.assertEqual((queued["capability"], queued["priority"]), ("e-job", "high"))
        self.assertIsInstance(queued["at"], int)
        self.assertIsInstance(queued["eventId"], str)
        self.assertEqual(stream.last_event_id, mine[-1]["eventId"])
        self.assertNotIn("py.other", collector.topics())

    def test_a_stream_resumes_after_its_last_event_id(self) -> None:
        with self.client.events(["py.*"]) as stream:
            collector = Collector(stream)
            subscribed(self.client, collector, "py.ready")
        collector.thread.join(5)
        # Published while nobody follows: the reconnection with the last id still gets them.
        self.client.publish("py.while-away", {"n": 1})
        self.client.publish("py.while-away", {"n": 2})
        with self.client.events(["py.*"], last_event_id=stream.last_event_id) as again:
            resumed = Collector(again)
            wait_until(lambda: len(resumed.events) >= 2, 5, "the replay")
        away = [e["data"]["n"] for e in resumed.events if e["topic"] == "py.while-away"]
        self.assertEqual(away, [1, 2])

    def test_bad_topics_raise(self) -> None:
        with self.client.events(["task..queued"]) as stream:
            collector = Collector(stream)
            collector.thread.join(5)
        self.assertEqual(collector.error.status, 400)
        self.assertEqual(collector.error.code, "invalid_request")

    def test_a_stream_outlives_a_restart_of_the_server(self) -> None:
        with self.client.events(["py.*", "switchboard.*"], backoff_ms=50) as stream:
            collector = Collector(stream)
            subscribed(self.client, collector, "py.ready")
            type(self).server.kill()
            type(self).server.restart()
            subscribed(self.client, collector, "py.again")
        # A new process cannot tell what was missed, and says so first.
        missed = [e for e in collector.events if e["topic"] == "switchboard.missed"]
        self.assertEqual([e["reason"] for e in missed], ["unknown"])
        self.assertIsNone(collector.error)


class ParserTest(unittest.TestCase):
    def test_it_follows_the_standard(self) -> None:
        parser = SseParser()
        lines = [
            ": a comment",
            "id: 7",
            "event: task.queued",
            "data: {",
            'data:"a": 1}',
            "",
            "",
            "data: no id line, the last id stays",
            "",
            "event: empty",
            "",
        ]
        messages = [m for m in map(parser.line, lines) if m is not None]
        self.assertEqual(
            messages,
            [
                {"event": "task.queued", "data": '{\n"a": 1}', "id": "7"},
                {"event": "message", "data": "no id line, the last id stays"},
            ],
        )
        self.assertEqual(parser.last_event_id, "7")


if __name__ == "__main__":
    unittest.main()

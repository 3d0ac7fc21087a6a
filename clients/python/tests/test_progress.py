"""Progress and streams of partial output against a real server: a Python worker reports,
a Python client reads."""

from __future__ import annotations

import threading
import time
import unittest
from typing import Any, Dict, List

from server import ServerTest

from switchboard import Client, SwitchboardError, TaskContext, Worker


class ProgressTest(ServerTest):
    # A small bound per task, so that the test of the bound needs few chunks.
    config = {"switchboard": {"streams": {"maxChunks": 100}}}

    def setUp(self) -> None:
        self.client = Client(self.server.url)
        self.errors: List[BaseException] = []
        self.workers: List[Worker] = []

    def tearDown(self) -> None:
        for worker in self.workers:
            worker.close(drain=False, timeout=5)

    def worker(self, capability: str, handler: Any) -> Worker:
        worker = Worker(
            self.server.url, [capability], handler, on_error=self.errors.append, poll_wait_ms=1000
        )
        self.workers.append(worker)
        return worker.start()

    def test_a_worker_streams_chunks_that_a_client_reads_live_in_order(self) -> None:
        first_read = threading.Event()

        def handle(payload: Any, ctx: TaskContext) -> Any:
            ctx.progress({"step": "start"})
            ctx.stream("t0")
            # The rest only once the reader has the first chunk: it reads while the task runs.
            if not first_read.wait(10):
                raise RuntimeError("the reader never got the first chunk")
            for i in range(1, 80):
                ctx.stream(f"t{i}")
                if i % 20 == 0:
                    ctx.progress(i / 80)
                    time.sleep(0.005)
            ctx.progress(1)
            return "done"

        self.worker("py-llm", handle)
        task_id = self.client.submit("py-llm")["id"]
        items: List[Dict[str, Any]] = []
        status_at_first = None
        with self.client.stream(task_id) as stream:
            for item in stream:
                items.append(item)
                if len(items) == 1:
                    status_at_first = self.client.get(task_id)["status"]
                    first_read.set()
        self.assertEqual(status_at_first, "leased")
        chunks = [i for i in items if i["type"] == "chunk"]
        self.assertEqual([c["data"] for c in chunks], [f"t{i}" for i in range(80)])
        self.assertEqual([c["seq"] for c in chunks], list(range(1, 81)))
        self.assertEqual(items[-1], {"type": "end", "status": "completed"})
        task = self.client.get(task_id)
        self.assertEqual(task["status"], "completed")
        self.assertEqual(task["progress"]["value"], 1)
        self.assertIsInstance(task["progress"]["at"], int)
        self.assertEqual(self.errors, [])

    def test_a_late_reader_gets_the_dropped_marker_the_kept_chunks_and_the_end(self) -> None:
        def handle(payload: Any, ctx: TaskContext) -> Any:
            for i in range(1, 151):
                ctx.stream({"i": i})
            return "x"

        self.worker("py-bound", handle)
        task_id = self.client.submit("py-bound")["id"]
        self.assertEqual(self.client.result(task_id, wait_ms=10_000)["status"], "completed")
        items = list(self.client.stream(task_id))
        self.assertEqual(items[0], {"type": "dropped", "count": 50})
        chunks = [i["data"] for i in items if i["type"] == "chunk"]
        self.assertEqual(chunks, [{"i": i} for i in range(51, 151)])
        self.assertEqual(items[-1], {"type": "end", "status": "completed"})
        # Resuming after a seq sends only what came after it.
        later = list(self.client.stream(task_id, last_event_id=148))
        self.assertEqual([i.get("seq", i["type"]) for i in later], [149, 150, "end"])

    def test_bad_values_and_a_stale_token_raise_typed_errors(self) -> None:
        seen: Dict[str, str] = {}

        def handle(payload: Any, ctx: TaskContext) -> Any:
            for name, value in (("nan", float("nan")), ("set", {1, 2}), ("big", "x" * 5000)):
                try:
                    ctx.progress(value)
                except SwitchboardError as error:
                    seen[name] = error.code
            return "ok"

        self.worker("py-bad", handle)
        task_id = self.client.submit("py-bad")["id"]
        self.assertEqual(self.client.result(task_id, wait_ms=10_000)["result"], "ok")
        self.assertEqual(
            seen, {"nan": "invalid_request", "set": "invalid_request", "big": "payload_too_large"}
        )
        agent = self.client.register_agent(["py-stale"])
        task_id = self.client.submit("py-stale")["id"]
        lease = self.client.lease(agent["id"], wait_ms=2000)["tasks"][0]
        answer = self.client.progress(task_id, lease["leaseToken"], 0.5, chunks=["a"])
        self.assertEqual(answer["lastSeq"], 1)
        with self.assertRaises(SwitchboardError) as stale:
            self.client.progress(task_id, "not-the-token", 1)
        self.assertEqual((stale.exception.status, stale.exception.code), (409, "conflict"))
        self.client.complete(task_id, lease["leaseToken"], "done")
        with self.assertRaises(SwitchboardError) as after:
            self.client.progress(task_id, lease["leaseToken"], 1)
        self.assertEqual(after.exception.status, 409)
        with self.assertRaises(SwitchboardError) as missing:
            list(self.client.stream("no-such-task"))
        self.assertEqual(missing.exception.status, 404)
        self.client.leave(agent["id"])


if __name__ == "__main__":
    unittest.main()

"""A worker outlives restarts of a journal-backed server: no task lost, none run twice."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import unittest
from collections import Counter
from typing import Any, Dict, List

from server import Server, wait_until

from switchboard import Client, TaskContext, Worker

TASKS = 40


class RestartTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="switchboard-py-journal-")
        # A heartbeat timeout well above a restart's length: the agent keeps its registration.
        config = {"heartbeatTimeoutMs": 6000, "drainTimeoutMs": 3000}
        self.server = Server("--backend", f"journal:{self.dir}", config=config).start()

    def tearDown(self) -> None:
        self.server.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_a_kill_and_a_drain_mid_run_lose_nothing(self) -> None:
        lock = threading.Lock()
        runs: Counter = Counter()
        last_start: Dict[str, float] = {}
        acknowledged: Dict[str, float] = {}
        errors: List[BaseException] = []

        def handle(payload: Any, ctx: TaskContext) -> Any:
            with lock:
                runs[ctx.task_id] += 1
                last_start[ctx.task_id] = time.monotonic()
            time.sleep(0.15)
            return payload * 10

        worker = Worker(
            self.server.url,
            ["r-job"],
            handle,
            concurrency=4,
            poll_wait_ms=1000,
            max_backoff_ms=300,
            on_error=errors.append,
        )
        complete = worker.client.complete

        def complete_and_note(task_id: str, lease_token: str, result: Any = None) -> Any:
            answer = complete(task_id, lease_token, result)
            with lock:
                acknowledged.setdefault(task_id, time.monotonic())
            return answer

        # The test notes when the server acknowledged each completion (the worker is not
        # otherwise changed): no run may start after it.
        worker.client.complete = complete_and_note  # type: ignore[method-assign]
        worker.start()
        try:
            client = Client(self.server.url)
            tasks = [
                {"capability": "r-job", "payload": i, "timeout_ms": 10_000, "max_attempts": 3}
                for i in range(TASKS)
            ]
            ids = client.submit_many(tasks)["ids"]
            wait_until(lambda: worker.agent_id is not None, 5, "the registration")
            agent_id = worker.agent_id

            def done() -> int:
                return client.stats()["tasks"]["completed"]

            # A crash while the worker holds leases, then a drain, each with tasks left.
            wait_until(lambda: done() >= 8 and worker.active > 0, 10, "a first part done")
            self.server.kill()
            time.sleep(0.3)
            self.server.restart()
            # Counters start over with the process: wait on the tasks themselves.
            wait_until(
                lambda: sum(runs.values()) >= 24 and worker.active > 0, 15, "a second part run"
            )
            self.server.stop()
            # The drain waited for the leases the worker held, which it completed meanwhile.
            stopped = [line for line in self.server.lines if "in flight finished" in line]
            self.assertRegex(stopped[-1], r"stopped; [1-9]\d* in flight finished")
            self.server.restart()

            results = [client.result(i, wait_ms=30_000) for i in ids]
            self.assertEqual([t["status"] for t in results], ["completed"] * TASKS)
            self.assertEqual([t["result"] for t in results], [i * 10 for i in range(TASKS)])
            self.assertEqual(client.dead_letters()["tasks"], [])
            # No task ran again after its completion was acknowledged. The leases held through
            # the restarts were answered with their tokens; a task runs twice only when its
            # lease ended while the server was down (a restart slower than the 10 s lease, or
            # a lease answer lost with a killed process): at most the leases held, twice.
            self.assertEqual(sorted(runs), sorted(ids))
            # A completion whose answer was lost with a killed process is not acknowledged:
            # the worker's retry after the restart then meets a 409, as the task is complete.
            late = [i for i, at in acknowledged.items() if last_start[i] > at]
            self.assertGreater(len(acknowledged), TASKS // 2)
            self.assertEqual(late, [])
            self.assertLessEqual(sum(runs.values()) - TASKS, 2 * 4, runs)
            self.assertEqual(worker.agent_id, agent_id)
            # The worker did notice the server was gone: it says so through on_error.
            self.assertTrue(any(getattr(e, "retryable", False) for e in errors))
        finally:
            worker.close()


if __name__ == "__main__":
    unittest.main()

"""The worker against a real server (memory backend): what a user of it would notice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import unittest
from typing import Any, List

from server import ServerTest, wait_until

import switchboard
from switchboard import Client, NonRetryableError, SwitchboardError, TaskContext, Worker

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(switchboard.__file__)))

WORKER_SCRIPT = """
import sys, time
sys.path.insert(0, {package!r})
from switchboard import Worker

def handle(payload, ctx):
    print("started", flush=True)
    time.sleep(0.5)
    return payload + "!"

Worker({url!r}, ["w-term"], handle, name="w-term-worker").run()
print("closed", flush=True)
"""

class WorkerTest(ServerTest):
    def setUp(self) -> None:
        self.client = Client(self.server.url)
        self.errors: List[BaseException] = []
        self.workers: List[Worker] = []

    def tearDown(self) -> None:
        for worker in self.workers:
            worker.close(drain=False, timeout=5)

    def worker(self, capability: str, handler: Any, **options: Any) -> Worker:
        options.setdefault("on_error", self.errors.append)
        options.setdefault("poll_wait_ms", 2000)
        worker = Worker(self.server.url, [capability], handler, **options)
        self.workers.append(worker)
        return worker.start()

    def results(self, ids: List[str], timeout_ms: int = 10_000) -> List[Any]:
        tasks = [self.client.result(i, wait_ms=timeout_ms) for i in ids]
        self.assertEqual([t["status"] for t in tasks], ["completed"] * len(ids), tasks)
        return [t["result"] for t in tasks]

    def test_submitted_tasks_complete_with_the_handlers_value(self) -> None:
        seen: List[TaskContext] = []

        def handle(payload: Any, ctx: TaskContext) -> Any:
            seen.append(ctx)
            return {"double": payload["n"] * 2}

        self.worker("w-echo", handle, name="echo")
        ids = [self.client.submit("w-echo", {"n": n})["id"] for n in range(5)]
        self.assertEqual(self.results(ids), [{"double": n * 2} for n in range(5)])
        self.assertEqual(sorted(c.task_id for c in seen), sorted(ids))
        self.assertEqual({(c.capability, c.attempt) for c in seen}, {("w-echo", 1)})
        names = [a["name"] for a in self.client.list_agents()["agents"]]
        self.assertIn("echo", names)
        self.assertEqual(self.errors, [])

    def test_the_handler_gets_the_tasks_trace_context(self) -> None:
        traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        seen: List[Any] = []

        def handle(payload: Any, ctx: TaskContext) -> Any:
            seen.append((ctx.traceparent, ctx.tracestate))
            return payload

        self.worker("w-trace", handle)
        traced = self.client.submit(
            "w-trace", 1, traceparent=traceparent, tracestate="vendor=abc"
        )["id"]
        self.assertEqual(self.results([traced]), [1])
        plain = self.client.submit("w-trace", 2)["id"]
        self.assertEqual(self.results([plain]), [2])
        # The server here does not trace: the handler gets the submitter's context as sent.
        self.assertEqual(seen, [(traceparent, "vendor=abc"), (None, None)])
        self.assertEqual(self.client.get(traced)["traceparent"], traceparent)
        with self.assertRaises(SwitchboardError) as bad:
            self.client.submit("w-trace", 3, traceparent="00-not-a-trace")
        self.assertEqual((bad.exception.status, bad.exception.code), (400, "invalid_request"))

    def test_concurrency_is_respected(self) -> None:
        lock = threading.Lock()
        running = [0]
        most = [0]

        def handle(payload: Any, ctx: TaskContext) -> Any:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.2)
            with lock:
                running[0] -= 1
            return payload

        worker = self.worker("w-conc", handle, concurrency=3)
        ids = self.client.submit_many([{"capability": "w-conc", "payload": i} for i in range(12)])
        self.assertEqual(self.results(ids["ids"]), list(range(12)))
        self.assertEqual(most[0], 3)
        agent = self.client.get_agent(worker.agent_id or "")
        self.assertEqual(agent["maxConcurrency"], 3)

    def test_a_task_longer_than_its_lease_is_extended_and_completes_once(self) -> None:
        runs: List[int] = []

        def handle(payload: Any, ctx: TaskContext) -> Any:
            runs.append(ctx.attempt)
            # Three times the lease; a lease left to expire would send the task back.
            cancelled = ctx.cancelled.wait(3.0)
            return {"cancelled": cancelled}

        self.worker("w-long", handle)
        task_id = self.client.submit("w-long", timeout_ms=1000, max_attempts=1)["id"]
        task = self.client.result(task_id, wait_ms=10_000)
        self.assertEqual(task["status"], "completed", task)
        self.assertEqual(task["result"], {"cancelled": False})
        self.assertEqual((task["attempts"], runs), (1, [1]))

    def test_a_cancel_reaches_the_handlers_context(self) -> None:
        started = threading.Event()
        outcome: List[Any] = []

        def handle(payload: Any, ctx: TaskContext) -> Any:
            started.set()
            outcome.append(ctx.cancelled.wait(10.0))
            outcome.append(ctx.reason)
            return "late"

        worker = self.worker("w-cancel", handle)
        task_id = self.client.submit("w-cancel", timeout_ms=1000)["id"]
        self.assertTrue(started.wait(5))
        at = time.monotonic()
        self.assertEqual(self.client.cancel(task_id)["status"], "cancelled")
        wait_until(lambda: len(outcome) == 2, 5, "the cancellation")
        # The next extension, at half of the 1 s lease, learns of the cancel.
        self.assertLess(time.monotonic() - at, 2.0)
        self.assertIs(outcome[0], True)
        self.assertIsInstance(outcome[1], str)
        wait_until(lambda: worker.active == 0, 5, "the slot freed")
        self.assertEqual(self.client.get(task_id)["status"], "cancelled")
        # The handler's late answer met a 409, which is expected after a cancel: not reported.
        self.assertEqual(self.errors, [])

    def test_a_failure_is_retried_unless_it_says_otherwise(self) -> None:
        class Flaky(Exception):
            pass

        class Fatal(Exception):
            retryable = False

        def handle(payload: Any, ctx: TaskContext) -> Any:
            if payload == "flaky" and ctx.attempt == 1:
                raise Flaky("try again")
            if payload == "fatal":
                raise NonRetryableError("hopeless")
            if payload == "fatal-attribute":
                raise Fatal("also hopeless")
            if payload == "not-json":
                return {1, 2}
            return ctx.attempt

        self.worker("w-fail", handle, concurrency=4)
        submit = self.client.submit
        flaky = submit("w-fail", "flaky", max_attempts=3)["id"]
        dead = [submit("w-fail", p, max_attempts=3)["id"] for p in ("fatal", "fatal-attribute")]
        not_json = submit("w-fail", "not-json", max_attempts=3)["id"]
        self.assertEqual(self.results([flaky]), [2])
        for task_id, message in zip(dead + [not_json], ["hopeless", "also hopeless", "JSON"]):
            task = self.client.result(task_id, wait_ms=5000)
            self.assertEqual((task["status"], task["attempts"]), ("dead", 1), task)
            self.assertIn(message, task["error"]["message"])

    def test_a_worker_the_server_forgot_registers_again(self) -> None:
        worker = self.worker("w-again", lambda payload, ctx: payload)
        wait_until(lambda: worker.agent_id is not None, 5, "the registration")
        first = worker.agent_id or ""
        # The server forgets the agent: its heartbeats and polls now answer 404.
        self.client.leave(first)
        wait_until(lambda: worker.agent_id not in (None, first), 10, "a new registration")
        task_id = self.client.submit("w-again", "after")["id"]
        self.assertEqual(self.results([task_id]), ["after"])
        self.assertEqual(self.client.get(task_id)["agentId"], worker.agent_id)

    def test_close_drains_the_tasks_in_flight_then_leaves(self) -> None:
        started = threading.Semaphore(0)

        def handle(payload: Any, ctx: TaskContext) -> Any:
            started.release()
            time.sleep(0.5)
            return payload

        worker = self.worker("w-close", handle, concurrency=2)
        ids = [self.client.submit("w-close", i)["id"] for i in range(2)]
        for _ in ids:
            self.assertTrue(started.acquire(timeout=5))
        agent_id = worker.agent_id or ""
        worker.close(drain=True)
        # Both were answered before close returned, and nothing is leased after it.
        self.assertEqual([self.client.get(i)["status"] for i in ids], ["completed"] * 2)
        later = self.client.submit("w-close", "later")["id"]
        time.sleep(0.3)
        self.assertEqual(self.client.get(later)["status"], "queued")
        with self.assertRaises(SwitchboardError) as caught:
            self.client.get_agent(agent_id)
        self.assertEqual(caught.exception.status, 404)
        self.client.cancel(later)

    def test_close_without_drain_cancels_the_running_handlers(self) -> None:
        started = threading.Event()
        reasons: List[Any] = []

        def handle(payload: Any, ctx: TaskContext) -> Any:
            started.set()
            ctx.cancelled.wait(10)
            reasons.append(ctx.reason)

        worker = self.worker("w-abort", handle)
        task_id = self.client.submit("w-abort")["id"]
        self.assertTrue(started.wait(5))
        at = time.monotonic()
        worker.close(drain=False)
        self.assertLess(time.monotonic() - at, 2.0)
        wait_until(lambda: reasons == ["the worker closed"], 5, "the handler's cancellation")
        # The leave put the task back to the queue.
        self.assertEqual(self.client.get(task_id)["status"], "queued")
        self.client.cancel(task_id)

    def test_sigterm_drains_a_running_worker_process(self) -> None:
        # A worker program as a supervisor runs it: run() in the main thread, then SIGTERM.
        script = WORKER_SCRIPT.format(package=PACKAGE, url=self.server.url)
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None
            task_id = self.client.submit("w-term", "payload")["id"]
            self.assertEqual(proc.stdout.readline().strip(), "started")
            proc.send_signal(signal.SIGTERM)
            rest, _ = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual((proc.returncode, rest.split()), (0, ["closed"]))
        task = self.client.get(task_id)
        self.assertEqual((task["status"], task["result"]), ("completed", "payload!"))
        names = [a["name"] for a in self.client.list_agents()["agents"]]
        self.assertNotIn("w-term-worker", names)

    def test_unknown_options_are_a_type_error(self) -> None:
        with self.assertRaises(TypeError) as caught:
            Worker(self.server.url, ["x"], lambda p, c: p, concurency=2)  # type: ignore[call-arg]
        self.assertIn("concurency", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            Worker(self.server.url, "browser", lambda p, c: p)
        self.assertIn("['browser']", str(caught.exception))


class HeartbeatTest(ServerTest):
    config = {"heartbeatTimeoutMs": 1200}

    def test_a_busy_worker_heartbeats_and_keeps_its_registration(self) -> None:
        errors: List[BaseException] = []
        # Busy with its one task it does not poll: only its heartbeats, on the interval the
        # server gave (a third of the timeout), keep it from being failed over.
        handle = lambda payload, ctx: ctx.cancelled.wait(3.0)  # noqa: E731
        worker = Worker(self.server.url, ["h-busy"], handle, on_error=errors.append).start()
        try:
            client = Client(self.server.url)
            task_id = client.submit("h-busy", timeout_ms=1000, max_attempts=1)["id"]
            wait_until(lambda: worker.active == 1, 5, "the task leased")
            agent_id = worker.agent_id
            task = client.result(task_id, wait_ms=10_000)
            outcome = (task["status"], task.get("result"), task["attempts"])
            self.assertEqual(outcome, ("completed", False, 1), task)
            self.assertEqual(worker.agent_id, agent_id)
            self.assertEqual(client.get_agent(agent_id or "")["id"], agent_id)
            self.assertEqual(errors, [])
        finally:
            worker.close()


class AuthTest(ServerTest):
    config = {"tokens": {"admin": "admin-token", "agent": "agent-token", "client": "client-token"}}

    def test_tokens_are_sent_and_a_missing_one_is_unauthorized(self) -> None:
        with self.assertRaises(SwitchboardError) as caught:
            Client(self.server.url).submit("a-job")
        self.assertEqual((caught.exception.status, caught.exception.code), (401, "unauthorized"))
        client = Client(self.server.url, token="client-token")
        with self.assertRaises(SwitchboardError) as caught:
            client.register_agent(["a-job"])
        self.assertEqual((caught.exception.status, caught.exception.code), (403, "forbidden"))
        handle = lambda payload, ctx: payload  # noqa: E731
        worker = Worker(self.server.url, ["a-job"], handle, token="agent-token").start()
        try:
            task_id = client.submit("a-job", "authorized")["id"]
            task = client.result(task_id, wait_ms=10_000)
            self.assertEqual((task["status"], task["result"]), ("completed", "authorized"))
        finally:
            worker.close()


if __name__ == "__main__":
    unittest.main()

"""The client against a real server: typed answers and typed errors."""

from __future__ import annotations

import unittest

from server import Server, ServerTest

from switchboard import Client, SwitchboardError

class ClientTest(ServerTest):
    def setUp(self) -> None:
        self.client = Client(self.server.url)

    def test_a_task_goes_through_lease_and_complete(self) -> None:
        client = self.client
        agent = client.register_agent(["c-manual"], name="manual", max_concurrency=2)
        self.assertEqual(agent["name"], "manual")
        self.assertEqual(agent["maxConcurrency"], 2)
        self.assertGreater(agent["heartbeatIntervalMs"], 0)
        submitted = client.submit("c-manual", {"n": 1}, priority="high", max_attempts=2)
        self.assertEqual(submitted["status"], "queued")
        leases = client.lease(agent["id"], max=2, wait_ms=2000)["tasks"]
        self.assertEqual([lease["id"] for lease in leases], [submitted["id"]])
        lease = leases[0]
        self.assertEqual(lease["payload"], {"n": 1})
        self.assertEqual(lease["attempt"], 1)
        extended = client.extend(lease["id"], lease["leaseToken"], 60_000)
        self.assertGreater(extended["leaseExpiresAt"], lease["leaseExpiresAt"])
        client.complete(lease["id"], lease["leaseToken"], {"ok": True})
        task = client.result(submitted["id"], wait_ms=1000)
        self.assertEqual(task["status"], "completed")
        self.assertEqual(task["result"], {"ok": True})
        self.assertEqual(client.get(submitted["id"])["priority"], "high")
        ids = [a["id"] for a in client.list_agents()["agents"]]
        self.assertIn(agent["id"], ids)
        client.heartbeat(agent["id"], {"cpuUsage": 0.5})
        client.leave(agent["id"])
        with self.assertRaises(SwitchboardError) as caught:
            client.heartbeat(agent["id"])
        self.assertEqual((caught.exception.status, caught.exception.code), (404, "not_found"))

    def test_errors_carry_the_contracts_code_status_and_details(self) -> None:
        with self.assertRaises(SwitchboardError) as caught:
            self.client.get("no-such-task")
        self.assertEqual(caught.exception.code, "not_found")
        self.assertEqual(caught.exception.status, 404)
        self.assertFalse(caught.exception.retryable)
        with self.assertRaises(SwitchboardError) as caught:
            self.client.submit("c-bad", timeout_ms=0)
        error = caught.exception
        self.assertEqual((error.status, error.code), (400, "invalid_request"))
        self.assertIn("timeoutMs", [d["path"] for d in error.details])

    def test_list_tasks_pages_newest_first_and_filters(self) -> None:
        client = self.client
        ids = [client.submit("c-list", i)["id"] for i in range(3)]
        keyed = client.submit("c-list", 3, idempotency_key="c-list-k")["id"]
        client.cancel(ids[0])
        seen: list = []
        cursor = None
        while True:
            page = client.list_tasks(capability="c-list", limit=3, cursor=cursor)
            self.assertLessEqual(len(page["tasks"]), 3)
            seen += page["tasks"]
            cursor = page.get("nextCursor")
            if cursor is None:
                break
        self.assertEqual(sorted(t["id"] for t in seen), sorted(ids + [keyed]))
        created = [t["createdAt"] for t in seen]
        self.assertEqual(created, sorted(created, reverse=True))
        cancelled = client.list_tasks(capability="c-list", status="cancelled")["tasks"]
        self.assertEqual([t["id"] for t in cancelled], [ids[0]])
        found = client.list_tasks(idempotency_key="c-list-k")["tasks"]
        self.assertEqual([t["id"] for t in found], [keyed])
        with self.assertRaises(SwitchboardError) as caught:
            client.list_tasks(limit=0)
        self.assertEqual((caught.exception.status, caught.exception.code), (400, "invalid_request"))
        self.assertIn("limit", [d["path"] for d in caught.exception.details])

    def test_answer_settles_leases_in_one_request_with_an_outcome_each(self) -> None:
        client = self.client
        agent = client.register_agent(["c-answers"], max_concurrency=2)
        ok = client.submit("c-answers", 1, max_attempts=1)["id"]
        bad = client.submit("c-answers", 2, max_attempts=1)["id"]
        leases = {l["id"]: l for l in client.lease(agent["id"], max=2, wait_ms=2000)["tasks"]}
        answered = client.answer(
            [
                {"taskId": ok, "leaseToken": leases[ok]["leaseToken"], "result": "fine"},
                {
                    "taskId": bad,
                    "leaseToken": leases[bad]["leaseToken"],
                    "error": {"message": "no", "retryable": False},
                },
                {"taskId": ok, "leaseToken": leases[ok]["leaseToken"], "result": "again"},
            ]
        )["answers"]
        self.assertEqual(answered[0], {"taskId": ok, "status": "completed"})
        self.assertEqual(answered[1], {"taskId": bad, "status": "dead"})
        self.assertEqual(answered[2]["error"]["status"], 409)
        self.assertEqual(client.get(ok)["result"], "fine")
        with self.assertRaises(SwitchboardError) as caught:
            client.answer([])
        self.assertEqual((caught.exception.status, caught.exception.code), (400, "invalid_request"))
        client.leave(agent["id"])

    def test_a_stale_lease_token_is_a_conflict(self) -> None:
        client = self.client
        agent = client.register_agent(["c-stale"])
        task_id = client.submit("c-stale")["id"]
        lease = client.lease(agent["id"], wait_ms=2000)["tasks"][0]
        with self.assertRaises(SwitchboardError) as caught:
            client.complete(task_id, lease["leaseToken"] + "x")
        self.assertEqual((caught.exception.status, caught.exception.code), (409, "conflict"))
        client.cancel(task_id)
        with self.assertRaises(SwitchboardError) as caught:
            client.cancel(task_id)
        self.assertEqual(caught.exception.status, 409)
        client.leave(agent["id"])

    def test_submit_many_is_all_or_nothing_and_failures_reach_the_dead_letters(self) -> None:
        client = self.client
        with self.assertRaises(SwitchboardError) as caught:
            client.submit_many([{"capability": "c-dead"}, {"capability": ""}])
        self.assertEqual(caught.exception.status, 400)
        ids = client.submit_many(
            [{"capability": "c-dead", "payload": i, "max_attempts": 1} for i in range(2)]
        )["ids"]
        self.assertEqual(len(ids), 2)
        agent = client.register_agent(["c-dead"], max_concurrency=2)
        leases = client.lease(agent["id"], max=2, wait_ms=2000)["tasks"]
        for lease in leases:
            client.fail(lease["id"], lease["leaseToken"], "broken", retryable=True)
        dead = [t["id"] for t in client.dead_letters()["tasks"]]
        self.assertTrue(set(ids) <= set(dead))
        self.assertEqual(client.get(ids[0])["error"]["message"], "broken")
        self.assertEqual(client.replay(ids[0])["status"], "queued")
        client.delete_dead_letter(ids[1])
        self.assertNotIn(ids[1], [t["id"] for t in client.dead_letters()["tasks"]])
        self.assertGreaterEqual(client.stats()["tasks"]["dead"], 2)
        client.leave(agent["id"])

    def test_an_unknown_option_is_a_type_error(self) -> None:
        with self.assertRaises(TypeError):
            self.client.submit("c-x", timeout=5)  # type: ignore[call-arg]
        with self.assertRaises(TypeError):
            self.client.submit_many([{"capability": "c-x", "timeoutMs": 5}])

    def test_no_answer_is_a_retryable_unavailable(self) -> None:
        # A port nothing listens on: the server's own port once it is gone.
        stopped = Server().start()
        stopped.stop()
        with self.assertRaises(SwitchboardError) as caught:
            Client(stopped.url).stats()
        error = caught.exception
        self.assertEqual((error.code, error.status, error.retryable), ("unavailable", None, True))
        self.assertIsInstance(error.__cause__, OSError)


if __name__ == "__main__":
    unittest.main()

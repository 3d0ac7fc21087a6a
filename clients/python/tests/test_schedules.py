"""Schedules against a real server: create, read, pause, resume, delete, and real ticks."""

from __future__ import annotations

from server import ServerTest, wait_until

from switchboard import Client, SwitchboardError


class SchedulesTest(ServerTest):
    def setUp(self) -> None:
        self.client = Client(self.server.url)

    def test_a_schedule_is_written_read_paused_resumed_and_deleted(self) -> None:
        client = self.client
        created = client.put_schedule(
            "py-report",
            {"capability": "py-report", "payload": {"kind": "daily"}},
            cron="0 0 9 * * *",
            timezone="Asia/Tokyo",
            catch_up="last",
        )
        self.assertEqual(created["catchUp"], "last")
        self.assertEqual(created["overlap"], "skip")
        self.assertEqual(created["task"]["priority"], "normal")
        self.assertEqual(len(created["nextRuns"]), 5)
        # 09:00 in Tokyo is midnight UTC.
        for at in created["nextRuns"]:
            self.assertEqual(at % 86_400_000, 0)
        self.assertEqual(client.get_schedule("py-report"), created)
        ids = [s["id"] for s in client.list_schedules()["schedules"]]
        self.assertIn("py-report", ids)
        self.assertEqual(client.pause_schedule("py-report")["nextRuns"], [])
        self.assertEqual(len(client.resume_schedule("py-report")["nextRuns"]), 5)
        self.assertEqual(client.delete_schedule("py-report"), {"id": "py-report", "deleted": True})
        with self.assertRaises(SwitchboardError) as caught:
            client.get_schedule("py-report")
        self.assertEqual((caught.exception.status, caught.exception.code), (404, "not_found"))

    def test_a_bad_schedule_is_refused_naming_the_field(self) -> None:
        with self.assertRaises(SwitchboardError) as caught:
            self.client.put_schedule("py-bad", {"capability": "c"}, cron="61 * * * * *")
        error = caught.exception
        self.assertEqual((error.status, error.code), (400, "invalid_request"))
        self.assertEqual([d["path"] for d in error.details], ["cron"])
        with self.assertRaises(SwitchboardError) as caught:
            self.client.put_schedule(
                "py-bad", {"capability": "c", "idempotencyKey": "k"}, every_ms=1000
            )
        self.assertIn('unknown key "idempotencyKey"', caught.exception.message)

    def test_an_interval_submits_a_task_at_each_tick(self) -> None:
        client = self.client
        schedule = client.put_schedule(
            "py-beat", {"capability": "py-beat", "payload": 7}, every_ms=1000, overlap="allow"
        )
        try:
            first = schedule["nextRuns"][0]
            wait_until(
                lambda: client.get_schedule("py-beat").get("lastFiredAt", 0) >= first + 1000,
                5,
                "two ticks",
            )
            tasks = client.list_tasks(capability="py-beat")["tasks"]
            keys = sorted(t["idempotencyKey"] for t in tasks)
            self.assertGreaterEqual(len(keys), 2)
            self.assertIn(f"schedule:py-beat:{first}", keys)
            self.assertEqual(len(set(keys)), len(keys))
        finally:
            client.delete_schedule("py-beat")

"""Fairness keys through the client: kept on the task, and leases shared by weight."""

from __future__ import annotations

import unittest

from server import ServerTest

from switchboard import Client, SwitchboardError


class FairnessTest(ServerTest):
    config = {"switchboard": {"fairness": {"weights": {"gold": 2}}}}

    def setUp(self) -> None:
        self.client = Client(self.server.url)

    def test_keys_are_kept_and_share_the_leases_by_weight(self) -> None:
        client = self.client
        gold = [client.submit("c-fair", f"gold-{i}", fairness_key="gold")["id"] for i in range(4)]
        free = {"capability": "c-fair", "fairness_key": "free"}
        client.submit_many([dict(free, payload=f"free-{i}") for i in range(2)])
        self.assertEqual(client.get(gold[0])["fairnessKey"], "gold")
        agent = client.register_agent(["c-fair"], max_concurrency=6)
        leases = client.lease(agent["id"], max=6)["tasks"]
        self.assertEqual(
            [lease["payload"] for lease in leases],
            ["gold-0", "gold-1", "free-0", "gold-2", "gold-3", "free-1"],
        )

    def test_a_key_is_set_read_and_cleared(self) -> None:
        client = self.client
        self.assertEqual(
            client.set_fairness_key("team a", weight=3, max_concurrency=2),
            {"key": "team a", "weight": 3, "maxConcurrency": 2, "leased": 0, "enforced": True},
        )
        self.assertEqual(client.get_fairness_key("team a")["weight"], 3)
        policy = client.get_fairness()
        self.assertEqual(policy["backend"], "memory")
        self.assertEqual([k["key"] for k in policy["keys"]], ["gold", "team a"])
        self.assertEqual(client.clear_fairness_key("team a")["weight"], 1)
        with self.assertRaises(SwitchboardError) as caught:
            client.set_fairness_key("team a", weight=0)
        self.assertEqual(caught.exception.status, 400)

    def test_a_bad_key_is_refused_with_its_path(self) -> None:
        with self.assertRaises(SwitchboardError) as caught:
            self.client.submit("c-fair", fairness_key="")
        self.assertEqual(caught.exception.status, 400)
        self.assertIn("fairnessKey", [d["path"] for d in caught.exception.details])


if __name__ == "__main__":
    unittest.main()

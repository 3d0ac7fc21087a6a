"""A remote worker of the Python client: fetches the page a task names and answers its status.

Run it from the repository's root, after `pip install ./clients/python` (or with
PYTHONPATH=clients/python), against a running server:

    SWITCHBOARD_URL=http://127.0.0.1:8787 python3 examples/python-worker/worker.py
"""

import os
import urllib.request

from switchboard import NonRetryableError, Worker


def handle(payload, ctx):
    if "url" not in payload:
        raise NonRetryableError("payload.url: required")  # dead at once, no retry
    with urllib.request.urlopen(payload["url"], timeout=30) as page:
        return {"status": page.status, "bytes": len(page.read()), "attempt": ctx.attempt}


url = os.environ.get("SWITCHBOARD_URL", "http://127.0.0.1:8787")
token = os.environ.get("SWITCHBOARD_AGENT_TOKEN")  # when auth is on
Worker(url, ["browser"], handle, concurrency=4, token=token).run()

"""A real Switchboard server for the tests: the Node CLI as a child process on 127.0.0.1.

The server is ``packages/server/dist/bin/node.js`` of this repository (``node
scripts/build.mjs`` builds it), or the file ``SWITCHBOARD_SERVER_BIN`` names; ``node`` is
the one on the PATH, or ``NODE``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

# The tests run against the package in this tree, not one installed elsewhere.
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))

SERVER_BIN = os.environ.get("SWITCHBOARD_SERVER_BIN") or os.path.join(
    ROOT, "packages", "server", "dist", "bin", "node.js"
)
NODE = os.environ.get("NODE") or "node"

_SERVING = re.compile(r"serving (http://\S+)")


class Server:
    """One server process; ``url`` once started. ``stop()`` drains it (SIGTERM), ``kill()``
    crashes it (SIGKILL); ``restart()`` starts it again on the same port and arguments."""

    def __init__(self, *args: str, config: Optional[Dict[str, Any]] = None) -> None:
        if not os.path.exists(SERVER_BIN):
            raise RuntimeError(f"no server at {SERVER_BIN}: run `node scripts/build.mjs` first")
        self.args = list(args)
        self.port = 0
        self.url = ""
        self.lines: List[str] = []
        self._proc: Optional[subprocess.Popen] = None
        self._reader: Optional[threading.Thread] = None
        self._config: Optional[str] = None
        if config is not None:
            fd, self._config = tempfile.mkstemp(prefix="switchboard-py-", suffix=".json")
            with os.fdopen(fd, "w") as file:
                json.dump(config, file)

    def start(self, timeout: float = 15.0) -> "Server":
        argv = [NODE, SERVER_BIN, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self._config is not None:
            argv += ["--config", self._config]
        env = dict(os.environ, PORT="", HOST="")
        self._proc = subprocess.Popen(
            argv + self.args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        found = threading.Event()
        proc = self._proc

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.lines.append(line.rstrip("\n"))
                match = _SERVING.search(line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("the server did not start:\n" + "\n".join(self.lines[-20:]))
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, the drain; SIGKILL if it is still there after ``timeout`` seconds."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._closed(proc)

    def kill(self) -> None:
        """SIGKILL: a crash, with no drain."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.kill()
        proc.wait()
        self._closed(proc)

    def _closed(self, proc: subprocess.Popen) -> None:
        # The reader gets the last lines up to the end of the pipe, which then closes.
        if self._reader is not None:
            self._reader.join(5)
        if proc.stdout is not None:
            proc.stdout.close()

    def restart(self) -> "Server":
        """Starts the server again on the port it had (for clients that outlived it)."""
        return self.start()

    def close(self) -> None:
        """Stops the server and removes its config file."""
        self.stop()
        if self._config is not None and os.path.exists(self._config):
            os.remove(self._config)


def wait_until(predicate: Any, timeout: float = 10.0, what: str = "the condition") -> None:
    """Polls ``predicate`` every 20 ms until it is true; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.02)


class ServerTest(unittest.TestCase):
    """Tests against a server of their own (memory backend), started once for the class."""

    server: Server
    config: Optional[Dict[str, Any]] = None
    """The server's config file, for a class that needs one."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server(config=cls.config).start()
        cls.addClassCleanup(cls.server.close)

"""Client and remote worker for the Switchboard HTTP API, standard library only.

Example::

    from switchboard import Worker

    def handle(payload, ctx):
        return {"echo": payload}

    Worker("http://127.0.0.1:8787", ["echo"], handle, concurrency=4).run()
"""

from .client import Capability, Client
from .errors import NonRetryableError, SwitchboardError
from .events import EventStream
from .task_stream import TaskStream
from .worker import Handler, TaskContext, Worker

__all__ = [
    "Capability",
    "Client",
    "EventStream",
    "Handler",
    "NonRetryableError",
    "SwitchboardError",
    "TaskContext",
    "TaskStream",
    "Worker",
]

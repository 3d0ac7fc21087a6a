"""The errors of the Switchboard client and worker."""

from __future__ import annotations

from typing import Any, Optional

# Statuses worth trying again after a pause: the server is starting, draining or cannot reach
# its backend (503), or asks the client to slow down (429). No status at all means that no
# answer came (connection refused or reset, a timeout): a restarting server looks like that.
_RETRYABLE_STATUSES = (429, 503)


class SwitchboardError(Exception):
    """An error answer of the server, with the contract's error body.

    ``code`` is the body's stable code (``not_found``, ``conflict``, ``unavailable``...),
    ``status`` the HTTP status, and ``details`` the body's ``details``. When no answer came
    at all (connection refused or reset, a timeout), ``code`` is ``unavailable`` and
    ``status`` is ``None``; the cause is chained.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: Optional[int] = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later: no answer, 429 or 503."""
        return self.status is None or self.status in _RETRYABLE_STATUSES

    def __repr__(self) -> str:
        return (
            f"SwitchboardError(code={self.code!r}, message={self.message!r}, "
            f"status={self.status!r}, details={self.details!r})"
        )


class NonRetryableError(Exception):
    """Raised by a worker's handler for a failure that another attempt would not fix.

    The task is then failed with ``retryable: false`` and goes to the dead letters at once.
    Any other exception with an attribute ``retryable = False`` does the same.
    """

    retryable = False

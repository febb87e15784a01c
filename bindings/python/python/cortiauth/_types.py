"""Types shared by the package and its stubs."""

from __future__ import annotations

from typing import Optional, TypedDict

__all__ = ["Stats"]


class Stats(TypedDict):
    """What ``TokenManager.stats()`` returns: the core's counters."""

    #: HTTP requests sent to the token endpoint, retries included.
    token_requests: int
    #: Calls answered from the cache.
    cache_hits: int
    #: Tokens obtained (first fetch and every refresh).
    refreshes: int
    #: Token acquisitions that failed after their retries.
    failures: int
    #: The kind of the most recent failure (``"oauth"``, ``"network"``, …), or ``None``.
    last_error_kind: Optional[str]

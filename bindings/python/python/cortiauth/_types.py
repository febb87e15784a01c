"""Types shared by the package and its stubs."""

from __future__ import annotations

from typing import Optional, TypedDict

from ._settings import Settings

__all__ = ["Settings", "Stats"]


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
    #: Shared cache (``shared_cache``): tokens taken from the store instead of fetched.
    store_hits: int
    #: Shared cache: lookups that found no usable token there.
    store_misses: int
    #: Shared cache: store operations that failed (each fell back to a direct fetch).
    store_errors: int
    #: Shared cache: waits for another process's token request.
    store_waits: int
    #: Shared cache: kind of the last store error (``"timeout"``, ``"unavailable"``, …) or ``None``.
    store_last_error: Optional[str]

"""Functions run in child processes by test_processes.py (importable by name, for spawn)."""

from __future__ import annotations

from typing import Any

from cortiauth import TokenManager


def new_token_in_child(manager: TokenManager, stale: str, queue: Any) -> None:
    """Inherited manager (fork): drop the parent's token and fetch one here."""
    try:
        cached = manager.cached_access_token()
        dropped = manager.invalidate(stale)
        queue.put(
            {
                "cached": cached,
                "dropped": dropped,
                "token": manager.get_access_token(),
                "stats": manager.stats(),
            }
        )
    except BaseException as e:  # report instead of dying silently
        queue.put({"error": repr(e)})


def token_from_env(queue: Any) -> None:
    """A manager made in the child (spawn) from the CORTI_* variables."""
    try:
        m = TokenManager.from_env()
        queue.put({"token": m.get_access_token(), "stats": m.stats()})
    except BaseException as e:
        queue.put({"error": repr(e)})


def fleet_member(options: dict[str, Any], barrier: Any, phase2: Any, queue: Any) -> None:
    """One process of a fleet on a shared cache (test_shared_cache.py): its own
    manager; every member starts together, reports its token and counters, then
    (after the token's refresh point) asks again and reports the new token."""
    import time

    try:
        m = TokenManager(**options)
        barrier.wait(60)
        first = m.get_access_token()
        queue.put({"phase": 1, "token": first, "at": time.time(), "stats": m.stats()})
        if not phase2.wait(60):
            raise TimeoutError("no phase 2")
        # In the refresh window: the current token at once, the refresh on the
        # manager's worker (through the shared cache); wait for its result.
        deadline = time.monotonic() + 15
        token = m.get_access_token()
        while token == first and time.monotonic() < deadline:
            time.sleep(0.02)
            token = m.get_access_token()
        queue.put({"phase": 2, "token": token, "stats": m.stats()})
    except BaseException as e:
        queue.put({"error": repr(e)})


def hanging_holder(options: dict[str, Any]) -> None:
    """A fleet member whose token request hangs (test_shared_cache.py kills it while
    it holds the shared cache's lock)."""
    TokenManager(**options).get_access_token()

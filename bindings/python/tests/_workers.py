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

"""Tokens are refreshed ahead of expiry, by a caller or by the background thread
(one wait of about 8 s on Keycloak's 10 s client covers both)."""

from __future__ import annotations

import time


def test_refresh_ahead_of_expiry_and_in_the_background(servers):
    caller = servers.kc_short.manager()
    background = servers.kc_short.manager(background_refresh=True)

    first = caller.get_token()
    assert 0 < first.expires_in <= 10
    assert first.lifetime == 10
    bg_first = background.get_access_token()
    assert background.stats()["token_requests"] == 1

    # The refresh margin of a 10 s token is 2 s: wait until it is due.
    time.sleep(max(0.0, first.expires_in - 2.0) + 0.2)
    assert first.expires_in > 0  # still valid, but due for refresh
    assert caller.cached_access_token() is None  # due: the fast path declines it

    # Due but still valid: the caller keeps it (no wait); the refresh runs on
    # the manager's worker thread and its token replaces the old one shortly.
    assert caller.get_token().access_token == first.access_token
    deadline = time.monotonic() + 5
    while caller.cached_access_token() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    second = caller.get_token()
    assert second.access_token != first.access_token
    assert second.expires_in > first.expires_in
    stats = caller.stats()
    assert stats["token_requests"] == 2
    assert stats["refreshes"] == 2
    assert servers.accepts(servers.kc_short, second.access_token)

    # The background thread refreshed the other manager with nobody asking.
    deadline = time.monotonic() + 5
    while background.stats()["refreshes"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert background.stats()["refreshes"] == 2
    cached = background.cached_access_token()
    assert cached is not None
    assert cached != bg_first
    assert background.stats()["token_requests"] == 2

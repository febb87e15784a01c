"""The requests and httpx adapters against a small protected API that checks
tokens with Keycloak: both headers set, one retry with a new token after a 401."""

from __future__ import annotations

import asyncio

import httpx
import requests

from cortiauth.httpx import CortiAuth as HttpxAuth
from cortiauth.requests import CortiAuth as RequestsAuth


def revoke_current(protected_api, m) -> str:
    """The API starts rejecting the manager's current (still cached) token."""
    stale = m.get_access_token()
    protected_api.revoked.add(stale)
    return stale


def check_retried_with_new_token(protected_api, m, stale: str) -> None:
    assert len(protected_api.seen_tokens) == 2
    first, second = protected_api.seen_tokens
    assert first == stale
    assert second != stale
    assert second == m.get_access_token()
    assert m.stats()["token_requests"] == 2


def test_requests_sets_both_headers(servers, protected_api):
    m = servers.kc_corti.manager()
    r = requests.get(protected_api.url, auth=RequestsAuth(m), timeout=30)
    assert r.status_code == 200, r.text
    assert r.request.headers["Tenant-Name"] == "base"
    assert r.request.headers["Authorization"] == f"Bearer {m.get_access_token()}"
    assert r.history == []
    assert servers.kc_corti.client_secret not in repr(RequestsAuth(m))


def test_requests_retries_once_after_401(servers, protected_api):
    m = servers.kc_corti.manager()
    stale = revoke_current(protected_api, m)
    with requests.Session() as s:
        s.auth = RequestsAuth(m)
        r = s.post(protected_api.url, data=b"payload", timeout=30)
    assert r.status_code == 200, r.text
    assert [h.status_code for h in r.history] == [401]
    assert protected_api.bodies == [b"payload", b"payload"]
    check_retried_with_new_token(protected_api, m, stale)


def test_requests_retries_only_once(servers, protected_api):
    protected_api.reject_all = True
    m = servers.kc_corti.manager()
    r = requests.post(protected_api.url, json={"a": 1}, auth=RequestsAuth(m), timeout=30)
    assert r.status_code == 401
    assert len(r.history) == 1
    assert len(protected_api.seen_tokens) == 2
    assert m.stats()["token_requests"] == 2


def test_requests_does_not_resend_a_one_shot_stream(servers, protected_api):
    m = servers.kc_corti.manager()
    revoke_current(protected_api, m)

    def body():
        yield b"chunk"

    r = requests.post(protected_api.url, data=body(), auth=RequestsAuth(m), timeout=30)
    assert r.status_code == 401
    assert len(protected_api.seen_tokens) == 1


def test_httpx_sync_retries_once_after_401(servers, protected_api):
    m = servers.kc_corti.manager()
    with httpx.Client(auth=HttpxAuth(m), timeout=30) as client:
        ok = client.get(protected_api.url)
        assert ok.status_code == 200, ok.text
        assert ok.request.headers["Tenant-Name"] == "base"
        protected_api.seen_tokens.clear()
        protected_api.bodies.clear()
        stale = revoke_current(protected_api, m)
        r = client.post(protected_api.url, content=b"payload")
    assert r.status_code == 200, r.text
    assert [h.status_code for h in r.history] == [401]
    assert protected_api.bodies == [b"payload", b"payload"]
    check_retried_with_new_token(protected_api, m, stale)


def test_httpx_sync_retries_only_once(servers, protected_api):
    protected_api.reject_all = True
    m = servers.kc_corti.manager()
    with httpx.Client(auth=HttpxAuth(m), timeout=30) as client:
        r = client.get(protected_api.url)
    assert r.status_code == 401
    assert len(protected_api.seen_tokens) == 2


def test_httpx_async_retries_once_after_401(servers, protected_api):
    m = servers.kc_corti.manager()
    stale = revoke_current(protected_api, m)

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=HttpxAuth(m), timeout=30) as client:
            return await client.post(protected_api.url, content=b"payload")

    r = asyncio.run(main())
    assert r.status_code == 200, r.text
    assert r.request.headers["Tenant-Name"] == "base"
    assert [h.status_code for h in r.history] == [401]
    check_retried_with_new_token(protected_api, m, stale)


def test_httpx_async_retries_only_once(servers, protected_api):
    protected_api.reject_all = True
    m = servers.kc_corti.manager()

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=HttpxAuth(m), timeout=30) as client:
            return await client.get(protected_api.url)

    assert asyncio.run(main()).status_code == 401
    assert len(protected_api.seen_tokens) == 2

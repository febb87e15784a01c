"""The requests and httpx adapters against a small protected API that checks
tokens with Keycloak: both headers set, one retry with a new token after a 401 from
the origin the token was sent to, and none after a redirect to another origin."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import requests

from cortiauth import TokenManager
from cortiauth.httpx import CortiAuth as HttpxAuth
from cortiauth.requests import CortiAuth as RequestsAuth

from conftest import token_step


def revoke_current(protected_api, m) -> str:
    """The API starts rejecting the manager's current (still cached) token."""
    stale = m.get_access_token()
    protected_api.revoke(stale)
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
    protected_api.reject_all()
    m = servers.kc_corti.manager()
    r = requests.post(protected_api.url, json={"a": 1}, auth=RequestsAuth(m), timeout=30)
    assert r.status_code == 401
    assert len(r.history) == 1
    assert len(protected_api.seen_tokens) == 2
    assert m.stats()["token_requests"] == 2


def test_httpx_sync_retries_once_after_401(servers, protected_api):
    m = servers.kc_corti.manager()
    with httpx.Client(auth=HttpxAuth(m), timeout=30) as client:
        ok = client.get(protected_api.url)
        assert ok.status_code == 200, ok.text
        assert ok.request.headers["Tenant-Name"] == "base"
        protected_api.forget()
        stale = revoke_current(protected_api, m)
        r = client.post(protected_api.url, content=b"payload")
    assert r.status_code == 200, r.text
    assert [h.status_code for h in r.history] == [401]
    assert protected_api.bodies == [b"payload", b"payload"]
    check_retried_with_new_token(protected_api, m, stale)


def test_httpx_sync_retries_only_once(servers, protected_api):
    protected_api.reject_all()
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
    protected_api.reject_all()
    m = servers.kc_corti.manager()

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=HttpxAuth(m), timeout=30) as client:
            return await client.get(protected_api.url)

    assert asyncio.run(main()).status_code == 401
    assert len(protected_api.seen_tokens) == 2


# ---------------------------------------------------------------------------
# Redirects to another origin: origin A redirects to origin B,
# which answers 401. B's 401 says nothing about the token (requests and httpx do
# not send it there): no token is invalidated or fetched, nothing is retried, and
# B never sees an Authorization header.


@pytest.fixture
def redirect_pair(stub):
    """(token endpoint, origin A redirecting to origin B, origin B answering 401)."""
    tokens = stub(token_step("token-{n}"))
    b = stub({"status": 401, "headers": {"WWW-Authenticate": 'Bearer error="invalid_token"'}})
    a = stub({"redirect": b.url + "/elsewhere"})
    return tokens, a, b


def check_no_token_crossed(m, tokens, a, b) -> None:
    assert len(tokens.requests) == 1, "a second token was fetched"
    assert m.cached_access_token() == "token-1", "the good token was invalidated"
    assert len(a.requests) == 1, "the request was retried"
    assert len(b.requests) == 1, "the redirected request was retried"
    assert not any(k.lower() == "authorization" for k in b.requests[0].headers)
    assert a.requests[0].header("Authorization") == "Bearer token-1"


def manager_for(tokens) -> TokenManager:
    return TokenManager("id", "secret", token_url=tokens.url + "/token", max_attempts=1)


def test_requests_never_sends_a_token_across_a_redirect(redirect_pair):
    tokens, a, b = redirect_pair
    m = manager_for(tokens)
    with requests.Session() as s:
        s.auth = RequestsAuth(m)
        r = s.get(a.url + "/v2/interactions", timeout=30)
    assert r.status_code == 401
    assert [h.status_code for h in r.history] == [302]
    check_no_token_crossed(m, tokens, a, b)


def test_httpx_sync_never_retries_across_a_redirect(redirect_pair):
    tokens, a, b = redirect_pair
    m = manager_for(tokens)
    with httpx.Client(auth=HttpxAuth(m), follow_redirects=True, timeout=30) as client:
        r = client.get(a.url + "/v2/interactions")
    assert r.status_code == 401
    check_no_token_crossed(m, tokens, a, b)


def test_httpx_async_never_retries_across_a_redirect(redirect_pair):
    tokens, a, b = redirect_pair
    m = manager_for(tokens)

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=HttpxAuth(m), follow_redirects=True, timeout=30) as c:
            return await c.get(a.url + "/v2/interactions")

    assert asyncio.run(main()).status_code == 401
    check_no_token_crossed(m, tokens, a, b)


# One-shot bodies: the request is not sent again, but the
# rejected token is still invalidated, so the caller's next request gets a new one.


def test_requests_invalidates_the_token_of_a_one_shot_stream(servers, protected_api):
    m = servers.kc_corti.manager()
    stale = revoke_current(protected_api, m)

    def body():
        yield b"chunk"

    r = requests.post(protected_api.url, data=body(), auth=RequestsAuth(m), timeout=30)
    assert r.status_code == 401
    assert protected_api.seen_tokens == [stale]
    assert m.cached_access_token() is None
    assert m.get_access_token() != stale


def test_httpx_does_not_resend_a_consumed_generator(servers, protected_api):
    m = servers.kc_corti.manager()
    stale = revoke_current(protected_api, m)

    def body():
        yield b"chunk"

    with httpx.Client(auth=HttpxAuth(m), timeout=30) as client:
        r = client.post(protected_api.url, content=body())
    assert r.status_code == 401
    assert protected_api.seen_tokens == [stale]
    assert protected_api.bodies == [b"chunk"]
    assert m.cached_access_token() is None
    assert m.get_access_token() != stale


def test_httpx_async_does_not_resend_a_consumed_generator(servers, protected_api):
    m = servers.kc_corti.manager()
    stale = revoke_current(protected_api, m)

    async def body():
        yield b"chunk"

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=HttpxAuth(m), timeout=30) as client:
            return await client.post(protected_api.url, content=body())

    assert asyncio.run(main()).status_code == 401
    assert protected_api.seen_tokens == [stale]
    assert m.cached_access_token() is None

"""Checked by `mypy --strict` in test.sh (never run): the public API's types as a
user's type checker sees them from the installed wheel (py.typed + _native.pyi)."""

from __future__ import annotations

import datetime
from typing import Any, Optional

import httpx
import requests
from typing_extensions import assert_type

import cortiauth
from cortiauth import Stats, Token, TokenManager
from cortiauth.httpx import CortiAuth as HttpxAuth
from cortiauth.requests import CortiAuth as RequestsAuth


async def usage() -> None:
    m = TokenManager("id", "secret", environment="eu", scopes=["transcribe"], timeout=5.0)
    assert_type(TokenManager.from_env(tenant="base", failure_cooldown=0.5), TokenManager)
    TokenManager(
        "id",
        client_secret_file="/run/secrets/corti",
        environment="eu",
        extra_params=[("audience", "a")],
        initial_backoff=0.1,
        max_backoff=2,
        retry_deadline=10,
        refresh_margin=30,
        refresh_margin_fraction=0.1,
        expiry_skew=5,
        default_lifetime=300,
        shared_cache="file:///var/cache/cortiauth",
    )
    settings: cortiauth.Settings = {"client_id": "id", "timeout": 2.0, "environment": "eu"}
    assert_type(TokenManager(**settings).describe(), dict[str, Any])
    assert_type(m.get_access_token(), str)
    assert_type(m.cached_access_token(), Optional[str])
    token = m.get_token()
    assert_type(token, Token)
    assert_type(token.expires_at, datetime.datetime)
    assert_type(token.expires_in, float)
    assert_type(token.scope, Optional[str])
    assert_type(m.headers(), dict[str, str])
    assert_type(m.api_base_url, Optional[str])
    assert_type(m.api_url("/interactions"), str)
    assert_type(m.websocket_url("wss://x"), str)
    assert_type(m.invalidate("t"), bool)
    stats = m.stats()
    assert_type(stats, Stats)
    assert_type(stats["token_requests"], int)
    assert_type(await m.get_access_token_async(), str)
    assert_type(await m.get_token_async(), Token)
    assert_type(await m.headers_async(), dict[str, str])
    requests.get("http://127.0.0.1:1", auth=RequestsAuth(m))  # noqa: ASYNC210 - never run
    async with httpx.AsyncClient(auth=HttpxAuth(m)) as client:
        await client.get("http://127.0.0.1:1")
    try:
        m.get_access_token()
    except cortiauth.OAuthError as e:
        assert_type(e.error, str)
        assert_type(e.status_code, int)
        assert_type(e.error_description, Optional[str])
    except cortiauth.HTTPError as e:
        assert_type(e.status_code, int)
    except cortiauth.Error as e:
        assert_type(e.kind, str)

"""``cortiauth.TokenManager``: the native manager plus Python conveniences.

The class subclasses the native one, so the synchronous methods
(``get_access_token()``, ``headers()``, …) are the native methods themselves,
with no Python frame in between. This module adds the constructor's Python
signature, ``from_env()`` and the ``async`` variants.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterable, Mapping, Optional, TypeVar, Union

from . import _native
from ._native import Token

__all__ = ["Token", "TokenManager"]

T = TypeVar("T")

Scopes = Union[str, Iterable[str]]
ExtraParams = Union[Mapping[str, str], Iterable["tuple[str, str]"]]
Pem = Union[str, bytes, Iterable[Union[str, bytes]]]


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Runs a blocking call on the loop's default executor."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


class TokenManager(_native.TokenManager):
    """Hands out valid access tokens, fetching one per lifetime however many
    threads or tasks ask.

    One manager per client, shared by every thread. The token is cached and
    refreshed ahead of expiry; concurrent callers share one request; the GIL
    is released during every network call and every wait.

    Arguments:
        client_id, client_secret: the API client's credentials.
        environment: ``"eu"``, ``"us"``, … picks ``auth.{environment}.corti.app``.
        tenant: the tenant (Keycloak realm), sent as ``Tenant-Name``.
        scopes: extra scopes, a list or a space-separated string; ``openid`` is always sent.
        token_url: the full token URL, instead of the one built from environment and tenant.
        auth_method: ``"client_secret_post"`` (Corti) or ``"client_secret_basic"``.
        timeout: seconds allowed for one request to the token endpoint.
        api_base_url: overrides ``https://api.{environment}.corti.app/v2``.
        extra_params: extra form parameters (``{"audience": …}``).
        ca_cert_pem: extra trusted CA certificate(s), PEM.
        background_refresh: refresh on a background thread so no caller ever waits.
        max_attempts: attempts per token acquisition, retries of transient failures included.
        retry_deadline: overall seconds for one token acquisition, retries included.
    """

    __slots__ = ()

    def __new__(
        cls,
        client_id: str,
        client_secret: str,
        environment: Optional[str] = None,
        tenant: str = "base",
        scopes: Optional[Scopes] = None,
        token_url: Optional[str] = None,
        auth_method: str = "client_secret_post",
        timeout: float = 30.0,
        *,
        api_base_url: Optional[str] = None,
        extra_params: Optional[ExtraParams] = None,
        ca_cert_pem: Optional[Pem] = None,
        background_refresh: bool = False,
        max_attempts: Optional[int] = None,
        retry_deadline: Optional[float] = None,
    ) -> TokenManager:
        return super().__new__(
            cls,
            client_id,
            client_secret,
            environment,
            tenant,
            scopes,
            token_url,
            auth_method,
            timeout,
            api_base_url=api_base_url,
            extra_params=extra_params,
            ca_cert_pem=ca_cert_pem,
            background_refresh=background_refresh,
            max_attempts=max_attempts,
            retry_deadline=retry_deadline,
        )

    @classmethod
    def from_env(
        cls,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        environment: Optional[str] = None,
        tenant: Optional[str] = None,
        scopes: Optional[Scopes] = None,
        token_url: Optional[str] = None,
        auth_method: Optional[str] = None,
        timeout: Optional[float] = None,
        api_base_url: Optional[str] = None,
        extra_params: Optional[ExtraParams] = None,
        ca_cert_pem: Optional[Pem] = None,
        background_refresh: Optional[bool] = None,
        max_attempts: Optional[int] = None,
        retry_deadline: Optional[float] = None,
    ) -> TokenManager:
        """A manager configured from ``CORTI_CLIENT_ID``, ``CORTI_CLIENT_SECRET``,
        ``CORTI_ENVIRONMENT``, ``CORTI_TENANT_NAME``, ``CORTI_TOKEN_URL`` and
        ``CORTI_SCOPES``; keyword arguments override them."""
        return _native.TokenManager.__new__(
            cls,
            client_id,
            client_secret,
            environment,
            tenant,
            scopes,
            token_url,
            auth_method,
            timeout,
            api_base_url=api_base_url,
            extra_params=extra_params,
            ca_cert_pem=ca_cert_pem,
            background_refresh=background_refresh,
            max_attempts=max_attempts,
            retry_deadline=retry_deadline,
            from_env=True,
        )

    # Async variants: a cached token is returned at once, without a thread hop;
    # otherwise the blocking call (which releases the GIL) runs on the loop's
    # default executor, so the event loop never waits. Concurrent tasks share
    # one token request, as threads do.

    async def get_access_token_async(self) -> str:
        """``get_access_token()`` without blocking the event loop."""
        token = self.cached_access_token()
        if token is not None:
            return token
        return await _in_thread(self.get_access_token)

    async def get_token_async(self) -> Token:
        """``get_token()`` without blocking the event loop."""
        token = self.cached_token()
        if token is not None:
            return token
        return await _in_thread(self.get_token)

    async def headers_async(self) -> dict[str, str]:
        """``headers()`` without blocking the event loop."""
        headers = self.cached_headers()
        if headers is not None:
            return headers
        return await _in_thread(self.headers)

    async def websocket_url_async(self, stream_url: str) -> str:
        """``websocket_url()`` without blocking the event loop."""
        token = self.cached_token()
        if token is not None:
            return token.websocket_url(stream_url)
        return await _in_thread(self.websocket_url, stream_url)

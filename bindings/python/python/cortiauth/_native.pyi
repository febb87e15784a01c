"""Type stubs of the native module ``cortiauth._native`` (checked by mypy's stubtest)."""

import asyncio
import datetime
from typing import Any, Iterable, NoReturn, Optional, Union, final

from typing_extensions import Self, Unpack, disjoint_base

from cortiauth._types import Settings, Stats

__all__ = ["CORE_VERSION", "Token", "TokenManager", "__version__", "_stop_events", "fingerprint"]

__version__: str
CORE_VERSION: str

def fingerprint(access_token: str) -> str:
    """The audit fingerprint of a token: the first 16 hex digits of its SHA-256. The same in
    every surface; a `"Bearer "` prefix is ignored.
    """

def _stop_events() -> None: ...

@final
class Token:
    """An access token; ``repr()`` never shows its value."""

    @property
    def access_token(self) -> str:
        """The raw token. Never log it."""
    @property
    def token_type(self) -> str:
        """As the server sent it (`Bearer`)."""
    @property
    def scope(self) -> Optional[str]:
        """The scope the server granted, or `None` when it did not say."""
    @property
    def expires_at(self) -> datetime.datetime:
        """When the token expires, on the wall clock. An aware `datetime` in UTC."""
    @property
    def expires_at_unix(self) -> float:
        """When the token expires, in seconds since the Unix epoch."""
    @property
    def expires_in(self) -> float:
        """Seconds left before the token expires (0.0 once expired), measured now."""
    @property
    def lifetime(self) -> float:
        """The lifetime the server gave the token, in seconds."""
    def authorization_header(self) -> str:
        """`"Bearer {token}"`, the value of the `Authorization` header."""
    def websocket_url(self, stream_url: str) -> str:
        """`stream_url` with `token=Bearer%20{token}` appended (for WebSocket streams)."""
    def __reduce__(self) -> NoReturn: ...

@disjoint_base
class TokenManager:
    def __new__(
        cls,
        # The first eight settings may be passed positionally (their order in Settings).
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        environment: Optional[str] = None,
        tenant: Optional[str] = None,
        scopes: Union[str, Iterable[str], None] = None,
        token_url: Optional[str] = None,
        auth_method: Optional[str] = None,
        timeout: Optional[float] = None,
        /,
        *,
        from_env: bool = False,
        **settings: Unpack[Settings],
    ) -> Self: ...
    def describe(self) -> dict[str, Any]:
        """The effective settings, as the core describes them (the same JSON in every language).
        Every default filled in, durations in `*_ms`, the secret as `"[REDACTED]"`:
        `json.loads` of the core's `describe()`.
        """
    def set_client_secret(self, secret: str) -> None:
        """Replaces the client secret in place, without a restart. The next token request sends
        it (the token in use stays until its refresh), and the shared cache's slot follows
        it. A later change of `client_secret_file` replaces it again.
        """
    def _describe_json(self) -> str: ...
    def get_access_token(self) -> str:
        """A valid access token: cached, or fetched once for all concurrent callers."""
    def cached_access_token(self) -> Optional[str]:
        """The cached access token if there is one not yet due for refresh, else `None`."""
    def get_token(self) -> Token:
        """A valid token with its type, scope and expiry."""
    def cached_token(self) -> Optional[Token]:
        """Like `cached_access_token()`, as a `Token`."""
    def authorization_header(self) -> str:
        """`"Bearer {token}"`."""
    def headers(self) -> dict[str, str]:
        """`Authorization` and `Tenant-Name`: the headers every Corti API call carries.
        `{"Authorization": "Bearer …", "Tenant-Name": tenant}`.
        """
    def cached_headers(self) -> Optional[dict[str, str]]:
        """Like `headers()` from the cached token, or `None`."""
    def _try_access_token(self) -> Optional[str]: ...
    def _try_token(self) -> Optional[Token]: ...
    def _try_headers(self) -> Optional[dict[str, str]]: ...
    def _token_then(
        self, event_loop: asyncio.AbstractEventLoop
    ) -> Union[Token, asyncio.Future[Token]]: ...
    def api_url(self, path: str) -> str:
        """A relative API path (`/interactions`, `interactions/1?limit=5`) joined onto the API
        base URL by the core. `ConfigError` when there is no API base URL or `path` is an
        absolute URL.
        """
    def websocket_url(self, stream_url: str) -> str:
        """The stream URL with `token=Bearer%20{access_token}` appended, from a valid token."""
    def invalidate(self, rejected_token: str) -> bool:
        """Drops the cached token if it is still the rejected one (the API answered 401 to it).
        The core ignores a `"Bearer "` prefix. Returns whether it was dropped: many 401s for
        one token cause one new token request.
        """
    def on_response(
        self, sent_token: str, sent_to: str, answered_by: str, status: int
    ) -> bool:
        """The one 401 rule of the HTTP integrations (the core's), for your own HTTP client.
        `True` when the answer to a request that carried `sent_token` to `sent_to` is a 401
        from that origin (`answered_by` is the final URL after redirects). The token is then
        invalidated, and the request may be sent once more with a new one.
        """
    def stats(self) -> Stats:
        """The core's counters: token requests, cache hits, refreshes, failures, the shared
        cache's. The keys: `token_requests`, `cache_hits`, `refreshes`, `failures`,
        `last_error_kind`, `store_hits`, `store_misses`, `store_errors`, `store_waits`,
        `store_last_error`.
        """
    @property
    def client_id(self) -> str:
        """The OAuth client id."""
    @property
    def environment(self) -> Optional[str]:
        """The Corti environment (`eu`, `us`, …), or `None` with a bare token URL."""
    @property
    def tenant(self) -> str:
        """The tenant: the Keycloak realm and the `Tenant-Name` header (`base` by default)."""
    @property
    def scopes(self) -> list[str]:
        """The scopes requested, `openid` first."""
    @property
    def token_url(self) -> str:
        """The token endpoint."""
    @property
    def auth_method(self) -> str:
        """How the client authenticates at the token endpoint. One of `client_secret_post`,
        `client_secret_basic`, `client_secret_jwt`, `private_key_jwt`, `tls_client_auth`.
        """
    @property
    def timeout(self) -> float:
        """Seconds allowed for one request to the token endpoint."""
    @property
    def api_base_url(self) -> Optional[str]:
        """`https://api.{environment}.corti.app/v2`, or `None` without an environment."""
    def __reduce__(self) -> NoReturn: ...

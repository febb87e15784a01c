"""``cortiauth.TokenManager``: the native manager plus Python conveniences.

The class subclasses the native one, so the constructor and the synchronous
methods (``get_access_token()``, ``headers()``, …) are the native ones
themselves, with no Python frame in between. The constructor's keywords are
declared once, as ``cortiauth._types.Settings``; this module adds ``from_env()``
and the ``async`` variants.

``asyncio`` is imported by the async methods when they first need it, and
``typing`` only by type checkers: ``import cortiauth`` stays cheap.
"""

from __future__ import annotations

from _weakrefset import WeakSet  # loaded at start-up (abc uses it): no import cost

from . import _native
from ._native import Token

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import time)
if TYPE_CHECKING:
    import asyncio

    from typing_extensions import Unpack

    from ._types import Settings

__all__ = ["Token", "TokenManager"]

# Managers alive, for OpenTelemetry's observable instruments (cortiauth._events):
# the cache-hit count is read from stats() there, never counted per call.
_LIVE: WeakSet[TokenManager] = WeakSet()


class TokenManager(_native.TokenManager):
    """Hands out valid access tokens, fetching one per lifetime however many
    threads or tasks ask.

    One manager per client, shared by every thread. The token is cached and
    refreshed ahead of expiry; concurrent callers share one request; the GIL
    is released during every network call and every wait.

    ``TokenManager(client_id, client_secret, environment=None, tenant=None,
    scopes=None, token_url=None, auth_method=None, timeout=None, **settings)``:
    the keywords are those of :class:`cortiauth.Settings` (one per setting of
    the core, durations in seconds); what is not given gets the core's default.
    ``describe()`` shows the effective settings.
    """

    __slots__ = ()

    def __init__(self, *args: object, **settings: object) -> None:
        # The native __new__ built it from the same arguments.
        _LIVE.add(self)

    @classmethod
    def from_env(cls, **settings: Unpack[Settings]) -> TokenManager:
        """A manager configured from ``CORTI_CLIENT_ID``, ``CORTI_CLIENT_SECRET``
        (or ``CORTI_CLIENT_SECRET_FILE``), ``CORTI_ENVIRONMENT``,
        ``CORTI_TENANT_NAME``, ``CORTI_TOKEN_URL``, ``CORTI_SCOPES`` and
        ``CORTIAUTH_SHARED_CACHE``; keyword arguments override them."""
        manager = _native.TokenManager.__new__(cls, from_env=True, **settings)
        _LIVE.add(manager)
        return manager

    # Async variants: a usable token is returned at once, without a thread hop
    # (and without importing asyncio). Otherwise the core's token_then() joins
    # the one token request and its worker thread settles this task's future
    # through loop.call_soon_threadsafe: no executor thread, no per-loop
    # bookkeeping here (the core's single flight already coalesces).

    async def _token_async(self) -> Token:
        import asyncio

        answer = self._token_then(asyncio.get_running_loop())
        if type(answer) is Token:
            return answer
        return await answer

    async def get_access_token_async(self) -> str:
        """``get_access_token()`` without blocking the event loop."""
        token = self._try_access_token()
        if token is not None:
            return token
        return (await self._token_async()).access_token

    async def get_token_async(self) -> Token:
        """``get_token()`` without blocking the event loop."""
        token = self._try_token()
        if token is not None:
            return token
        return await self._token_async()

    async def headers_async(self) -> dict[str, str]:
        """``headers()`` without blocking the event loop."""
        headers = self._try_headers()
        if headers is not None:
            return headers
        token = await self._token_async()
        return {"Authorization": token.authorization_header(), "Tenant-Name": self.tenant}

    async def websocket_url_async(self, stream_url: str) -> str:
        """``websocket_url()`` without blocking the event loop."""
        token = self._try_token()
        if token is None:
            token = await self._token_async()
        return token.websocket_url(stream_url)


def _settle(
    future: asyncio.Future[Token], token: Token | None, error: BaseException | None
) -> None:
    """Hands the core's answer to a waiting task (called on its event loop,
    scheduled by the core's worker thread). A task cancelled meanwhile has
    nobody to tell."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    elif token is not None:
        future.set_result(token)

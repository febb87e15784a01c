"""``cortiauth.TokenManager``: the native manager plus Python conveniences.

The class subclasses the native one, so the constructor and the synchronous
methods (``get_access_token()``, ``headers()``, …) are the native ones
themselves, with no Python frame in between. The constructor's keywords are
declared once, as ``cortiauth._types.Settings``; this module adds ``from_env()``
and the ``async`` variants.

``asyncio`` is imported by the async methods when they first need it, and
``typing`` only by type checkers: ``import cortiauth`` stays cheap (issue 12).
"""

from __future__ import annotations

from . import _native
from ._native import Token

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import time)
if TYPE_CHECKING:
    import asyncio
    from typing import Any

    from typing_extensions import Unpack

    from ._types import Settings

__all__ = ["Token", "TokenManager"]


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

    # Per event loop, the one pending executor job that fetches a token for the
    # async callers of that loop (see _token_async).
    __slots__ = ("_pending",)
    _pending: dict[asyncio.AbstractEventLoop, asyncio.Future[Token]]

    @classmethod
    def from_env(cls, **settings: Unpack[Settings]) -> TokenManager:
        """A manager configured from ``CORTI_CLIENT_ID``, ``CORTI_CLIENT_SECRET``
        (or ``CORTI_CLIENT_SECRET_FILE``), ``CORTI_ENVIRONMENT``,
        ``CORTI_TENANT_NAME``, ``CORTI_TOKEN_URL``, ``CORTI_SCOPES`` and
        ``CORTIAUTH_SHARED_CACHE``; keyword arguments override them."""
        return _native.TokenManager.__new__(cls, from_env=True, **settings)

    # Async variants: a cached token is returned at once, without a thread hop
    # (and without importing asyncio). Otherwise the callers of one event loop
    # share one pending future: one executor job runs the blocking get_token()
    # (which releases the GIL) while every other task awaits that same future,
    # so 100 tasks hold one executor thread, not 100.

    async def _token_async(self) -> Token:
        import asyncio

        loop = asyncio.get_running_loop()
        try:
            pending = self._pending
        except AttributeError:
            pending = self._pending = {}
        future = pending.get(loop)
        if future is None:
            future = loop.run_in_executor(None, self.get_token)
            pending[loop] = future
            future.add_done_callback(_Forget(pending, loop))
        # shield: a task cancelled while waiting must not cancel the others' fetch.
        return await asyncio.shield(future)

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


class _Forget:
    """Done callback of a pending fetch: forgets it (the next cold call starts a
    new one) and marks its exception as retrieved (every waiter may be gone)."""

    __slots__ = ("loop", "pending")

    def __init__(self, pending: dict[Any, Any], loop: asyncio.AbstractEventLoop) -> None:
        self.pending = pending
        self.loop = loop

    def __call__(self, future: asyncio.Future[Token]) -> None:
        if self.pending.get(self.loop) is future:
            del self.pending[self.loop]
        if not future.cancelled():
            future.exception()

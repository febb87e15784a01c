"""``httpx`` integration: ``httpx.Client(auth=CortiAuth(manager))``, sync and async.

Needs the optional dependency ``httpx`` (``pip install cortiauth[httpx]``).
"""

from __future__ import annotations

from typing import AsyncGenerator, Generator

try:
    import httpx
except ImportError as e:  # pragma: no cover - exercised only without httpx
    raise ImportError(
        "cortiauth.httpx needs the 'httpx' package: pip install 'cortiauth[httpx]'"
    ) from e

from ._manager import TokenManager

__all__ = ["CortiAuth"]


class CortiAuth(httpx.Auth):
    """Sets ``Authorization: Bearer …`` and ``Tenant-Name`` on every request, in
    ``httpx.Client`` and ``httpx.AsyncClient`` alike.

    When the API answers 401 to the request the token was attached to, the
    rejected token is invalidated and the request is sent once more with a new
    token (one retry only, and only when its body can be sent again: a streamed
    body is not). A 401 from another origin (after a redirect, where httpx has
    removed the token) is left alone. The async flow never blocks the event loop:
    a cached token is used at once, a fetch is awaited on the core's worker.
    """

    def __init__(self, manager: TokenManager) -> None:
        self.manager = manager

    def __repr__(self) -> str:
        return f"CortiAuth({self.manager!r})"

    @staticmethod
    def _apply(request: httpx.Request, headers: dict[str, str]) -> str:
        """Sets the core's headers; returns the Authorization value, which names
        the token sent (the core's 401 rule reads it with or without "Bearer ")."""
        request.headers.update(headers)
        return headers["Authorization"]

    def _rejected(self, request: httpx.Request, response: httpx.Response, token: str) -> bool:
        """Whether `response` is a 401 to `token` itself; if so the token is
        invalidated, and the answer is whether the request can be sent again."""
        # The core's rule: a 401 from the origin the token was sent to (not from
        # a redirect target, which never got it). It also invalidates the token.
        sent_to, answered_by = str(request.url), str(response.request.url)
        if not self.manager.on_response(token, sent_to, answered_by, response.status_code):
            return False
        try:
            request.content  # noqa: B018 - raises for a streamed (one-shot) body
        except httpx.RequestNotRead:
            return False
        return True

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._apply(request, self.manager.headers())
        response = yield request
        if self._rejected(request, response, token):
            self._apply(request, self.manager.headers())
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._apply(request, await self.manager.headers_async())
        response = yield request
        if self._rejected(request, response, token):
            self._apply(request, await self.manager.headers_async())
            yield request

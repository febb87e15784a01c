"""``requests`` integration: ``requests.get(url, auth=CortiAuth(manager))``.

Needs the optional dependency ``requests`` (``pip install cortiauth[requests]``).
"""

from __future__ import annotations

from typing import Any

try:
    from requests.auth import AuthBase
    from requests.cookies import extract_cookies_to_jar
    from requests.models import PreparedRequest, Response
except ImportError as e:  # pragma: no cover - exercised only without requests
    raise ImportError(
        "cortiauth.requests needs the 'requests' package: pip install 'cortiauth[requests]'"
    ) from e

from ._manager import TokenManager

__all__ = ["CortiAuth"]


class CortiAuth(AuthBase):
    """Sets ``Authorization: Bearer …`` and ``Tenant-Name`` on every request.

    When the API answers 401 to the request the token was attached to, the
    rejected token is invalidated and the request is sent once more with a new
    token (one retry only, and only when the body can be sent again). A 401 from
    another origin (after a redirect, where requests has removed the token) is
    left alone: nothing is invalidated and no token is sent there. Thread-safe:
    share one instance, or one per session.
    """

    def __init__(self, manager: TokenManager) -> None:
        self.manager = manager

    def __repr__(self) -> str:
        return f"CortiAuth({self.manager!r})"

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        # The core's headers; the Authorization value names the token sent
        # (the core's 401 rule reads it with or without "Bearer ").
        headers = self.manager.headers()
        r.headers.update(headers)
        token = headers["Authorization"]
        # Remember where a file-like body starts, to rewind it for the retry.
        position = None
        body_tell = getattr(r.body, "tell", None)
        if body_tell is not None:
            try:
                position = body_tell()
            except OSError:
                position = None
        state = _RetryState(self, token, position, r.url or "")
        r.register_hook("response", state.handle_401)
        return r


class _RetryState:
    """The per-request state of the 401 retry."""

    def __init__(self, auth: CortiAuth, token: str, position: Any, sent_to: str) -> None:
        self.auth = auth
        self.token = token
        self.position = position
        # Where the token was sent: requests copies this hook onto redirected
        # requests, whose answers are not about this token.
        self.sent_to = sent_to

    def handle_401(self, r: Response, **kwargs: Any) -> Response:
        request = r.request
        # The core's rule: a 401 from the origin the token was sent to (a
        # redirect target's 401 says nothing about the token, and it must not
        # get one). It also drops the token, even if this request cannot be resent.
        if not self.auth.manager.on_response(
            self.token, self.sent_to, request.url or "", r.status_code
        ):
            return r
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            # A stream: resend only if it can be rewound.
            seek = getattr(body, "seek", None)
            if seek is None or self.position is None:
                return r
            seek(self.position)

        headers = self.auth.manager.headers()

        # Release the connection of the 401 before sending again.
        r.content  # noqa: B018 - reads the body so the connection is reusable
        r.close()
        retry = request.copy()
        jar = retry._cookies  # what requests' own HTTPDigestAuth does on its retry
        if jar is not None:
            extract_cookies_to_jar(jar, request, r.raw)
            retry.prepare_cookies(jar)
        retry.headers.update(headers)
        # Only one retry: the copy must not carry this hook again.
        retry.hooks["response"] = [h for h in retry.hooks["response"] if h != self.handle_401]

        connection = r.connection
        new = connection.send(retry, **kwargs)
        new.history.append(r)
        new.request = retry
        return new

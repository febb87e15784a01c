"""OAuth 2.0 client-credentials tokens for the Corti API, cached, refreshed ahead
of expiry and fetched once however many threads ask.

>>> from cortiauth import TokenManager
>>> print(TokenManager.from_env().get_access_token())  # doctest: +SKIP

Integrations (optional dependencies): ``cortiauth.requests.CortiAuth`` and
``cortiauth.httpx.CortiAuth``.
"""

from ._errors import (
    ConfigError,
    Error,
    HTTPError,
    InvalidResponseError,
    NetworkError,
    OAuthError,
    TimeoutError,  # noqa: A004 - cortiauth.TimeoutError, on purpose
)
from ._manager import Token, TokenManager
from ._native import __version__
from ._types import Stats

__all__ = [
    "ConfigError",
    "Error",
    "HTTPError",
    "InvalidResponseError",
    "NetworkError",
    "OAuthError",
    "Stats",
    "TimeoutError",
    "Token",
    "TokenManager",
    "__version__",
]

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
    SettingError,
    TimeoutError,  # noqa: A004 - cortiauth.TimeoutError, on purpose
)
from ._manager import Token, TokenManager
from ._native import __version__, fingerprint

# Settings and Stats are TypedDicts: defining them imports typing (several ms), so
# they are loaded on first access; type checkers see a plain import.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._types import Settings, Stats
else:

    def __getattr__(name: str) -> object:
        if name in ("Settings", "Stats"):
            from . import _types

            return getattr(_types, name)
        raise AttributeError(f"module 'cortiauth' has no attribute {name!r}")

__all__ = [
    "ConfigError",
    "Error",
    "HTTPError",
    "InvalidResponseError",
    "NetworkError",
    "OAuthError",
    "SettingError",
    "Settings",
    "Stats",
    "TimeoutError",
    "Token",
    "TokenManager",
    "__version__",
    "fingerprint",
]

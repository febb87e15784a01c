"""The exception hierarchy, and the one table that maps the core's error kinds to it.

Every exception raised by cortiauth for a token problem is a :class:`cortiauth.Error`.
Messages say what happened and what to check; they never contain the client secret
or a token.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import time)
if TYPE_CHECKING:
    from typing import Any, Optional

__all__ = [
    "ConfigError",
    "Error",
    "HTTPError",
    "InvalidResponseError",
    "NetworkError",
    "OAuthError",
    "TimeoutError",
]


class Error(Exception):
    """Base class of every cortiauth error.

    ``kind`` is the core's stable error kind (``"config"``, ``"oauth"``, ``"http"``,
    ``"network"``, ``"timeout"``, ``"invalid_response"``); ``message`` is ``str(error)``.
    """

    kind: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the attributes through pickling (multiprocessing sends errors back).
        return (type(self), (self.message,), self.__dict__.copy())


class ConfigError(Error):
    """The settings are incomplete or invalid (missing client id, http:// URL, …)."""

    kind = "config"


class SettingError(ConfigError, TypeError):
    """A keyword argument is unknown (the message suggests the closest name) or of
    the wrong type. Also a ``TypeError``, as Python raises for bad arguments."""


class OAuthError(Error):
    """The token endpoint answered with an OAuth 2.0 error (RFC 6749 §5.2).

    ``error`` is the OAuth error code (``"invalid_client"``, ``"invalid_scope"``, …),
    ``status_code`` the HTTP status of the answer.
    """

    kind = "oauth"

    def __init__(
        self,
        message: str,
        error: str = "",
        error_description: Optional[str] = None,
        error_uri: Optional[str] = None,
        status_code: int = 0,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri
        self.status_code = status_code


class HTTPError(Error):
    """The token endpoint answered with an HTTP error that is not an OAuth error
    (404 for a wrong URL or tenant, 502 from a proxy, a refused redirect, …).

    ``body`` is a short excerpt of the answer.
    """

    kind = "http"

    def __init__(self, message: str, status_code: int = 0, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class NetworkError(Error):
    """The request could not be sent or the connection broke (DNS, refused, TLS, …)."""

    kind = "network"


class TimeoutError(Error):  # noqa: A001 - the package's own name, as cortiauth.TimeoutError
    """The token endpoint did not answer in time. Not the built-in ``TimeoutError``."""

    kind = "timeout"


class InvalidResponseError(Error):
    """The token endpoint answered 2xx with something that is not a usable token response."""

    kind = "invalid_response"


# The mapping from the core's ErrorKind (ErrorKind::as_str) to exception classes.
_BY_KIND: dict[str, type[Error]] = {
    cls.kind: cls
    for cls in (
        ConfigError,
        OAuthError,
        HTTPError,
        NetworkError,
        TimeoutError,
        InvalidResponseError,
    )
}

for _cls in (Error, *_BY_KIND.values()):
    _cls.__module__ = "cortiauth"  # tracebacks show cortiauth.OAuthError
del _cls


def _from_native(kind: str, message: str, **attrs: Any) -> Error:
    """Called by the native module to build the exception for a core error."""
    cls = _BY_KIND.get(kind, Error)
    if attrs and cls in (OAuthError, HTTPError):
        return cls(message, **attrs)
    return cls(message)

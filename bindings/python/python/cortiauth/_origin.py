"""The origin of a URL (scheme, host, port), for the HTTP integrations: a 401 is
acted on only when it comes from the origin the token was sent to."""

from __future__ import annotations

__all__ = ["origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: object) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a parsed URL (``urllib.parse.urlsplit``'s result
    or an ``httpx.URL``), lower-cased, with the scheme's default port filled in."""
    scheme = str(getattr(url, "scheme", "") or "").lower()
    host = getattr(url, "hostname", None) or getattr(url, "host", None) or ""
    port = getattr(url, "port", None) or _DEFAULT_PORTS.get(scheme, 0)
    return (scheme, str(host).lower(), int(port))

"""Types shared by the package and its stubs."""

from __future__ import annotations

import os
from typing import Iterable, Mapping, Optional, TypedDict, Union

__all__ = ["Settings", "Stats"]


class Settings(TypedDict, total=False):
    """The keyword arguments of ``TokenManager(...)`` and ``TokenManager.from_env(...)``:
    one per setting of the core's settings type (the project README's settings table),
    durations in seconds. ``None`` (or leaving one out) means the core's default, or
    the ``CORTI_*`` variable with ``from_env``. Defaults, rules and ranges are the
    core's; ``describe()`` shows the result. The first eight may also be positional."""

    client_id: Optional[str]
    client_secret: Optional[str]
    #: A file whose first line is the secret (instead of ``client_secret``).
    client_secret_file: Union[str, os.PathLike[str], None]
    #: ``"eu"``, ``"us"``, … picks ``auth.{environment}.corti.app``.
    environment: Optional[str]
    #: The Keycloak realm and ``Tenant-Name`` header (default ``"base"``).
    tenant: Optional[str]
    #: Scopes besides ``openid``: a list or a space-separated string.
    scopes: Union[str, Iterable[str], None]
    #: The full token URL, instead of the one built from environment and tenant.
    token_url: Optional[str]
    #: ``"client_secret_post"`` (default) or ``"client_secret_basic"``.
    auth_method: Optional[str]
    #: Seconds for one request to the token endpoint (default 10).
    timeout: Optional[float]
    #: Overrides ``https://api.{environment}.corti.app/v2``.
    api_base_url: Optional[str]
    #: Extra form parameters: a mapping or (name, value) pairs; a name twice keeps the last.
    extra_params: Union[Mapping[str, str], Iterable[tuple[str, str]], None]
    #: Attempts per token acquisition, the first included (default 4; 1 turns retries off).
    max_attempts: Optional[int]
    initial_backoff: Optional[float]
    max_backoff: Optional[float]
    #: Seconds for one token acquisition, retries included (default 30).
    retry_deadline: Optional[float]
    #: Seconds a failure is handed to callers without a new request (1, or 0 with max_attempts=1).
    failure_cooldown: Optional[float]
    #: Refresh at most this many seconds ahead of expiry (default 60).
    refresh_margin: Optional[float]
    #: ... or this share of the token's lifetime, whichever is smaller (default 0.2).
    refresh_margin_fraction: Optional[float]
    expiry_skew: Optional[float]
    #: Lifetime assumed when the server gives none (default 300).
    default_lifetime: Optional[float]
    #: Refresh ahead of expiry on a background thread.
    background_refresh: Optional[bool]
    #: Extra trusted CA certificate(s), PEM.
    ca_cert_pem: Union[str, bytes, Iterable[Union[str, bytes]], None]
    #: A token cache shared between processes: ``redis://…``, ``rediss://…``, ``file:///dir``.
    shared_cache: Optional[str]


class Stats(TypedDict):
    """What ``TokenManager.stats()`` returns: the core's counters."""

    #: HTTP requests sent to the token endpoint, retries included.
    token_requests: int
    #: Calls answered from the cache.
    cache_hits: int
    #: Tokens obtained (first fetch and every refresh).
    refreshes: int
    #: Token acquisitions that failed after their retries.
    failures: int
    #: The kind of the most recent failure (``"oauth"``, ``"network"``, …), or ``None``.
    last_error_kind: Optional[str]
    #: Shared cache (``shared_cache``): tokens taken from the store instead of fetched.
    store_hits: int
    #: Shared cache: lookups that found no usable token there.
    store_misses: int
    #: Shared cache: store operations that failed (each fell back to a direct fetch).
    store_errors: int
    #: Shared cache: waits for another process's token request.
    store_waits: int
    #: Shared cache: kind of the last store error (``"timeout"``, ``"unavailable"``, …) or ``None``.
    store_last_error: Optional[str]

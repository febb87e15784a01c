"""The core's events in Python's own channels: the ``cortiauth`` logger, and
OpenTelemetry metrics when ``opentelemetry-api`` is importable.

Imported on a manager's first event (a token fetched, a fetch failed, a token
from the shared cache, a shared-cache error, a credential reloaded, a token
rejected), never by ``import cortiauth``. Events are made only where a token
request or a rejection happens: reading a cached token makes none.

Each log record carries the event as a dict in ``record.cortiauth_event`` (the
same keys in every surface: ``event``, ``client_id``, ``trigger``,
``duration_ms``, ``attempts``, ``error_kind``, ``oauth_error``,
``http_status``, ``retry_after_ms``, ``store_error``, ``credential_source``
and ``token``, the audit record: ``fingerprint``, ``jti``, ``scope``,
``audience``, ``issued_at``, ``expires_at``, ``client_id``, ``pid``,
``surface``). No event carries a token or a secret.
"""

from __future__ import annotations

import atexit
import json
import logging
import time
from typing import Any

from . import _native
from ._manager import _LIVE

logger = logging.getLogger("cortiauth")
# A library's logger: silent unless the application configures logging.
logger.addHandler(logging.NullHandler())

# The token each client holds now: client_id -> expires_at (Unix seconds).
_EXPIRES: dict[str, float] = {}

_metrics: _Metrics | bool | None = None  # None: not tried yet; False: not installed


class _Metrics:
    """The OpenTelemetry instruments (meter ``cortiauth``)."""

    def __init__(self, provider: object) -> None:
        from opentelemetry.metrics import CallbackOptions, Observation

        meter = provider.get_meter("cortiauth", _native.__version__)  # type: ignore[attr-defined]
        self.requests = meter.create_counter(
            "cortiauth.token.requests",
            unit="{request}",
            description="Token acquisitions, by outcome (and OAuth error) and by who waited",
        )
        self.duration = meter.create_histogram(
            "cortiauth.token.fetch.duration",
            unit="s",
            description="How long a token acquisition took, retries included",
        )
        self.shared_hits = meter.create_counter(
            "cortiauth.shared_cache.hits",
            unit="{token}",
            description="Tokens taken from the shared cache instead of fetched",
        )
        self.store_errors = meter.create_counter(
            "cortiauth.shared_cache.errors",
            unit="{error}",
            description="Shared-cache failures (each fell back to a direct fetch)",
        )
        self.reloads = meter.create_counter(
            "cortiauth.credential.reloads",
            unit="{reload}",
            description="Client secrets reloaded (file changed, or set_client_secret)",
        )
        self.rejected = meter.create_counter(
            "cortiauth.token.rejected",
            unit="{token}",
            description="Tokens an API answered 401 to",
        )

        def time_to_expiry(_: CallbackOptions) -> list[Observation]:
            now = time.time()
            return [Observation(at - now, {"client_id": c}) for c, at in list(_EXPIRES.items())]

        def cache_hits(_: CallbackOptions) -> list[Observation]:
            totals: dict[str, int] = {}
            for m in list(_LIVE):
                cid = m.client_id
                totals[cid] = totals.get(cid, 0) + m.stats()["cache_hits"]
            return [Observation(n, {"client_id": c}) for c, n in totals.items()]

        meter.create_observable_gauge(
            "cortiauth.token.time_to_expiry",
            callbacks=[time_to_expiry],
            unit="s",
            description="Seconds until the token held now expires",
        )
        meter.create_observable_counter(
            "cortiauth.cache.hits",
            callbacks=[cache_hits],
            unit="{call}",
            # Read from stats() when collected: nothing is counted per call.
            description="Calls answered from the in-process cache",
        )

    def record(self, e: dict[str, Any]) -> None:
        name = e["event"]
        base = {"client_id": e["client_id"]}
        if name in ("token_fetched", "fetch_failed"):
            attrs = dict(base, trigger=e.get("trigger", "caller"))
            outcome = {"outcome": "success" if name == "token_fetched" else "failure"}
            if "oauth_error" in e:
                outcome["oauth_error"] = e["oauth_error"]
            elif "error_kind" in e:
                outcome["error_kind"] = e["error_kind"]
            self.requests.add(1, dict(attrs, **outcome))
            if "duration_ms" in e:
                self.duration.record(float(e["duration_ms"]) / 1000.0, attrs)
        elif name == "shared_cache_hit":
            self.shared_hits.add(1, base)
        elif name == "store_error":
            self.store_errors.add(1, dict(base, store_error=e.get("store_error", "unknown")))
        elif name == "credential_reloaded":
            self.reloads.add(1, dict(base, source=e.get("credential_source", "file")))
        elif name == "token_rejected":
            self.rejected.add(1, base)


def _meter() -> _Metrics | None:
    global _metrics
    if _metrics is None:
        try:
            from opentelemetry import metrics
        except ImportError:
            _metrics = False
        else:
            _metrics = _Metrics(metrics.get_meter_provider())
    return _metrics if isinstance(_metrics, _Metrics) else None


def _use_meter_provider(provider: object | None) -> None:
    """The instruments from ``provider`` from now on (``None``: the global
    provider again, looked up at the next event). For tests, which cannot
    replace OpenTelemetry's global provider once set."""
    global _metrics
    _metrics = None if provider is None else _Metrics(provider)


def _deliver(name: str, payload: str, summary: str, warning: bool) -> None:
    """Called by the native manager (any thread) with one event."""
    event = json.loads(payload)
    token = event.get("token")
    if name in ("token_fetched", "shared_cache_hit") and token:
        _EXPIRES[event["client_id"]] = float(token["expires_at"])
    level = logging.WARNING if warning else logging.INFO
    if logger.isEnabledFor(level):
        logger.log(level, summary, extra={"cortiauth_event": event})
    metrics = _meter()
    if metrics is not None:
        metrics.record(event)


# No event reaches an interpreter that is shutting down (the core's worker
# thread would otherwise wait for the GIL of a finalizing interpreter).
atexit.register(_native._stop_events)

"""The core's events in Python: the ``cortiauth`` logger, OpenTelemetry metrics
(an in-memory reader of opentelemetry-sdk), audit fingerprints, and the secret
rotated in place with ``set_client_secret``. Against the loopback Keycloak."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest

import cortiauth
from cortiauth import _events

from conftest import Servers


def fingerprint_by_hand(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def test_the_fingerprint_is_the_same_sha256_prefix_in_every_surface() -> None:
    # The same constant is pinned by the Rust, Node and C tests.
    assert cortiauth.fingerprint("abc") == "ba7816bf8f01cfea"
    assert cortiauth.fingerprint("Bearer abc") == "ba7816bf8f01cfea"


def points(reader: Any, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    found = []
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    found.extend(metric.data.data_points)
    return found


def total(reader: Any, name: str, **attrs: str) -> float:
    return sum(
        p.value
        for p in points(reader, name)
        if all(p.attributes.get(k) == v for k, v in attrs.items())
    )


def test_logging_and_metrics_after_three_fetches_and_one_failure(
    servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    _events._use_meter_provider(provider)
    caplog.set_level(logging.INFO, logger="cortiauth")
    client = servers.kc_corti
    try:
        m = client.manager()
        tokens = [m.get_access_token()]
        for _ in range(2):
            assert m.invalidate(tokens[-1])
            tokens.append(m.get_access_token())
        for _ in range(10):
            assert m.get_access_token() == tokens[-1]
        bad = cortiauth.TokenManager(
            client.client_id, "not-the-secret", token_url=client.token_url, max_attempts=1
        )
        with pytest.raises(cortiauth.OAuthError):
            bad.get_access_token()

        cid = {"client_id": client.client_id}
        assert total(reader, "cortiauth.token.requests", outcome="success", **cid) == 3
        assert (
            total(
                reader,
                "cortiauth.token.requests",
                outcome="failure",
                oauth_error="invalid_client",
                **cid,
            )
            == 1
        )
        durations = [
            p
            for p in points(reader, "cortiauth.token.fetch.duration")
            if p.attributes.get("client_id") == client.client_id
        ]
        assert sum(p.count for p in durations) == 4
        assert total(reader, "cortiauth.token.rejected", **cid) == 2
        assert total(reader, "cortiauth.cache.hits", **cid) >= 10
        left = [
            p.value
            for p in points(reader, "cortiauth.token.time_to_expiry")
            if p.attributes.get("client_id") == client.client_id
        ]
        assert left, "a time-to-expiry observation"
        assert 200 < left[0] <= 300, left

        records = [r for r in caplog.records if r.name == "cortiauth"]
        events = [r.cortiauth_event for r in records if hasattr(r, "cortiauth_event")]  # type: ignore[attr-defined]
        mine = [e for e in events if e["client_id"] == client.client_id]
        kinds = [e["event"] for e in mine]
        assert kinds.count("token_fetched") == 3, kinds
        assert kinds.count("fetch_failed") == 1, kinds
        assert kinds.count("token_rejected") == 2, kinds
        fetched = [e for e in mine if e["event"] == "token_fetched"]
        assert [e["token"]["fingerprint"] for e in fetched] == [
            fingerprint_by_hand(t) for t in tokens
        ]
        assert all(e["token"]["surface"] == "python" for e in fetched)
        assert all(e["token"]["jti"] for e in fetched), "Keycloak's tokens are JWTs with a jti"
        failed = next(e for e in mine if e["event"] == "fetch_failed")
        assert failed["oauth_error"] == "invalid_client"
        assert failed["http_status"] == 401
        assert (
            next(r for r in records if "fetch_failed" in r.getMessage()).levelno == logging.WARNING
        )
        # Not one record carries a token or a secret, in its message or its event.
        text = "\n".join(f"{r.getMessage()} {getattr(r, 'cortiauth_event', '')}" for r in records)
        for secret in [client.client_secret, "not-the-secret", *tokens]:
            assert secret not in text
    finally:
        _events._use_meter_provider(None)


def test_set_client_secret_changes_the_secret_the_next_request_sends(
    servers: Servers, stub: Any, caplog: pytest.LogCaptureFixture
) -> None:


    server = stub()  # answers tok-1, tok-2, …
    m = cortiauth.TokenManager("rot", "first-secret", token_url=server.token_url)
    first = m.get_access_token()
    caplog.set_level(logging.INFO, logger="cortiauth")
    m.set_client_secret("second-secret")
    assert m.get_access_token() == first, "the token in use stays"
    assert m.invalidate(first)
    assert m.get_access_token() == "tok-2"
    assert [r.form()["client_secret"] for r in server.requests] == ["first-secret", "second-secret"]
    d = m.describe()
    assert d["credential_source"] == "set_client_secret"
    assert d["client_secret"] == "[REDACTED]"
    assert "second-secret" not in repr(d)
    reloaded = [
        r.cortiauth_event  # type: ignore[attr-defined]
        for r in caplog.records
        if getattr(r, "cortiauth_event", {}).get("event") == "credential_reloaded"
    ]
    assert reloaded
    assert reloaded[0]["credential_source"] == "set_client_secret"

"""Every exception type and its attributes, from real servers where they produce
the fault, and the secret never showing up anywhere."""

from __future__ import annotations

import pickle

import pytest

from cortiauth import (
    ConfigError,
    Error,
    HTTPError,
    InvalidResponseError,
    NetworkError,
    OAuthError,
    TokenManager,
)
from cortiauth import TimeoutError as CortiTimeoutError

SECRET = "s3cr3t-Do-Not-Print-7f1c9"


def no_secret(*texts: object) -> None:
    for t in texts:
        assert SECRET not in str(t)


def check_redacted(e: Error) -> None:
    no_secret(str(e), repr(e), e.args, vars(e))


def test_hierarchy():
    for cls in (
        ConfigError,
        OAuthError,
        HTTPError,
        NetworkError,
        CortiTimeoutError,
        InvalidResponseError,
    ):
        assert issubclass(cls, Error)
        assert issubclass(cls, Exception)
        assert cls.__module__ == "cortiauth"
    assert CortiTimeoutError is not TimeoutError


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"client_id": "", "client_secret": SECRET, "environment": "eu"}, "CORTI_CLIENT_ID"),
        ({"client_id": "id", "client_secret": "", "environment": "eu"}, "CORTI_CLIENT_SECRET"),
        ({"client_id": "id", "client_secret": SECRET}, "CORTI_ENVIRONMENT"),
        (
            {"client_id": "id", "client_secret": SECRET, "token_url": "http://example.com/t"},
            "https",
        ),
        (
            {"client_id": "id", "client_secret": SECRET, "environment": "eu", "auth_method": "jwt"},
            "auth method",
        ),
        (
            {"client_id": "id", "client_secret": SECRET, "environment": "eu", "timeout": 0},
            "timeout",
        ),
        (
            {"client_id": "id", "client_secret": SECRET, "environment": "eu", "timeout": -1.5},
            "timeout",
        ),
        (
            {"client_id": "id", "client_secret": SECRET, "environment": "eu.evil.com/x"},
            "environment",
        ),
        (
            {
                "client_id": "id",
                "client_secret": SECRET,
                "environment": "eu",
                "extra_params": {"client_secret": "x"},
            },
            "client_secret",
        ),
        (
            {"client_id": "id", "client_secret": SECRET, "environment": "eu", "max_attempts": 0},
            "max_attempts",
        ),
    ],
)
def test_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match) as info:
        TokenManager(**kwargs)
    assert info.value.kind == "config"
    check_redacted(info.value)


def test_from_env_names_the_missing_variable(monkeypatch):
    for name in (
        "CORTI_CLIENT_ID",
        "CORTI_CLIENT_SECRET",
        "CORTI_ENVIRONMENT",
        "CORTI_TENANT_NAME",
        "CORTI_TOKEN_URL",
        "CORTI_SCOPES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CORTI_CLIENT_SECRET", SECRET)
    with pytest.raises(ConfigError, match="CORTI_CLIENT_ID") as info:
        TokenManager.from_env()
    check_redacted(info.value)


def test_oauth_error_for_a_wrong_secret(servers):
    m = TokenManager(servers.kc_corti.client_id, SECRET, token_url=servers.kc_token_url)
    with pytest.raises(OAuthError) as info:
        m.get_access_token()
    e = info.value
    assert e.kind == "oauth"
    # Keycloak 26 answers unauthorized_client ("Invalid client or Invalid client
    # credentials") where RFC 6749 says invalid_client.
    assert e.error in ("invalid_client", "unauthorized_client")
    assert e.status_code == 401
    assert e.error_description is None or isinstance(e.error_description, str)
    assert e.error in str(e)
    assert "HTTP 401" in str(e)
    check_redacted(e)
    no_secret(repr(m))
    stats = m.stats()
    assert stats["failures"] == 1
    assert stats["last_error_kind"] == "oauth"
    assert stats["token_requests"] == 1  # not retried: it is not transient
    # The error survives pickling with its attributes (multiprocessing sends it back).
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is OAuthError
    assert (copy.error, copy.status_code, str(copy)) == (e.error, e.status_code, str(e))


def test_oauth_error_for_a_disabled_client(servers):
    with pytest.raises(OAuthError) as info:
        servers.kc_disabled.manager().get_access_token()
    assert info.value.status_code in (400, 401)
    assert info.value.error in ("invalid_client", "unauthorized_client")


def test_oauth_error_from_tiro_for_a_wrong_secret(servers):
    c = servers.tiro_basic
    m = TokenManager(c.client_id, SECRET, token_url=c.token_url, auth_method="client_secret_basic")
    with pytest.raises(OAuthError) as info:
        m.get_access_token()
    assert info.value.error == "invalid_client"
    assert info.value.status_code in (400, 401)
    check_redacted(info.value)


def test_http_error_for_an_unknown_tenant(servers):
    url = servers.kc_token_url.replace("/realms/base/", "/realms/no-such-tenant/")
    m = TokenManager(servers.kc_corti.client_id, SECRET, token_url=url, tenant="no-such-tenant")
    with pytest.raises(HTTPError) as info:
        m.get_access_token()
    e = info.value
    assert e.kind == "http"
    assert e.status_code == 404
    assert isinstance(e.body, str)
    assert "CORTI_TENANT_NAME" in str(e)
    check_redacted(e)
    assert pickle.loads(pickle.dumps(e)).status_code == 404


def test_network_error(closed_port_url):
    m = TokenManager("id", SECRET, token_url=closed_port_url, max_attempts=2)
    with pytest.raises(NetworkError) as info:
        m.get_access_token()
    assert info.value.kind == "network"
    # The message carries the core error's causes (the socket error) on one line.
    assert "refused" in str(info.value).lower(), str(info.value)
    # ... and as the __cause__ chain (the core's Error::source), down to the socket error.
    causes = []
    cause = info.value.__cause__
    while cause is not None:
        causes.append(str(cause))
        cause = cause.__cause__
    assert causes, "the network error has a __cause__ chain"
    assert any("refused" in c.lower() for c in causes), causes
    check_redacted(info.value)
    assert m.stats()["token_requests"] == 2  # transient: retried
    # Within the failure cooldown the next caller gets the error at once.
    with pytest.raises(NetworkError):
        m.get_access_token()
    assert m.stats()["token_requests"] == 2


def test_timeout_error(black_hole):
    m = TokenManager("id", SECRET, token_url=black_hole, timeout=0.3, max_attempts=1)
    with pytest.raises(CortiTimeoutError) as info:
        m.get_access_token()
    assert info.value.kind == "timeout"
    assert isinstance(info.value, Error)
    check_redacted(info.value)


def test_invalid_response_error(stub):
    # A real authorization server does not answer 2xx without a token: a stub does.
    server = stub({"json": {"ok": 1}})
    m = TokenManager("id", SECRET, token_url=server.token_url)
    with pytest.raises(InvalidResponseError, match="access_token") as info:
        m.get_access_token()
    assert info.value.kind == "invalid_response"
    check_redacted(info.value)
    # The stub did receive the secret (that is how it authenticates); it only never shows.
    assert server.requests[0].form()["client_secret"] == SECRET


def test_an_echoed_secret_is_scrubbed_from_error_bodies(stub):
    server = stub({"echo": True, "status": 502, "headers": {"Content-Type": "text/plain"}})
    m = TokenManager("id", SECRET, token_url=server.token_url, max_attempts=1)
    with pytest.raises(HTTPError) as info:
        m.get_access_token()
    assert info.value.status_code == 502
    assert "client_id=id" in info.value.body
    check_redacted(info.value)


def test_repr_redaction(servers):
    m = servers.kc_corti.manager()
    token = m.get_token()
    value = token.access_token
    for text in (repr(m), str(m), repr(token), str(token), repr(m.stats())):
        assert servers.kc_corti.client_secret not in text
        assert value not in text
    assert "REDACTED" in repr(token)
    assert servers.kc_corti.client_id in repr(m)
    # Nothing to dig the secret out of.
    assert not hasattr(m, "__dict__")
    assert not hasattr(m, "client_secret")
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(m)
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(token)

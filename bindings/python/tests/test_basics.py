"""The everyday API against the real Keycloak and the Tiro-shaped server."""

from __future__ import annotations

import datetime
import os
import pathlib
import subprocess
import sys

import pytest

import cortiauth
from cortiauth import ConfigError, Token, TokenManager

# The README's quick start (docs/readme/python.md), run as a user would.
DOCS_EXAMPLE = "print(TokenManager.from_env().get_access_token())"

SOURCE_TREE = pathlib.Path(__file__).resolve().parents[1]


def is_jwt(token: str) -> bool:
    return token.count(".") == 2 and all(token.split("."))


def test_the_installed_wheel_is_what_is_tested():
    package = pathlib.Path(cortiauth.__file__).resolve().parent
    assert SOURCE_TREE not in package.parents, f"imported from the source tree: {package}"
    assert "site-packages" in package.parts
    # The typing files ship in the wheel.
    assert (package / "py.typed").is_file()
    assert (package / "_native.pyi").is_file()
    assert cortiauth.__version__.count(".") == 2


def test_docs_example(servers):
    readme = SOURCE_TREE.parents[1] / "docs" / "readme" / "python.md"
    if readme.is_file():
        assert DOCS_EXAMPLE in readme.read_text(), (
            "the README's quick start changed: update this test"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTI_")}
    env.update(servers.kc_corti.env())
    out = subprocess.run(
        [sys.executable, "-c", f"from cortiauth import TokenManager\n{DOCS_EXAMPLE}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = out.stdout.strip()
    assert is_jwt(token)
    assert servers.accepts(servers.kc_corti, token)


def test_token_is_cached_and_fetched_once(servers):
    m = servers.kc_corti.manager()
    first = m.get_access_token()
    assert servers.accepts(servers.kc_corti, first)
    assert not servers.accepts(servers.kc_corti, first[:-8] + "AAAAAAAA")  # the check checks
    assert all(m.get_access_token() == first for _ in range(100))
    stats = m.stats()
    assert stats["token_requests"] == 1
    assert stats["refreshes"] == 1
    assert stats["cache_hits"] >= 100
    assert stats["failures"] == 0
    assert stats["last_error_kind"] is None
    assert m.cached_access_token() == first


def test_get_token_fields(servers):
    m = servers.kc_corti.manager()
    before = datetime.datetime.now(datetime.timezone.utc)
    t = m.get_token()
    assert isinstance(t, Token)
    assert t.access_token == m.get_access_token()
    assert t.token_type.lower() == "bearer"
    assert t.scope is not None
    # expires_at: an aware datetime about 300 s from now.
    assert t.expires_at.tzinfo is not None
    assert t.expires_at.utcoffset() == datetime.timedelta(0)
    delta = (t.expires_at - before).total_seconds()
    assert 290 < delta <= 301, delta
    assert 290 < t.expires_in <= 300
    assert t.lifetime == pytest.approx(300, abs=1)
    assert t.expires_at_unix == pytest.approx(t.expires_at.timestamp())
    assert t.authorization_header() == f"Bearer {t.access_token}"


def test_headers_url_helpers_and_properties(servers):
    m = TokenManager(
        servers.kc_corti.client_id,
        servers.kc_corti.client_secret,
        environment="eu",
        tenant="base",
        token_url=servers.kc_token_url,
    )
    token = m.get_access_token()
    assert m.headers() == {"Authorization": f"Bearer {token}", "Tenant-Name": "base"}
    assert m.authorization_header() == f"Bearer {token}"
    assert m.api_base_url == "https://api.eu.corti.app/v2"
    assert m.environment == "eu"
    assert m.tenant == "base"
    assert m.client_id == servers.kc_corti.client_id
    assert m.token_url == servers.kc_token_url
    assert m.auth_method == "client_secret_post"
    assert m.timeout == 10.0  # the core's default, as in every language
    stream = "wss://api.eu.corti.app/audio-bridge/v2/interactions/abc/streams"
    assert m.websocket_url(stream) == f"{stream}?token=Bearer%20{token}"
    assert m.websocket_url(stream + "?x=1") == f"{stream}?x=1&token=Bearer%20{token}"
    # Without an environment there is no API base URL.
    assert servers.kc_corti.manager().api_base_url is None


def test_corti_urls_from_environment_and_tenant():
    m = TokenManager("id", "secret", environment="beta-eu", tenant="copiloteu")
    assert m.token_url == (
        "https://auth.beta-eu.corti.app/realms/copiloteu/protocol/openid-connect/token"
    )
    assert m.api_base_url == "https://api.beta-eu.corti.app/v2"


def test_api_url_joins_paths_in_the_core():
    m = TokenManager("id", "secret", environment="eu")
    assert m.api_url("/interactions?limit=1") == "https://api.eu.corti.app/v2/interactions?limit=1"
    assert m.api_url("interactions/1") == "https://api.eu.corti.app/v2/interactions/1"
    with pytest.raises(ConfigError):
        m.api_url("https://elsewhere.example/x")  # the token must not travel elsewhere
    with pytest.raises(ConfigError, match="base URL"):
        TokenManager("id", "secret", token_url="https://auth.example/token").api_url("/x")


def test_invalidate_drops_only_the_rejected_token(servers):
    m = servers.kc_corti.manager()
    first = m.get_access_token()
    assert m.invalidate("not-the-token") is False
    assert m.get_access_token() == first
    assert m.invalidate(first) is True
    assert m.invalidate(first) is False  # a second 401 for the same token: no second refresh
    second = m.get_access_token()
    assert second != first
    assert m.stats()["token_requests"] == 2
    # A "Bearer " prefix (an Authorization header value) is accepted too: the
    # binding passes the string on, the core strips the prefix (any case).
    assert m.invalidate(f"Bearer {second}x") is False
    assert m.invalidate(f"bearer  {second}") is True
    assert m.cached_access_token() is None


def test_scopes_as_list_or_string(servers):
    as_list = servers.kc_corti.manager(scopes=["transcribe", "streams"])
    as_str = servers.kc_corti.manager(scopes="transcribe streams")
    assert as_list.scopes == as_str.scopes == ["openid", "transcribe", "streams"]
    granted = as_str.get_token().scope
    assert granted is not None
    assert {"openid", "transcribe", "streams"} <= set(granted.split())
    plain = servers.kc_corti.manager().get_token().scope
    assert plain is not None
    assert "transcribe" not in plain.split()
    with pytest.raises(TypeError, match="scopes"):
        servers.kc_corti.manager(scopes=[1, 2])


def test_copiloteu_realm(servers):
    m = TokenManager(
        servers.kc_corti.client_id,
        servers.kc_corti.client_secret,
        tenant="copiloteu",
        token_url=servers.kc_token_url_copiloteu,
    )
    assert m.headers()["Tenant-Name"] == "copiloteu"


def test_from_env_with_overrides(servers, monkeypatch):
    for k, v in servers.kc_short.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CORTI_TENANT_NAME", "base")
    m = TokenManager.from_env()
    assert m.client_id == servers.kc_short.client_id
    assert isinstance(m, TokenManager)
    # Keyword arguments override the environment.
    o = TokenManager.from_env(
        client_id=servers.kc_corti.client_id,
        client_secret=servers.kc_corti.client_secret,
        timeout=5,
    )
    assert o.client_id == servers.kc_corti.client_id
    assert o.timeout == 5.0
    assert o.get_token().lifetime == pytest.approx(300, abs=1)


def test_tiro_client_secret_basic(servers):
    m = servers.tiro_basic.manager(auth_method="client_secret_basic")
    t = m.get_token()
    assert t.access_token
    assert 3500 < t.expires_in <= 3600
    assert m.get_access_token() == t.access_token
    assert m.stats()["token_requests"] == 1


def test_tiro_client_secret_post(servers):
    m = servers.tiro_post.manager()
    assert m.auth_method == "client_secret_post"
    assert m.get_access_token()


def test_extra_params_and_ca_cert_are_accepted(servers):
    m = servers.kc_corti.manager(extra_params={"audience": servers.kc_corti.client_id})
    assert m.get_access_token()
    with pytest.raises(cortiauth.ConfigError, match="CA certificate"):
        servers.kc_corti.manager(ca_certificates_pem="not a certificate")


def test_manager_can_be_weakly_referenced_but_not_copied(servers):
    import copy
    import weakref

    m = servers.kc_corti.manager()
    assert weakref.ref(m)() is m
    with pytest.raises(TypeError, match="pickle"):
        copy.copy(m)

"""RFC 7523 client authentication against the loopback Keycloak:
client_secret_jwt, and private_key_jwt with the RSA and EC keys that
tests/servers/keycloak.sh made for this run."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib

import pytest

import cortiauth
from cortiauth import ConfigError, TokenManager

from conftest import Servers, _env


def claims(jwt: str) -> dict[str, object]:
    import base64

    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_client_secret_jwt(servers: Servers) -> None:
    m = TokenManager(
        _env("CORTIAUTH_KC_JWT_SECRET_CLIENT_ID"),
        _env("CORTIAUTH_KC_JWT_SECRET_CLIENT_SECRET"),
        token_url=servers.kc_token_url,
        auth_method="client_secret_jwt",
    )
    assert claims(m.get_access_token())["azp"] == "cortiauth-jwt-secret"
    assert m.auth_method == "client_secret_jwt"


@pytest.mark.parametrize(
    ("client", "key", "kind"),
    [
        ("CORTIAUTH_KC_JWT_RSA_CLIENT_ID", "CORTIAUTH_KC_JWT_RSA_KEY_FILE", "RSA 2048"),
        ("CORTIAUTH_KC_JWT_EC_CLIENT_ID", "CORTIAUTH_KC_JWT_EC_KEY_FILE", "EC P-256"),
    ],
)
def test_private_key_jwt(servers: Servers, client: str, key: str, kind: str) -> None:
    m = TokenManager(
        client_id=_env(client),
        token_url=servers.kc_token_url,
        auth_method="private_key_jwt",
        private_key_file=_env(key),
    )
    token = m.get_access_token()
    assert claims(token)["azp"] == _env(client)
    # The async path goes through the same core.
    m.invalidate(token)
    assert asyncio.run(m.get_access_token_async()) != token
    d = m.describe()
    assert d["auth_method"] == "private_key_jwt"
    assert d["private_key"]["type"] == kind
    assert d["private_key"]["fingerprint"].startswith("sha256:")
    pem = pathlib.Path(_env(key)).read_text().splitlines()[1]
    assert pem not in repr(m)
    assert pem not in json.dumps(d)


def test_private_key_jwt_from_the_environment(servers: Servers, monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("CORTI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CORTI_CLIENT_ID", _env("CORTIAUTH_KC_JWT_EC_CLIENT_ID"))
    monkeypatch.setenv("CORTI_TOKEN_URL", servers.kc_token_url)
    monkeypatch.setenv("CORTI_AUTH_METHOD", "private_key_jwt")
    monkeypatch.setenv("CORTI_PRIVATE_KEY_FILE", _env("CORTIAUTH_KC_JWT_EC_KEY_FILE"))
    m = TokenManager.from_env()
    assert claims(m.get_access_token())["azp"] == _env("CORTIAUTH_KC_JWT_EC_CLIENT_ID")


def test_local_mistakes_are_config_errors_naming_the_setting(servers: Servers, tmp_path) -> None:
    ec = _env("CORTIAUTH_KC_JWT_EC_KEY_FILE")
    with pytest.raises(ConfigError, match="signing_alg"):
        TokenManager(
            client_id="c",
            token_url=servers.kc_token_url,
            auth_method="private_key_jwt",
            private_key_file=ec,
            signing_alg="RS256",
        )
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="private_key_file") as e:
        TokenManager(
            client_id="c",
            token_url=servers.kc_token_url,
            auth_method="private_key_jwt",
            private_key_file=str(junk),
        )
    assert "AAAA" not in str(e.value)
    with pytest.raises(ConfigError, match="private_key_file"):
        TokenManager(client_id="c", token_url=servers.kc_token_url, auth_method="private_key_jwt")
    # The server refuses a key it does not know: invalid_client.
    m = TokenManager(
        client_id=_env("CORTIAUTH_KC_JWT_RSA_CLIENT_ID"),
        token_url=servers.kc_token_url,
        auth_method="private_key_jwt",
        private_key_file=ec,
        max_attempts=1,
    )
    with pytest.raises(cortiauth.OAuthError) as refused:
        m.get_access_token()
    assert refused.value.error == "invalid_client"


def test_tls_client_auth_binds_the_token_to_the_certificate(servers: Servers) -> None:
    import base64
    import hashlib
    import ssl

    cert = _env("CORTIAUTH_KC_MTLS_CERT_FILE")
    m = TokenManager(
        client_id=_env("CORTIAUTH_KC_MTLS_CLIENT_ID"),
        token_url=_env("CORTIAUTH_KC_HTTPS_TOKEN_URL_BASE"),
        auth_method="tls_client_auth",
        client_certificate_file=cert,
        client_key_file=_env("CORTIAUTH_KC_MTLS_KEY_FILE"),
        ca_certificates_pem=pathlib.Path(_env("CORTIAUTH_KC_CA_FILE")).read_bytes(),
    )
    der = ssl.PEM_cert_to_DER_cert(pathlib.Path(cert).read_text())
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    c = claims(m.get_access_token())
    assert c["cnf"] == {"x5t#S256": thumbprint}
    assert m.describe()["client_certificate"] == {"x5t#S256": thumbprint}

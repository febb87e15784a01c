"""The keyword arguments map one by one onto the core's settings: describe() shows
the core's effective settings, the defaults and rules are the core's (the issue-10
drifts: 10 s timeout, an extra parameter set twice sends its last value, no failure
cooldown with retries off, absurd durations refused at construction)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time
import urllib.parse

import pytest

import cortiauth
from cortiauth import ConfigError, NetworkError, SettingError, TokenManager

ROOT = pathlib.Path(__file__).resolve().parents[3]
BASE = {"client_id": "id", "client_secret": "s3cr3t-settings", "environment": "eu"}


def describe(**kwargs: object) -> dict[str, object]:
    shown = TokenManager(**{**BASE, **kwargs}).describe()
    # The settings only: not the moment this manager loaded its secret.
    shown.pop("credential_loaded_at_ms")
    return shown


def test_describe_is_the_cores_json_unchanged():
    m = TokenManager(**BASE)
    text = m._describe_json()
    shown = m.describe()
    # The manager adds when and where its credential was loaded; the rest is the core's.
    assert shown.pop("credential_source") == "settings"
    assert abs(shown.pop("credential_loaded_at_ms") / 1000 - time.time()) < 60
    assert shown == json.loads(text)
    assert json.dumps(shown, separators=(",", ":"), sort_keys=True) == text
    assert "s3cr3t-settings" not in text
    d = m.describe()
    assert d["client_secret"] == "[REDACTED]"
    assert d["user_agent"] == f"cortiauth/{cortiauth._native.CORE_VERSION} (python)"
    assert d["api_base_url"] == "https://api.eu.corti.app/v2"


def test_defaults_are_the_cores():
    d = describe()
    assert d["timeout_ms"] == 10_000  # was 30 s in Python only
    assert TokenManager(**BASE).timeout == 10.0
    assert d["max_attempts"] == 4
    assert d["failure_cooldown_ms"] == 1_000
    assert d["retry_deadline_ms"] == 30_000
    assert d["tenant"] == "base"
    assert d["scopes"] == ["openid"]


# Each keyword (durations in seconds) and the describe() key it must set.
MAPPING = [
    ("tenant", "copiloteu", "tenant", "copiloteu"),
    ("scopes", "transcribe streams", "scopes", ["openid", "transcribe", "streams"]),
    ("scopes", ["transcribe"], "scopes", ["openid", "transcribe"]),
    ("token_url", "https://auth.example.test/t", "token_url", "https://auth.example.test/t"),
    ("api_base_url", "https://api.example.test/v2/", "api_base_url", "https://api.example.test/v2"),
    ("auth_method", "client_secret_basic", "auth_method", "client_secret_basic"),
    ("extra_params", {"audience": "a"}, "extra_params", [["audience", "a"]]),
    ("timeout", 2.5, "timeout_ms", 2_500),
    ("max_attempts", 6, "max_attempts", 6),
    ("initial_backoff", 0.25, "initial_backoff_ms", 250),
    ("max_backoff", 2, "max_backoff_ms", 2_000),
    ("retry_deadline", 12, "retry_deadline_ms", 12_000),
    ("failure_cooldown", 3, "failure_cooldown_ms", 3_000),
    ("refresh_margin", 30, "refresh_margin_ms", 30_000),
    ("refresh_margin_fraction", 0.1, "refresh_margin_fraction", 0.1),
    ("expiry_skew", 5, "expiry_skew_ms", 5_000),
    ("default_lifetime", 3600, "default_lifetime_ms", 3_600_000),
    ("background_refresh", True, "background_refresh", True),
    ("shared_cache", "redis://:pw@127.0.0.1:6379/0", "shared_cache", None),
]


@pytest.mark.parametrize(("kwarg", "value", "key", "expected"), MAPPING)
def test_each_keyword_sets_its_setting(kwarg, value, key, expected):
    d = describe(**{kwarg: value})
    if kwarg == "shared_cache":  # the password is redacted
        assert "pw" not in d[key]
        assert "REDACTED" in d[key]
    else:
        assert d[key] == expected
    assert describe()[key] != d[key]


def test_ca_certificates_pem_and_client_secret_file(tmp_path):
    pem = (ROOT / "tests" / "parity" / "ca.pem").read_text()
    assert describe(ca_certificates_pem=pem)["ca_certificates"] == 1
    assert describe(ca_certificates_pem=[pem, pem.encode()])["ca_certificates"] == 2
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    m = TokenManager("id", client_secret_file=secret_file, environment="eu")
    assert m.describe()["client_secret_file"] == str(secret_file)
    # Both at once: the core refuses (one of them would be ignored silently).
    with pytest.raises(ConfigError, match="both"):
        TokenManager("id", "secret", client_secret_file=str(secret_file), environment="eu")


def test_old_names_still_work_and_warn():
    pem = (ROOT / "tests" / "parity" / "ca.pem").read_text()
    said = '"ca_cert_pem" is deprecated: use "ca_certificates_pem"'
    with pytest.warns(DeprecationWarning, match=said):
        old = describe(ca_cert_pem=[pem, pem.encode()])
    assert old == describe(ca_certificates_pem=[pem, pem.encode()])


def test_positional_arguments_keep_their_order():
    m = TokenManager("id", "secret", "us", "copiloteu", ["streams"], None, "basic", 3.0)
    d = m.describe()
    assert (d["environment"], d["tenant"]) == ("us", "copiloteu")
    assert d["scopes"] == ["openid", "streams"]
    assert (d["auth_method"], d["timeout_ms"]) == ("client_secret_basic", 3_000)
    with pytest.raises(TypeError, match="multiple values for argument 'client_id'"):
        TokenManager("id", client_id="other", environment="eu")
    with pytest.raises(TypeError, match="at most 8 positional"):
        TokenManager("id", "s", "eu", "base", None, None, None, 3.0, "extra")
    # An unknown name: a SettingError (also a ConfigError and a TypeError) naming
    # the closest Python name.
    unknown = r'unknown setting "timeout_ms" \(did you mean "timeout"\?\)'
    with pytest.raises(SettingError, match=unknown):
        TokenManager(**BASE, timeout_ms=3000)
    with pytest.raises(TypeError, match=r'did you mean "refresh_margin"'):
        TokenManager(**BASE, refresh_margn=3)
    with pytest.raises(TypeError, match="timeout must be a number"):
        TokenManager(**BASE, timeout="3")


def test_extra_param_set_twice_sends_the_last_value(stub):
    server = stub()
    m = TokenManager(
        "id",
        "secret",
        token_url=server.token_url,
        extra_params=[("audience", "first"), ("resource", "r"), ("audience", "second")],
    )
    assert m.describe()["extra_params"] == [["audience", "second"], ["resource", "r"]]
    m.get_access_token()
    form = urllib.parse.parse_qsl(server.requests[0].body.decode())
    assert [v for k, v in form if k == "audience"] == ["second"]
    assert [v for k, v in form if k == "resource"] == ["r"]


def test_failure_cooldown_is_the_cores_rule(closed_port_url):
    # Retries off: no cooldown unless asked for, so each call tries again.
    m = TokenManager("id", "secret", token_url=closed_port_url, max_attempts=1)
    assert m.describe()["failure_cooldown_ms"] == 0
    for _ in range(2):
        with pytest.raises(NetworkError):
            m.get_access_token()
    assert m.stats()["token_requests"] == 2
    # Asked for explicitly, it applies: the second caller gets the error at once.
    m = TokenManager(
        "id", "secret", token_url=closed_port_url, max_attempts=1, failure_cooldown=30
    )
    assert m.describe()["failure_cooldown_ms"] == 30_000
    for _ in range(2):
        with pytest.raises(NetworkError):
            m.get_access_token()
    assert m.stats()["token_requests"] == 1


@pytest.mark.parametrize(
    ("kwarg", "value"),
    [
        ("retry_deadline", 1e19),  # converts, then out of the core's range
        ("retry_deadline", 1e300),  # not a duration at all
        ("timeout", float("nan")),
        ("timeout", float("inf")),
        ("initial_backoff", -1),
        ("default_lifetime", 0),
        ("refresh_margin_fraction", 1.5),
        ("max_attempts", 101),
        ("max_attempts", -1),
    ],
)
def test_absurd_values_are_config_errors_at_construction(kwarg, value):
    with pytest.raises(ConfigError, match=kwarg):
        TokenManager(**BASE, **{kwarg: value})


def test_from_env_starts_from_the_cores_environment_reading(monkeypatch, tmp_path):
    for name in ("CORTI_CLIENT_SECRET", "CORTI_TOKEN_URL", "CORTI_SCOPES"):
        monkeypatch.delenv(name, raising=False)
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-env-file\n")
    monkeypatch.setenv("CORTI_CLIENT_ID", "env-id")
    monkeypatch.setenv("CORTI_CLIENT_SECRET_FILE", str(secret_file))
    monkeypatch.setenv("CORTI_ENVIRONMENT", "us")
    monkeypatch.setenv("CORTI_TENANT_NAME", "envtenant")
    monkeypatch.setenv("CORTIAUTH_SHARED_CACHE", "file:///tmp/cortiauth-cache")
    d = TokenManager.from_env().describe()
    assert (d["client_id"], d["environment"], d["tenant"]) == ("env-id", "us", "envtenant")
    assert d["client_secret_file"] == str(secret_file)
    assert d["shared_cache"] == "file:///tmp/cortiauth-cache"
    # A keyword overrides its variable; a secret replaces the variable's secret file.
    d = TokenManager.from_env(client_secret="kw-secret", tenant="kw", timeout=None).describe()
    assert (d["tenant"], d["client_secret_file"], d["timeout_ms"]) == ("kw", None, 10_000)


def test_parity_runner_prints_the_cores_string_for_every_case():
    """tests/parity/run_python.py, as test.sh runs it for tests/parity/run.sh."""
    cases = json.loads((ROOT / "tests" / "parity" / "cases.json").read_text())
    out = subprocess.run(
        [sys.executable, "tests/parity/run_python.py", "tests/parity/cases.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert [line.split("\t")[0] for line in out] == [c["name"] for c in cases]
    for line in out:
        described = json.loads(line.split("\t", 1)[1])
        assert described["user_agent"].endswith("(python)")
        assert "parity-secret" not in line

"""Fixtures: the real loopback servers (from tests/servers/with-servers.sh), and
the scriptable stub token server (tests/stub) for what a real authorization server
will not do on demand (hang, answer 2xx garbage) and for the protected API the
adapters call."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from cortiauth import TokenManager

# ---------------------------------------------------------------------------
# The real servers


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    token_url: str

    def manager(self, **kwargs: Any) -> TokenManager:
        return TokenManager(self.client_id, self.client_secret, token_url=self.token_url, **kwargs)

    def env(self) -> dict[str, str]:
        """The CORTI_* variables that describe this client."""
        return {
            "CORTI_CLIENT_ID": self.client_id,
            "CORTI_CLIENT_SECRET": self.client_secret,
            "CORTI_TOKEN_URL": self.token_url,
        }


@dataclass(frozen=True)
class Servers:
    keycloak_url: str
    kc_token_url: str
    kc_token_url_copiloteu: str
    kc_short: Client  # 10 s tokens
    kc_corti: Client  # 300 s tokens
    kc_disabled: Client
    tiro_basic: Client  # client_secret_basic, 3600 s
    tiro_post: Client  # client_secret_post

    def accepts(self, client: Client, token: str) -> bool:
        """Whether Keycloak accepts `token` as a valid token of `client`."""
        return accepts(client, token)


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: run the suite through bindings/python/test.sh inside "
            "tests/servers/with-servers.sh (scripts/test.sh does)",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def servers() -> Servers:
    kc = _env("CORTIAUTH_KC_TOKEN_URL_BASE")
    tiro = _env("CORTIAUTH_TIRO_TOKEN_URL")
    return Servers(
        keycloak_url=_env("CORTIAUTH_KEYCLOAK_URL").rstrip("/"),
        kc_token_url=kc,
        kc_token_url_copiloteu=_env("CORTIAUTH_KC_TOKEN_URL_COPILOTEU"),
        kc_short=Client(_env("CORTIAUTH_KC_CLIENT_ID"), _env("CORTIAUTH_KC_CLIENT_SECRET"), kc),
        kc_corti=Client(
            _env("CORTIAUTH_KC_CORTI_CLIENT_ID"), _env("CORTIAUTH_KC_CORTI_CLIENT_SECRET"), kc
        ),
        kc_disabled=Client(
            _env("CORTIAUTH_KC_DISABLED_CLIENT_ID"), _env("CORTIAUTH_KC_DISABLED_CLIENT_SECRET"), kc
        ),
        tiro_basic=Client(
            _env("CORTIAUTH_TIRO_CLIENT_ID"), _env("CORTIAUTH_TIRO_CLIENT_SECRET"), tiro
        ),
        tiro_post=Client(
            _env("CORTIAUTH_TIRO_POST_CLIENT_ID"), _env("CORTIAUTH_TIRO_POST_CLIENT_SECRET"), tiro
        ),
    )


def accepts(client: Client, token: str) -> bool:
    """Asks Keycloak's userinfo endpoint, which checks the token's signature and
    expiry: a valid token of `client` belongs to its service account. (Token
    introspection answers inactive for Keycloak's session-less client-credentials
    tokens, so it cannot be used here.)"""
    url = client.token_url.rsplit("/", 1)[0] + "/userinfo"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            info = json.load(resp)
    except urllib.error.HTTPError as e:
        if e.code == 401:
            return False
        raise
    return bool(info.get("preferred_username") == f"service-account-{client.client_id}")


# ---------------------------------------------------------------------------
# The scriptable stub token server (tests/stub, CORTIAUTH_STUB_URL): for the
# faults a real authorization server will not produce on demand, and for the
# protected API the adapters call.


def _control(method: str, url: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


class Scenario:
    """One scenario of the stub: its own loopback port answering by its steps
    (tests/stub/README.md), with a log of what it received."""

    def __init__(self, control: str, steps: list[dict[str, Any]], **options: Any) -> None:
        status, body = _control("POST", f"{control}/scenarios", {"steps": steps, **options})
        assert status == 201, body
        self._at = f"{control}/scenarios/{body['id']}"
        self.url: str = body["url"]
        self.token_url: str = body["token_url"]

    def state(self) -> dict[str, Any]:
        status, body = _control("GET", self._at)
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    @property
    def requests(self) -> list[Request]:
        """What the scenario received so far, in order."""
        return [
            Request(r["method"], r["target"], r["headers"], r["body"].encode())
            for r in self.state()["log"]
        ]

    def wait(self, timeout: float = 10, **at_least: int) -> bool:
        """Waits until each counter (`requests`, `answered`, `abandoned`) reaches its value."""
        query = "&".join(f"{k}={v}" for k, v in at_least.items())
        status, _ = _control(
            "GET", f"{self._at}/wait?{query}&timeout_ms={int(timeout * 1000)}", timeout=timeout + 10
        )
        return status == 200

    def release(self) -> None:
        """Lets every held request (and every later one) answer."""
        assert _control("POST", f"{self._at}/release")[0] == 204

    def set_steps(self, *steps: dict[str, Any]) -> None:
        assert _control("PUT", f"{self._at}/steps", {"steps": list(steps)})[0] == 204

    def close(self) -> None:
        _control("DELETE", self._at)


@pytest.fixture
def stub():
    """Starts stub scenarios: `stub(step, step, ...)`; stops them after the test."""
    control = _env("CORTIAUTH_STUB_URL")
    started: list[Scenario] = []

    def start(*steps: dict[str, Any], **options: Any) -> Scenario:
        s = Scenario(control, list(steps), **options)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))


def token_step(access_token: str, expires_in: int = 300, **more: Any) -> dict[str, Any]:
    """A stub step answering a token."""
    return {"access_token": access_token, "expires_in": expires_in, **more}


@pytest.fixture
def black_hole():
    """A loopback port that accepts connections (kernel backlog) and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield f"http://127.0.0.1:{s.getsockname()[1]}/token"
    s.close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/token"


class ProtectedApi:
    """A small API (a stub scenario) that accepts only valid Keycloak tokens
    (checked by Keycloak's userinfo endpoint) with the right Tenant-Name, and
    answers 401 to tokens in `revoked` (or to all with `reject_all()`)."""

    def __init__(self, client: Client, tenant: str, stub: Any) -> None:
        self._check = {
            "userinfo": client.token_url.rsplit("/", 1)[0] + "/userinfo",
            "tenant": tenant,
        }
        self.scenario: Scenario = stub({"api": self._check})
        self._skip = 0

    def forget(self) -> None:
        """Counts only the requests from now on in `seen_tokens` and `bodies`."""
        self._skip = len(self.scenario.requests)

    def revoke(self, *tokens: str) -> None:
        self._check["revoked"] = [*self._check.get("revoked", []), *tokens]
        self.scenario.set_steps({"api": self._check})

    def reject_all(self) -> None:
        self._check["reject_all"] = True
        self.scenario.set_steps({"api": self._check})

    @property
    def seen_tokens(self) -> list[str]:
        auth = [r.header("authorization") or "" for r in self.scenario.requests[self._skip :]]
        return [a[len("Bearer ") :] if a.startswith("Bearer ") else "" for a in auth]

    @property
    def bodies(self) -> list[bytes]:
        return [r.body for r in self.scenario.requests[self._skip :]]

    @property
    def url(self) -> str:
        return self.scenario.url + "/v2/interactions"


@pytest.fixture
def protected_api(servers: Servers, stub: Any) -> ProtectedApi:
    return ProtectedApi(servers.kc_corti, "base", stub)

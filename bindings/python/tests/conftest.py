"""Fixtures: the real loopback servers (from tests/servers/with-servers.sh), and
small in-process HTTP servers for what a real authorization server will not do
on demand (hang, answer 2xx garbage) and for the protected API the adapters call."""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

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
# In-process HTTP servers


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 running `handle(request) -> (status, headers, body)`."""

    def __init__(self, handle: Callable[[Request], tuple[int, dict[str, str], bytes]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, dict(self.headers.items()), body)
                outer.requests.append(req)
                status, headers, payload = handle(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _read_chunked(self) -> bytes:
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    chunk = self.rfile.read(size + 2)[:size]  # the chunk and its CRLF
                    if size == 0:
                        return body
                    body += chunk

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.requests: list[Request] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))


@pytest.fixture
def http_server():
    """Starts in-process HTTP servers; closes them after the test."""
    started: list[_Server] = []

    def start(handle: Callable[[Request], tuple[int, dict[str, str], bytes]]) -> _Server:
        s = _Server(handle)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def token_json(access_token: str, expires_in: int = 300) -> tuple[int, dict[str, str], bytes]:
    body = {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


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


@dataclass
class ProtectedApi:
    """A small API that accepts only valid Keycloak tokens (checked by Keycloak)
    with the right Tenant-Name, and answers 401 to tokens in `revoked`."""

    client: Client
    tenant: str
    server: Optional[_Server] = None
    revoked: set[str] = field(default_factory=set)
    reject_all: bool = False
    seen_tokens: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        auth = req.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        self.seen_tokens.append(token)
        self.bodies.append(req.body)
        unauthorized = (401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, b"")
        if self.reject_all or not token or token in self.revoked:
            return unauthorized
        if req.headers.get("Tenant-Name") != self.tenant:
            return 403, {}, b"wrong tenant"
        if not accepts(self.client, token):
            return unauthorized
        return 200, {"Content-Type": "application/json"}, json.dumps({"ok": True}).encode()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url + "/v2/interactions"


@pytest.fixture
def protected_api(servers: Servers, http_server) -> ProtectedApi:
    api = ProtectedApi(client=servers.kc_corti, tenant="base")
    api.server = http_server(api.handle)
    return api

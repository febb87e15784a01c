"""The shared token cache across real processes: 12 spawned Python
processes, each with its own manager on the same Redis, send one token request
in total, and one more for the whole fleet after the token's refresh point.

Needs CORTIAUTH_REDIS_URL (tests/servers/with-servers.sh exports it); with
CORTIAUTH_REQUIRE_REDIS=1 (scripts/test-suites.sh) a missing Redis fails instead
of skipping."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from cortiauth import OAuthError, TokenManager

import _workers


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = os.environ.get("CORTIAUTH_REDIS_URL")
    if not url:
        if os.environ.get("CORTIAUTH_REQUIRE_REDIS") == "1":
            pytest.fail(
                "CORTIAUTH_REQUIRE_REDIS=1 but CORTIAUTH_REDIS_URL is not set", pytrace=False
            )
        pytest.skip("CORTIAUTH_REDIS_URL is not set (run under tests/servers/with-servers.sh)")
    return url


def redis_command(url: str, *args: str) -> Any:
    """One command to Redis over a plain socket (RESP), authenticated from the URL."""
    u = urllib.parse.urlparse(url)
    with socket.create_connection((u.hostname, u.port or 6379), timeout=5) as s:
        f = s.makefile("rwb")

        def send(*parts: str) -> Any:
            out = b"*%d\r\n" % len(parts)
            for p in parts:
                b = p.encode()
                out += b"$%d\r\n%s\r\n" % (len(b), b)
            f.write(out)
            f.flush()
            return read()

        def read() -> Any:
            line = f.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind in (b"+", b":"):
                return rest
            if kind == b"-":
                raise RuntimeError(rest.decode())
            if kind == b"$":
                n = int(rest)
                if n < 0:
                    return None
                data = f.read(n + 2)[:-2]
                return data
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            raise RuntimeError(f"unexpected reply {line!r}")

        if u.password:
            send("AUTH", urllib.parse.unquote(u.password))
        return send(*args)


def redis_values(url: str) -> list[bytes]:
    """Every key and value in the database (SCAN + GET)."""
    out: list[bytes] = []
    cursor = "0"
    while True:
        cursor_b, keys = redis_command(url, "SCAN", cursor, "COUNT", "1000")
        for k in keys:
            out.append(k)
            v = redis_command(url, "GET", k.decode())
            if v is not None:
                out.append(v)
        cursor = cursor_b.decode()
        if cursor == "0":
            return out


def test_a_fleet_of_12_processes_sends_one_token_request_per_lifetime(servers, redis_url):
    c = servers.kc_short  # 10 s tokens: refreshed from 8 s (the shared cache's point: 7 s)
    options = {
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "token_url": c.token_url,
        # A store timeout that a loaded 2-core machine meets: this test is about sharing.
        "shared_cache": f"{redis_url}?timeout_ms=5000",
        # A fresh slot for this run: an extra parameter is part of the key.
        "extra_params": {"fleet_run": f"{os.getpid()}-{time.time_ns()}"},
    }
    n = 12
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    phase2 = ctx.Event()
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_workers.fleet_member, args=(options, barrier, phase2, queue))
        for _ in range(n)
    ]
    for p in procs:
        p.start()
    try:
        first = [queue.get(timeout=120) for _ in range(n)]
        assert all("error" not in r for r in first), first
        tokens = {r["token"] for r in first}
        assert len(tokens) == 1, "every process got the same token"
        assert sum(r["stats"]["token_requests"] for r in first) == 1, [r["stats"] for r in first]
        assert sum(r["stats"]["store_hits"] for r in first) == n - 1
        assert sum(r["stats"]["store_errors"] for r in first) == 0
        assert servers.accepts(c, tokens.pop())
        # Past the refresh point (8 s of 10), before the usable end (9.5 s).
        fetched_at = min(r["at"] for r in first)
        time.sleep(max(0.0, fetched_at + 8.2 - time.time()))
        phase2.set()
        second = [queue.get(timeout=60) for _ in range(n)]
        assert all("error" not in r for r in second), second
        assert len({r["token"] for r in second}) == 1, "every process got the same new token"
        assert second[0]["token"] not in {r["token"] for r in first}
        total = sum(r["stats"]["token_requests"] for r in second)
        assert total == 2, [r["stats"] for r in second]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * n


def test_a_wrong_secret_gets_invalid_client_not_the_shared_token(servers, redis_url):
    c = servers.kc_corti
    store = f"{redis_url}?timeout_ms=5000"
    right = TokenManager(c.client_id, c.client_secret, token_url=c.token_url, shared_cache=store)
    token = right.get_access_token()
    wrong = TokenManager(c.client_id, "not-the-secret", token_url=c.token_url, shared_cache=store)
    with pytest.raises(OAuthError) as e:
        wrong.get_access_token()
    assert e.value.error == "invalid_client"
    assert wrong.stats()["store_hits"] == 0
    again = TokenManager(c.client_id, c.client_secret, token_url=c.token_url, shared_cache=store)
    assert again.get_access_token() == token
    assert again.stats()["token_requests"] == 0
    assert again.stats()["store_hits"] == 1


def test_nothing_in_redis_or_the_cache_dir_is_in_clear(servers, redis_url, tmp_path):
    c = servers.kc_corti
    file_store = f"file://{tmp_path / 'tokens'}"
    tokens = []
    for store in (f"{redis_url}?timeout_ms=5000", file_store):
        m = TokenManager(c.client_id, c.client_secret, token_url=c.token_url, shared_cache=store)
        tokens.append(m.get_access_token())
    items = redis_values(redis_url)
    for path in (tmp_path / "tokens").iterdir():
        items.append(path.name.encode())
        items.append(path.read_bytes())
    assert items
    needles = [*tokens, c.client_secret, c.client_id]
    # A JWT's parts, too: no piece of the token's payload is stored in clear.
    needles += [part for t in tokens for part in t.split(".") if len(part) > 16]
    for item in items:
        for needle in needles:
            assert needle.encode() not in item, "a token or secret is stored in clear"


def test_a_holder_killed_while_holding_the_lock_delays_the_others_at_most_the_lock_ttl(
    redis_url, stub
):
    # The holder's request is held (it is killed meanwhile); the next ones answer.
    server = stub({"hold": True}, {})
    options = {
        "client_id": "fleet-client",
        "client_secret": "fleet-secret-9dPq2LxW",
        "token_url": f"{server.url}/token",
        "shared_cache": f"{redis_url}?timeout_ms=5000",
        # The fleet lock's TTL with one attempt: two requests of 1 s (the
        # refresh-token grant, then client credentials) + 1 s = 3 s.
        "timeout": 1.0,
        "max_attempts": 1,
    }
    holder = multiprocessing.get_context("spawn").Process(
        target=_workers.hanging_holder, args=(options,)
    )
    holder.start()
    try:
        assert server.wait(requests=1, timeout=30), "the holder sent its request"
        holder.kill()
        holder.join(10)
        t0 = time.monotonic()
        token = TokenManager(**options).get_access_token()
        took = time.monotonic() - t0
    finally:
        server.release()
        if holder.is_alive():
            holder.kill()
    assert token == "tok-2"
    assert took < 4.5, took


REDIS_SH = Path(__file__).resolve().parents[3] / "tests" / "servers" / "redis.sh"


def test_redis_stopped_mid_run_then_back(redis_url, stub, tmp_path):
    server = stub()  # answers tok-1, tok-2, …

    def redis(action: str) -> None:
        subprocess.run(
            ["bash", str(REDIS_SH), action, str(tmp_path)], check=True, stdout=subprocess.DEVNULL
        )

    redis("start")  # a private server: stopping it disturbs no other test
    try:
        store = (tmp_path / "redis.url").read_text().strip()  # the default 50 ms timeout

        def manager() -> TokenManager:
            return TokenManager(
                "fleet-client", "fleet-secret-9dPq2LxW", token_url=f"{server.url}/token",
                shared_cache=store,
            )

        shared = manager().get_access_token()
        redis("stop")
        for _ in range(3):
            m = manager()
            t0 = time.monotonic()
            token = m.get_access_token()
            assert time.monotonic() - t0 < 1.0
            assert token != shared
            s = m.stats()
            assert s["store_errors"] >= 1, s
            assert s["token_requests"] == 1, s
            assert s["store_last_error"] in ("unavailable", "timeout"), s
        redis("start")
        b = manager()
        tb = b.get_access_token()
        c = manager()
        assert c.get_access_token() == tb
        assert c.stats()["store_hits"] == 1
        assert c.stats()["token_requests"] == 0
    finally:
        redis("stop")

"""Cached-token cost from Python: cortiauth's get_access_token() against authlib's
OAuth2Session client-credentials token reuse, in the same run, on Keycloak's 300 s
client (CORTIAUTH_KC_CORTI_CLIENT_ID / _SECRET, CORTIAUTH_KC_TOKEN_URL_BASE).

Run it with bench/run.sh (inside tests/servers/with-servers.sh). Prints ns per call:
the best of several rounds, loop overhead included (what a caller pays), and the
same with the bare loop's cost subtracted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import threading
import time
from typing import Callable

import cortiauth
from cortiauth import TokenManager


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: run bench/run.sh inside tests/servers/with-servers.sh")
    return value


def per_call_ns(fn: Callable[[], object], n: int, rounds: int) -> list[float]:
    """ns per call of `fn` in a tight loop, for each round."""
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        out.append((time.perf_counter_ns() - t0) / n)
    return out


def loop_ns(n: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            pass
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def report(name: str, samples: list[float], loop: float) -> None:
    best, median = min(samples), statistics.median(samples)
    print(
        f"{name:<56} {best:8.1f} ns/call (median {median:7.1f}, "
        f"minus loop {best - loop:7.1f})  {1e9 / best:>12,.0f} calls/s"
    )


def threaded_ns(fn: Callable[[], object], threads: int, n: int) -> float:
    """Wall-clock ns per call with `threads` Python threads calling `fn` n times each."""
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(n):
            fn()

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter_ns()
    for t in ts:
        t.join()
    return (time.perf_counter_ns() - t0) / (threads * n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=1_000_000, help="calls per round")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    n, rounds = args.n, args.rounds

    client_id = env("CORTIAUTH_KC_CORTI_CLIENT_ID")
    secret = env("CORTIAUTH_KC_CORTI_CLIENT_SECRET")
    token_url = env("CORTIAUTH_KC_TOKEN_URL_BASE")

    print(
        f"cortiauth {cortiauth.__version__} | Python {platform.python_version()} "
        f"({platform.python_implementation()}) | {platform.machine()} | {os.cpu_count()} CPUs"
    )
    print(f"{n:,} calls per round, best of {rounds} rounds, Keycloak 300 s client\n")
    loop = loop_ns(n, rounds)
    print(f"{'(bare for-loop, for reference)':<56} {loop:8.1f} ns/iteration\n")

    # cortiauth
    m = TokenManager(client_id, secret, token_url=token_url)
    token = m.get_access_token()
    assert m.get_access_token() is token  # the cached path hands out the same str
    get = m.get_access_token
    report("cortiauth  TokenManager.get_access_token()", per_call_ns(get, n, rounds), loop)
    report("cortiauth  TokenManager.headers()", per_call_ns(m.headers, n // 2, rounds), loop)
    report("cortiauth  TokenManager.get_token()", per_call_ns(m.get_token, n // 2, rounds), loop)

    async def async_loop(k: int) -> float:
        t0 = time.perf_counter_ns()
        for _ in range(k):
            await m.get_access_token_async()
        return (time.perf_counter_ns() - t0) / k

    samples = [asyncio.run(async_loop(n // 4)) for _ in range(rounds)]
    report("cortiauth  await get_access_token_async()", samples, loop)
    stats = m.stats()
    assert stats["token_requests"] == 1, stats

    # authlib: the session's token reused while valid, fetched again when expired.
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(
        client_id,
        secret,
        token_endpoint=token_url,
        grant_type="client_credentials",
        scope="openid",
        token_endpoint_auth_method="client_secret_post",
    )
    session.fetch_token(token_url, grant_type="client_credentials")

    def authlib_token() -> str:
        session.ensure_active_token()
        return session.token["access_token"]

    authlib_token()
    report(
        "authlib    ensure_active_token() + token['access_token']",
        per_call_ns(authlib_token, n // 4, rounds),
        loop,
    )

    print()
    for threads in (4, 16):
        c = threaded_ns(get, threads, n // threads)
        a = threaded_ns(authlib_token, threads, n // (4 * threads))
        print(
            f"{threads:>2} threads, wall clock: cortiauth {c:6.1f} ns, authlib {a:6.1f} ns per call"
        )
    assert m.stats()["token_requests"] == 1


if __name__ == "__main__":
    main()

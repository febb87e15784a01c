"""The Python side of the side-by-side benchmark (bench/run.sh): cortiauth against
authlib (OAuth2Session on requests) and bare requests / urllib POSTs, all against
the benchmark's loopback token endpoint. One JSON object per figure on stdout.

    python bench_side.py BASE_URL all
    python bench_side.py BASE_URL probe cortiauth|authlib   (run in a fresh interpreter)

Environment: BENCH_QUICK=1, BENCH_TAIL_S (15), BENCH_ROUNDS (5).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import threading
import time
from typing import Any, Callable

LANG = "python"
CLIENT_ID, SECRET = "bench", "bench-secret"
QUICK = os.environ.get("BENCH_QUICK") == "1"
PAUSE_S = 0.0001  # between two calls of a refresh-tail caller


def emit(impl: str, metric: str, value: float, extra: str = "") -> None:
    line = {"lang": LANG, "impl": impl, "metric": metric, "value": value, "extra": extra}
    print(json.dumps(line), flush=True)


def rss_kib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024


def probe(base: str, impl: str) -> None:
    """Import time and RSS growth of the import, then of a client + its first token."""
    url = f"{base}/exp/300/delay/0/token"
    r0 = rss_kib()
    t0 = time.perf_counter()
    if impl == "cortiauth":
        import cortiauth

        t1 = time.perf_counter()
        r1 = rss_kib()
        m = cortiauth.TokenManager(CLIENT_ID, SECRET, token_url=url)
        m.get_access_token()
    else:
        from authlib.integrations.requests_client import OAuth2Session

        t1 = time.perf_counter()
        r1 = rss_kib()
        s = authlib_session(OAuth2Session, url, 60)
        s.fetch_token(url, grant_type="client_credentials")
    r2 = rss_kib()
    emit(impl, "import_ms", (t1 - t0) * 1e3, "")
    emit(impl, "import_rss_kib", r1 - r0, "")
    emit(impl, "rss_kib", r2 - r1, "client + first token, after the import")


def authlib_session(cls: Any, url: str, leeway: float) -> Any:
    return cls(
        CLIENT_ID,
        SECRET,
        token_endpoint=url,
        grant_type="client_credentials",
        scope="openid",
        token_endpoint_auth_method="client_secret_post",
        leeway=leeway,
    )


def authlib_getter(session: Any) -> Callable[[], str]:
    """What a user writes: fetch when there is no token, else ensure_active_token()."""

    def get() -> str:
        if session.token is None:
            session.fetch_token(grant_type="client_credentials")
        else:
            session.ensure_active_token()
        return str(session.token["access_token"])

    return get


class Server:
    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.http = requests.Session()

    def count(self) -> int:
        return int(self.http.get(f"{self.base}/count").text)


def per_call_ns(fn: Callable[[], object], n: int, rounds: int) -> float:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        out.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(out)


def cached(base: str, rounds: int) -> None:
    from authlib.integrations.requests_client import OAuth2Session

    import cortiauth

    url = f"{base}/exp/300/delay/20/token"
    n = 200_000 if QUICK else 1_000_000
    m = cortiauth.TokenManager(CLIENT_ID, SECRET, token_url=url)
    m.get_access_token()
    emit("cortiauth", "cached_ns", per_call_ns(m.get_access_token, n, rounds), "get_access_token()")
    get = authlib_getter(authlib_session(OAuth2Session, url, 60))
    get()
    emit("authlib", "cached_ns", per_call_ns(get, n // 5, rounds), "ensure_active_token()")


def burst_once(server: Server, get: Callable[[], object]) -> tuple[float, int]:
    before = server.count()
    barrier = threading.Barrier(65)
    done: list[float] = []

    def work() -> None:
        barrier.wait()
        get()
        done.append(time.perf_counter())

    threads = [threading.Thread(target=work) for _ in range(64)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return (max(done) - t0) * 1e3, server.count() - before


def burst(server: Server, rounds: int) -> None:
    from authlib.integrations.requests_client import OAuth2Session

    import cortiauth

    url = f"{server.base}/exp/300/delay/20/token"
    makers: dict[str, Callable[[], Callable[[], object]]] = {
        "cortiauth": lambda: (
            cortiauth.TokenManager(CLIENT_ID, SECRET, token_url=url).get_access_token
        ),
        "authlib": lambda: authlib_getter(authlib_session(OAuth2Session, url, 60)),
    }
    for impl, make in makers.items():
        runs = [burst_once(server, make()) for _ in range(rounds)]
        emit(impl, "burst_ms", statistics.median(r[0] for r in runs), "64 threads")
        emit(impl, "burst_requests", max(r[1] for r in runs), "")


def summary(lat: list[int], large: list[int], calls: int) -> tuple[int, int, float]:
    """(calls > 1 ms, calls >= 15 ms, p99.9 ms) from exact values over 10 µs and a
    power-of-two histogram of all calls."""
    large.sort()
    slow = sum(1 for v in large if v > 1_000_000)
    slow20 = sum(1 for v in large if v >= 15_000_000)
    k = math.ceil(calls * 0.001)
    if k and len(large) >= k:
        return slow, slow20, large[-k] / 1e6
    rank, seen = calls - k, 0
    for i, c in enumerate(lat):
        seen += c
        if seen > rank:
            return slow, slow20, 2**i / 1e6
    return slow, slow20, 0.0


def tail(server: Server, impl: str) -> None:
    from authlib.integrations.requests_client import OAuth2Session

    import cortiauth

    secs = float(os.environ.get("BENCH_TAIL_S") or (4 if QUICK else 15))
    url = f"{server.base}/exp/3/delay/20/token"
    get: Callable[[], object]
    if impl == "noise floor":
        get = "constant".__str__
    elif impl == "authlib":
        # leeway 0.6 s: cortiauth's margin for 3 s tokens (authlib's default 60 s
        # would make every call a token request).
        get = authlib_getter(authlib_session(OAuth2Session, url, 0.6))
    else:
        m = cortiauth.TokenManager(
            CLIENT_ID, SECRET, token_url=url, background_refresh=impl == "cortiauth+bg"
        )
        get = m.get_access_token
    get()
    before = server.count()
    end = time.perf_counter_ns() + int(secs * 1e9)
    results: list[tuple[list[int], list[int], int]] = []

    def work() -> None:
        hist = [0] * 65
        large: list[int] = []
        calls = 0
        clock, pause = time.perf_counter_ns, time.sleep
        while True:
            t0 = clock()
            if t0 >= end:
                break
            get()
            d = clock() - t0
            calls += 1
            hist[d.bit_length()] += 1
            if d > 10_000:
                large.append(d)
            pause(PAUSE_S)
        results.append((hist, large, calls))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    requests = server.count() - before
    hist = [sum(r[0][i] for r in results) for i in range(65)]
    large = [v for r in results for v in r[1]]
    calls = sum(r[2] for r in results)
    slow, slow20, p999 = summary(hist, large, calls)
    extra = f"{calls} calls, {secs / 3:.0f} lifetimes"
    emit(impl, "tail_slow", slow, extra)
    emit(impl, "tail_slow20", slow20, extra)
    emit(impl, "tail_p999_ms", p999, extra)
    if impl != "noise floor":
        emit(impl, "tail_requests", requests, extra)


def cold(base: str, rounds: int) -> None:
    import urllib.parse
    import urllib.request

    import requests
    from authlib.integrations.requests_client import OAuth2Session

    import cortiauth

    url = f"{base}/exp/300/delay/0/close/token"
    form = {
        "grant_type": "client_credentials",
        "scope": "openid",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }

    def bare_requests() -> str:
        r = requests.post(url, data=form, allow_redirects=False, timeout=10)
        r.raise_for_status()
        return str(r.json()["access_token"])

    def bare_urllib() -> str:
        data = urllib.parse.urlencode(form).encode()
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return str(json.load(r)["access_token"])

    def new_cortiauth() -> Any:
        return cortiauth.TokenManager(CLIENT_ID, SECRET, token_url=url)

    def new_authlib() -> Any:
        return authlib_session(OAuth2Session, url, 60)

    firsts: dict[str, Callable[[], object]] = {
        "cortiauth": lambda: new_cortiauth().get_access_token(),
        "authlib": lambda: authlib_getter(new_authlib())(),
        "bare requests": bare_requests,
        "bare urllib": bare_urllib,
    }
    n = max(rounds, 10 if QUICK else 30)
    for fn in firsts.values():  # warm-up: one-time process costs
        fn()
    for impl, make in (("cortiauth", new_cortiauth), ("authlib", new_authlib)):
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            obj = make()
            samples.append((time.perf_counter() - t0) * 1e6)
            del obj
        emit(impl, "build_us", statistics.median(samples), "")
    times: dict[str, list[float]] = {k: [] for k in firsts}
    for _ in range(n):  # interleaved, so that load falls on all alike
        for impl, fn in firsts.items():
            t0 = time.perf_counter()
            fn()
            times[impl].append((time.perf_counter() - t0) * 1e3)
    for impl, ts in times.items():
        emit(impl, "first_token_ms", statistics.median(ts), "")


def main() -> None:
    base = sys.argv[1].rstrip("/")
    mode = sys.argv[2] if len(sys.argv) > 2 else "all"
    if mode == "probe":
        probe(base, sys.argv[3])
        return
    rounds = int(os.environ.get("BENCH_ROUNDS") or (3 if QUICK else 5))
    server = Server(base)
    cached(base, rounds)
    burst(server, rounds)
    cold(base, rounds)
    for impl in ("noise floor", "cortiauth", "cortiauth+bg", "authlib"):
        tail(server, impl)


if __name__ == "__main__":
    main()

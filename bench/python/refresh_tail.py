"""Refresh tail from Python: THREADS threads loop on
``get_access_token()`` for SECONDS seconds over several refreshes of LIFETIME-second
tokens from a loopback token endpoint answering in DELAY_MS ms (a scenario of the
stub token server, another process, so that it does not share our GIL), and we count
the calls that took more than 1 ms (a caller that waited for a token request, or
for the GIL), with and without ``background_refresh``. The first row is the same
loop calling a constant function: what GIL hand-offs alone cost (the noise floor).

Each caller pauses PAUSE_MS between calls (a caller that does some work between
API calls; with no pause, 4 threads spinning on the GIL make every 5 ms switch
interval count as a wait).

    python bench/refresh_tail.py     (the cortiauth wheel installed; bench/run.sh does it)

Environment: TAIL_THREADS (4), TAIL_SECONDS (15), TAIL_LIFETIME_S (3),
TAIL_DELAY_MS (20), TAIL_PAUSE_MS (0.5).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
import urllib.request
from typing import Callable, Optional

import cortiauth
from cortiauth import TokenManager

THREADS = int(os.environ.get("TAIL_THREADS", "4"))
SECONDS = float(os.environ.get("TAIL_SECONDS", "15"))
LIFETIME_S = int(os.environ.get("TAIL_LIFETIME_S", "3"))
DELAY_MS = float(os.environ.get("TAIL_DELAY_MS", "20"))
PAUSE_MS = float(os.environ.get("TAIL_PAUSE_MS", "0.5"))

def _control(method: str, url: str, body: Optional[dict] = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return json.loads(raw) if raw else {}


class TokenServer:
    """A scenario of the stub token server (tests/stub, CORTIAUTH_STUB_URL: another
    process, so it does not share our GIL) answering every request in DELAY_MS ms."""

    def __init__(self) -> None:
        control = os.environ.get("CORTIAUTH_STUB_URL")
        if not control:
            sys.exit("CORTIAUTH_STUB_URL is not set: run bench/run.sh (it starts the servers)")
        step = {
            "access_token": "tail-{n}-" + "x" * 900,
            "expires_in": LIFETIME_S,
            "scope": None,
            "delay_ms": int(DELAY_MS),
        }
        created = _control("POST", f"{control}/scenarios", {"steps": [step]})
        self.at = f"{control}/scenarios/{created['id']}"
        self.url = created["token_url"]

    def count(self) -> int:
        return int(_control("GET", self.at)["requests"])

    def stop(self) -> None:
        _control("DELETE", self.at)


def run(fn: Callable[[], object]) -> tuple[list[int], int]:
    """Every call's duration in ns, from THREADS threads, for SECONDS seconds."""
    end = time.perf_counter() + SECONDS
    waits: list[list[int]] = [[] for _ in range(THREADS)]
    pause = PAUSE_MS / 1000
    start = threading.Barrier(THREADS)

    def caller(out: list[int]) -> None:
        clock = time.perf_counter_ns
        start.wait()
        while time.perf_counter() < end:
            t0 = clock()
            fn()
            out.append(clock() - t0)
            if pause:
                time.sleep(pause)

    threads = [threading.Thread(target=caller, args=(w,)) for w in waits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = sorted(d for w in waits for d in w)
    return every, sum(len(w) for w in waits)


def pct(sorted_ns: list[int], p: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(p / 100 * len(sorted_ns)))] / 1e3


def row(label: str, background: Optional[bool]) -> None:
    server = TokenServer()
    try:
        if background is None:
            fn: Callable[[], object] = lambda: "constant"  # noqa: E731
        else:
            m = TokenManager(
                "bench",
                "bench-secret",
                token_url=server.url,
                background_refresh=background,
            )
            m.get_access_token()  # warm: the first fetch is not part of the tail
            fn = m.get_access_token
        before = server.count()
        every, calls = run(fn)
        requests = server.count() - before
        slow = sum(1 for d in every if d > 1_000_000)
        worst = every[-1] / 1e6
        print(
            f"{label:<28} calls {calls:>8}  >1ms {slow:>4}  worst {worst:7.2f} ms  "
            f"p50 {pct(every, 50):6.2f} us  p99 {pct(every, 99):7.2f} us  "
            f"p99.9 {pct(every, 99.9):8.2f} us  token requests {requests}"
        )
    finally:
        server.stop()


def main() -> None:
    print(
        f"cortiauth {cortiauth.__version__}, "
        f"Python {platform.python_version()}, {THREADS} threads x {SECONDS:g} s, "
        f"{LIFETIME_S} s tokens, endpoint {DELAY_MS:g} ms, pause {PAUSE_MS:g} ms, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    row("noise floor (constant)", None)
    row("background_refresh off", False)
    row("background_refresh on", True)


if __name__ == "__main__":
    main()

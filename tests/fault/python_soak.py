"""Fault and soak suite, Python binding: 16 threads call ``get_token()`` in a loop
through tests/fault's proxy (which answers 503/429/500 with Retry-After for longer
than a token lifetime), for DURATION seconds. Prints its counts as one JSON line and
exits 1 when a check fails. Run by tests/fault/bindings.sh with the wheel that
bindings/python/test.sh installed.

    python python_soak.py TOKEN_URL DURATION_S
"""

import json
import logging
import os
import sys
import threading
import time

import cortiauth

THREADS = 16
VALID_MARGIN = 0.75  # a call starting with this much token life left must succeed
MAX_WAIT = 0.5  # ... and must not wait longer than this


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def main() -> int:
    token_url, duration = sys.argv[1], float(sys.argv[2])
    secret = os.environ["CORTIAUTH_KC_CLIENT_SECRET"]
    capture = Capture()
    logging.getLogger().addHandler(capture)
    logging.getLogger().setLevel(logging.DEBUG)

    m = cortiauth.TokenManager(
        client_id=os.environ["CORTIAUTH_KC_CLIENT_ID"],
        client_secret=secret,
        token_url=token_url,
        tenant="base",
        timeout=2.0,
    )
    lock = threading.Lock()
    state = {"valid_until": 0.0}
    tokens: list[str] = []
    first = m.get_token()
    tokens.append(first.access_token)
    state["valid_until"] = time.monotonic() + first.expires_in - VALID_MARGIN
    stop = time.monotonic() + duration
    totals = {"calls": 0, "ok": 0, "errors": 0, "errors_while_valid": 0, "waits_while_valid": 0}
    kinds: dict[str, int] = {}
    texts: set[str] = set()
    recoveries: list[float] = []
    max_wait = 0.0

    def caller() -> None:
        nonlocal max_wait
        local = dict.fromkeys(totals, 0)
        in_error = False
        while time.monotonic() < stop:
            start = time.monotonic()
            valid = start < state["valid_until"]
            valid_through_wait = start + MAX_WAIT < state["valid_until"]
            try:
                t = m.get_token()
                end = time.monotonic()
                local["ok"] += 1
                until = end + t.expires_in - VALID_MARGIN
                with lock:
                    if until > state["valid_until"]:
                        state["valid_until"] = until
                    if t.access_token not in tokens:
                        tokens.append(t.access_token)
                    if in_error:
                        recoveries.append(end)
                in_error = False
            except cortiauth.Error as e:
                end = time.monotonic()
                local["errors"] += 1
                in_error = True
                if valid:
                    local["errors_while_valid"] += 1
                with lock:
                    kinds[e.kind] = kinds.get(e.kind, 0) + 1
                    if len(texts) < 64:
                        texts.add(f"{e} | {e!r}")
            local["calls"] += 1
            took = end - start
            if valid_through_wait:
                with lock:
                    max_wait = max(max_wait, took)
                if took > MAX_WAIT:
                    local["waits_while_valid"] += 1
            time.sleep(0.001)
        with lock:
            for k, v in local.items():
                totals[k] += v

    threads = [threading.Thread(target=caller) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    stats = m.stats()
    secrets = [secret] + tokens + [t.rsplit(".", 1)[-1] for t in tokens]
    outputs = list(texts) + capture.lines + [repr(m), repr(stats)]
    leaks = sum(1 for o in outputs if any(s in o for s in secrets))
    result = {
        "binding": "python",
        "threads": THREADS,
        **totals,
        "max_wait_while_valid_s": round(max_wait, 3),
        "error_kinds": kinds,
        "token_requests": stats["token_requests"],
        "refreshes": stats["refreshes"],
        "distinct_tokens": len(tokens),
        "recovered": bool(recoveries),
        "texts_scanned": len(outputs),
        "secret_leaks": leaks,
    }
    print(json.dumps(result), flush=True)
    failed = [
        name
        for name, bad in [
            ("errors while a valid token existed", totals["errors_while_valid"] > 0),
            ("waits while a valid token existed", totals["waits_while_valid"] > 0),
            ("error kinds other than http", any(k != "http" for k in kinds)),
            ("no error once the token expired", totals["errors"] == 0),
            ("no recovery", not recoveries),
            ("a secret in the output", leaks > 0),
            ("tokens != refreshes", len(tokens) != stats["refreshes"]),
        ]
        if bad
    ]
    for f in failed:
        print(f"python_soak: FAILED: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

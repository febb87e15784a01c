"""The cached path with events and metrics on and off (the core makes no event on
the cached path, so the two should be within noise): ns per get_access_token() on
Keycloak's 300 s client, first with nothing listening, then with the ``cortiauth``
logger at INFO with a handler and an OpenTelemetry MeterProvider with a reader.
Also ns per TokenManager() construction. Needs opentelemetry-sdk (the test
virtualenv has it) and the loopback servers:

    bench/python/run.sh --events
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time

from cortiauth import TokenManager, _events


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: run inside tests/servers/with-servers.sh")
    return value


def best_ns(fn: object, n: int = 200_000, rounds: int = 7) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()  # type: ignore[operator]
        samples.append((time.perf_counter_ns() - t0) / n)
    return min(samples), statistics.median(samples)


def main() -> None:
    client = (
        env("CORTIAUTH_KC_CORTI_CLIENT_ID"),
        env("CORTIAUTH_KC_CORTI_CLIENT_SECRET"),
    )
    url = env("CORTIAUTH_KC_TOKEN_URL_BASE")
    off = TokenManager(*client, token_url=url)
    off.get_access_token()
    best_off, median_off = best_ns(off.get_access_token)

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    _events._use_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    logger = logging.getLogger("cortiauth")
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.StreamHandler(open(os.devnull, "w")))  # noqa: SIM115
    on = TokenManager(*client, token_url=url)
    on.get_access_token()  # one event: logged and counted
    best_on, median_on = best_ns(on.get_access_token)
    build, _ = best_ns(lambda: TokenManager(*client, token_url=url), n=20_000)
    print(f"cached get_access_token, events off: {best_off:6.1f} ns (median {median_off:6.1f})")
    print(f"cached get_access_token, events on:  {best_on:6.1f} ns (median {median_on:6.1f})")
    print(f"difference: {100 * (best_on - best_off) / best_off:+.1f} %")
    print(f"TokenManager(): {build / 1000:.2f} us")


if __name__ == "__main__":
    main()

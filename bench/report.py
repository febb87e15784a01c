"""Turns the JSON lines of bench/run.sh's harnesses into ONE markdown table.

    python3 report.py RESULTS.jsonl --meta META.json [--out FILE]

Every (language, implementation, metric) seen more than once (the fresh-process
probes run a few times) is reduced to its median. Ratios are cortiauth / the best
peer of the same language (lower is better for every figure); Rust is compared with
Go's golang.org/x/oauth2, there being no Rust peer the issue names.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict

# language group -> (cortiauth implementations, peers, bare POSTs)
GROUPS = {
    "Rust (peer: Go)": (
        "rust",
        ["go:x/oauth2"],
        ["rust:bare reqwest", "rust:bare reqwest, new Client", "go:bare net/http"],
    ),
    "Python": ("python", ["python:authlib"], ["python:bare requests", "python:bare urllib"]),
    "Node": (
        "node",
        ["node:simple-oauth2", "node:@corti/sdk", "node:hand-written"],
        ["node:bare fetch"],
    ),
}


QUICK_NOTE = " (--quick: short smoke run, not for quoting)"


def load(path: str) -> dict[str, dict[str, float]]:
    raw: dict[tuple[str, str], list[float]] = defaultdict(list)
    extras: dict[tuple[str, str], str] = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            key = (f"{r['lang']}:{r['impl']}", r["metric"])
            raw[key].append(float(r["value"]))
            if r.get("extra"):
                extras[key] = r["extra"]
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for (impl, metric), vs in raw.items():
        out[impl][metric] = statistics.median(vs)
        out[impl][metric + ":n"] = len(vs)
    out["_extras"] = extras  # type: ignore[assignment]
    return out


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "n":
        return f"{v:.0f}"
    if unit == "ns":
        return f"{v:,.0f} ns"
    if unit == "us":
        return f"{v:,.1f} µs" if v < 100 else f"{v:,.0f} µs"
    if unit == "ms":
        return f"{v:.3f} ms" if v < 1 else f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"
    if unit == "kib":
        return f"{v / 1024:.1f} MiB"
    return f"{v}"


def ratio(mine: float | None, best: float | None) -> str:
    if mine is None or best is None:
        return "—"
    if best == 0:
        return "—" if mine == 0 else "∞"
    r = mine / best
    return f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"  # noqa: RUF001


def short(impl: str) -> str:
    lang, name = impl.split(":", 1)
    return f"{name} ({'Go' if lang == 'go' else lang})" if lang == "go" else name


def table(d: dict[str, dict[str, float]]) -> list[str]:
    rows = [
        "| figure | language | cortiauth | peers | cortiauth / best peer |",
        "|---|---|---|---|---|",
    ]

    def get(impl: str, metric: str) -> float | None:
        return d.get(impl, {}).get(metric)

    def add(
        figure: str,
        metric: str,
        unit: str,
        *,
        bare: bool = False,
        show_bg: bool = False,
        floor: bool = False,
        requests_metric: str | None = None,
    ) -> None:
        for group, (lang, peers, bares) in GROUPS.items():
            me = f"{lang}:cortiauth"
            mine = get(me, metric)
            if mine is None:
                continue
            cell = fmt(mine, unit)
            if requests_metric:
                cell += f" ({fmt(get(me, requests_metric), 'n')} req.)"
            if show_bg and get(f"{lang}:cortiauth+bg", metric) is not None:
                cell += f"; background refresh: {fmt(get(f'{lang}:cortiauth+bg', metric), unit)}"
                if requests_metric:
                    cell += f" ({fmt(get(f'{lang}:cortiauth+bg', requests_metric), 'n')} req.)"
            if lang == "node" and metric == "cached_ns" and get("node:cortiauth (sync)", metric):
                cell += f" (sync: {fmt(get('node:cortiauth (sync)', metric), unit)})"
            # The ratio is to the best peer, or for the first token to the language's
            # own bare POST (the first of `bares`: reqwest, requests, fetch).
            others = bares + peers if bare else peers
            parts, values = [], []
            for p in others:
                v = get(p, metric)
                if v is None:
                    continue
                text = f"{short(p)}: {fmt(v, unit)}"
                if requests_metric:
                    text += f" ({fmt(get(p, requests_metric), 'n')} req.)"
                parts.append(text)
                if not bare or p == bares[0]:
                    values.append(v)
            if floor and get(f"{lang}:noise floor", metric) is not None:
                parts.append(f"noise floor: {fmt(get(f'{lang}:noise floor', metric), unit)}")
            best = min(values) if values else None
            rows.append(
                f"| {figure} | {group} | {cell} | {'; '.join(parts) or '—'} | "
                f"{ratio(mine, best)}{' of ' + short(bares[0]) if bare else ''} |"
            )

    add("1. cached get-token, 1 thread (per call)", "cached_ns", "ns")
    add(
        "2. 64 concurrent callers, fresh client: wall time (token requests)",
        "burst_ms",
        "ms",
        requests_metric="burst_requests",
    )
    add("3. refresh tail: calls that waited > 1 ms", "tail_slow", "n", show_bg=True, floor=True)
    add(
        "3. refresh tail: calls that waited ≥ 15 ms (a whole token request)",
        "tail_slow20",
        "n",
        show_bg=True,
        floor=True,
    )
    add("3. refresh tail: p99.9 latency", "tail_p999_ms", "ms", show_bg=True, floor=True)
    add("3. refresh tail: token requests", "tail_requests", "n", show_bg=True)
    add("4. building a client / manager", "build_us", "us")
    add("4. new client + first token (vs the bare POST)", "first_token_ms", "ms", bare=True)
    add("5. RSS growth: client + first token", "rss_kib", "kib")
    add("5. import time", "import_ms", "ms")
    add("5. RSS growth: import", "import_rss_kib", "kib")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--meta", required=True)
    ap.add_argument("--out")
    args = ap.parse_args()
    d = load(args.results)
    extras = d.pop("_extras")  # type: ignore[arg-type]
    with open(args.meta) as f:
        meta = json.load(f)
    tail_calls = {k[0]: v for k, v in extras.items() if k[1] == "tail_slow"}  # type: ignore[index]
    lines = [
        "# Side-by-side benchmark (`bench/run.sh`)",
        "",
        f"Run {meta['date']}{QUICK_NOTE if meta['quick'] else ''}"
        f" on {meta['cpus']} CPUs ({meta['cpu']}); load average {meta['load_before']} before,"
        f" {meta['load_after']} after. cortiauth {meta['commit']}; {meta['versions']}.",
        "",
        "Loopback token endpoint (Go net/http, `bench/go/tokenserver`): 20 ms per token request"
        " for 1-3, 0 ms with `Connection: close` for 4; 300 s tokens, 3 s for the refresh tail"
        f" ({meta['tail_s']} s of 4 threads, or 50 promises in Node, each pausing 0.1 ms or one"
        " event-loop turn between calls). Medians of "
        f"{meta['rounds']} rounds (1, 2), {meta['cold_n']} iterations (4) and {meta['probes']}"
        " fresh processes (5); the refresh tail runs once per implementation.",
        "",
        *table(d),
        "",
        "Refresh-tail runs: " + "; ".join(f"{k}: {v}" for k, v in sorted(tail_calls.items())) + ".",
        "",
        "Peers as configured: Go `clientcredentials.Config.TokenSource` (AuthStyleInParams; for"
        " 3 s tokens wrapped in `ReuseTokenSourceWithExpiry` 0.6 s, as its default 10 s early"
        " expiry would fetch on every call); authlib `OAuth2Session` on requests"
        " (`ensure_active_token()`, leeway 60 s, 0.6 s for 3 s tokens); simple-oauth2"
        " `ClientCredentials` with `expired(60)` (0.6 s for 3 s tokens); `@corti/sdk`"
        " `CortiClient.getAuthHeaders()` with a custom environment (its token cache refreshes"
        " 2 minutes before expiry, not configurable: with 3 s tokens every call is a token"
        ' request). "noise floor": the same loop getting a constant (scheduling and GC alone).',
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# THE entry point of the benchmarks (none is a test; nothing in CI runs them):
#
#   bench/run.sh [side] [--quick]   the side-by-side benchmark (below)
#   bench/run.sh rust               criterion (bench/rust/benches/token.rs), then the
#                                   cached-cost and refresh-tail harnesses (bench/rust/src/bin)
#   bench/run.sh python [ARGS]      bench/python/run.sh: import, cached path vs authlib
#   bench/run.sh node               bench/node/run.sh: cached path vs simple-oauth2 and
#                                   openid-client, refresh tail, events on/off
#   bench/run.sh c [ITERATIONS]     bench/c/run.sh: the C cached paths, shared and static
#
# Every benchmark that needs a token endpoint uses the stub token server
# (tests/stub) or the loopback Keycloak, started by tests/servers/with-servers.sh.
#
# The side-by-side benchmark: cortiauth (Rust, Python, Node) and each
# language's peers (Go golang.org/x/oauth2, Python authlib, Node simple-oauth2 and
# @corti/sdk) against ONE loopback token endpoint; prints one markdown table and, for a
# full run, writes it to bench/results/latest.md.
#
#   bench/run.sh            full run (~5 min on 2 cores, builds not counted)
#   bench/run.sh --quick    short smoke run (~1.5 min); writes target/bench/quick.md
#
# Builds everything with the project's own means into target/bench (git-ignored):
# the Rust harness (cargo --release --locked), the wheel (maturin, as
# bindings/python/test.sh) in a bench virtualenv with bench/python/requirements.txt,
# the addon (npm run build in bindings/node, packed and installed into bench/node next
# to its pinned peers), the Go token server and Go peer (bench/go, go.sum pinned).
# Needs: cargo, go, python3 (venv), node + npm; reaches only the package registries
# (first run) and 127.0.0.1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$TARGET/bench"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

case "${1:-}" in
    rust)
        shift
        cd "$ROOT"
        cargo bench --locked -p cortiauth-bench --bench token -- "$@"
        cargo run --quiet --release --locked -p cortiauth-bench --bin cached_cost
        exec cargo run --quiet --release --locked -p cortiauth-bench --bin refresh_tail
        ;;
    python | node | c) lang="$1"; shift; exec "$HERE/$lang/run.sh" "$@" ;;
    side) shift ;;
esac

QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown argument $arg (use --quick)" >&2; exit 2 ;;
    esac
done
export BENCH_QUICK=$QUICK
if [[ $QUICK == 1 ]]; then
    export BENCH_TAIL_S="${BENCH_TAIL_S:-3}" BENCH_ROUNDS="${BENCH_ROUNDS:-3}"
    PROBES=2 COLD_N=10
else
    export BENCH_TAIL_S="${BENCH_TAIL_S:-15}" BENCH_ROUNDS="${BENCH_ROUNDS:-5}"
    PROBES=3 COLD_N=30
fi

log() { printf '==> %s\n' "$*" >&2; }
mkdir -p "$WORK"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- builds (niced: the machine is shared) ------------------------------------------
log "building the Go token server and the Go peer"
(cd "$HERE/go" && GOFLAGS=-mod=readonly nice -n 10 go build -o "$WORK/tokenserver" ./tokenserver &&
    GOFLAGS=-mod=readonly nice -n 10 go build -o "$WORK/go-peer" ./peer)

log "building the Rust harness (bench/rust/src/bin/bench_side.rs, release)"
(cd "$ROOT" && nice -n 10 cargo build --quiet --release --locked -p cortiauth-bench --bin bench_side)
RUST_BIN="$TARGET/release/bench_side"

log "building the wheel (maturin) and the bench virtualenv"
BUILD_VENV="$WORK/py-build"
if [[ ! -x "$BUILD_VENV/bin/maturin" ]]; then
    rm -rf "$BUILD_VENV"
    "$PYTHON" -m venv "$BUILD_VENV"
    "$BUILD_VENV/bin/pip" install -q -r "$ROOT/bindings/python/requirements-build.txt"
fi
rm -rf "$WORK/wheels"
(cd "$ROOT/bindings/python" && nice -n 10 "$BUILD_VENV/bin/maturin" build --release --locked --quiet -o "$WORK/wheels")
VENV="$WORK/py-venv"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q "$WORK"/wheels/cortiauth-*.whl -r "$HERE/python/requirements.txt"

log "building the Node addon (npm run build) and installing the Node peers"
(cd "$ROOT/bindings/node" && npm ci --no-audit --no-fund --loglevel=error && nice -n 10 npm run --silent build)
rm -rf "$WORK/npm" && mkdir -p "$WORK/npm"
TARBALL="$(cd "$ROOT/bindings/node" && npm pack --silent --pack-destination "$WORK/npm" | tail -n 1)"
(cd "$HERE/node" && npm ci --no-audit --no-fund --loglevel=error &&
    npm install --no-save --no-audit --no-fund --loglevel=error "$WORK/npm/$TARBALL")

# --- the token endpoint ---------------------------------------------------------------
SERVER_OUT="$WORK/tokenserver.out"
"$WORK/tokenserver" -max-life 20m >"$SERVER_OUT" 2>"$WORK/tokenserver.err" &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
BASE=""
for _ in $(seq 1 100); do
    BASE="$(head -n 1 "$SERVER_OUT" 2>/dev/null || true)"
    [[ "$BASE" == http://127.0.0.1:* ]] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        cat "$WORK/tokenserver.err" >&2
        exit 1
    fi
    sleep 0.05
done
[[ "$BASE" == http://127.0.0.1:* ]] || { echo "token server did not start" >&2; exit 1; }
log "token server at $BASE"

# --- the runs (not niced) ----------------------------------------------------------
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
run() { "$@" | tee -a "$RESULTS" >&2; }
log "Rust: cortiauth"
run "$RUST_BIN" "$BASE" all
log "Go: x/oauth2"
run "$WORK/go-peer" "$BASE" all
log "Python: cortiauth, authlib"
run "$VENV/bin/python" "$HERE/python/bench_side.py" "$BASE" all
log "Node: cortiauth, simple-oauth2, @corti/sdk"
(cd "$HERE/node" && run node bench_side.mjs "$BASE" all)
log "fresh processes: memory and import time (x$PROBES)"
for _ in $(seq 1 "$PROBES"); do
    run "$RUST_BIN" "$BASE" rss
    run "$WORK/go-peer" "$BASE" rss
    for impl in cortiauth authlib; do
        (cd "$WORK" && run "$VENV/bin/python" "$HERE/python/bench_side.py" "$BASE" probe "$impl")
    done
    for impl in cortiauth simple-oauth2 @corti/sdk; do
        (cd "$HERE/node" && run node bench_side.mjs "$BASE" probe "$impl")
    done
done

# --- the table ---------------------------------------------------------------------
META="$WORK/meta.json"
"$PYTHON" - "$META" <<EOF
import json, os, platform, subprocess, sys, datetime
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "?"
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "quick": $QUICK == 1,
    "cpus": os.cpu_count(),
    "cpu": cpu,
    "load_before": "$LOAD_BEFORE",
    "load_after": " ".join(open("/proc/loadavg").read().split()[:3]),
    "commit": out("git", "-C", "$ROOT", "describe", "--always", "--dirty"),
    "versions": "; ".join([
        out("rustc", "--version"), out("go", "version").replace("go version ", ""),
        "Python " + out("$VENV/bin/python", "-c", "import platform; print(platform.python_version())"),
        "Node " + out("node", "--version"),
    ]),
    "tail_s": "$BENCH_TAIL_S",
    "rounds": "$BENCH_ROUNDS",
    "cold_n": "$COLD_N",
    "probes": "$PROBES",
}, open(sys.argv[1], "w"))
EOF
if [[ $QUICK == 1 ]]; then
    OUT="$WORK/quick.md"
else
    OUT="$HERE/results/latest.md"
    mkdir -p "$HERE/results"
fi
"$PYTHON" "$HERE/report.py" "$RESULTS" --meta "$META" --out "$OUT"
log "table written to $OUT"

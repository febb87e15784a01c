#!/usr/bin/env bash
# Benchmark of the cached path from Python (not part of test.sh). Run inside
# tests/servers/with-servers.sh:
#   tests/servers/with-servers.sh bindings/python/bench/run.sh [-n CALLS] [--rounds R]
# Builds the wheel, installs it with authlib (bench/requirements.txt) into the
# benchmark's own virtualenv (target/python/bench-venv) and runs bench_import.py
# (import time and memory) and bench_cached.py; with --refresh-tail as the first
# argument, bench/refresh_tail.py instead (needs no servers: its own endpoint).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$PKG/../.." && pwd)"
WORK="${CARGO_TARGET_DIR:-$ROOT/target}/python"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$ROOT/tests/servers/with-servers.sh" run "$ROOT/bindings/python/bench/run.sh" "$@"

mkdir -p "$WORK"
BUILD_VENV="$WORK/build-venv"
if [[ ! -x "$BUILD_VENV/bin/maturin" ]]; then
    "$PYTHON" -m venv "$BUILD_VENV"
    "$BUILD_VENV/bin/pip" install -q -r "$PKG/requirements-build.txt"
fi
WHEELS="$WORK/bench-wheels"
rm -rf "$WHEELS"
(cd "$PKG" && "$BUILD_VENV/bin/maturin" build --release --locked --quiet -o "$WHEELS")

VENV="$WORK/bench-venv"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q "$WHEELS"/cortiauth-*.whl -r "$HERE/requirements.txt"
cd "$WORK"
if [[ "${1:-}" == "--refresh-tail" ]]; then
    exec "$VENV/bin/python" "$HERE/refresh_tail.py"
fi
"$VENV/bin/python" "$HERE/bench_import.py"
exec "$VENV/bin/python" "$HERE/bench_cached.py" "$@"

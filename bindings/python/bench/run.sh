#!/usr/bin/env bash
# Benchmark of the cached path from Python (not part of test.sh). Run inside
# tests/servers/with-servers.sh:
#   tests/servers/with-servers.sh bindings/python/bench/run.sh [-n CALLS] [--rounds R]
# Builds the wheel, installs it with authlib (bench/requirements.txt) into the
# benchmark's own virtualenv (target/python/bench-venv) and runs bench_cached.py.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$PKG/../.." && pwd)"
WORK="${CARGO_TARGET_DIR:-$ROOT/target}/python"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

. "$ROOT/tests/servers/ensure.sh" "$0" "$@"

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
exec "$VENV/bin/python" "$HERE/bench_cached.py" "$@"

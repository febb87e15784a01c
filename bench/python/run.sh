#!/usr/bin/env bash
# Benchmarks of cortiauth from Python (not a test; `bench/run.sh python` runs it):
#   bench/python/run.sh [-n CALLS] [--rounds R]     import time, memory, cached path vs authlib
#   bench/python/run.sh --refresh-tail              the refresh tail (the stub token server)
#   bench/python/run.sh --events                    the cached path with events on and off
# Builds the wheel, installs it with authlib (requirements.txt) into the
# benchmark's own virtualenv (target/python/bench-venv); starts the loopback
# servers (tests/servers/with-servers.sh) unless they are up.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PKG="$ROOT/bindings/python"
WORK="${CARGO_TARGET_DIR:-$ROOT/target}/python"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$ROOT/tests/servers/with-servers.sh" run "$HERE/run.sh" "$@"

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
if [[ "${1:-}" == "--events" ]]; then
    # The test suite's pins of the OpenTelemetry SDK.
    # shellcheck disable=SC2046
    "$VENV/bin/pip" install -q $(grep -E '^(opentelemetry|importlib.metadata|zipp|typing.extensions)' "$PKG/requirements-test.txt" | cut -d' ' -f1)
    exec "$VENV/bin/python" "$HERE/bench_events.py"
fi
"$VENV/bin/python" "$HERE/bench_import.py"
exec "$VENV/bin/python" "$HERE/bench_cached.py" "$@"

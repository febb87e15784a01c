#!/usr/bin/env bash
# Builds the abi3 wheel with maturin, installs it into a FRESH virtualenv with the
# pinned test requirements, lints (ruff), checks the stubs against the built module
# (mypy.stubtest) and the typing a user sees (mypy --strict), and runs the pytest suite against the real loopback servers
# (CORTIAUTH_* variables, set by tests/servers/with-servers.sh) from a directory
# where the source tree is not importable: what is tested is the installed wheel.
#
# CORTIAUTH_TEST_DIST=DIR tests the release wheel DIR/python/cortiauth-*-manylinux*_ARCH.whl
# (scripts/dist.sh) instead of building one: scripts/test-suites.sh does, so the
# extension is built once per CI run, as users get it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$TARGET/python"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

log() { printf '==> %s\n' "$*" >&2; }

# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$ROOT/tests/servers/with-servers.sh" run "$HERE/test.sh" "$@"

mkdir -p "$WORK"

if [[ -n "${CORTIAUTH_TEST_DIST:-}" ]]; then
    WHEEL="$(ls "$CORTIAUTH_TEST_DIST"/python/cortiauth-*-cp39-abi3-*manylinux*_"$(uname -m)".whl 2>/dev/null | head -n1)"
    [[ -n "$WHEEL" ]] || { echo "test.sh: CORTIAUTH_TEST_DIST=$CORTIAUTH_TEST_DIST has no manylinux $(uname -m) wheel" >&2; exit 1; }
    log "testing the release wheel $(basename "$WHEEL")"
else
    # 1. maturin, in a build virtualenv kept between runs (rebuilt when the pins change).
    BUILD_VENV="$WORK/build-venv"
    STAMP="$BUILD_VENV/.requirements.sha256"
    WANT="$(sha256sum "$HERE/requirements-build.txt" | cut -d' ' -f1)"
    if [[ ! -x "$BUILD_VENV/bin/maturin" || "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]]; then
        log "installing maturin into $BUILD_VENV"
        rm -rf "$BUILD_VENV"
        "$PYTHON" -m venv "$BUILD_VENV"
        "$BUILD_VENV/bin/pip" install -q -r "$HERE/requirements-build.txt"
        echo "$WANT" >"$STAMP"
    fi

    # 2. The wheel (one abi3 wheel for CPython 3.9+), built from the locked dependencies.
    WHEELS="$WORK/wheels"
    rm -rf "$WHEELS"
    log "building the wheel"
    (cd "$HERE" && "$BUILD_VENV/bin/maturin" build --release --locked --quiet -o "$WHEELS")
    WHEEL="$(ls "$WHEELS"/cortiauth-*-cp39-abi3-*.whl)"
    log "built $(basename "$WHEEL")"
fi

# 3. A fresh virtualenv with the wheel and the pinned test requirements.
VENV="$WORK/test-venv"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q "$WHEEL" -r "$HERE/requirements-test.txt"

# 4. Lint and stubs.
log "ruff check"
"$VENV/bin/ruff" check --no-cache --config "$HERE/pyproject.toml" "$HERE/python" "$HERE/tests" "$ROOT/bench/python" "$ROOT/tests/parity/run_python.py" "$ROOT/examples/python"
log "mypy.stubtest cortiauth._native; mypy --strict on the installed package and tests/typed_usage.py"
(
    cd "$WORK"
    "$VENV/bin/python" -m mypy.stubtest --mypy-config-file "$HERE/pyproject.toml" cortiauth._native
    mypy=("$VENV/bin/python" -m mypy --config-file "$HERE/pyproject.toml" --cache-dir "$WORK/mypy-cache")
    "${mypy[@]}" -p cortiauth
    "${mypy[@]}" "$HERE/tests/typed_usage.py"
)

# 5. The abi3 wheel also installs and imports on the oldest supported Python, when present.
PY39=""
for candidate in ${PYTHON39:-} "$HOME"/.pyenv/versions/3.9*/bin/python3.9 /usr/bin/python3.9 python3.9; do
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 9)' >/dev/null 2>&1; then
        PY39="$candidate"
        break
    fi
done
if [[ -n "$PY39" ]]; then
    log "smoke test on $("$PY39" --version 2>&1)"
    rm -rf "$WORK/venv39"
    "$PY39" -m venv "$WORK/venv39"
    "$WORK/venv39/bin/pip" install -q "$WHEEL"
    (cd "$WORK" && "$WORK/venv39/bin/python" -c '
import sys
import cortiauth
assert "asyncio" not in sys.modules
assert cortiauth.TokenManager("id", "s", environment="eu").describe()["timeout_ms"] == 10000
assert cortiauth.Settings.__total__ is False
try:
    cortiauth.TokenManager("id", "secret", token_url="http://127.0.0.1:1/token", max_attempts=1).get_access_token()
except cortiauth.NetworkError as e:
    print("python 3.9: NetworkError as expected:", e.kind)
')
    rm -rf "$WORK/venv39"
fi

# 6. The settings parity runner's output, for tests/parity/run.sh (run from the
#    repository root: the cases' file paths are relative to it).
log "parity: tests/parity/run_python.py -> $TARGET/parity/python.txt"
mkdir -p "$TARGET/parity"
(cd "$ROOT" && "$VENV/bin/python" tests/parity/run_python.py tests/parity/cases.json >"$TARGET/parity/python.txt")

# 7. The suite, from outside the source tree.
log "pytest"
cd "$WORK"
exec "$VENV/bin/python" -m pytest -c "$HERE/pyproject.toml" --rootdir "$HERE" -p no:cacheprovider "$HERE/tests"

#!/usr/bin/env bash
# Every test suite, in order: the servers' own smoke test, the Rust crates (core,
# C ABI unit tests, CLI end to end), then the C/C++, Python and Node hosts.
# Run by scripts/test.sh with the loopback servers up and their CORTIAUTH_* variables set.
set -euo pipefail
cd "$(dirname "$0")/.."
suite() {
  local t0=$SECONDS
  echo "=== $* ==="
  "$@" </dev/null
  echo "=== $* passed in $((SECONDS - t0)) s ==="
}
suite tests/servers/smoke.sh
suite cargo test --workspace --locked
suite ffi/test.sh
suite bindings/python/test.sh
suite bindings/node/test.sh

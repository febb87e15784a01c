#!/usr/bin/env bash
# The fault and soak suite: cortiauth against its OWN Keycloak, which
# the scenarios kill (SIGKILL), freeze (SIGSTOP) and restart, behind a
# fault-injecting loopback proxy written in Rust (tests/fault/src/proxy.rs).
#
#   tests/fault/run.sh            every scenario: Rust (tests/fault/tests/*.rs), then
#                                 the Python and Node soak scripts when their builds exist
#   tests/fault/run.sh FILTER...  only the Rust scenarios whose names match (cargo test
#                                 filters), no bindings
#
# It never touches the shared servers: its Keycloak lives in
# tests/servers/.run/fault.<pid>/ and is stopped when the script exits (the
# directory, with keycloak.log and results.jsonl, is kept when anything failed).
# Plain `cargo test` does not run the scenarios: they are #[ignore]d and need
# CORTIAUTH_FAULT_RUN_DIR, which only this script sets.
# Knobs: CORTIAUTH_FAULT_BINDINGS=0 skips the Python/Node part;
# CORTIAUTH_FAULT_BACKGROUND_REFRESH=1 runs the Rust scenarios with the background
# refresher on (default: the library's default, off).
set -euo pipefail
set +m
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=tests/servers/lib.sh
. "$ROOT/tests/servers/lib.sh"
cd "$ROOT"
# shellcheck disable=SC2034  # used by bindings.sh
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

RD="$SERVERS_DIR/.run/fault.$$"
rm -rf "$RD"
mkdir -p "$RD"
PROXY_PID="" KC_STARTER=""
t_start="$(now)"

# shellcheck disable=SC2317  # (invoked by the trap)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null || true; fi
  if [ -n "$KC_STARTER" ]; then kill "$KC_STARTER" 2>/dev/null || true; wait "$KC_STARTER" 2>/dev/null || true; fi
  # A scenario may have left it frozen: thaw before stopping.
  if [ -f "$RD/keycloak.pid" ]; then kill -CONT -- "-$(cat "$RD/keycloak.pid")" 2>/dev/null || true; fi
  "$SERVERS_DIR/keycloak.sh" stop "$RD" >/dev/null 2>&1 || true
  if [ "$rc" = 0 ]; then rm -rf "$RD"; else say "fault suite failed: logs kept in $RD"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# With no JDK AOT cache recorded yet, this instance would record one, which makes
# each of its stops ~20 s longer (and the kill scenario throws it away): don't.
[ -s "$CORTIAUTH_CACHE_DIR/keycloak-$KEYCLOAK_VERSION/cortiauth.aot" ] || export CORTIAUTH_KEYCLOAK_AOT=0
echo "fault: starting the suite's own Keycloak in $RD (and building the tests meanwhile)"
"$SERVERS_DIR/keycloak.sh" start "$RD" &
KC_STARTER=$!
cargo test -p cortiauth-fault-tests --locked --tests --no-run
cargo build -p cortiauth-fault-tests --locked --bin fault-proxy
kc_rc=0
wait "$KC_STARTER" || kc_rc=$?
KC_STARTER=""
[ "$kc_rc" = 0 ] || die "the suite's Keycloak did not start (exit $kc_rc)"
# shellcheck disable=SC1091
. "$RD/keycloak.env"
export CORTIAUTH_FAULT_RUN_DIR="$RD"
export CORTIAUTH_FAULT_RESULTS="$RD/results.jsonl"

# 1. Rust: one binary at a time, one scenario at a time (they kill the server).
FAULT_FAILED=0
cargo test -p cortiauth-fault-tests --locked --no-fail-fast --tests -- --ignored --test-threads=1 --nocapture "$@" ||
  FAULT_FAILED=1

# 2. The bindings, when their suites have built them (bindings/python/test.sh,
#    bindings/node/test.sh): the Retry-After scenario through the proxy binary.
if [ "${CORTIAUTH_FAULT_BINDINGS:-1}" != 0 ] && [ "$#" = 0 ]; then
  # shellcheck source=tests/fault/bindings.sh
  . "$HERE/bindings.sh"
fi

echo "fault: figures (one line per scenario):"
cat "$CORTIAUTH_FAULT_RESULTS" 2>/dev/null || true
if [ "$FAULT_FAILED" != 0 ]; then
  echo "fault: suite FAILED after $(elapsed "$t_start") s (see the FAILED lines above)" >&2
  exit 1
fi
echo "fault: suite passed in $(elapsed "$t_start") s"

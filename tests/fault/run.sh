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
SOAKS_PID="" KC_STARTER=""
t_start="$(now)"

# shellcheck disable=SC2317  # (invoked by the trap)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$SOAKS_PID" ]; then kill "$SOAKS_PID" 2>/dev/null || true; wait "$SOAKS_PID" 2>/dev/null || true; fi
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
cargo test -p cortiauth-fault-tests --locked --tests --no-run --message-format=json-render-diagnostics \
  >"$RD/artifacts.json"
cargo build -p cortiauth-fault-tests --locked --bin fault-proxy
kc_rc=0
wait "$KC_STARTER" || kc_rc=$?
KC_STARTER=""
[ "$kc_rc" = 0 ] || die "the suite's Keycloak did not start (exit $kc_rc)"
# shellcheck disable=SC1091
. "$RD/keycloak.env"
export CORTIAUTH_FAULT_RUN_DIR="$RD"
export CORTIAUTH_FAULT_RESULTS="$RD/results.jsonl"

# 1. Beside each other, as none of them touches the Keycloak's process:
#    a. the Rust scenarios that leave it alone, one at a time in each binary and
#       three binaries at a time (their callers pause 1 ms between calls: about
#       half a core in all, and each scenario mostly waits on its clock);
#    b. the bindings' Retry-After soaks (bindings.sh), each through a proxy of its
#       own, when their suites have built them (bindings/python/test.sh,
#       bindings/node/test.sh); output kept and printed after.
# 2. keycloak_faults, alone: it kills and freezes the Keycloak the others use.
FAULT_FAILED=0
scenario_args=(-- --ignored --test-threads=1 --nocapture "$@")
if [ "${CORTIAUTH_FAULT_BINDINGS:-1}" != 0 ] && [ "$#" = 0 ]; then
  (
    PROXY_PID=""
    # shellcheck disable=SC2317  # (invoked by the trap)
    trap '[ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null || true' EXIT
    trap 'exit 143' TERM
    # shellcheck source=tests/fault/bindings.sh
    . "$HERE/bindings.sh"
    exit "$FAULT_FAILED"
  ) >"$RD/soaks.log" 2>&1 &
  SOAKS_PID=$!
fi
python3 scripts/run-test-binaries.py --skip=keycloak_faults 3 "$RD/artifacts.json" "${scenario_args[@]}" ||
  FAULT_FAILED=1
if [ -n "$SOAKS_PID" ]; then
  soaks_rc=0
  wait "$SOAKS_PID" || soaks_rc=$?
  SOAKS_PID=""
  cat "$RD/soaks.log"
  [ "$soaks_rc" = 0 ] || FAULT_FAILED=1
fi
python3 scripts/run-test-binaries.py --only=keycloak_faults 1 "$RD/artifacts.json" "${scenario_args[@]}" ||
  FAULT_FAILED=1

echo "fault: figures (one line per scenario):"
cat "$CORTIAUTH_FAULT_RESULTS" 2>/dev/null || true
if [ "$FAULT_FAILED" != 0 ]; then
  echo "fault: suite FAILED after $(elapsed "$t_start") s (see the FAILED lines above)" >&2
  exit 1
fi
echo "fault: suite passed in $(elapsed "$t_start") s"

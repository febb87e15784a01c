#!/usr/bin/env bash
# `cargo test --locked ARGS -- --include-ignored [TEST ARGS]`: the Rust tests
# including the ones `#[ignore]`d because they need the loopback servers (a plain
# `cargo test` with nothing running reports those as ignored). Run with the
# servers' CORTIAUTH_* variables set (scripts/test-suites.sh, cli/test.sh).
# Prints the totals and fails when any test failed or was still ignored, so a
# test can never be skipped here without this run failing.
#
#   scripts/cargo-test-with-servers.sh --workspace
#   scripts/cargo-test-with-servers.sh -p cortiauth-cli -- --nocapture
set -euo pipefail
cd "$(dirname "$0")/.."
cargo_args=() test_args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do cargo_args+=("$1"); shift; done
[ $# -gt 0 ] && shift
test_args=("$@")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked "${cargo_args[@]}" -- --include-ignored "${test_args[@]}" </dev/null 2>&1 |
  tee "$log" || status=$?
awk '/^test result:/ {
       for (i = 1; i < NF; i++) {
         if ($(i+1) ~ /^passed/) p += $i
         if ($(i+1) ~ /^failed/) f += $i
         if ($(i+1) ~ /^ignored/) g += $i
       }
     }
     END {
       printf "cargo test: %d passed, %d failed, %d ignored\n", p, f, g
       if (g > 0) { print "cargo test: tests were left ignored: every test must run here" > "/dev/stderr"; exit 1 }
     }' "$log" || status=1
exit "$status"

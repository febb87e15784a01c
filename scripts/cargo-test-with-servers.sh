#!/usr/bin/env bash
# `cargo test --locked ARGS -- --include-ignored [TEST ARGS]`: the Rust tests
# including the ones `#[ignore]`d because they need the loopback servers (a plain
# `cargo test` with nothing running reports those as ignored). Run with the
# servers' CORTIAUTH_* variables set (scripts/test-suites.sh, cli/test.sh).
# Prints the totals and fails when any test failed or was still ignored, so a
# test can never be skipped here without this run failing. The test binaries run
# a few at a time (scripts/run-test-binaries.py), as cargo would run them in turn.
#
#   scripts/cargo-test-with-servers.sh --workspace
#   scripts/cargo-test-with-servers.sh -p cortiauth-cli -- --nocapture
set -euo pipefail
cd "$(dirname "$0")/.."
cargo_args=() test_args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do cargo_args+=("$1"); shift; done
[ $# -gt 0 ] && shift
test_args=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/log
status=0
# Built as `cargo test` builds; the test binaries then run CORTIAUTH_TEST_JOBS at a
# time (scripts/run-test-binaries.py: each binary's own tests as libtest runs them),
# three by default, while the doc tests compile and run beside them: 64 s of test
# time became 24 s (docs/design/test-kit.md has the timing-tight tests this needed).
cargo test --locked "${cargo_args[@]}" --no-run --message-format=json-render-diagnostics \
  </dev/null >"$work/artifacts.json" || exit 1
doc=0
if python3 -c 'import json, sys
sys.exit(0 if any(json.loads(l).get("target", {}).get("doctest") for l in open(sys.argv[1]) if l.startswith("{")) else 1)' "$work/artifacts.json"; then
  doc=1
  cargo test --locked "${cargo_args[@]}" --doc -- --include-ignored "${test_args[@]}" </dev/null >"$work/doc.log" 2>&1 &
  doc_pid=$!
fi
python3 scripts/run-test-binaries.py "${CORTIAUTH_TEST_JOBS:-3}" "$work/artifacts.json" -- \
  --include-ignored "${test_args[@]}" | tee "$log" || status=$?
if [ "$doc" = 1 ]; then
  wait "$doc_pid" || status=$?
  cat "$work/doc.log"
  cat "$work/doc.log" >>"$log"
fi
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

#!/usr/bin/env bash
# THE test command (README, .ci/run): lints, then every suite against real
# authorization servers started on loopback by the project's own scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# Every cargo build of the run for the host triple named explicitly, as napi's builds
# are: the Node suite's debug build (for its generated-types check) then reuses the
# workspace test build instead of compiling the tree again (~35 s on 2 cores).
CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
export CARGO_BUILD_TARGET
# A CI run starts from a fresh clone, so incremental caches are never read back, and
# full debug info makes each of the ~40 test binaries ~100 MB: without both, the debug
# tree of a run is 2-3x smaller and links faster (a run once failed with the CI
# machine's disk full). Line tables keep file:line in backtraces. Set either variable
# to override.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
free_space() { df -Pk . | awk 'NR==2 { printf "%.1f GiB free", $4 / 1048576 }'; }
echo "cortiauth: $(free_space) on the disk of $PWD at the start"
# The generated-files check runs after the workspace build (scripts/test-suites.sh).
export CORTIAUTH_LINT_GENERATED=after-build
t0=$(date +%s)
scripts/lint.sh
echo "=== scripts/lint.sh passed in $(( $(date +%s) - t0 )) s ==="
if [ -x tests/servers/with-servers.sh ]; then
  tests/servers/with-servers.sh scripts/test-suites.sh
else
  scripts/test-suites.sh
fi
echo "cortiauth: all suites passed in $(( $(date +%s) - start )) s; $(free_space) at the end, target/ holds $(du -sh target 2>/dev/null | cut -f1)"

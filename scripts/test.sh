#!/usr/bin/env bash
# THE test command (README, .ci/run): lints, then every suite against real
# authorization servers started on loopback by the project's own scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/lint.sh
if [ -x tests/servers/with-servers.sh ]; then
  tests/servers/with-servers.sh scripts/test-suites.sh
else
  scripts/test-suites.sh
fi
echo "cortiauth: all suites passed in $(( $(date +%s) - start )) s"

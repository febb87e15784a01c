#!/usr/bin/env bash
# The files generated from the core's settings table (C setters, Python and
# TypeScript option types, docs/settings.md, the parity names) match the table.
#
# Under scripts/test-suites.sh (CORTIAUTH_WORKSPACE_BUILD set) the generator is built
# with the packages, features and target kinds of the workspace test build, so only
# its own crate compiles (1 s instead of 24 s for a build of the core of its own);
# alone, it is `cargo run -p cortiauth-settings-gen -- --check`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tests/servers/lib.sh
. tests/servers/lib.sh # cargo_out
if [ -n "${CORTIAUTH_WORKSPACE_BUILD:-}" ]; then
  # shellcheck disable=SC2086
  cargo build -q --locked $CORTIAUTH_WORKSPACE_BUILD --tests --bin cortiauth-settings-gen
  "$(cargo_out debug)/cortiauth-settings-gen" --check
else
  cargo run -q --locked -p cortiauth-settings-gen -- --check
fi

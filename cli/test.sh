#!/usr/bin/env bash
# The CLI's tests: unit tests (cache URL, exit-code
# mapping) and end-to-end runs of the `cortiauth` binary against the loopback
# Keycloak (`#[ignore]`d in a plain `cargo test`; included here). Needs the
# CORTIAUTH_KC_* variables of tests/servers/with-servers.sh; when they are
# missing it starts the servers itself. Arguments go to cargo test
# (`cli/test.sh -- --nocapture` for the test binary).
set -euo pipefail
cd "$(dirname "$0")/.."
# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$PWD/tests/servers/with-servers.sh" run "$PWD/cli/test.sh" "$@"
exec scripts/cargo-test-with-servers.sh -p cortiauth-cli "$@"

#!/usr/bin/env bash
# The CLI's tests: unit tests (cache crypto, key derivation, file modes, exit-code
# mapping) and end-to-end runs of the `cortiauth` binary against the loopback
# Keycloak. Needs the CORTIAUTH_KC_* variables of tests/servers/with-servers.sh;
# when they are missing it starts the servers itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/servers/ensure.sh "$PWD/cli/test.sh" "$@"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test -p cortiauth-cli --locked "$@" </dev/null 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "cli: %d tests passed, %d failed\n", p, f }' "$log"
exit "$status"

#!/usr/bin/env bash
# Stops what tests/servers/start.sh started and removes tests/servers/.run/env.sh.
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RD="$SERVERS_DIR/.run"
export CORTIAUTH_SERVERS_RUN_DIR="$RD"
rc=0
"$SERVERS_DIR/tiro-ctl.sh" stop || rc=1
"$SERVERS_DIR/keycloak.sh" stop "$RD" || rc=1
"$SERVERS_DIR/redis.sh" stop "$RD" || rc=1
rm -f "$RD/env.sh" "$RD/tiro.port" "$RD/redis.port"
[ "$rc" = 0 ] && say "stopped (unset the CORTIAUTH_* variables in shells that sourced env.sh)"
exit "$rc"

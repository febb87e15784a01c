#!/usr/bin/env bash
# Interactive use: start Keycloak, the Tiro server and Redis and leave them running.
#
#   tests/servers/start.sh
#   source tests/servers/.run/env.sh      # the same CORTIAUTH_* as with-servers.sh
#   cargo test -- --include-ignored       # or tests/servers/with-servers.sh CMD: it reuses them
#   tests/servers/stop.sh
#
# State (pids, ports, logs, env.sh) lives in tests/servers/.run/ (git-ignored).
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RD="$SERVERS_DIR/.run"
export CORTIAUTH_SERVERS_RUN_DIR="$RD"
mkdir -p "$RD"

if [ -f "$RD/keycloak.pid" ] && group_alive "$(cat "$RD/keycloak.pid")" && "$SERVERS_DIR/tiro-ctl.sh" status && "$SERVERS_DIR/redis.sh" status "$RD" && [ -f "$RD/env.sh" ]; then
  say "already running; source $RD/env.sh (tests/servers/stop.sh stops them)"
  exit 0
fi

ok=0
cleanup() {
  if [ "$ok" != 1 ]; then
    "$SERVERS_DIR/tiro-ctl.sh" stop >/dev/null 2>&1 || true
    "$SERVERS_DIR/keycloak.sh" stop "$RD" >/dev/null 2>&1 || true
    "$SERVERS_DIR/redis.sh" stop "$RD" >/dev/null 2>&1 || true
    rm -f "$RD/env.sh"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0="$(now)"
if [ -f "$RD/keycloak.pid" ]; then "$SERVERS_DIR/keycloak.sh" stop "$RD"; fi
# A fresh port for Tiro on every start.sh (tiro-ctl.sh keeps it across its own stop/start).
rm -f "$RD/tiro.port" "$RD/env.sh"
"$SERVERS_DIR/keycloak.sh" start "$RD" & kc=$!
"$SERVERS_DIR/tiro-ctl.sh" start & tiro=$!
"$SERVERS_DIR/redis.sh" start "$RD" & redis=$!
kc_rc=0; tiro_rc=0; redis_rc=0
wait "$kc" || kc_rc=$?
wait "$tiro" || tiro_rc=$?
wait "$redis" || redis_rc=$?
[ "$kc_rc" = 0 ] || die "Keycloak did not start"
[ "$tiro_rc" = 0 ] || die "the Tiro server did not start"
[ "$redis_rc" = 0 ] || die "Redis did not start"
{
  printf '# written by tests/servers/start.sh; tests/servers/stop.sh removes it\n'
  cat "$RD/keycloak.env" "$RD/tiro.env" "$RD/redis.env"
  printf "export CORTIAUTH_SERVERS_RUN_DIR='%s'\n" "$RD"
} >"$RD/env.sh"
ok=1
say "servers up in $(elapsed "$t0") s. Now: source $RD/env.sh"

#!/usr/bin/env bash
# THE entry point of the loopback servers, for every suite and by hand:
#
#   tests/servers/with-servers.sh run CMD [ARGS...]   (or just CMD [ARGS...])
#   tests/servers/with-servers.sh up                  (start.sh: leave them running)
#   tests/servers/with-servers.sh down                (stop.sh)
#
# Starts Keycloak (keycloak.sh), the Tiro-shaped server (tiro-ctl.sh) and
# Redis (redis.sh, for the shared token store) on 127.0.0.1 in parallel,
# exports the CORTIAUTH_* variables describing them (README.md lists them),
# runs CMD, then stops the servers whatever happens
# (normal exit, failure, Ctrl-C, SIGTERM) and exits with CMD's exit code.
#
# Reuse: when CORTIAUTH_KEYCLOAK_URL is already set (e.g. after
# `source tests/servers/.run/env.sh` from start.sh), nothing is started or
# stopped: the servers are checked to answer and CMD runs against them.
#
# State (pids, ports, logs) goes to tests/servers/.run/with-servers.<pid>/,
# exported as CORTIAUTH_SERVERS_RUN_DIR (tiro-ctl.sh uses it); it is removed
# when CMD succeeds and kept, with the logs, when anything fails.
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$#" -ge 1 ] || die "usage: with-servers.sh up | down | run CMD [ARGS...] (or CMD [ARGS...])"

# The one entry point of the servers' lifecycle:
#   up        start them and leave them running (then: source tests/servers/.run/env.sh)
#   down      stop what `up` started
#   run CMD   start them, run CMD, stop them (CMD alone, without `run`, works too;
#             with the servers already up and their variables set, CMD just runs)
case "$1" in
  up) shift; exec "$SERVERS_DIR/start.sh" "$@" ;;
  down) shift; exec "$SERVERS_DIR/stop.sh" "$@" ;;
  run) shift; [ "$#" -ge 1 ] || die "usage: with-servers.sh run CMD [ARGS...]" ;;
esac

if [ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ]; then
  for v in CORTIAUTH_KC_TOKEN_URL_BASE CORTIAUTH_KC_CLIENT_ID CORTIAUTH_KC_CLIENT_SECRET CORTIAUTH_TIRO_TOKEN_URL CORTIAUTH_TIRO_CLIENT_ID CORTIAUTH_TIRO_CLIENT_SECRET; do
    [ -n "${!v:-}" ] || die "CORTIAUTH_KEYCLOAK_URL is set (reuse mode) but $v is not: source tests/servers/.run/env.sh"
  done
  [ "$(token_status "$CORTIAUTH_KC_TOKEN_URL_BASE" -d "client_id=$CORTIAUTH_KC_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_CLIENT_SECRET")" = 200 ] ||
    die "reuse mode: Keycloak at $CORTIAUTH_KEYCLOAK_URL does not issue tokens (start.sh again, or unset CORTIAUTH_KEYCLOAK_URL)"
  [ "$(token_status "$CORTIAUTH_TIRO_TOKEN_URL" -u "$CORTIAUTH_TIRO_CLIENT_ID:$CORTIAUTH_TIRO_CLIENT_SECRET")" = 200 ] ||
    die "reuse mode: the Tiro server at $CORTIAUTH_TIRO_TOKEN_URL does not issue tokens"
  [ -n "${CORTIAUTH_REDIS_URL:-}" ] ||
    say "WARNING: reuse mode without CORTIAUTH_REDIS_URL (servers started before Redis was added?): the Redis store suite will fail; restart them with tests/servers/stop.sh && tests/servers/start.sh"
  say "reusing the running servers (CORTIAUTH_KEYCLOAK_URL=$CORTIAUTH_KEYCLOAK_URL)"
  exec "$@"
fi

RD="$SERVERS_DIR/.run/with-servers.$$"
rm -rf "$RD"
mkdir -p "$RD"
export CORTIAUTH_SERVERS_RUN_DIR="$RD"

KC_STARTER="" TIRO_STARTER="" REDIS_STARTER="" CHILD="" RC=1 STOPPING=0

# shellcheck disable=SC2317  # (invoked by the traps)
cleanup() {
  local rc=$? ok=1
  trap - EXIT INT TERM HUP
  [ "$STOPPING" = 1 ] && return
  STOPPING=1
  [ -n "${RC_SET:-}" ] && rc="$RC"
  # The command's own process group: whatever it left running goes too.
  if [ -n "$CHILD" ]; then
    stop_group "$CHILD" 10 || true
  fi
  for p in $KC_STARTER $TIRO_STARTER $REDIS_STARTER; do
    kill -TERM "$p" 2>/dev/null || true
  done
  "$SERVERS_DIR/tiro-ctl.sh" stop >/dev/null 2>&1 || ok=0
  "$SERVERS_DIR/keycloak.sh" stop "$RD" || ok=0
  "$SERVERS_DIR/redis.sh" stop "$RD" >/dev/null 2>&1 || ok=0
  if [ "$rc" = 0 ] && [ "$ok" = 1 ]; then
    rm -rf "$RD"
  else
    say "logs kept in $RD"
  fi
  exit "$rc"
}
# shellcheck disable=SC2317
on_signal() {
  local sig="$1" code="$2"
  say "SIG$sig: stopping"
  if [ -n "$CHILD" ]; then kill "-$sig" -- "-$CHILD" 2>/dev/null || true; fi
  RC="$code"; RC_SET=1
  exit "$code"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

t0="$(now)"
"$SERVERS_DIR/keycloak.sh" start "$RD" & KC_STARTER=$!
"$SERVERS_DIR/tiro-ctl.sh" start & TIRO_STARTER=$!
"$SERVERS_DIR/redis.sh" start "$RD" & REDIS_STARTER=$!
kc_rc=0; tiro_rc=0; redis_rc=0
wait "$KC_STARTER" || kc_rc=$?
wait "$TIRO_STARTER" || tiro_rc=$?
wait "$REDIS_STARTER" || redis_rc=$?
KC_STARTER="" TIRO_STARTER="" REDIS_STARTER=""
[ "$kc_rc" = 0 ] || die "Keycloak did not start (exit $kc_rc)"
[ "$tiro_rc" = 0 ] || die "the Tiro server did not start (exit $tiro_rc)"
[ "$redis_rc" = 0 ] || die "Redis did not start (exit $redis_rc)"

{
  printf '# written by tests/servers/with-servers.sh\n'
  cat "$RD/keycloak.env" "$RD/tiro.env" "$RD/redis.env"
  printf "export CORTIAUTH_SERVERS_RUN_DIR='%s'\n" "$RD"
} >"$RD/env.sh"
chmod 600 "$RD/env.sh"
# shellcheck disable=SC1091
. "$RD/env.sh"
say "servers up in $(elapsed "$t0") s; running: $*"

rc=0
if [ -t 0 ]; then
  # A terminal: CMD runs in the foreground so it owns the terminal and gets
  # Ctrl-C itself; the traps run once it has exited.
  "$@" || rc=$?
else
  # No terminal (CI, scripts): CMD in its own process group (job control on
  # just for this) so a signal or the cleanup reaches everything it started,
  # and a SIGTERM to this script is handled at once; stdin is passed through.
  set -m
  "$@" <&0 &
  CHILD=$!
  set +m
  # wait returns early (>128) when a trapped signal arrives; the trap exits.
  wait "$CHILD" || rc=$?
fi
RC="$rc"; RC_SET=1
exit "$rc"

#!/usr/bin/env bash
# THE lifecycle of the loopback servers, for every suite and by hand:
#
#   tests/servers/with-servers.sh up                  start them and leave them running;
#                                                     then: source tests/servers/.run/env.sh
#   tests/servers/with-servers.sh down                stop what `up` started
#   tests/servers/with-servers.sh run CMD [ARGS...]   start them, run CMD, stop them
#                                                     (or just CMD [ARGS...])
#
# The servers: Keycloak (keycloak.sh), the Tiro-shaped server (tiro-ctl.sh), Redis
# (redis.sh, for the shared token store) and the scriptable stub (stub.sh,
# tests/stub), started on 127.0.0.1 in parallel. Their CORTIAUTH_* variables
# (README.md lists them) are exported to CMD, or written to .run/env.sh by `up`.
# `run` stops the servers whatever happens (normal exit, failure, Ctrl-C, SIGTERM)
# and exits with CMD's exit code.
#
# Reuse: when CORTIAUTH_KEYCLOAK_URL is already set (after `up` and
# `source tests/servers/.run/env.sh`, or inside an outer `run`), nothing is started
# or stopped: the servers are checked to answer and CMD runs against them. A
# script that needs the servers starts with the one line
#
#   [ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$ROOT/tests/servers/with-servers.sh" run "$0" "$@"
#
# State (pids, ports, logs) goes to tests/servers/.run/ for `up`, and to
# tests/servers/.run/with-servers.<pid>/ for `run` (exported as
# CORTIAUTH_SERVERS_RUN_DIR), removed when CMD succeeds and kept, with the logs,
# when anything fails.
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$#" -ge 1 ] || die "usage: with-servers.sh up | down | run CMD [ARGS...] (or CMD [ARGS...])"

# Starts every server into RUN_DIR in parallel and writes RUN_DIR/env.sh.
start_all() {
  local rd="$1" pids="" p rc=0 name
  "$SERVERS_DIR/keycloak.sh" start "$rd" & pids="$pids $!:Keycloak"
  "$SERVERS_DIR/tiro-ctl.sh" start & pids="$pids $!:the-Tiro-server"
  "$SERVERS_DIR/redis.sh" start "$rd" & pids="$pids $!:Redis"
  "$SERVERS_DIR/stub.sh" start "$rd" & pids="$pids $!:the-stub"
  STARTERS="$pids"
  for p in $pids; do
    name="${p#*:}"
    wait "${p%%:*}" || { rc=$?; say "${name//-/ } did not start (exit $rc)"; }
  done
  STARTERS=""
  [ "$rc" = 0 ] || return 1
  {
    printf '# written by tests/servers/with-servers.sh\n'
    cat "$rd/keycloak.env" "$rd/tiro.env" "$rd/redis.env" "$rd/stub.env"
    printf "export CORTIAUTH_SERVERS_RUN_DIR='%s'\n" "$rd"
  } >"$rd/env.sh"
  chmod 600 "$rd/env.sh"
}

# Stops every server of RUN_DIR; 0 when all stopped cleanly.
stop_all() {
  local rd="$1" ok=0
  "$SERVERS_DIR/tiro-ctl.sh" stop >/dev/null 2>&1 || ok=1
  "$SERVERS_DIR/keycloak.sh" stop "$rd" || ok=1
  "$SERVERS_DIR/redis.sh" stop "$rd" >/dev/null 2>&1 || ok=1
  "$SERVERS_DIR/stub.sh" stop "$rd" >/dev/null 2>&1 || ok=1
  return "$ok"
}

STARTERS="" UP_RD="" UP_OK=0

cmd_up() {
  local t0
  UP_RD="$SERVERS_DIR/.run" UP_OK=0
  local rd="$UP_RD"
  export CORTIAUTH_SERVERS_RUN_DIR="$rd"
  mkdir -p "$rd"
  if [ -f "$rd/env.sh" ] && [ -f "$rd/keycloak.pid" ] && group_alive "$(cat "$rd/keycloak.pid")" &&
    "$SERVERS_DIR/tiro-ctl.sh" status && "$SERVERS_DIR/redis.sh" status "$rd" && "$SERVERS_DIR/stub.sh" status "$rd"; then
    say "already running; source $rd/env.sh (with-servers.sh down stops them)"
    return 0
  fi
  # shellcheck disable=SC2317  # (invoked by the trap)
  up_cleanup() {
    if [ "$UP_OK" != 1 ]; then
      for p in $STARTERS; do kill -TERM "${p%%:*}" 2>/dev/null || true; done
      stop_all "$UP_RD" >/dev/null 2>&1 || true
      rm -f "$UP_RD/env.sh"
    fi
  }
  trap up_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  t0="$(now)"
  if [ -f "$rd/keycloak.pid" ]; then "$SERVERS_DIR/keycloak.sh" stop "$rd"; fi
  # A fresh port for Tiro on every `up` (tiro-ctl.sh keeps it across its own stop/start).
  rm -f "$rd/tiro.port" "$rd/env.sh"
  start_all "$rd" || die "the servers did not start"
  UP_OK=1
  say "servers up in $(elapsed "$t0") s. Now: source $rd/env.sh"
}

cmd_down() {
  local rd="$SERVERS_DIR/.run" rc=0
  export CORTIAUTH_SERVERS_RUN_DIR="$rd"
  stop_all "$rd" || rc=1
  rm -f "$rd/env.sh" "$rd/tiro.port" "$rd/redis.port"
  [ "$rc" = 0 ] && say "stopped (unset the CORTIAUTH_* variables in shells that sourced env.sh)"
  return "$rc"
}

case "$1" in
  up) cmd_up; exit ;;
  down) cmd_down; exit ;;
  run) shift; [ "$#" -ge 1 ] || die "usage: with-servers.sh run CMD [ARGS...]" ;;
esac

if [ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ]; then
  for v in CORTIAUTH_KC_TOKEN_URL_BASE CORTIAUTH_KC_CLIENT_ID CORTIAUTH_KC_CLIENT_SECRET CORTIAUTH_TIRO_TOKEN_URL CORTIAUTH_TIRO_CLIENT_ID CORTIAUTH_TIRO_CLIENT_SECRET; do
    [ -n "${!v:-}" ] || die "CORTIAUTH_KEYCLOAK_URL is set (reuse mode) but $v is not: source tests/servers/.run/env.sh"
  done
  [ "$(token_status "$CORTIAUTH_KC_TOKEN_URL_BASE" -d "client_id=$CORTIAUTH_KC_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_CLIENT_SECRET")" = 200 ] ||
    die "reuse mode: Keycloak at $CORTIAUTH_KEYCLOAK_URL does not issue tokens (with-servers.sh down && with-servers.sh up, or unset CORTIAUTH_KEYCLOAK_URL)"
  [ "$(token_status "$CORTIAUTH_TIRO_TOKEN_URL" -u "$CORTIAUTH_TIRO_CLIENT_ID:$CORTIAUTH_TIRO_CLIENT_SECRET")" = 200 ] ||
    die "reuse mode: the Tiro server at $CORTIAUTH_TIRO_TOKEN_URL does not issue tokens"
  [ -n "${CORTIAUTH_REDIS_URL:-}" ] ||
    say "WARNING: reuse mode without CORTIAUTH_REDIS_URL (servers started before Redis was added?): the Redis store suite will fail; restart them with with-servers.sh down && with-servers.sh up"
  say "reusing the running servers (CORTIAUTH_KEYCLOAK_URL=$CORTIAUTH_KEYCLOAK_URL)"
  exec "$@"
fi

RD="$SERVERS_DIR/.run/with-servers.$$"
rm -rf "$RD"
mkdir -p "$RD"
export CORTIAUTH_SERVERS_RUN_DIR="$RD"

CHILD="" RC=1 STOPPING=0

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
  for p in $STARTERS; do
    kill -TERM "${p%%:*}" 2>/dev/null || true
  done
  stop_all "$RD" || ok=0
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
start_all "$RD" || die "the servers did not start"
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

#!/usr/bin/env bash
# The Tiro.health-shaped server (tiro/server.mjs, oidc-provider) on loopback.
#
#   tiro-ctl.sh start    start it (on the port it had before, if it ran in this
#                        RUN_DIR already) and wait until it issues a token
#   tiro-ctl.sh stop     stop it; the port stays reserved in RUN_DIR for `start`
#   tiro-ctl.sh status   exit 0 when it is running
#
# Tests simulate an outage with `tiro-ctl.sh stop` ... `tiro-ctl.sh start` while
# with-servers.sh runs: the state lives in $CORTIAUTH_SERVERS_RUN_DIR (exported by
# with-servers.sh), else tests/servers/.run: tiro.pid, tiro.port, tiro.log, tiro.env.
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TIRO_DIR="$SERVERS_DIR/tiro"
RD="$(run_dir)"
# Generous: on a fresh machine node starts while apt, Maven and Keycloak load both cores
# (seen: over 30 s). It returns as soon as the server answers.
TIMEOUT="${CORTIAUTH_TIRO_TIMEOUT:-120}"

# npm ci when node_modules does not match package-lock.json (stamped by its hash).
ensure_deps() {
  local want have
  command -v node >/dev/null || die "node not found (Node 20+ is needed for the Tiro server)"
  want="$(sha256sum "$TIRO_DIR/package-lock.json" | cut -d' ' -f1)"
  have="$(cat "$TIRO_DIR/node_modules/.cortiauth-lock-sha256" 2>/dev/null || true)"
  [ "$want" = "$have" ] && return 0
  mkdir -p "$SERVERS_DIR/.run"
  (
    flock -w 600 8 || die "timed out waiting for the npm lock"
    have="$(cat "$TIRO_DIR/node_modules/.cortiauth-lock-sha256" 2>/dev/null || true)"
    [ "$want" = "$have" ] && exit 0
    command -v npm >/dev/null || die "npm not found"
    say "installing the Tiro server's packages (npm ci)"
    (cd "$TIRO_DIR" && npm ci --no-audit --no-fund --loglevel=error </dev/null >&2) ||
      die "npm ci failed in $TIRO_DIR"
    printf '%s\n' "$want" >"$TIRO_DIR/node_modules/.cortiauth-lock-sha256"
  ) 8>"$SERVERS_DIR/.run/npm.lock"
}

running_pid() {
  local pid
  pid="$(cat "$RD/tiro.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && group_alive "$pid"; then printf '%s\n' "$pid"; fi
}

cmd_start() {
  local pid port url t0 status _
  mkdir -p "$RD"
  if pid="$(running_pid)" && [ -n "$pid" ]; then
    say "Tiro server already running (pid $pid)"
    return 0
  fi
  ensure_deps
  command -v curl >/dev/null || die "curl is needed"
  port="$(cat "$RD/tiro.port" 2>/dev/null || true)"
  for _ in 1 2 3; do
    if [ -z "$port" ]; then port="$(free_port)"; fi
    url="http://127.0.0.1:$port"
    t0="$(now)"
    # Own process group (setsid), so stop takes node and anything it spawned.
    (cd "$TIRO_DIR" && exec setsid node server.mjs "$port") >>"$RD/tiro.log" 2>&1 </dev/null 8>&- 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$RD/tiro.pid"
    while :; do
      status="$(token_status "$url/oauth/token" -u tiro-client:tiro-secret)"
      [ "$status" = 200 ] && break
      if ! started_alive "$pid"; then break; fi
      if [ "$(python3 -c 'import sys; print(int(float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$(now)")" -ge "$TIMEOUT" ]; then
        stop_group "$pid" 5 || true
        break
      fi
      sleep 0.1
    done
    [ "$status" = 200 ] && break
    rm -f "$RD/tiro.pid"
    # A port chosen here that something else grabbed: pick another (a reused
    # port must stay the same, tests rely on it).
    if grep -q EADDRINUSE "$RD/tiro.log" && [ ! -f "$RD/tiro.port" ]; then
      port=""; continue
    fi
    say "Tiro server did not start. Last lines of $RD/tiro.log:"
    tail -n 40 "$RD/tiro.log" >&2 || true
    die "Tiro server did not start on port $port"
  done
  [ "$status" = 200 ] || die "Tiro server did not start"
  printf '%s\n' "$port" >"$RD/tiro.port"
  cat >"$RD/tiro.env" <<EOF
export CORTIAUTH_TIRO_URL='$url'
export CORTIAUTH_TIRO_TOKEN_URL='$url/oauth/token'
export CORTIAUTH_TIRO_CLIENT_ID='tiro-client'
export CORTIAUTH_TIRO_CLIENT_SECRET='tiro-secret'
export CORTIAUTH_TIRO_POST_CLIENT_ID='tiro-post'
export CORTIAUTH_TIRO_POST_CLIENT_SECRET='tiro-post-secret'
export CORTIAUTH_TIRO_SHORT_CLIENT_ID='tiro-short'
export CORTIAUTH_TIRO_SHORT_CLIENT_SECRET='tiro-short-secret'
EOF
  local rss
  rss="$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
  say "Tiro server (oidc-provider) ready at $url in $(elapsed "$t0") s (pid $pid, RSS ${rss:-?} KiB)"
}

cmd_stop() {
  local pid i
  pid="$(cat "$RD/tiro.pid" 2>/dev/null || true)"
  if [ -n "$pid" ]; then
    stop_group "$pid" 10 || true
    say "Tiro server stopped (pid $pid)"
  fi
  rm -f "$RD/tiro.pid"
  # Until the port no longer answers: callers test the outage right after.
  local port
  port="$(cat "$RD/tiro.port" 2>/dev/null || true)"
  if [ -n "$port" ]; then
    for ((i = 0; i < 50; i++)); do
      curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null || return 0
      sleep 0.1
    done
    die "port $port still answers after stop"
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) [ -n "$(running_pid)" ] ;;
  *) die "usage: tiro-ctl.sh start|stop|status (state in \$CORTIAUTH_SERVERS_RUN_DIR or tests/servers/.run)" ;;
esac

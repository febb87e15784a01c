#!/usr/bin/env bash
# Redis on loopback for cortiauth's shared token store tests.
#
#   redis.sh install           install Debian's redis-server when missing (apt-get)
#   redis.sh start [RUN_DIR]   start redis-server on 127.0.0.1 with a password and
#                              wait until it answers PING; on a later start in the
#                              same RUN_DIR the port and password stay the same
#   redis.sh stop  [RUN_DIR]   stop it; returns once the port refuses connections
#   redis.sh status [RUN_DIR]  exit 0 while it runs
#
# RUN_DIR defaults to $CORTIAUTH_SERVERS_RUN_DIR, else tests/servers/.run. It gets
# redis.pid (also the process group), redis.port, redis.conf (0600: it holds the
# password), redis.url (the full URL), redis.log and redis.env
# (export CORTIAUTH_REDIS_URL=redis://:PASSWORD@127.0.0.1:PORT/0). Nothing is
# persisted to disk (no RDB, no AOF).
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RD="${2:-$(run_dir)}"
TIMEOUT="${CORTIAUTH_REDIS_TIMEOUT:-20}"

cmd_install() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  mkdir -p "$SERVERS_DIR/.run"
  (
    flock -w 600 8 || die "timed out waiting for the apt lock"
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null && exit 0
    [ "$(id -u)" = 0 ] || die "redis-server is not installed and installing it needs root: apt-get install redis-server"
    command -v apt-get >/dev/null || die "redis-server is not installed and there is no apt-get: install Redis 6+ (redis-server, redis-cli)"
    say "installing redis-server (apt-get)"
    # Keep the package's own service from starting on port 6379.
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      policy=/usr/sbin/policy-rc.d
    fi
    rc=0
    {
      DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server
    } </dev/null >&2 || rc=$?
    [ -z "$policy" ] || rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get install redis-server failed (exit $rc)"
  ) 8>"$SERVERS_DIR/.run/apt.lock"
  command -v redis-server >/dev/null || die "redis-server still not found after installing it"
}

running_pid() {
  local pid
  pid="$(cat "$RD/redis.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && group_alive "$pid"; then printf '%s\n' "$pid"; fi
}

ping() { # PORT PASSWORD -> 0 when the server answers PONG
  [ "$(REDISCLI_AUTH="$2" redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning PING 2>/dev/null || true)" = PONG ]
}

cmd_start() {
  local pid port password t0 _
  mkdir -p "$RD"
  if pid="$(running_pid)" && [ -n "$pid" ]; then
    say "Redis already running (pid $pid)"
    return 0
  fi
  cmd_install
  password="$(cat "$RD/redis.password" 2>/dev/null || true)"
  if [ -z "$password" ]; then
    password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    (umask 077 && printf '%s\n' "$password" >"$RD/redis.password")
  fi
  port="$(cat "$RD/redis.port" 2>/dev/null || true)"
  for _ in 1 2 3; do
    if [ -z "$port" ]; then port="$(free_port)"; fi
    (
      umask 077
      cat >"$RD/redis.conf" <<EOF
bind 127.0.0.1
port $port
protected-mode yes
requirepass $password
save ""
appendonly no
dir $RD
daemonize no
logfile ""
EOF
    )
    t0="$(now)"
    setsid redis-server "$RD/redis.conf" >>"$RD/redis.log" 2>&1 </dev/null 8>&- 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$RD/redis.pid"
    while ! ping "$port" "$password"; do
      started_alive "$pid" || break
      if [ "$(python3 -c 'import sys; print(int(float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$(now)")" -ge "$TIMEOUT" ]; then
        stop_group "$pid" 5 || true
        break
      fi
      sleep 0.02
    done
    ping "$port" "$password" && break
    rm -f "$RD/redis.pid"
    # A port chosen here that something else grabbed: pick another (a reused
    # port must stay the same, tests rely on it).
    if grep -q "Address already in use" "$RD/redis.log" && [ ! -f "$RD/redis.port" ]; then
      port=""; continue
    fi
    say "Redis did not start. Last lines of $RD/redis.log:"
    tail -n 40 "$RD/redis.log" >&2 || true
    die "Redis did not start on port $port"
  done
  ping "$port" "$password" || die "Redis did not start"
  printf '%s\n' "$port" >"$RD/redis.port"
  (umask 077 && printf 'redis://:%s@127.0.0.1:%s/0\n' "$password" "$port" >"$RD/redis.url")
  (umask 077 && printf "export CORTIAUTH_REDIS_URL='redis://:%s@127.0.0.1:%s/0'\n" "$password" "$port" >"$RD/redis.env")
  say "Redis $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p') ready at 127.0.0.1:$port in $(elapsed "$t0") s (pid $pid)"
}

cmd_stop() {
  local pid port i
  pid="$(cat "$RD/redis.pid" 2>/dev/null || true)"
  if [ -n "$pid" ]; then
    stop_group "$pid" 10 || true
    say "Redis stopped (pid $pid)"
  fi
  rm -f "$RD/redis.pid"
  port="$(cat "$RD/redis.port" 2>/dev/null || true)"
  if [ -n "$port" ]; then
    for ((i = 0; i < 50; i++)); do
      python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$port" 2>/dev/null || return 0
      sleep 0.1
    done
    die "port $port still answers after stop"
  fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) [ -n "$(running_pid)" ] ;;
  *) die "usage: redis.sh install|start|stop|status [RUN_DIR]" ;;
esac

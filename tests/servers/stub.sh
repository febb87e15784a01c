#!/usr/bin/env bash
# The scriptable stub token server (tests/stub, `cortiauth-stub`) on loopback, for
# the faults a real authorization server will not produce on demand.
#
#   stub.sh start [RUN_DIR]   build it (cargo, debug; quick once built) and start it;
#                             returns once its control API answers
#   stub.sh stop  [RUN_DIR]   stop it
#   stub.sh status [RUN_DIR]  exit 0 while it runs
#
# RUN_DIR gets stub.pid, stub.log and stub.env
# (export CORTIAUTH_STUB_URL=http://127.0.0.1:PORT). tests/stub/README.md has its routes.
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RD="${2:-$(run_dir)}"
ROOT="$(cd "$SERVERS_DIR/../.." && pwd)"

running_pid() {
  local pid
  pid="$(cat "$RD/stub.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && group_alive "$pid"; then printf '%s\n' "$pid"; fi
}

cmd_start() {
  local pid t0 url=""
  mkdir -p "$RD"
  if pid="$(running_pid)" && [ -n "$pid" ]; then
    say "stub already running (pid $pid)"
    return 0
  fi
  t0="$(now)"
  (cd "$ROOT" && cargo build -q --locked -p cortiauth-stub --bin cortiauth-stub) >&2 ||
    die "cannot build cortiauth-stub"
  : >"$RD/stub.log"
  setsid "$(cargo_out debug)/cortiauth-stub" >"$RD/stub.out" 2>>"$RD/stub.log" </dev/null 8>&- 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$RD/stub.pid"
  # It prints its URL once it listens.
  for _ in $(seq 1 200); do
    url="$(sed -n 's/^CORTIAUTH_STUB_URL=//p' "$RD/stub.out" 2>/dev/null || true)"
    [ -n "$url" ] && break
    started_alive "$pid" || break
    sleep 0.02
  done
  [ -n "$url" ] || { cat "$RD/stub.log" >&2 || true; die "cortiauth-stub did not start"; }
  printf "export CORTIAUTH_STUB_URL='%s'\n" "$url" >"$RD/stub.env"
  say "stub (cortiauth-stub) ready at $url in $(elapsed "$t0") s (pid $pid)"
}

cmd_stop() {
  local pid
  pid="$(cat "$RD/stub.pid" 2>/dev/null || true)"
  if [ -n "$pid" ]; then
    stop_group "$pid" 5 || true
    say "stub stopped (pid $pid)"
  fi
  rm -f "$RD/stub.pid" "$RD/stub.out"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) [ -n "$(running_pid)" ] ;;
  *) die "usage: stub.sh start|stop|status [RUN_DIR]" ;;
esac

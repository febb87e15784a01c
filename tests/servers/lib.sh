# Shared helpers for tests/servers/*.sh. Sourced, never run.
# shellcheck shell=bash

SERVERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CORTIAUTH_CACHE_DIR="${CORTIAUTH_CACHE_DIR:-$HOME/.cache/cortiauth}"

# Used by the scripts that source this file.
# shellcheck disable=SC2034
{
  # Pinned versions (README.md says why these).
  KEYCLOAK_VERSION="26.7.3"
  MAVEN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
  # Keycloak's bootstrap admin (master realm), for tests that use the admin API.
  KC_ADMIN_USERNAME="admin"
  KC_ADMIN_PASSWORD="admin"
}

say() { printf 'servers: %s\n' "$*" >&2; }
die() { printf 'servers: ERROR: %s\n' "$*" >&2; exit 1; }

# Where cargo puts the builds of a profile (`debug`, `release`): under the target
# triple when CARGO_BUILD_TARGET names one (scripts/test.sh does).
cargo_out() { printf '%s/%s%s\n' "${CARGO_TARGET_DIR:-$(cd "$SERVERS_DIR/../.." && pwd)/target}" "${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}" "$1"; }

# Default state directory; with-servers.sh uses a private one per run.
run_dir() { printf '%s\n' "${CORTIAUTH_SERVERS_RUN_DIR:-$SERVERS_DIR/.run}"; }

now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(now)"; }

# A TCP port on 127.0.0.1 that is free right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Is the process group led by $1 (a pid started with setsid) still there?
group_alive() { [ -n "${1:-}" ] && kill -0 -- "-$1" 2>/dev/null; }

# For the start loops, about a server just started with `setsid` from this script:
# its group, or the process itself before its `setsid` has run. Under load that takes
# a while, and a loop that saw "no group" gave up on a server that then started (seen
# on a fresh machine: "Tiro server did not start", and a stray node left listening).
started_alive() { group_alive "$1" || kill -0 "$1" 2>/dev/null; }

# Stop the process group led by $1: SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_group() {
  local pgid="$1" grace="${2:-20}" i
  group_alive "$pgid" || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    group_alive "$pgid" || return 0
    sleep 0.1
  done
  say "process group $pgid still running after ${grace}s: SIGKILL"
  kill -KILL -- "-$pgid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    group_alive "$pgid" || return 0
    sleep 0.1
  done
  say "process group $pgid survived SIGKILL"
  return 1
}

# HTTP status of a client-credentials token request (form body $2..., URL $1).
token_status() {
  local url="$1"; shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 -d grant_type=client_credentials "$@" "$url" 2>/dev/null || true
}

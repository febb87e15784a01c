# Sourced (not run) by every suite or benchmark script that needs the loopback
# servers, as its first step:
#
#   . "$root/tests/servers/ensure.sh" "$0" "$@"
#
# When the servers' CORTIAUTH_* variables are already set (scripts/test.sh,
# start.sh's env.sh, an outer with-servers.sh), it does nothing; otherwise it
# runs the calling script again under with-servers.sh, which starts and stops them.
if [ -z "${CORTIAUTH_KEYCLOAK_URL:-}" ]; then
  __cortiauth_self="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
  shift
  exec "$(dirname "${BASH_SOURCE[0]}")/with-servers.sh" "$__cortiauth_self" "$@"
fi

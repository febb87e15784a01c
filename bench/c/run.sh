#!/usr/bin/env bash
# C benchmark of the cached token paths (release build, single thread), linked
# against the shared and the static library (not a test; `bench/run.sh c` runs it).
#
#   bench/c/run.sh [iterations]
#
# Uses the loopback Keycloak's 300 s client (so no refresh falls inside the run);
# starts the servers (tests/servers/with-servers.sh) unless they are up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$root/tests/servers/with-servers.sh" run "$here/run.sh" "$@"
work=$root/target/cortiauth-c/bench
rm -rf "$work"
ffi/install.sh --prefix "$work/prefix" --profile release >/dev/null
export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig
# shellcheck disable=SC2046
cc -O2 -std=c99 -Wall -Wextra -Werror -o "$work/bench_shared" bench/c/bench.c \
  $(pkg-config --cflags --libs cortiauth) -Wl,-rpath,"$work/prefix/lib"
# shellcheck disable=SC2046
cc -O2 -std=c99 -Wall -Wextra -Werror -o "$work/bench_static" bench/c/bench.c \
  $(pkg-config --cflags cortiauth) "$work/prefix/lib/libcortiauth.a" \
  $(pkg-config --libs-only-other --libs-only-l --static cortiauth | sed 's/-lcortiauth//')

export CORTI_CLIENT_ID=$CORTIAUTH_KC_CORTI_CLIENT_ID
export CORTI_CLIENT_SECRET=$CORTIAUTH_KC_CORTI_CLIENT_SECRET
export CORTI_TOKEN_URL=$CORTIAUTH_KC_TOKEN_URL_BASE
unset CORTI_ENVIRONMENT CORTI_TENANT_NAME CORTI_SCOPES
echo "== shared (libcortiauth.so)"
"$work/bench_shared" "$@"
echo "== static (libcortiauth.a)"
"$work/bench_static" "$@"

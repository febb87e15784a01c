#!/usr/bin/env bash
# Benchmark: cached getAccessToken() / getAccessTokenSync() per call, against
# simple-oauth2 and openid-client doing the same job, on the loopback Keycloak's
# 300 s client. Builds the addon (release), packs it, installs the tarball and the
# two competitors (bench/package-lock.json) into bench/, runs bench/bench.mjs.
# Not part of test.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ -z "${CORTIAUTH_KEYCLOAK_URL:-}" ]; then
  if [ -f "$root/tests/servers/.shared-env.sh" ]; then
    # shellcheck disable=SC1091
    source "$root/tests/servers/.shared-env.sh"
  elif [ -x "$root/tests/servers/with-servers.sh" ]; then
    exec "$root/tests/servers/with-servers.sh" "$0" "$@"
  else
    echo "bindings/node/bench.sh: CORTIAUTH_* variables not set and tests/servers/with-servers.sh missing" >&2
    exit 1
  fi
fi

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
tarball="$(npm pack --silent --pack-destination "$scratch" | tail -n 1)"

cd "$here/bench"
npm ci --no-audit --no-fund --loglevel=error
npm install --no-save --no-audit --no-fund --loglevel=error "$scratch/$tarball"
node bench.mjs

#!/usr/bin/env bash
# Benchmark: cached getAccessToken() / getAccessTokenSync() per call, against
# simple-oauth2 and openid-client doing the same job, on the loopback Keycloak's
# 300 s client. Builds the addon (release), packs it, installs the tarball and the
# two competitors (bench/package-lock.json) into bench/, runs bench/bench.mjs, then
# bench/refresh_tail.mjs (calls that waited > 1 ms over refreshes of a 3 s token).
# Not part of test.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$root/tests/servers/with-servers.sh" run "$here/bench.sh" "$@"

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
node refresh_tail.mjs "$here/bench/node_modules/cortiauth"

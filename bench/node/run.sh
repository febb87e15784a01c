#!/usr/bin/env bash
# Benchmarks of cortiauth from Node (not a test; `bench/run.sh node` runs it):
# cached getAccessToken() / getAccessTokenSync() per call against simple-oauth2 and
# openid-client doing the same job on the loopback Keycloak's 300 s client
# (bench.mjs), the refresh tail: calls that waited > 1 ms over refreshes of a 3 s
# token from the stub token server (refresh_tail.mjs), and the cached path with
# events on and off (events.mjs). Builds the addon (release) in bindings/node,
# packs it and installs the tarball next to the peers (package-lock.json) here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$root/tests/servers/with-servers.sh" run "$here/run.sh" "$@"

cd "$root/bindings/node"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
tarball="$(npm pack --silent --pack-destination "$scratch" | tail -n 1)"

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
npm install --no-save --no-audit --no-fund --loglevel=error "$scratch/$tarball"
node bench.mjs
node refresh_tail.mjs "$here/node_modules/cortiauth"
node events.mjs

#!/usr/bin/env bash
# The Node package's test suite, run the way a user gets it:
#   npm ci → build the addon (release) → regenerate native.d.ts and fail on drift →
#   npm pack → install the tarball into a fresh project → tsc on typed usage →
#   node --test against the real loopback servers, importing the installed `cortiauth`.
# Needs the CORTIAUTH_* variables of tests/servers/with-servers.sh; when they are not
# set it starts the servers itself (or uses the lead's shared ones).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

. "$root/tests/servers/ensure.sh" "$0" "$@"

cd "$here"
echo "== npm ci (bindings/node)"
npm ci --no-audit --no-fund --loglevel=error

echo "== build the addon and check native.d.ts for drift"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
committed_dts="$scratch/native.d.ts.committed"
if [ -f native.d.ts ]; then cp native.d.ts "$committed_dts"; else : > "$committed_dts"; fi
npm run --silent build
if ! diff -u "$committed_dts" native.d.ts; then
  echo "bindings/node/native.d.ts changed when regenerated: commit the regenerated file" >&2
  exit 1
fi

echo "== npm pack"
tarball="$(npm pack --silent --pack-destination "$scratch" | tail -n 1)"
tar -tzf "$scratch/$tarball" | sort

echo "== install the tarball into a fresh project"
project="$root/target/cortiauth-node-test"
rm -rf "$project"
mkdir -p "$project"
cat > "$project/package.json" <<'JSON'
{ "name": "cortiauth-node-test", "private": true, "version": "0.0.0" }
JSON
cp -R "$here/test" "$project/test"
(cd "$project" && npm install --no-audit --no-fund --loglevel=error "$scratch/$tarball")

echo "== typings: tsc --noEmit on typed usage of the installed package"
node "$here/node_modules/typescript/bin/tsc" -p "$project/test/types/tsconfig.json"
echo "typings ok"

echo "== node --test"
cd "$project"
node --test --test-reporter=spec test/*.test.mjs test/*.test.cjs

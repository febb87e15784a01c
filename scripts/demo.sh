#!/usr/bin/env bash
# The README's first command: builds the `cortiauth` CLI and shows it working
# against a real OAuth 2.0 server.
#
# - With CORTI_CLIENT_ID and CORTI_CLIENT_SECRET set (plus CORTI_ENVIRONMENT or
#   CORTI_TOKEN_URL), it uses your Corti credentials.
# - Otherwise it starts Keycloak on loopback (tests/servers/with-servers.sh) and
#   uses its 300 s client in realm `base`, the shape of Corti's auth server.
#
# It shows `cortiauth check`, `cortiauth token --json`, a token reused from the
# encrypted on-disk cache by a second invocation, and an authenticated request
# made by curl with both headers. Tokens are shown shortened, secrets never.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CORTI_CLIENT_ID:-}" ] || [ -z "${CORTI_CLIENT_SECRET:-}" ]; then
  if [ -n "${CORTIAUTH_KC_CORTI_CLIENT_ID:-}" ] && [ -n "${CORTIAUTH_KC_TOKEN_URL_BASE:-}" ]; then
    mode="Keycloak on loopback ($CORTIAUTH_KEYCLOAK_URL, realm base, 300 s tokens)"
    export CORTI_CLIENT_ID="$CORTIAUTH_KC_CORTI_CLIENT_ID"
    export CORTI_CLIENT_SECRET="$CORTIAUTH_KC_CORTI_CLIENT_SECRET"
    export CORTI_TOKEN_URL="$CORTIAUTH_KC_TOKEN_URL_BASE"
    export CORTI_TENANT_NAME=base
    unset CORTI_ENVIRONMENT CORTI_SCOPES
    # What curl calls with the token: the realm's OpenID Connect userinfo endpoint.
    api_url="${CORTI_TOKEN_URL%/token}/userinfo"
  elif [ -z "${CORTIAUTH_DEMO_UNDER_SERVERS:-}" ]; then
    kc_version=$(sed -n 's/^ *KEYCLOAK_VERSION="\(.*\)"$/\1/p' tests/servers/lib.sh)
    if [ -f "${CORTIAUTH_CACHE_DIR:-$HOME/.cache/cortiauth}/keycloak-$kc_version/.cortiauth-primed" ]; then
      echo "No CORTI_CLIENT_ID / CORTI_CLIENT_SECRET: starting Keycloak $kc_version on loopback (cached in ${CORTIAUTH_CACHE_DIR:-~/.cache/cortiauth})."
    else
      echo "No CORTI_CLIENT_ID / CORTI_CLIENT_SECRET: starting Keycloak $kc_version on loopback (not cached yet: this first start downloads, about 170 MiB, and builds it)."
    fi
    export CORTIAUTH_DEMO_UNDER_SERVERS=1
    exec tests/servers/with-servers.sh "$0" "$@" </dev/null
  else
    echo "demo: tests/servers/with-servers.sh did not export the Keycloak variables" >&2
    exit 1
  fi
else
  mode="your Corti credentials (CORTI_CLIENT_ID=$CORTI_CLIENT_ID)"
  api_url="${CORTIAUTH_DEMO_URL:-}"
fi

echo "== Building the cortiauth CLI"
cargo build -p cortiauth-cli --locked --quiet </dev/null
cortiauth="$PWD/target/debug/cortiauth"

# A cache directory of its own, so the demo starts cold and leaves nothing behind.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache_dir="$work/cache"
tokens_dir="$cache_dir/tokens"
export CORTIAUTH_CACHE_DIR="$cache_dir"

# Shows the first 12 characters of every JWT-looking value.
elide() { sed -E 's/(eyJ[A-Za-z0-9_-]{9})[A-Za-z0-9_.-]*/\1…/g'; }
# A short SHA-256 fingerprint, to compare tokens without showing them.
fingerprint() {
  if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi | cut -c1-12
}
now_ms() {
  local t
  t=$(date +%s%3N)
  case "$t" in *[!0-9]*) echo $(( $(date +%s) * 1000 )) ;; *) echo "$t" ;; esac
}

echo
echo "Using $mode"

echo
echo "== cortiauth check"
"$cortiauth" check </dev/null

echo
echo "== cortiauth token --json   (token shortened here)"
"$cortiauth" token --json </dev/null | elide

echo
echo "== Token reuse: two invocations with --cache (encrypted file in $tokens_dir)"
t0=$(now_ms)
first=$("$cortiauth" token --cache -v </dev/null 2>"$work/err1") || { cat "$work/err1" >&2; exit 1; }
t1=$(now_ms)
second=$("$cortiauth" token --cache -v </dev/null 2>"$work/err2") || { cat "$work/err2" >&2; exit 1; }
t2=$(now_ms)
echo "1st: $(elide <<<"$first") (sha256 $(printf %s "$first" | fingerprint))  $(( t1 - t0 )) ms  -- $(sed 's/^cortiauth: //' "$work/err1")"
echo "2nd: $(elide <<<"$second") (sha256 $(printf %s "$second" | fingerprint))  $(( t2 - t1 )) ms  -- $(sed 's/^cortiauth: //' "$work/err2")"
if [ "$first" = "$second" ] && grep -q "shared cache" "$work/err2"; then
  echo "Same token, no second request to the token endpoint."
else
  echo "demo: the second invocation did not reuse the cached token" >&2
  exit 1
fi
echo "Token directory $(ls -ld "$tokens_dir" | cut -c1-10), files:"
ls -l "$tokens_dir" | sed -n 's/^\(-[rwx-]*\).* \([0-9a-f]\{12\}\)[0-9a-f]*\(\.[a-z]*\)$/  \1 \2…\3/p'

if [ -z "$api_url" ] && [[ "${CORTI_TOKEN_URL:-}" == */protocol/openid-connect/token ]]; then
  api_url="${CORTI_TOKEN_URL%/token}/userinfo"
fi
if [ -z "$api_url" ]; then
  base=$("$cortiauth" check --json </dev/null | sed -nE 's/.*"api_base_url":"([^"]*)".*/\1/p')
  [ -n "$base" ] && api_url="$base/interactions"
fi
echo
if [ -z "$api_url" ]; then
  echo "== Authenticated request: skipped (no API URL known: set CORTIAUTH_DEMO_URL)"
  exit 0
fi
echo "== Authenticated request: curl -H @<(cortiauth headers --cache) $api_url"
"$cortiauth" headers --cache </dev/null | elide | sed 's/^/  /'
status=$(curl -sS -o "$work/body" -w '%{http_code}' -H @<("$cortiauth" headers --cache </dev/null) "$api_url" </dev/null)
echo "HTTP $status"
head -c 300 "$work/body" | elide
echo
if [ "$status" != 200 ]; then
  echo "demo: the authenticated request failed" >&2
  exit 1
fi
echo
echo "Done. All tests: scripts/test.sh"

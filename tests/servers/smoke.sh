#!/usr/bin/env bash
# Checks, with curl, every client of both servers as with-servers.sh exports them:
#
#   tests/servers/with-servers.sh tests/servers/smoke.sh
#
# Prints one line per check and closes with "N passed, N failed"; exits 1 on any failure.
# The expected statuses and bodies are the ones README.md documents.
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for v in CORTIAUTH_KEYCLOAK_URL CORTIAUTH_KC_TOKEN_URL_BASE CORTIAUTH_KC_TOKEN_URL_COPILOTEU \
  CORTIAUTH_KC_CLIENT_ID CORTIAUTH_KC_CLIENT_SECRET CORTIAUTH_KC_CORTI_CLIENT_ID CORTIAUTH_KC_CORTI_CLIENT_SECRET \
  CORTIAUTH_KC_REFRESH_CLIENT_ID CORTIAUTH_KC_REFRESH_CLIENT_SECRET CORTIAUTH_KC_DISABLED_CLIENT_ID CORTIAUTH_KC_DISABLED_CLIENT_SECRET \
  CORTIAUTH_TIRO_URL CORTIAUTH_TIRO_TOKEN_URL CORTIAUTH_TIRO_CLIENT_ID CORTIAUTH_TIRO_CLIENT_SECRET \
  CORTIAUTH_TIRO_POST_CLIENT_ID CORTIAUTH_TIRO_POST_CLIENT_SECRET CORTIAUTH_TIRO_SHORT_CLIENT_ID CORTIAUTH_TIRO_SHORT_CLIENT_SECRET; do
  [ -n "${!v:-}" ] || die "$v is not set: run this under tests/servers/with-servers.sh"
done

PASSED=0 FAILED=0
BODY="$(mktemp)"
trap 'rm -f "$BODY"' EXIT

# check NAME STATUS PYTHON_EXPR -- CURL_ARGS...
# PYTHON_EXPR sees j (the JSON body, or None), body (text) and claims(token).
check() {
  local name="$1" want="$2" expr="$3" got verdict
  shift 4
  got="$(curl -s -o "$BODY" -w '%{http_code}' --max-time 10 "$@" 2>/dev/null || true)"
  verdict="$(python3 - "$BODY" "$want" "$got" "$expr" <<'EOF'
import base64, json, sys
path, want, got, expr = sys.argv[1:]
body = open(path).read()
try:
    j = json.loads(body)
except ValueError:
    j = None
def claims(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
if got != want:
    print("status %s, wanted %s: %s" % (got, want, body[:300]))
else:
    try:
        ok = eval(expr)
    except Exception as e:  # noqa
        ok = False
        expr += " (%s: %s)" % (type(e).__name__, e)
    print("ok" if ok else "body does not satisfy %s: %s" % (expr, body[:300]))
EOF
)"
  if [ "$verdict" = ok ]; then
    PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$name"
  else
    FAILED=$((FAILED + 1)); printf 'FAIL  %s: %s\n' "$name" "$verdict"
  fi
}

CC=(-d grant_type=client_credentials)

# ---- Keycloak, both realms ----
for realm in base copiloteu; do
  if [ "$realm" = base ]; then T="$CORTIAUTH_KC_TOKEN_URL_BASE"; else T="$CORTIAUTH_KC_TOKEN_URL_COPILOTEU"; fi
  kc="keycloak/$realm"

  check "$kc 10s client, client_secret_post" 200 \
    "j['token_type']=='Bearer' and 9<=j['expires_in']<=10 and set(j['scope'].split())=={'profile','email'} and j['refresh_expires_in']==0 and 'refresh_token' not in j and claims(j['access_token'])['iss'].endswith('/realms/$realm') and claims(j['access_token'])['azp']=='$CORTIAUTH_KC_CLIENT_ID'" \
    -- "${CC[@]}" -d "client_id=$CORTIAUTH_KC_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_CLIENT_SECRET" "$T"
  check "$kc 10s client, client_secret_basic" 200 \
    "j['token_type']=='Bearer' and 9<=j['expires_in']<=10" \
    -- "${CC[@]}" -u "$CORTIAUTH_KC_CLIENT_ID:$CORTIAUTH_KC_CLIENT_SECRET" "$T"
  check "$kc 300s (Corti-shaped) client, basic" 200 \
    "j['token_type']=='Bearer' and 299<=j['expires_in']<=300 and claims(j['access_token'])['exp']-claims(j['access_token'])['iat']==300" \
    -- "${CC[@]}" -u "$CORTIAUTH_KC_CORTI_CLIENT_ID:$CORTIAUTH_KC_CORTI_CLIENT_SECRET" "$T"
  check "$kc 300s client, post" 200 "299<=j['expires_in']<=300" \
    -- "${CC[@]}" -d "client_id=$CORTIAUTH_KC_CORTI_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_CORTI_CLIENT_SECRET" "$T"
  check "$kc refresh client: refresh_token, refresh_expires_in > 0" 200 \
    "9<=j['expires_in']<=10 and j['refresh_expires_in']>0 and len(j['refresh_token'])>20" \
    -- "${CC[@]}" -d "client_id=$CORTIAUTH_KC_REFRESH_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_REFRESH_CLIENT_SECRET" "$T"
  rt="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["refresh_token"])' "$BODY" 2>/dev/null || echo none)"
  check "$kc refresh_token grant" 200 \
    "9<=j['expires_in']<=10 and j['refresh_expires_in']>0 and 'refresh_token' in j" \
    -- -d grant_type=refresh_token -d "refresh_token=$rt" -d "client_id=$CORTIAUTH_KC_REFRESH_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_REFRESH_CLIENT_SECRET" "$T"
  check "$kc refresh_token grant with a garbage token -> 400 invalid_grant" 400 \
    "j=={'error':'invalid_grant','error_description':'Invalid refresh token'}" \
    -- -d grant_type=refresh_token -d refresh_token=garbage -d "client_id=$CORTIAUTH_KC_REFRESH_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_REFRESH_CLIENT_SECRET" "$T"
  check "$kc wrong secret (post) -> 401 unauthorized_client" 401 \
    "j=={'error':'unauthorized_client','error_description':'Invalid client or Invalid client credentials'}" \
    -- "${CC[@]}" -d "client_id=$CORTIAUTH_KC_CLIENT_ID" -d "client_secret=wrong" "$T"
  check "$kc wrong secret (basic) -> 401 unauthorized_client" 401 \
    "j=={'error':'unauthorized_client','error_description':'Invalid client or Invalid client credentials'}" \
    -- "${CC[@]}" -u "$CORTIAUTH_KC_CLIENT_ID:wrong" "$T"
  check "$kc unknown client -> 401 invalid_client" 401 \
    "j=={'error':'invalid_client','error_description':'Invalid client or Invalid client credentials'}" \
    -- "${CC[@]}" -d "client_id=no-such-client" -d "client_secret=x" "$T"
  check "$kc disabled client -> 401 invalid_client" 401 \
    "j=={'error':'invalid_client','error_description':'Invalid client or Invalid client credentials'}" \
    -- "${CC[@]}" -d "client_id=$CORTIAUTH_KC_DISABLED_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_DISABLED_CLIENT_SECRET" "$T"
  check "$kc scope=openid transcribe granted" 200 \
    "'transcribe' in j['scope'].split() and 'openid' in j['scope'].split() and 'transcribe' in claims(j['access_token'])['scope'].split()" \
    -- "${CC[@]}" -d "client_id=$CORTIAUTH_KC_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_CLIENT_SECRET" -d "scope=openid transcribe" "$T"
  check "$kc scope=streams granted (no openid)" 200 \
    "'streams' in j['scope'].split() and 'id_token' not in j" \
    -- "${CC[@]}" -u "$CORTIAUTH_KC_CORTI_CLIENT_ID:$CORTIAUTH_KC_CORTI_CLIENT_SECRET" -d "scope=streams" "$T"
  check "$kc scope=openid nonsense -> 400 invalid_scope" 400 \
    "j=={'error':'invalid_scope','error_description':'Invalid scopes: openid nonsense'}" \
    -- "${CC[@]}" -d "client_id=$CORTIAUTH_KC_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_CLIENT_SECRET" -d "scope=openid nonsense" "$T"
done
check "keycloak unknown realm -> 404" 404 "j=={'error':'Realm does not exist'}" \
  -- "${CC[@]}" -d "client_id=$CORTIAUTH_KC_CLIENT_ID" -d "client_secret=$CORTIAUTH_KC_CLIENT_SECRET" \
  "$CORTIAUTH_KEYCLOAK_URL/realms/no-such-realm/protocol/openid-connect/token"

# ---- Tiro-shaped oidc-provider ----
T="$CORTIAUTH_TIRO_TOKEN_URL"
check "tiro basic client" 200 \
  "set(j)=={'access_token','expires_in','token_type'} and j['token_type']=='Bearer' and 3599<=j['expires_in']<=3600" \
  -- "${CC[@]}" -u "$CORTIAUTH_TIRO_CLIENT_ID:$CORTIAUTH_TIRO_CLIENT_SECRET" "$T"
check "tiro post client" 200 \
  "set(j)=={'access_token','expires_in','token_type'} and 3599<=j['expires_in']<=3600" \
  -- "${CC[@]}" -d "client_id=$CORTIAUTH_TIRO_POST_CLIENT_ID" -d "client_secret=$CORTIAUTH_TIRO_POST_CLIENT_SECRET" "$T"
check "tiro short-TTL client" 200 "9<=j['expires_in']<=10 and j['token_type']=='Bearer'" \
  -- "${CC[@]}" -u "$CORTIAUTH_TIRO_SHORT_CLIENT_ID:$CORTIAUTH_TIRO_SHORT_CLIENT_SECRET" "$T"
check "tiro wrong secret (basic) -> 401 invalid_client" 401 \
  "j=={'error':'invalid_client','error_description':'client authentication failed'}" \
  -- "${CC[@]}" -u "$CORTIAUTH_TIRO_CLIENT_ID:wrong" "$T"
check "tiro wrong secret (post) -> 401 invalid_client" 401 \
  "j=={'error':'invalid_client','error_description':'client authentication failed'}" \
  -- "${CC[@]}" -d "client_id=$CORTIAUTH_TIRO_POST_CLIENT_ID" -d "client_secret=wrong" "$T"
check "tiro unknown client -> 401 invalid_client" 401 \
  "j=={'error':'invalid_client','error_description':'client authentication failed'}" \
  -- "${CC[@]}" -u "no-such-client:x" "$T"
check "tiro scope=transcribe reflected" 200 "j['scope']=='transcribe'" \
  -- "${CC[@]}" -u "$CORTIAUTH_TIRO_CLIENT_ID:$CORTIAUTH_TIRO_CLIENT_SECRET" -d "scope=transcribe" "$T"
check "tiro scope=openid nonsense -> unknown scope dropped" 200 "j['scope']=='openid'" \
  -- "${CC[@]}" -u "$CORTIAUTH_TIRO_CLIENT_ID:$CORTIAUTH_TIRO_CLIENT_SECRET" -d "scope=openid nonsense" "$T"
check "tiro unknown path -> 404" 404 "body=='Not Found'" \
  -- "${CC[@]}" -u "$CORTIAUTH_TIRO_CLIENT_ID:$CORTIAUTH_TIRO_CLIENT_SECRET" "$CORTIAUTH_TIRO_URL/token"

# ---- Tiro outage: tiro-ctl.sh stop / start on the same port ----
if "$SERVERS_DIR/tiro-ctl.sh" stop >/dev/null 2>&1; then
  PASSED=$((PASSED + 1)); echo "ok    tiro-ctl.sh stop"
else
  FAILED=$((FAILED + 1)); echo "FAIL  tiro-ctl.sh stop"
fi
check "tiro down -> connection refused (curl status 000)" 000 "True" \
  -- "${CC[@]}" -u "$CORTIAUTH_TIRO_CLIENT_ID:$CORTIAUTH_TIRO_CLIENT_SECRET" "$T"
if "$SERVERS_DIR/tiro-ctl.sh" start >/dev/null 2>&1; then
  PASSED=$((PASSED + 1)); echo "ok    tiro-ctl.sh start"
else
  FAILED=$((FAILED + 1)); echo "FAIL  tiro-ctl.sh start"
fi
check "tiro back on the same port" 200 "3599<=j['expires_in']<=3600" \
  -- "${CC[@]}" -u "$CORTIAUTH_TIRO_CLIENT_ID:$CORTIAUTH_TIRO_CLIENT_SECRET" "$T"

echo "smoke: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]

#!/usr/bin/env bash
# Keycloak on loopback for cortiauth's tests: the server Corti runs.
#
#   keycloak.sh install            download + unpack into the cache (nothing else)
#   keycloak.sh start [RUN_DIR]    install if needed, start, wait until realm `base`
#                                  issues a client-credentials token; leaves it running
#   keycloak.sh stop  [RUN_DIR]    stop the server started into RUN_DIR
#
# RUN_DIR defaults to $CORTIAUTH_SERVERS_RUN_DIR, else tests/servers/.run. It gets
# keycloak.pid (also the process group), keycloak.log and keycloak.env (the
# CORTIAUTH_KEYCLOAK_URL / CORTIAUTH_KC_* exports).
#
# The distribution org.keycloak:keycloak-quarkus-dist comes from Maven Central
# through `mvn dependency:copy` and is unpacked once into
# ${CORTIAUTH_CACHE_DIR:-$HOME/.cache/cortiauth}/keycloak-<version>.
# Knobs: CORTIAUTH_KEYCLOAK_TIMEOUT (s, default 180), CORTIAUTH_KEYCLOAK_JAVA_HOME,
# CORTIAUTH_KEYCLOAK_AOT=0 (do not use a JDK 25 AOT cache).
# Any failure exits non-zero with the log tail: it never skips.
set -euo pipefail
set +m
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KC_HOME="$CORTIAUTH_CACHE_DIR/keycloak-$KEYCLOAK_VERSION"
KC_LOCK="$CORTIAUTH_CACHE_DIR/keycloak-$KEYCLOAK_VERSION.lock"
KC_AOT="$KC_HOME/cortiauth.aot"
KC_PRIMED="$KC_HOME/.cortiauth-primed"
REALMS_FILE="$SERVERS_DIR/keycloak/realms.json"
TIMEOUT="${CORTIAUTH_KEYCLOAK_TIMEOUT:-180}"

java_major() { # JAVA_BINARY -> feature version (17, 21, 25) or nothing
  "$1" -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ { v = $2; sub(/^1\./, "", v); print v; exit }'
}

# Sets JAVA_HOME_FOR_KC ("" = the `java` on PATH) and JAVA_MAJOR.
pick_java() {
  local best="" best_major=0 dir major
  if [ -n "${CORTIAUTH_KEYCLOAK_JAVA_HOME:-}" ]; then
    major="$(java_major "$CORTIAUTH_KEYCLOAK_JAVA_HOME/bin/java" || true)"
    [ -n "$major" ] || die "CORTIAUTH_KEYCLOAK_JAVA_HOME=$CORTIAUTH_KEYCLOAK_JAVA_HOME has no working bin/java"
    JAVA_HOME_FOR_KC="$CORTIAUTH_KEYCLOAK_JAVA_HOME"; JAVA_MAJOR="$major"; return
  fi
  # Keycloak 26.x supports Java 21 and 25: take the newest JDK >= 21 installed.
  for dir in ${JAVA_HOME:+"$JAVA_HOME"} /usr/lib/jvm/*; do
    [ -x "$dir/bin/java" ] || continue
    major="$(java_major "$dir/bin/java" || true)"
    if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
      best="$dir"; best_major="$major"
    fi
  done
  if [ -n "$best" ]; then
    JAVA_HOME_FOR_KC="$best"; JAVA_MAJOR="$best_major"; return
  fi
  # Keycloak 26.7.3 still starts on 17 (measured), though 21+ is what it supports.
  command -v java >/dev/null || die "no Java found: install a JDK 21+ (or 17)"
  major="$(java_major java || true)"
  if [ -z "$major" ] || [ "$major" -lt 17 ]; then die "java on PATH is version '${major:-?}': Keycloak $KEYCLOAK_VERSION needs 17+ (21+ supported)"; fi
  say "no JDK 21+ found; using java $major from PATH (works for Keycloak $KEYCLOAK_VERSION, not supported upstream)"
  JAVA_HOME_FOR_KC=""; JAVA_MAJOR="$major"
}

# Download and unpack once. Caller holds the cache lock (fd 9).
install_locked() {
  [ -x "$KC_HOME/bin/kc.sh" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: it is needed to fetch org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION"
  local tmp t0
  t0="$(now)"
  tmp="$(mktemp -d "$CORTIAUTH_CACHE_DIR/.keycloak-download.XXXXXX")"
  say "fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz with mvn (about 170 MiB, cached in ~/.m2)"
  if ! (cd "$tmp" && mvn -B -q -C -Dstyle.color=never "$MAVEN_DEPENDENCY_PLUGIN:copy" \
          "-Dartifact=org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:tar.gz" \
          "-DoutputDirectory=$tmp" </dev/null >&2); then
    rm -rf "$tmp"
    die "could not download Keycloak $KEYCLOAK_VERSION with mvn (see above)"
  fi
  tar -xzf "$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.tar.gz" -C "$tmp" ||
    { rm -rf "$tmp"; die "could not unpack the Keycloak archive"; }
  [ -x "$tmp/keycloak-$KEYCLOAK_VERSION/bin/kc.sh" ] || { rm -rf "$tmp"; die "unexpected archive layout"; }
  mv "$tmp/keycloak-$KEYCLOAK_VERSION" "$KC_HOME"
  rm -rf "$tmp"
  say "Keycloak $KEYCLOAK_VERSION unpacked into $KC_HOME in $(elapsed "$t0") s"
}

lock_cache() {
  mkdir -p "$CORTIAUTH_CACHE_DIR"
  exec 9>"$KC_LOCK"
  flock -w 900 9 || die "timed out waiting for $KC_LOCK"
}

cmd_install() {
  lock_cache
  install_locked
  exec 9>&-
  printf '%s\n' "$KC_HOME"
}

# One attempt at starting; returns 0 when ready, 2 when the port was taken, 1 otherwise.
launch_and_wait() {
  local rd="$1" port mport hport url token t0 status pid
  port="$(free_port)"
  mport="$(free_port)"
  while [ "$mport" = "$port" ]; do mport="$(free_port)"; done
  hport="$(free_port)"
  while [ "$hport" = "$port" ] || [ "$hport" = "$mport" ]; do hport="$(free_port)"; done
  url="http://127.0.0.1:$port"
  token="$url/realms/base/protocol/openid-connect/token"

  # A clean environment for kc.sh: no stray KC_* / JAVA_OPTS from the caller.
  local -a envargs=(-u JAVA_OPTS -u JAVA_OPTS_APPEND -u JAVA_OPTS_KC_HEAP -u JAVA_TOOL_OPTIONS -u JDK_JAVA_OPTIONS -u KC_RUN_IN_CONTAINER)
  local v
  while IFS= read -r v; do envargs+=(-u "$v"); done < <(compgen -e | grep '^KC_' || true)
  if [ -n "$JAVA_HOME_FOR_KC" ]; then envargs+=("JAVA_HOME=$JAVA_HOME_FOR_KC"); else envargs+=(-u JAVA_HOME); fi
  envargs+=("KC_BOOTSTRAP_ADMIN_USERNAME=$KC_ADMIN_USERNAME" "KC_BOOTSTRAP_ADMIN_PASSWORD=$KC_ADMIN_PASSWORD")
  [ -n "$AOT_OPT" ] && envargs+=("JAVA_OPTS_APPEND=$AOT_OPT")

  t0="$(now)"
  # setsid: Keycloak (kc.sh + java) gets its own process group, stopped as one.
  # fd 9 (the cache lock) is closed so the server does not hold it.
  # keycloak.migration.dir: realms imported from this run's directory.
  # The transaction object store goes to this run's directory too, so nothing
  # is written into the shared Keycloak home.
  setsid env "${envargs[@]}" "$KC_HOME/bin/kc.sh" start-dev \
    "-Dkeycloak.migration.dir=$rd/keycloak-import" \
    "-Dquarkus.transaction-manager.object-store.directory=$rd/keycloak-tx" \
    --http-host=127.0.0.1 --http-port="$port" \
    --http-management-port="$mport" \
    --https-port="$hport" \
    --https-certificate-file="$rd/keys/server.crt" --https-certificate-key-file="$rd/keys/server.key" \
    --https-client-auth=request \
    --https-trust-store-file="$rd/keys/trust.p12" --https-trust-store-password=cortiauth \
    --db=dev-mem --import-realm \
    --log=console --log-console-color=false \
    '--log-level=WARN,io.quarkus:INFO,org.keycloak.exportimport:INFO' \
    >"$rd/keycloak.log" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$rd/keycloak.pid"

  while :; do
    status="$(token_status "$token" -d client_id=cortiauth-test -d client_secret=cortiauth-test-secret)"
    [ "$status" = 200 ] && break
    if ! started_alive "$pid"; then
      if grep -q 'Address already in use\|Port .* seems to be in use\|BindException' "$rd/keycloak.log"; then
        rm -f "$rd/keycloak.pid"
        return 2
      fi
      say "Keycloak exited during startup. Last lines of $rd/keycloak.log:"
      tail -n 60 "$rd/keycloak.log" >&2 || true
      rm -f "$rd/keycloak.pid"
      return 1
    fi
    if [ "$(python3 -c 'import sys; print(int(float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$(now)")" -ge "$TIMEOUT" ]; then
      say "Keycloak not ready after ${TIMEOUT}s (last token status '$status'). Last lines of $rd/keycloak.log:"
      tail -n 60 "$rd/keycloak.log" >&2 || true
      stop_group "$pid" 20 || true
      rm -f "$rd/keycloak.pid"
      return 1
    fi
    sleep 0.25
  done
  status="$(token_status "$url/realms/copiloteu/protocol/openid-connect/token" -d client_id=cortiauth-test -d client_secret=cortiauth-test-secret)"
  if [ "$status" != 200 ]; then
    say "realm copiloteu answers $status. Last lines of $rd/keycloak.log:"
    tail -n 60 "$rd/keycloak.log" >&2 || true
    stop_group "$pid" 20 || true
    rm -f "$rd/keycloak.pid"
    return 1
  fi
  READY_SECONDS="$(elapsed "$t0")"
  KC_URL="$url"
  KC_PID="$pid"
  KC_MGMT_PORT="$mport"
  KC_HTTPS_PORT="$hport"
  return 0
}

cmd_start() {
  local rd="$1" rc attempt
  mkdir -p "$rd"
  rd="$(cd "$rd" && pwd)"
  [ -f "$REALMS_FILE" ] || die "missing $REALMS_FILE"
  if [ -f "$rd/keycloak.pid" ] && group_alive "$(cat "$rd/keycloak.pid")"; then
    die "a Keycloak from $rd is already running (pid $(cat "$rd/keycloak.pid")): run keycloak.sh stop $rd first"
  fi
  command -v curl >/dev/null || die "curl is needed"
  pick_java

  # The cache is shared by every run on the machine and read-only once primed.
  # Until then (download, unpack, and the first start, which builds Keycloak
  # into lib/quarkus) the cache lock is held, up to that server being ready.
  HOLD_LOCK=0
  if [ ! -x "$KC_HOME/bin/kc.sh" ] || [ ! -f "$KC_PRIMED" ]; then
    lock_cache
    install_locked
    if [ -f "$KC_PRIMED" ]; then exec 9>&-; else HOLD_LOCK=1; fi
  fi
  # If data/import exists in the Keycloak home, --import-realm reads it instead
  # of keycloak.migration.dir: older versions of this script wrote realms there.
  rm -rf "$KC_HOME/data/import"

  # Keys for the private_key_jwt clients, made for this run (no private key is
  # committed): RSA 2048 and EC P-256 in PKCS#8 PEM, each with a self-signed
  # certificate Keycloak checks the assertions against.
  rm -rf "$rd/keys"
  mkdir -p "$rd/keys"
  chmod 700 "$rd/keys"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$rd/keys/rsa.pem" 2>/dev/null ||
    die "openssl cannot make the test RSA key"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$rd/keys/ec.pem" 2>/dev/null ||
    die "openssl cannot make the test EC key"
  local kind
  for kind in rsa ec; do
    openssl req -x509 -new -key "$rd/keys/$kind.pem" -subj "/CN=cortiauth-jwt-$kind" -days 2 \
      -outform DER -out "$rd/keys/$kind.der" 2>/dev/null || die "openssl cannot make the test $kind certificate"
  done
  # mTLS (tls_client_auth): a test CA, a certificate for 127.0.0.1 and a client
  # certificate, made for this run. Keycloak serves HTTPS beside HTTP and asks
  # for (does not require) a client certificate, checked against this CA.
  make_tls_keys "$rd/keys" || die "openssl/keytool cannot make the test TLS certificates"

  # This run's realm files: one <realm>-realm.json per realm in realms.json,
  # plus the clients of the assertion methods (client_secret_jwt, and
  # private_key_jwt with this run's certificates).
  rm -rf "$rd/keycloak-import" "$rd/keycloak-tx"
  mkdir -p "$rd/keycloak-import"
  python3 - "$REALMS_FILE" "$rd/keycloak-import" "$rd/keys" <<'PY'
import base64, copy, json, os, sys
realms = json.load(open(sys.argv[1]))
keys = sys.argv[3]
for realm in realms if isinstance(realms, list) else [realms]:
    template = next(c for c in realm["clients"] if c["clientId"] == "cortiauth-corti")
    def client(client_id, authenticator, description, attributes, secret=None):
        c = copy.deepcopy(template)
        c.update(clientId=client_id, name=client_id, description=description,
                 clientAuthenticatorType=authenticator)
        c.pop("secret", None)
        if secret:
            c["secret"] = secret
        c.setdefault("attributes", {}).update(attributes)
        return c
    realm["clients"].append(client(
        "cortiauth-jwt-secret", "client-secret-jwt", "client_secret_jwt (HS256 over the secret)",
        {}, secret="cortiauth-jwt-secret-secret"))
    for kind in ("rsa", "ec"):
        cert = base64.b64encode(open(os.path.join(keys, kind + ".der"), "rb").read()).decode()
        realm["clients"].append(client(
            "cortiauth-jwt-" + kind, "client-jwt", "private_key_jwt, " + kind + " key made by the test setup",
            {"use.jwks.url": "false", "jwt.credential.certificate": cert}))
    # Secret rotation: the tests regenerate this client's secret through the
    # admin API (its own client, so no other test sees its secret change).
    realm["clients"].append(client(
        "cortiauth-rotate", "client-secret", "secret rotated by the tests (admin API)",
        {"access.token.lifespan": "10"}, secret="cortiauth-rotate-secret"))
    realm["clients"].append(client(
        "cortiauth-mtls", "client-x509", "tls_client_auth: this run's client certificate, bound tokens",
        {"x509.subjectdn": "CN=cortiauth-mtls", "x509.allow.regex.pattern.comparison": "false",
         "tls.client.certificate.bound.access.tokens": "true"}))
    with open(os.path.join(sys.argv[2], realm["realm"] + "-realm.json"), "w") as f:
        json.dump(realm, f)
PY

  # JDK 25 AOT cache (JEP 483/514): the first start after the build records a
  # training run, written when that server stops; later starts load it (~6 s faster).
  AOT_OPT=""; AOT_MODE=off
  rm -f "$rd/keycloak.aot-pending"
  if [ "${CORTIAUTH_KEYCLOAK_AOT:-1}" != 0 ] && [ "$JAVA_MAJOR" -ge 25 ] && [ -f "$KC_PRIMED" ]; then
    if [ -s "$KC_AOT" ] && [ "$(cat "$KC_AOT.java" 2>/dev/null)" = "$JAVA_HOME_FOR_KC" ]; then
      AOT_OPT="-XX:AOTCache=$KC_AOT"; AOT_MODE=used
    else
      local out="$KC_AOT.$$.tmp"
      rm -f "$out"
      AOT_OPT="-XX:AOTCacheOutput=$out"; AOT_MODE="recording (written at stop)"
      printf '%s\n%s\n' "$out" "$JAVA_HOME_FOR_KC" >"$rd/keycloak.aot-pending"
    fi
  fi

  for attempt in 1 2 3; do
    rc=0
    launch_and_wait "$rd" || rc=$?
    [ "$rc" = 2 ] && { say "port taken, retrying ($attempt)"; continue; }
    break
  done
  if [ "$rc" != 0 ]; then
    rm -f "$rd/keycloak.aot-pending" "$KC_AOT.$$.tmp"
    die "Keycloak $KEYCLOAK_VERSION did not start"
  fi
  if [ "$HOLD_LOCK" = 1 ]; then
    touch "$KC_PRIMED"
    exec 9>&-
  fi

  local base="$KC_URL/realms"
  cat >"$rd/keycloak.env" <<EOF
export CORTIAUTH_KEYCLOAK_URL='$KC_URL'
export CORTIAUTH_KC_TOKEN_URL_BASE='$base/base/protocol/openid-connect/token'
export CORTIAUTH_KC_TOKEN_URL_COPILOTEU='$base/copiloteu/protocol/openid-connect/token'
export CORTIAUTH_KC_CLIENT_ID='cortiauth-test'
export CORTIAUTH_KC_CLIENT_SECRET='cortiauth-test-secret'
export CORTIAUTH_KC_CORTI_CLIENT_ID='cortiauth-corti'
export CORTIAUTH_KC_CORTI_CLIENT_SECRET='cortiauth-corti-secret'
export CORTIAUTH_KC_REFRESH_CLIENT_ID='cortiauth-refresh'
export CORTIAUTH_KC_REFRESH_CLIENT_SECRET='cortiauth-refresh-secret'
export CORTIAUTH_KC_DISABLED_CLIENT_ID='cortiauth-disabled'
export CORTIAUTH_KC_DISABLED_CLIENT_SECRET='cortiauth-disabled-secret'
export CORTIAUTH_KC_JWT_SECRET_CLIENT_ID='cortiauth-jwt-secret'
export CORTIAUTH_KC_JWT_SECRET_CLIENT_SECRET='cortiauth-jwt-secret-secret'
export CORTIAUTH_KC_JWT_RSA_CLIENT_ID='cortiauth-jwt-rsa'
export CORTIAUTH_KC_JWT_RSA_KEY_FILE='$rd/keys/rsa.pem'
export CORTIAUTH_KC_JWT_EC_CLIENT_ID='cortiauth-jwt-ec'
export CORTIAUTH_KC_JWT_EC_KEY_FILE='$rd/keys/ec.pem'
export CORTIAUTH_KC_HTTPS_TOKEN_URL_BASE='https://127.0.0.1:$KC_HTTPS_PORT/realms/base/protocol/openid-connect/token'
export CORTIAUTH_KC_CA_FILE='$rd/keys/ca.crt'
export CORTIAUTH_KC_MTLS_CLIENT_ID='cortiauth-mtls'
export CORTIAUTH_KC_MTLS_CERT_FILE='$rd/keys/client.crt'
export CORTIAUTH_KC_MTLS_KEY_FILE='$rd/keys/client.key'
export CORTIAUTH_KC_MTLS_EXPIRED_CERT_FILE='$rd/keys/expired.crt'
export CORTIAUTH_KC_MTLS_EXPIRED_KEY_FILE='$rd/keys/expired.key'
export CORTIAUTH_KC_ROTATE_CLIENT_ID='cortiauth-rotate'
export CORTIAUTH_KC_ADMIN_USERNAME='$KC_ADMIN_USERNAME'
export CORTIAUTH_KC_ADMIN_PASSWORD='$KC_ADMIN_PASSWORD'
EOF
  local rss
  rss="$(ps -o rss= -p "$(pgrep -g "$KC_PID" java | head -n1)" 2>/dev/null | tr -d ' ' || true)"
  say "Keycloak $KEYCLOAK_VERSION ready at $KC_URL in $READY_SECONDS s (java $JAVA_MAJOR, AOT cache: $AOT_MODE, pid $KC_PID, RSS ${rss:-?} KiB, management port $KC_MGMT_PORT)"
}

# make_tls_keys DIR: ca.crt, server.{crt,key}, client.{crt,key} and trust.p12
# (the CA, for Keycloak's client-certificate check).
make_tls_keys() {
  local d="$1" keytool
  keytool="${JAVA_HOME_FOR_KC:+$JAVA_HOME_FOR_KC/bin/}keytool"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=cortiauth test CA" -days 2 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null || return 1
  local who ext
  for who in server client; do
    if [ "$who" = server ]; then
      ext=$'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE'
    else
      ext=$'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE'
    fi
    openssl req "${ec[@]}" -keyout "$d/$who.key" -out "$d/$who.csr" \
      -subj "/CN=$([ "$who" = server ] && echo 127.0.0.1 || echo cortiauth-mtls)" 2>/dev/null || return 1
    openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
      -days 2 -out "$d/$who.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null || return 1
  done
  # The same client, with a certificate that expired in 2020 (`openssl ca` sets
  # the dates; `req`/`x509` of OpenSSL 3.0 cannot make one already expired).
  openssl req "${ec[@]}" -keyout "$d/expired.key" -out "$d/expired.csr" -subj "/CN=cortiauth-mtls" 2>/dev/null || return 1
  mkdir -p "$d/ca-db"
  : >"$d/ca-db/index.txt"
  openssl rand -hex 8 >"$d/ca-db/serial"
  printf '%s\n' '[ca]' 'default_ca = test' '[test]' "database = $d/ca-db/index.txt" "new_certs_dir = $d/ca-db" \
    "serial = $d/ca-db/serial" 'default_md = sha256' 'policy = any' '[any]' 'commonName = supplied' \
    '[ext]' 'extendedKeyUsage = clientAuth' 'basicConstraints = CA:FALSE' >"$d/ca.cnf"
  openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" -in "$d/expired.csr" \
    -out "$d/expired.crt" -startdate 20200101000000Z -enddate 20200102000000Z -extensions ext >/dev/null 2>&1 || return 1
  rm -f "$d"/*.csr "$d/trust.p12"
  "$keytool" -importcert -noprompt -alias cortiauth-test-ca -file "$d/ca.crt" -keystore "$d/trust.p12" \
    -storetype PKCS12 -storepass cortiauth >/dev/null 2>&1
}

cmd_stop() {
  local rd="$1" pid grace=20 out
  [ -f "$rd/keycloak.pid" ] || { say "no Keycloak recorded in $rd"; return 0; }
  pid="$(cat "$rd/keycloak.pid")"
  # A recording run writes its AOT cache while it exits: give it time.
  [ -f "$rd/keycloak.aot-pending" ] && grace=300
  stop_group "$pid" "$grace" || true
  rm -f "$rd/keycloak.pid"
  say "Keycloak stopped (pid $pid)"
  if [ -f "$rd/keycloak.aot-pending" ]; then
    out="$(sed -n 1p "$rd/keycloak.aot-pending")"
    if [ -s "$out" ] && grep -q 'AOTCache creation is complete' "$rd/keycloak.log" 2>/dev/null; then
      sed -n 2p "$rd/keycloak.aot-pending" >"$KC_AOT.java"
      mv -f "$out" "$KC_AOT"
      say "Keycloak AOT cache recorded: $KC_AOT"
    else
      rm -f "$out"
    fi
    rm -f "$rd/keycloak.aot-pending"
  fi
}

case "${1:-start}" in
  install) cmd_install ;;
  start) cmd_start "${2:-$(run_dir)}" ;;
  stop) cmd_stop "${2:-$(run_dir)}" ;;
  *) die "usage: keycloak.sh install | start [RUN_DIR] | stop [RUN_DIR]" ;;
esac

# Sourced by tests/fault/run.sh in a background subshell (never run alone): the
# Retry-After scenario driven from the Python binding (16 threads) and the Node
# binding (50 promises), through the fault-proxy binary, against the suite's own
# Keycloak.
#
# Uses what the bindings' own suites built: the virtualenv of bindings/python/test.sh
# ($TARGET/python/test-venv) and the project bindings/node/test.sh installed the
# packed addon into ($TARGET/cortiauth-node-test). Either is run when present;
# CORTIAUTH_FAULT_PYTHON / CORTIAUTH_FAULT_NODE_PROJECT point elsewhere.
# shellcheck shell=bash
# shellcheck disable=SC2034  # FAULT_FAILED is read by run.sh

FAULT_RA=3        # Retry-After, seconds
FAULT_WINDOW=14   # error answers for this long: longer than a 10 s token
FAULT_RUN=22      # the proxy's run, from the first token
FAULT_DURATION=21 # the script's run, from its first token

PROXY_BIN="$(cargo_out debug)/fault-proxy" # built by run.sh
# Where the suite's Keycloak is (run.sh runs these soaks before the kill scenario,
# which restarts it on another port).
# shellcheck disable=SC1091
. "$RD/keycloak.env"

# binding_soak NAME CMD... : runs CMD TOKEN_URL DURATION behind a fresh proxy.
binding_soak() {
  local name="$1" out rc=0 prc=0 url i
  shift
  out="$RD/proxy.$name.out"
  "$PROXY_BIN" "$CORTIAUTH_KC_TOKEN_URL_BASE" "$FAULT_RA" "$FAULT_WINDOW" "$FAULT_RUN" >"$out" &
  PROXY_PID=$!
  for ((i = 0; i < 200; i++)); do
    [ -s "$out" ] && break
    sleep 0.05
  done
  url="$(head -n 1 "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token_url"])')"
  echo "fault: $name soak through $url (Retry-After ${FAULT_RA} s for ${FAULT_WINDOW} s)"
  "$@" "$url" "$FAULT_DURATION" >"$RD/$name.json" || rc=$?
  wait "$PROXY_PID" || prc=$?
  PROXY_PID=""
  cat "$RD/$name.json"
  tail -n 1 "$out"
  if ! python3 - "$RD/$name.json" "$out" "$CORTIAUTH_FAULT_RESULTS" "$name" <<'PY'
import json, sys
def last_json(path):
    lines = open(path).read().strip().splitlines()
    return json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
script, proxy = last_json(sys.argv[1]), last_json(sys.argv[2])
merged = {"scenario": "retry_after_" + sys.argv[4], **script, **proxy}
with open(sys.argv[3], "a") as f:
    f.write(json.dumps(merged) + "\n")
if script.get("token_requests") != proxy.get("proxy_requests"):
    print(f"fault: FAILED: {sys.argv[4]}: the manager counted {script.get('token_requests')} "
          f"token requests, the proxy received {proxy.get('proxy_requests')}", file=sys.stderr)
    sys.exit(1)
PY
  then
    return 1
  fi
  [ "$rc" = 0 ] || { echo "fault: FAILED: the $name soak script's checks (exit $rc)" >&2; return 1; }
  [ "$prc" = 0 ] || { echo "fault: FAILED: $name: Retry-After not honoured or no recovery (proxy exit $prc)" >&2; return 1; }
  echo "fault: $name soak passed"
}

FAULT_PYTHON="${CORTIAUTH_FAULT_PYTHON:-$TARGET/python/test-venv/bin/python}"
if [ -x "$FAULT_PYTHON" ] && "$FAULT_PYTHON" -c 'import cortiauth' 2>/dev/null; then
  binding_soak python "$FAULT_PYTHON" "$HERE/python_soak.py" || FAULT_FAILED=1
else
  echo "fault: Python binding not built ($FAULT_PYTHON): run bindings/python/test.sh first; Python soak not run"
fi

FAULT_NODE_PROJECT="${CORTIAUTH_FAULT_NODE_PROJECT:-$TARGET/cortiauth-node-test}"
if [ -d "$FAULT_NODE_PROJECT/node_modules/cortiauth" ]; then
  CORTIAUTH_FAULT_NODE_PROJECT="$FAULT_NODE_PROJECT" binding_soak node node "$HERE/node_soak.mjs" || FAULT_FAILED=1
else
  echo "fault: Node binding not installed ($FAULT_NODE_PROJECT): run bindings/node/test.sh first; Node soak not run"
fi

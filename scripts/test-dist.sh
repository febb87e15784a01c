#!/usr/bin/env bash
# Tests the release artifacts in dist/ (scripts/dist.sh) the way users install
# them, against the loopback servers (started when the CORTIAUTH_* variables are
# not set):
#
#   python   the x86_64 manylinux wheel into a fresh virtualenv, no Rust on PATH:
#            a token from Keycloak (client_secret_post) and from the Tiro server
#            (client_secret_basic)
#   npm      cortiauth-V.tgz into a fresh project, the per-platform tarballs given
#            to npm as what the optional dependencies resolve to (offline): npm
#            must pick cortiauth-linux-x64-gnu alone; no Rust on PATH; ESM and
#            CommonJS fetch a token
#   c        each dist/c tarball unpacked, examples/c/get_token.c built with
#            pkg-config (shared, and static from the .a), run:
#            x86_64 gnu natively, x86_64 musl with Debian's musl loader, aarch64
#            under qemu-aarch64 with Debian's arm64 glibc (both installed by this
#            script with apt-get when missing and possible)
#   sdist    (with --sdist) pip install of the sdist in a fresh virtualenv: maturin
#            from the package index, a full Rust build from scratch (dev profile)
#
#   scripts/test-dist.sh [--sdist] [python|npm|c|sdist ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$root/tests/servers/with-servers.sh" run "$root/scripts/test-dist.sh" "$@"

dist=${CORTIAUTH_DIST_DIR:-$root/dist}
[ -f "$dist/SHA256SUMS" ] || { echo "test-dist: no $dist/SHA256SUMS: run scripts/dist.sh first" >&2; exit 1; }
(cd "$dist" && sha256sum --quiet -c SHA256SUMS)
version=$(sed -n 's|^.*  node/cortiauth-\([0-9][^-]*\)\.tgz$|\1|p' "$dist/SHA256SUMS")
[ -n "$version" ] || { echo "test-dist: no node/cortiauth-V.tgz in SHA256SUMS" >&2; exit 1; }

suites=()
sdist=0
for a in "$@"; do
  case "$a" in
    --sdist) sdist=1 ;;
    python | npm | c | sdist) suites+=("$a") ;;
    *) echo "test-dist: unknown argument $a" >&2; exit 2 ;;
  esac
done
if [ ${#suites[@]} -eq 0 ]; then
  suites=(python npm c)
  [ "$sdist" = 1 ] && suites+=(sdist)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

passed=0 failed=0
result() { # NAME STATUS
  if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "=== test-dist $1: ok"; else failed=$((failed + 1)); echo "=== test-dist $1: FAILED"; fi
}

# PATH without any Rust toolchain: a user's machine.
no_rust_path() {
  local p out="" IFS=:
  for p in $PATH; do
    case "$p" in */.cargo/bin | */.rustup/*) continue ;; esac
    if [ -x "$p/cargo" ] || [ -x "$p/rustc" ]; then continue; fi
    out=${out:+$out:}$p
  done
  echo "$out"
}
NORUST=$(no_rust_path)
if PATH=$NORUST command -v cargo >/dev/null || PATH=$NORUST command -v rustc >/dev/null; then
  echo "test-dist: cannot hide the Rust toolchain from PATH" >&2
  exit 1
fi

# The licence texts, byte for byte, somewhere under DIR (the wheel keeps them in
# .dist-info/licenses, npm and the tarballs at the top).
has_licenses() { # DIR WHAT
  local f found
  for f in LICENSE-MIT LICENSE-APACHE; do
    found=$(find "$1" -name "$f" -type f | head -1)
    [ -n "$found" ] && cmp -s "$found" "$f" || { echo "test-dist: $2 lacks $f" >&2; return 1; }
  done
}
is_jwt() { [[ "$1" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]; }

# ------------------------------------------------------------------ python
test_python() {
  local whl venv="$work/py"
  whl=$(ls "$dist"/python/cortiauth-"$version"-cp39-abi3-*manylinux_2_17_x86_64*.whl)
  python3 -m venv "$venv"
  PATH=$NORUST "$venv/bin/pip" install -q --no-index "$whl"
  has_licenses "$(cd "$venv"/lib/python3*/site-packages/cortiauth-"$version".dist-info && pwd)" "the wheel"
  (
    cd "$work"
    PATH=$NORUST "$venv/bin/python" - <<'EOF'
import os, re, shutil
import cortiauth

assert shutil.which("cargo") is None and shutil.which("rustc") is None, "Rust is on PATH"
assert "site-packages" in cortiauth.__file__, cortiauth.__file__
jwt = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")
e = os.environ
kc = cortiauth.TokenManager(
    e["CORTIAUTH_KC_CORTI_CLIENT_ID"], e["CORTIAUTH_KC_CORTI_CLIENT_SECRET"],
    token_url=e["CORTIAUTH_KC_TOKEN_URL_BASE"],
)
t = kc.get_token()
assert jwt.match(t.access_token) and 290 <= t.lifetime <= 300, t
assert kc.get_access_token() == t.access_token and kc.stats()["token_requests"] == 1
tiro = cortiauth.TokenManager(
    e["CORTIAUTH_TIRO_CLIENT_ID"], e["CORTIAUTH_TIRO_CLIENT_SECRET"],
    token_url=e["CORTIAUTH_TIRO_TOKEN_URL"], auth_method="client_secret_basic",
)
assert tiro.get_access_token()
try:
    cortiauth.TokenManager(e["CORTIAUTH_KC_CLIENT_ID"], "wrong", token_url=e["CORTIAUTH_KC_TOKEN_URL_BASE"]).get_access_token()
    raise SystemExit("a wrong secret got a token")
except cortiauth.OAuthError as err:
    assert err.error == "invalid_client", err
print(f"python: cortiauth {cortiauth.__version__} from the wheel fetched tokens from Keycloak and Tiro without Rust on PATH")
EOF
  )
}

# ------------------------------------------------------------------ npm
test_npm() {
  local project="$work/npm" f name overrides="" main="$dist/node/cortiauth-$version.tgz"
  mkdir -p "$project"
  for f in "$dist"/node/cortiauth-*-"$version".tgz; do
    name=$(basename "$f" "-$version.tgz")
    overrides="$overrides${overrides:+, }\"$name\": \"file:$f\""
  done
  cat >"$project/package.json" <<EOF
{ "name": "cortiauth-dist-test", "private": true, "version": "0.0.0",
  "overrides": { $overrides } }
EOF
  (cd "$project" && PATH=$NORUST npm install --offline --no-audit --no-fund --loglevel=error "$main" >/dev/null)
  ls "$project/node_modules"
  [ -d "$project/node_modules/cortiauth-linux-x64-gnu" ] || { echo "npm did not install cortiauth-linux-x64-gnu" >&2; return 1; }
  for name in cortiauth-linux-x64-musl cortiauth-linux-arm64-gnu; do
    if [ -d "$project/node_modules/$name" ]; then echo "npm installed $name on linux-x64-gnu" >&2; return 1; fi
  done
  if ls "$project"/node_modules/cortiauth/*.node >/dev/null 2>&1; then echo "the main package holds a binary" >&2; return 1; fi
  has_licenses "$project/node_modules/cortiauth" "the npm package"
  has_licenses "$project/node_modules/cortiauth-linux-x64-gnu" "the npm addon package"
  cat >"$project/esm.mjs" <<'EOF'
import { execSync } from 'node:child_process'
import { TokenManager, OAuthError } from 'cortiauth'
const e = process.env
for (const tool of ['cargo', 'rustc']) {
  let found = true
  try { execSync(`command -v ${tool}`, { stdio: 'ignore', shell: '/bin/sh' }) } catch { found = false }
  if (found) throw new Error(`${tool} is on PATH`)
}
const kc = new TokenManager({ clientId: e.CORTIAUTH_KC_CORTI_CLIENT_ID, clientSecret: e.CORTIAUTH_KC_CORTI_CLIENT_SECRET, tokenUrl: e.CORTIAUTH_KC_TOKEN_URL_BASE })
const token = await kc.getAccessToken()
if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new Error('not a JWT')
const h = await kc.headers()
if (h.Authorization !== `Bearer ${token}` || kc.stats().tokenRequests !== 1) throw new Error('headers/stats')
try {
  await new TokenManager({ clientId: e.CORTIAUTH_KC_CLIENT_ID, clientSecret: 'wrong', tokenUrl: e.CORTIAUTH_KC_TOKEN_URL_BASE }).getAccessToken()
  throw new Error('a wrong secret got a token')
} catch (err) {
  if (!(err instanceof OAuthError) || err.oauthError !== 'invalid_client') throw err
}
console.log('npm (ESM): cortiauth + cortiauth-linux-x64-gnu fetched a token without Rust on PATH')
EOF
  cat >"$project/cjs.cjs" <<'EOF'
const { TokenManager } = require('cortiauth')
const e = process.env
const tiro = new TokenManager({ clientId: e.CORTIAUTH_TIRO_CLIENT_ID, clientSecret: e.CORTIAUTH_TIRO_CLIENT_SECRET, tokenUrl: e.CORTIAUTH_TIRO_TOKEN_URL, authMethod: 'client_secret_basic' })
const token = tiro.getAccessTokenSync()
if (!token) throw new Error('no token')
console.log(`npm (CommonJS): token from the Tiro server, addon from ${require.resolve('cortiauth-linux-x64-gnu').replace(/.*node_modules\//, '')}`)
EOF
  (cd "$project" && PATH=$NORUST node esm.mjs && PATH=$NORUST node cjs.cjs)
}

# ------------------------------------------------------------------ C
ensure_debian() { # PACKAGE... : installs what is missing, if apt-get can
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-dist: apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
  else
    return 1
  fi
}

# Builds get_token.c against one unpacked tarball, with CC and a runner; shared and static.
c_host() { # TRIPLE CC RUNNER...
  local t=$1 cc=$2 prefix="$work/c/cortiauth-$version-$1" out
  shift 2
  mkdir -p "$work/c"
  tar -xzf "$dist/c/cortiauth-$version-$t.tar.gz" -C "$work/c"
  has_licenses "$prefix" "the C tarball for $t"
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  [ "$(pkg-config --modversion cortiauth)" = "$version" ]
  # shellcheck disable=SC2046
  $cc -O2 -Wall -Werror -o "$work/c/get_token-$t" examples/c/get_token.c $(pkg-config --cflags --libs cortiauth) -Wl,-rpath,"$prefix/lib"
  # shellcheck disable=SC2046
  $cc -O2 -Wall -Werror -o "$work/c/get_token-static-$t" examples/c/get_token.c $(pkg-config --cflags cortiauth) \
    "$prefix/lib/libcortiauth.a" $(pkg-config --libs-only-l --static cortiauth | sed 's/-lcortiauth\b//')
  readelf -d "$work/c/get_token-$t" | grep -q 'NEEDED.*libcortiauth.so.0' || { echo "$t: host does not need libcortiauth.so" >&2; return 1; }
  if readelf -d "$work/c/get_token-static-$t" | grep -q 'NEEDED.*libcortiauth'; then echo "$t: static host needs the .so" >&2; return 1; fi
  for bin in get_token get_token-static; do
    out=$(CORTI_CLIENT_ID=$CORTIAUTH_KC_CORTI_CLIENT_ID CORTI_CLIENT_SECRET=$CORTIAUTH_KC_CORTI_CLIENT_SECRET \
      CORTI_TOKEN_URL=$CORTIAUTH_KC_TOKEN_URL_BASE CORTI_TENANT_NAME=base \
      "$@" "$work/c/$bin-$t" 2>/dev/null | head -n1)
    is_jwt "$out" || { echo "$t: $bin printed no token" >&2; return 1; }
  done
  echo "c: $t: get_token (shared via pkg-config, and static) fetched a token${RUNNER_NOTE:-}"
  unset PKG_CONFIG_PATH
}

test_c() {
  local zig rc=0
  zig=("$root/target/dist/venv/bin/python" -m ziglang cc)
  RUNNER_NOTE="" c_host x86_64-unknown-linux-gnu cc || rc=1
  if [ -f "$dist/c/cortiauth-$version-x86_64-unknown-linux-musl.tar.gz" ]; then
    if ensure_debian musl && [ -x "${zig[0]}" ]; then
      RUNNER_NOTE=" (zig cc, Debian's musl loader)" c_host x86_64-unknown-linux-musl "${zig[*]} -target x86_64-linux-musl" || rc=1
    else
      echo "c: x86_64-unknown-linux-musl: NOT RUN (no musl loader or no zig in target/dist/venv)"; rc=1
    fi
  fi
  if [ -f "$dist/c/cortiauth-$version-aarch64-unknown-linux-gnu.tar.gz" ]; then
    if ensure_debian qemu-user libc6-arm64-cross && [ -x "${zig[0]}" ]; then
      RUNNER_NOTE=" (zig cc, qemu-aarch64)" c_host aarch64-unknown-linux-gnu "${zig[*]} -target aarch64-linux-gnu.2.17" \
        qemu-aarch64 -L /usr/aarch64-linux-gnu || rc=1
    else
      echo "c: aarch64-unknown-linux-gnu: NOT RUN (no qemu-aarch64 / arm64 glibc, or no zig)"; rc=1
    fi
  fi
  return "$rc"
}

# ------------------------------------------------------------------ sdist
test_sdist() {
  local venv="$work/sdist-venv"
  mkdir -p "$work/sdist-src"
  tar -xzf "$dist/python/cortiauth-$version.tar.gz" -C "$work/sdist-src"
  has_licenses "$work/sdist-src" "the sdist"
  python3 -m venv "$venv"
  # pip builds it as a user's machine would: maturin from the index, cargo from PATH.
  # In the dev profile: what this checks is that the sdist is complete and builds
  # (the release profile's code is what the wheels above run); 40 s instead of 68.
  (cd "$work" && env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET MATURIN_PEP517_ARGS="--profile dev" \
    "$venv/bin/pip" install -q "$dist/python/cortiauth-$version.tar.gz")
  (cd "$work" && "$venv/bin/python" -c '
import os, cortiauth
t = cortiauth.TokenManager(os.environ["CORTIAUTH_KC_CLIENT_ID"], os.environ["CORTIAUTH_KC_CLIENT_SECRET"], token_url=os.environ["CORTIAUTH_KC_TOKEN_URL_BASE"]).get_access_token()
assert t.count(".") == 2
print("sdist: built from scratch by pip, fetched a token")')
}

for s in "${suites[@]}"; do
  t0=$SECONDS
  echo "=== test-dist $s"
  # Not `test_$s || status=$?`: bash ignores errexit inside a function called in an
  # `||` list, so a failing check in the middle of a test would pass unnoticed.
  set +e
  (set -e; "test_$s")
  status=$?
  set -e
  echo "    ($((SECONDS - t0)) s)"
  result "$s" "$status"
done
echo "test-dist: $passed passed, $failed failed"
[ "$failed" = 0 ]

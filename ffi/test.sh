#!/usr/bin/env bash
# Tests of the C library, run against the real loopback servers:
#   1. include/cortiauth.h is what the pinned cbindgen generates (drift check);
#   2. ffi/install.sh builds and installs the library into target/cortiauth-c/prefix;
#   3. tests/c (C99 + C++17 through include/cortiauth.hpp, shared + static +
#      AddressSanitizer/UBSan, the C example through pkg-config, the C++ example,
#      the parity runner) is built with CMake against that installed package and
#      run with ctest; examples/c and examples/cpp are built through find_package;
#   4. settings parity: tests/parity/run_c (left at target/parity/run_c) describes
#      every case of tests/parity/cases.json into target/parity/c.txt, which must
#      match the Rust reference (target/parity/rust.txt) apart from user_agent.
#
# Needs the CORTIAUTH_KC_* / CORTIAUTH_TIRO_* variables of tests/servers/with-servers.sh;
# started on its own, it uses the lead's shared servers or starts its own.
# CORTIAUTH_FFI_PROFILE=dev builds the library without optimisations.
# CORTIAUTH_TEST_DIST=DIR tests the release tarball DIR/c/cortiauth-V-HOST.tar.gz
# (scripts/dist.sh) instead of building the library: scripts/test-suites.sh does,
# so the C library is built once per CI run, as users get it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=../tests/servers/lib.sh
. tests/servers/lib.sh # cargo_out

# The loopback servers: started for this run unless their variables are set.
[ -n "${CORTIAUTH_KEYCLOAK_URL:-}" ] || exec "$root/tests/servers/with-servers.sh" run "$root/ffi/test.sh" "$@"

missing=()
for tool in cmake ctest ninja pkg-config readelf cc c++; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ffi/test.sh: installing the missing ${missing[*]}" >&2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq cmake ninja-build pkg-config binutils gcc g++ >/dev/null
  else
    echo "ffi/test.sh: ${missing[*]} needed (apt-get install cmake ninja-build pkg-config binutils g++)" >&2
    exit 1
  fi
fi

echo "== header drift"
ffi/generate-header.sh --check

work=$root/target/cortiauth-c
prefix=$work/prefix
rm -rf "$prefix"
if [ -n "${CORTIAUTH_TEST_DIST:-}" ]; then
  host=$(rustc -vV | sed -n 's/^host: //p')
  tarball=$(ls "$CORTIAUTH_TEST_DIST"/c/cortiauth-*-"$host".tar.gz 2>/dev/null | head -n1)
  [ -n "$tarball" ] || { echo "ffi/test.sh: CORTIAUTH_TEST_DIST=$CORTIAUTH_TEST_DIST has no c/cortiauth-*-$host.tar.gz" >&2; exit 1; }
  echo "== the release tarball $(basename "$tarball"), unpacked into $prefix"
  mkdir -p "$prefix"
  tar -xzf "$tarball" -C "$prefix" --strip-components=1
else
  echo "== build and install into $prefix"
  ffi/install.sh --prefix "$prefix" --profile "${CORTIAUTH_FFI_PROFILE:-release}"
fi

echo "== build tests/c against the installed package"
rm -rf "$work/build" "$work/example" "$work/example-cpp"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
cmake -S tests/c -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -Dcortiauth_DIR="$prefix/lib/cmake/cortiauth" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/build" -j 2
cmake -S examples/c -B "$work/example" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/example"
cmake -S examples/cpp -B "$work/example-cpp" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/example-cpp"

echo "== settings parity (C setters vs the Rust reference)"
parity=$root/target/parity
mkdir -p "$parity"
cp "$work/build/run_c" "$parity/run_c"
python3 tests/parity/cases_to_lines.py tests/parity/cases.json >"$parity/cases.txt"
env -u CORTI_CLIENT_ID -u CORTI_CLIENT_SECRET "$parity/run_c" <"$parity/cases.txt" >"$parity/c.txt"
# The Rust reference. Under scripts/test-suites.sh, built with the packages and
# features of its workspace test run (CORTIAUTH_WORKSPACE_BUILD), which built it already.
# shellcheck disable=SC2086
cargo build -q --locked ${CORTIAUTH_WORKSPACE_BUILD:--p cortiauth-parity} --example parity_reference
"$(cargo_out debug)/examples/parity_reference" tests/parity/cases.json >"$parity/rust.txt"
strip_agent() { sed 's/,"user_agent":"[^"]*"//' "$1"; }
if ! diff -u <(strip_agent "$parity/rust.txt") <(strip_agent "$parity/c.txt"); then
  echo "ffi/test.sh: the C setters describe differently from the Rust reference (above)" >&2
  exit 1
fi
echo "parity: C describes all $(wc -l <"$parity/c.txt") cases byte-identically to the Rust reference"

echo "== ctest"
# The example reads the standard CORTI_* variables; point them at the test realm.
export CORTI_CLIENT_ID=$CORTIAUTH_KC_CLIENT_ID
export CORTI_CLIENT_SECRET=$CORTIAUTH_KC_CLIENT_SECRET
export CORTI_TOKEN_URL=$CORTIAUTH_KC_TOKEN_URL_BASE
export CORTI_TENANT_NAME=base
unset CORTI_ENVIRONMENT CORTI_SCOPES
cd "$work/build"
ctest --output-on-failure -j 2 --timeout 120

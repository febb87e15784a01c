#!/usr/bin/env bash
# Builds the release artifacts into dist/ (git-ignored):
#
#   dist/python/cortiauth-V-cp39-abi3-manylinux_2_17_x86_64.whl  (+ aarch64, musllinux_1_2 x86_64)
#   dist/python/cortiauth-V.tar.gz                              the sdist (builds with Rust)
#   dist/node/cortiauth-V.tgz                                   JS + types, no binary, with
#   dist/node/cortiauth-linux-x64-gnu-V.tgz, …-linux-x64-musl-…, …-linux-arm64-gnu-…
#                                                               as optional dependencies
#   dist/c/cortiauth-V-TRIPLE.tar.gz                            header, .so + SONAME links, .a,
#                                                               pkg-config, CMake
#   dist/crate/cortiauth-V.crate                                `cargo publish --dry-run` passed
#   dist/SHA256SUMS
#
# Every shared library (.so, .node) is stripped; the wheels' tags are confirmed by
# auditwheel and every binary's architecture and libc by readelf.
#
#   scripts/dist.sh [--allow-dirty]        all of it, for the Linux targets below
#
# The steps, also run one by one by .github/workflows/release.yml on other hosts:
#
#   scripts/dist.sh wheel TRIPLE    one wheel into dist/python
#   scripts/dist.sh sdist           the sdist into dist/python
#   scripts/dist.sh addon TRIPLE    target/dist/addons/cortiauth.PLATFORM.node
#   scripts/dist.sh clib TRIPLE     dist/c/cortiauth-V-TRIPLE.tar.gz (Linux targets)
#   scripts/dist.sh npm             dist/node: the main package + one per staged addon
#   scripts/dist.sh crate [--allow-dirty]
#   scripts/dist.sh check           auditwheel + readelf on what is in dist/ (Linux)
#   scripts/dist.sh sums            dist/SHA256SUMS, then verifies it
#
# Linux targets are cross-built from any Linux host with zig (ziglang from PyPI,
# into the tools virtualenv target/dist/venv; rustup adds the Rust targets):
# glibc targets against glibc 2.17, musl targets against musl 1.2.
# Knobs: CORTIAUTH_DIST_TARGETS (space-separated triples), CORTIAUTH_DIST_DIR (dist).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

linux_targets="x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl"
targets=${CORTIAUTH_DIST_TARGETS:-$linux_targets}
dist=${CORTIAUTH_DIST_DIR:-$root/dist}
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
stage=$target_dir/dist
# The release tools' virtualenv lives in the machine's cortiauth cache (as Keycloak and
# cbindgen do): pinned by hash, rebuilt only when scripts/requirements-dist.txt changes.
venv=${CORTIAUTH_DIST_TOOLS_VENV:-${CORTIAUTH_CACHE_DIR:-$HOME/.cache/cortiauth}/dist-tools-venv}
addons=$stage/addons
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log() { printf '== dist: [%s s] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'dist: ERROR: %s\n' "$*" >&2; exit 1; }

case "$(uname -s)" in
  MINGW* | MSYS* | CYGWIN*) host_os=windows; venv_bin=$venv/Scripts; exe=.exe ;;
  Darwin) host_os=macos; venv_bin=$venv/bin; exe="" ;;
  *) host_os=linux; venv_bin=$venv/bin; exe="" ;;
esac

# The Python that makes the tools virtualenv (python on Windows runners).
py=${PYTHON:-python3}
command -v "$py" >/dev/null || py=python

version=$(cargo metadata --format-version 1 --no-deps --locked |
  "$py" -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "cortiauth"))')

# ------------------------------------------------------------------ helpers

# The tools virtualenv (maturin, ziglang, cargo-zigbuild, auditwheel), rebuilt when
# scripts/requirements-dist.txt changes.
tools() {
  local want stamp=$venv/.requirements.sha256
  want=$("$py" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' scripts/requirements-dist.txt)
  if [ ! -x "$venv_bin/maturin$exe" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing the release tools into $venv"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    local reqs=(maturin== cargo-zigbuild== ziglang== auditwheel== packaging== pyelftools==)
    if [ "$host_os" != linux ]; then reqs=(maturin==); fi
    # Only what this host uses: zig and auditwheel are for the Linux targets. Each
    # file is checked against its pinned SHA-256; dependencies are listed, not resolved.
    local r
    for r in "${reqs[@]}"; do grep "^$r" scripts/requirements-dist.txt; done >"$venv/requirements.txt"
    "$venv_bin/python$exe" -m pip install -q --require-hashes --no-deps -r "$venv/requirements.txt"
    echo "$want" >"$stamp"
  fi
  export PATH="$venv_bin:$PATH"
}

# rustup target add, when the target is missing (rustup is how CI gets Rust).
rust_target() {
  if ! rustc --print target-list >/dev/null 2>&1; then die "no rustc on PATH"; fi
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$1"; then
    log "rustup target add $1"
    rustup target add "$1"
  fi
}

is_linux() { case "$1" in *-linux-*) return 0 ;; *) return 1 ;; esac; }
is_musl() { case "$1" in *-musl*) return 0 ;; *) return 1 ;; esac; }

# The zig target for cargo-zigbuild: glibc targets pinned to glibc 2.17.
zig_target() { if is_musl "$1"; then echo "$1"; else echo "$1.2.17"; fi; }

# The npm platform name of a Rust target (process.platform-arch[-abi]).
npm_platform() {
  case "$1" in
    x86_64-unknown-linux-gnu) echo linux-x64-gnu ;;
    x86_64-unknown-linux-musl) echo linux-x64-musl ;;
    aarch64-unknown-linux-gnu) echo linux-arm64-gnu ;;
    aarch64-unknown-linux-musl) echo linux-arm64-musl ;;
    aarch64-apple-darwin) echo darwin-arm64 ;;
    x86_64-apple-darwin) echo darwin-x64 ;;
    x86_64-pc-windows-msvc) echo win32-x64-msvc ;;
    aarch64-pc-windows-msvc) echo win32-arm64-msvc ;;
    *) die "no npm platform name for $1" ;;
  esac
}

# musl targets link the C runtime statically by default, which rules out a cdylib.
native_env() {
  if is_musl "$1"; then
    local var
    var="CARGO_TARGET_$(echo "$1" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"
    export "$var=-C target-feature=-crt-static"
  fi
  # Strip the linked libraries (.so, .node, .dylib); static archives keep symbols.
  export CARGO_PROFILE_RELEASE_STRIP=symbols
}

# ------------------------------------------------------------------ steps

step_wheel() {
  local t=$1 args
  args=(--release --locked --strip --target "$t" -o "$dist/python")
  tools
  rust_target "$t"
  if is_linux "$t"; then
    if is_musl "$t"; then args+=(--zig --compatibility musllinux_1_2); else args+=(--zig --compatibility manylinux_2_17); fi
  fi
  log "wheel for $t"
  mkdir -p "$dist/python"
  (cd bindings/python && CARGO_TARGET_DIR="$stage/cargo-python" maturin build --quiet "${args[@]}")
}

step_sdist() {
  tools
  log "sdist"
  mkdir -p "$dist/python"
  (cd bindings/python && maturin sdist -o "$dist/python")
}

step_addon() {
  local t=$1 platform out
  platform=$(npm_platform "$t")
  tools
  rust_target "$t"
  log "Node addon for $t ($platform)"
  (
    native_env "$t"
    export CARGO_TARGET_DIR="$stage/cargo-native"
    if is_linux "$t"; then
      cargo-zigbuild zigbuild --release --locked --target "$(zig_target "$t")" -p cortiauth-node
    else
      cargo build --release --locked --target "$t" -p cortiauth-node
    fi
  )
  out=$stage/cargo-native/$t/release
  mkdir -p "$addons"
  case "$t" in
    *-windows-*) cp "$out/cortiauth_node.dll" "$addons/cortiauth.$platform.node" ;;
    *-apple-*) cp "$out/libcortiauth_node.dylib" "$addons/cortiauth.$platform.node" ;;
    *) cp "$out/libcortiauth_node.so" "$addons/cortiauth.$platform.node" ;;
  esac
}

step_clib() {
  local t=$1 name prefix
  is_linux "$t" || die "clib: only Linux targets have a C tarball here ($t)"
  tools
  rust_target "$t"
  name=cortiauth-$version-$t
  prefix=$stage/c/$name
  rm -rf "$prefix"
  log "C library for $t"
  (
    native_env "$t"
    export CARGO_TARGET_DIR="$stage/cargo-native"
    ffi/install.sh --prefix "$prefix" --target "$(zig_target "$t")" --zig --strip --relocatable >&2
  )
  cp LICENSE-MIT LICENSE-APACHE "$prefix/"
  cat >"$prefix/README.md" <<EOF
# cortiauth $version, C library for $t

    include/cortiauth.h
    lib/libcortiauth.so.$version, libcortiauth.so.<abi> -> …, libcortiauth.so -> …
    lib/libcortiauth.a
    lib/pkgconfig/cortiauth.pc          relocatable: prefix is found from the file's place
    lib/cmake/cortiauth/                find_package(cortiauth)

Unpack anywhere (e.g. /opt/cortiauth), then:

    export PKG_CONFIG_PATH=/opt/cortiauth/lib/pkgconfig
    cc app.c \$(pkg-config --cflags --libs cortiauth) -Wl,-rpath,/opt/cortiauth/lib

    cmake -DCMAKE_PREFIX_PATH=/opt/cortiauth …   # find_package(cortiauth 0.1 REQUIRED)

The API: https://github.com/cortiauth/cortiauth#c-and-c
EOF
  mkdir -p "$dist/c"
  tar -C "$stage/c" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}" \
    -czf "$dist/c/$name.tar.gz" "$name"
}

step_npm() {
  local args=() f
  for f in "$addons"/cortiauth.*.node; do
    [ -e "$f" ] || die "npm: no addon staged in $addons (scripts/dist.sh addon TRIPLE first)"
    f=${f##*/cortiauth.}
    args+=("${f%.node}=$addons/cortiauth.$f")
  done
  log "npm packages (${#args[@]} platforms)"
  node bindings/node/tools/dist-packages.mjs "$stage/npm" "${args[@]}" >&2
  rm -rf "$dist/node"
  mkdir -p "$dist/node"
  for f in "$stage/npm"/*/; do
    (cd "$f" && npm pack --silent --pack-destination "$dist/node" >/dev/null)
  done
  ls "$dist/node" >&2
}

step_crate() {
  local allow=()
  [ "${1:-}" = --allow-dirty ] && allow=(--allow-dirty)
  log "cargo publish --dry-run -p cortiauth (packages and builds the crate as crates.io would)"
  cargo publish --dry-run --locked -p cortiauth ${allow[@]+"${allow[@]}"} 2>&1 | grep -v '^ *\(Compiling\|Checking\|Downloaded\|Downloading\)' >&2
  # The .crate file itself (the dry run leaves it in a temporary place).
  cargo package --no-verify --locked -p cortiauth ${allow[@]+"${allow[@]}"} 2>&1 | grep -v '^ *\(Updating\|Packaging\|Packaged\)' >&2 || true
  mkdir -p "$dist/crate"
  cp "$target_dir/package/cortiauth-$version.crate" "$dist/crate/"
}

# Asserts what every artifact in dist/ is: wheel tags (auditwheel), architecture,
# libc and a stripped symbol table (readelf) of every shared library.
step_check() {
  tools
  local whl tag so failed=0 tmp
  tmp=$(mktemp -d)
  for whl in "$dist"/python/*.whl; do
    [ -e "$whl" ] || continue
    case "$whl" in
      *manylinux_2_17_x86_64*) tag=manylinux_2_17_x86_64 ;;
      *manylinux_2_17_aarch64*) tag=manylinux_2_17_aarch64 ;;
      *musllinux_1_2_x86_64*) tag=musllinux_1_2_x86_64 ;;
      *musllinux_1_2_aarch64*) tag=musllinux_1_2_aarch64 ;;
      *) log "check: $(basename "$whl"): not a Linux wheel, skipped"; continue ;;
    esac
    case "$whl" in *-cp39-abi3-*) ;; *) echo "check: $(basename "$whl") is not cp39-abi3" >&2; failed=1 ;; esac
    if [[ "$tag" == musllinux* ]]; then
      # auditwheel cannot judge a musl wheel on a glibc host: it resolves the
      # extension's NEEDED libc.so (the name zig's musl links; musl's loader
      # provides it itself) to glibc's libc.so linker script and crashes, and its
      # musllinux whitelist expects Alpine's libc.musl-ARCH.so.1. maturin audited
      # the tag when it built the wheel; readelf below checks that libc.so is all
      # it needs, and test-dist runs the same musl build (C host) with musl's loader.
      echo "check: $(basename "$whl"): $tag from maturin's audit (auditwheel cannot check musl on a glibc host)"
    elif auditwheel show "$whl" >"$tmp/show" 2>&1 && tr -s ' \n' ' ' <"$tmp/show" | grep -q "consistent with the following platform tag: \"$tag\""; then
      echo "check: $(basename "$whl"): auditwheel confirms $tag"
    else
      cat "$tmp/show" >&2
      echo "check: $(basename "$whl"): auditwheel does not confirm $tag" >&2
      failed=1
    fi
    mkdir -p "$tmp/w"
    "$py" -m zipfile -e "$whl" "$tmp/w/$(basename "$whl")"
  done
  for f in "$dist"/node/cortiauth-*-*.tgz; do
    [ -e "$f" ] || continue
    mkdir -p "$tmp/n/$(basename "$f")" && tar -xzf "$f" -C "$tmp/n/$(basename "$f")"
  done
  for f in "$dist"/c/*.tar.gz; do
    [ -e "$f" ] || continue
    mkdir -p "$tmp/c" && tar -xzf "$f" -C "$tmp/c"
  done
  while IFS= read -r so; do
    check_elf "$so" || failed=1
  done < <(find "$tmp" -type f \( -name '*.so' -o -name '*.so.*' -o -name '*.node' \) | sort)
  rm -rf "$tmp"
  [ "$failed" = 0 ] || die "check failed"
}

# One ELF shared library: the architecture and libc its path says, no .symtab.
check_elf() {
  local so=$1 short want_machine want_interp header sections dyn
  short=${so#*/[wnc]/}
  case "$so" in
    *aarch64* | *arm64*) want_machine=AArch64 ;;
    *) want_machine=X86-64 ;;
  esac
  header=$(readelf -h "$so")
  sections=$(readelf -S -W "$so")
  dyn=$(readelf -d "$so")
  if ! grep -q "Machine:.*$want_machine" <<<"$header"; then
    echo "check: $short: not $want_machine" >&2; return 1
  fi
  if grep -q ' \.symtab ' <<<"$sections"; then
    echo "check: $short: not stripped (.symtab present)" >&2; return 1
  fi
  case "$so" in
    *musl*) want_interp='[libc.so]' ;;
    *) want_interp='[libc.so.6]' ;;
  esac
  if ! grep -qF "$want_interp" <<<"$(grep NEEDED <<<"$dyn")"; then
    echo "check: $short: does not link the expected libc ($want_interp):" >&2
    grep NEEDED <<<"$dyn" >&2
    return 1
  fi
  if [[ "$so" == *musl* ]] && grep NEEDED <<<"$dyn" | grep -vqF '[libc.so]'; then
    echo "check: $short: a musl library that needs more than libc.so:" >&2
    grep NEEDED <<<"$dyn" >&2
    return 1
  fi
  if [[ "$so" != *musl* ]] && readelf -V -W "$so" | grep -o 'GLIBC_2\.[0-9]*' | sort -uV | tail -n1 | grep -qv '^GLIBC_2\.\(1[0-7]\|[0-9]\)$'; then
    echo "check: $short: needs a glibc newer than 2.17: $(readelf -V -W "$so" | grep -o 'GLIBC_2\.[0-9]*' | sort -uV | tail -n1)" >&2
    return 1
  fi
  echo "check: $short: $want_machine, stripped, $(grep -o 'NEEDED.*' <<<"$dyn" | sed 's/.*\[\(.*\)\]/\1/' | paste -sd, -)"
}

step_sums() {
  log "SHA256SUMS"
  (
    cd "$dist"
    rm -f SHA256SUMS
    sums=$(find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum)
    printf '%s\n' "$sums" >SHA256SUMS
    sha256sum --quiet -c SHA256SUMS
  )
  echo "dist: $(wc -l <"$dist/SHA256SUMS") files in $dist, SHA256SUMS verified"
}

# ------------------------------------------------------------------ main

cmd=${1:-all}
[ $# -gt 0 ] && shift
case "$cmd" in
  wheel | addon | clib) [ $# -eq 1 ] || die "usage: scripts/dist.sh $cmd TRIPLE"; "step_$cmd" "$1" ;;
  sdist | npm | check | sums) "step_$cmd" ;;
  crate) step_crate "$@" ;;
  all | --allow-dirty)
    dirty=""
    if [ "$cmd" = --allow-dirty ] || [ "${1:-}" = --allow-dirty ]; then dirty=--allow-dirty; fi
    start=$SECONDS
    rm -rf "$dist" "$addons"
    mkdir -p "$dist"
    for t in $targets; do
      step_wheel "$t"
      step_clib "$t"
      step_addon "$t"
    done
    step_sdist
    step_npm
    step_crate $dirty
    step_check
    step_sums
    echo "dist: built in $((SECONDS - start)) s"
    ;;
  -h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown step $cmd (scripts/dist.sh --help)" ;;
esac

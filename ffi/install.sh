#!/usr/bin/env bash
# Builds the C library and installs it with its header, pkg-config file and CMake
# package:
#
#   ffi/install.sh --prefix DIR [--libdir lib] [--profile release|dev]
#                  [--target TRIPLE [--zig]] [--strip] [--relocatable]
#
#   DIR/include/cortiauth.h, DIR/include/cortiauth.hpp (the C++17 header-only wrapper)
#   DIR/lib/libcortiauth.so.X.Y.Z, libcortiauth.so.ABI -> …, libcortiauth.so -> …
#   DIR/lib/libcortiauth.a
#   DIR/lib/pkgconfig/cortiauth.pc                     (pkg-config cortiauth)
#   DIR/lib/cmake/cortiauth/cortiauthConfig.cmake      (find_package(cortiauth))
#   DIR/lib/cmake/cortiauth/cortiauthConfigVersion.cmake
#
# ABI is the major version, or 0.MINOR before 1.0 (the SONAME set by ffi/build.rs).
# Cargo writes libcortiauth_ffi.{so,a} (the crate name `cortiauth` is the core's);
# this script gives them their installed names.
#
# Release builds (scripts/dist.sh) add: --target TRIPLE to cross-compile (with
# --zig, through `cargo-zigbuild rustc`, which also takes a glibc version:
# aarch64-unknown-linux-gnu.2.17), --strip to strip the shared library's symbol
# table, and --relocatable for a pkg-config file that finds its prefix from its own
# location (${pcfiledir}), so the tree works wherever it is unpacked.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
libdir=lib
profile=release
target=""
zig=0
strip=0
relocatable=0

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --libdir) libdir=$2; shift 2 ;;
    --libdir=*) libdir=${1#*=}; shift ;;
    --profile) profile=$2; shift 2 ;;
    --profile=*) profile=${1#*=}; shift ;;
    --target) target=$2; shift 2 ;;
    --target=*) target=${1#*=}; shift ;;
    --zig) zig=1; shift ;;
    --strip) strip=1; shift ;;
    --relocatable) relocatable=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$profile" in
  release) cargo_profile=(--release); outdir=release ;;
  dev|debug) cargo_profile=(); outdir=debug ;;
  *) echo "install.sh: --profile must be release or dev" >&2; exit 2 ;;
esac
cargo_rustc=(cargo rustc)
if [ "$zig" = 1 ]; then
  [ -n "$target" ] || { echo "install.sh: --zig needs --target" >&2; exit 2; }
  cargo_rustc=(cargo-zigbuild rustc)
fi
target_args=()
if [ -n "$target" ]; then
  target_args=(--target "$target")
  # cargo-zigbuild's glibc suffix (.2.17) is not part of the output directory.
  triple=$(echo "$target" | sed -E 's/\.[0-9]+\.[0-9]+$//')
  outdir="$triple/$outdir"
fi
if [ "$strip" = 1 ]; then
  # Strips the linked shared library (the .a keeps its symbols: it is linked again).
  export CARGO_PROFILE_RELEASE_STRIP=symbols CARGO_PROFILE_DEV_STRIP=symbols
fi
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)

version=$(sed -n 's/^#define CORTIAUTH_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
  "$root/include/cortiauth.h" | paste -sd. -)
major=${version%%.*}
minor=$(echo "$version" | cut -d. -f2)
if [ "$major" = 0 ]; then abi="0.$minor"; else abi=$major; fi

# Build both libraries; the final crate's rustc prints the native libraries the
# static one needs (cargo replays the note when the build is fresh).
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps --locked |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! (cd "$root" && "${cargo_rustc[@]}" -p cortiauth-ffi --lib --locked "${cargo_profile[@]}" \
  ${target_args[@]+"${target_args[@]}"} -- --print native-static-libs) 2>"$log"; then
  cat "$log" >&2
  exit 1
fi
grep -v 'native-static-libs\|link against the following native artifacts' "$log" \
  | grep -v '^note: *$' | grep -v '^$' >&2 || true
native=$(sed -n 's/^note: native-static-libs: //p' "$log" | tail -n1)
if [ -z "$native" ]; then
  echo "install.sh: rustc did not report the native static libraries" >&2
  exit 1
fi

lib=$prefix/$libdir
mkdir -p "$prefix/include" "$lib/pkgconfig" "$lib/cmake/cortiauth"
install -m 0644 "$root/include/cortiauth.h" "$prefix/include/cortiauth.h"
install -m 0644 "$root/include/cortiauth.hpp" "$prefix/include/cortiauth.hpp"
install -m 0755 "$target_dir/$outdir/libcortiauth_ffi.so" "$lib/libcortiauth.so.$version"
ln -sfn "libcortiauth.so.$version" "$lib/libcortiauth.so.$abi"
ln -sfn "libcortiauth.so.$abi" "$lib/libcortiauth.so"
install -m 0644 "$target_dir/$outdir/libcortiauth_ffi.a" "$lib/libcortiauth.a"

pc_prefix=$prefix
if [ "$relocatable" = 1 ]; then
  # ${pcfiledir} is the .pc file's directory (pkg-config and pkgconf both set it).
  pc_prefix="\${pcfiledir}/$(echo "$libdir/pkgconfig" | sed 's|[^/][^/]*|..|g')"
fi
cat >"$lib/pkgconfig/cortiauth.pc" <<EOF
prefix=$pc_prefix
libdir=\${prefix}/$libdir
includedir=\${prefix}/include

Name: cortiauth
Description: OAuth 2.0 client-credentials tokens for the Corti API
Version: $version
Libs: -L\${libdir} -lcortiauth
Libs.private: $native
Cflags: -I\${includedir}
EOF

# Paths in the CMake package are relative to its own directory, so the installed
# tree can be moved.
ptr_bytes=$(( $(getconf LONG_BIT) / 8 ))
case "$target" in
  "") ;;
  x86_64-* | aarch64-* | powerpc64* | riscv64* | s390x-*) ptr_bytes=8 ;;
  *) ptr_bytes=4 ;;
esac
up=$(echo "$libdir/cmake/cortiauth" | sed 's|[^/][^/]*|..|g')
cmake_native=$(echo "$native" | sed 's/-l//g' | tr -s ' ' ';')
cat >"$lib/cmake/cortiauth/cortiauthConfig.cmake" <<EOF
# CMake package of the cortiauth C library (written by ffi/install.sh).
#
#   find_package(cortiauth 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE cortiauth::cortiauth)
#
# The include directory (cortiauth_INCLUDE_DIRS, and the targets' interface) holds
# cortiauth.h (C) and cortiauth.hpp (C++17 header-only wrapper).
#
# Targets: cortiauth::cortiauth_shared, cortiauth::cortiauth_static, and
# cortiauth::cortiauth, which is the shared one unless CORTIAUTH_USE_STATIC_LIBS
# is ON when find_package runs.
get_filename_component(_cortiauth_prefix "\${CMAKE_CURRENT_LIST_DIR}/$up" ABSOLUTE)
set(cortiauth_VERSION "$version")
set(cortiauth_INCLUDE_DIRS "\${_cortiauth_prefix}/include")

if(NOT TARGET cortiauth::cortiauth_shared)
  add_library(cortiauth::cortiauth_shared SHARED IMPORTED)
  set_target_properties(cortiauth::cortiauth_shared PROPERTIES
    IMPORTED_LOCATION "\${_cortiauth_prefix}/$libdir/libcortiauth.so.$version"
    IMPORTED_SONAME "libcortiauth.so.$abi"
    INTERFACE_INCLUDE_DIRECTORIES "\${_cortiauth_prefix}/include")
endif()

if(NOT TARGET cortiauth::cortiauth_static)
  add_library(cortiauth::cortiauth_static STATIC IMPORTED)
  set_target_properties(cortiauth::cortiauth_static PROPERTIES
    IMPORTED_LOCATION "\${_cortiauth_prefix}/$libdir/libcortiauth.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_cortiauth_prefix}/include"
    INTERFACE_LINK_LIBRARIES "$cmake_native")
endif()

if(NOT TARGET cortiauth::cortiauth)
  add_library(cortiauth::cortiauth INTERFACE IMPORTED)
  if(CORTIAUTH_USE_STATIC_LIBS)
    set_target_properties(cortiauth::cortiauth PROPERTIES
      INTERFACE_LINK_LIBRARIES cortiauth::cortiauth_static)
  else()
    set_target_properties(cortiauth::cortiauth PROPERTIES
      INTERFACE_LINK_LIBRARIES cortiauth::cortiauth_shared)
  endif()
endif()

set(cortiauth_LIBRARIES cortiauth::cortiauth)
unset(_cortiauth_prefix)
EOF

cat >"$lib/cmake/cortiauth/cortiauthConfigVersion.cmake" <<EOF
# Version check for find_package(cortiauth X.Y) (written by ffi/install.sh).
# Compatible: same major version (same 0.minor before 1.0), not older than asked.
set(PACKAGE_VERSION "$version")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(NOT PACKAGE_FIND_VERSION OR PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
elseif(PACKAGE_FIND_VERSION VERSION_LESS PACKAGE_VERSION
       AND PACKAGE_FIND_VERSION_MAJOR STREQUAL "$major"
       AND ("$major" STREQUAL "0" AND PACKAGE_FIND_VERSION_MINOR STREQUAL "$minor"
            OR NOT "$major" STREQUAL "0"))
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
# A library for one pointer size does not fit a build for another.
if(CMAKE_SIZEOF_VOID_P AND NOT CMAKE_SIZEOF_VOID_P STREQUAL "$ptr_bytes")
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} ($((ptr_bytes * 8))-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
EOF

echo "installed cortiauth $version into $prefix (libcortiauth.so.$abi, libcortiauth.a, pkg-config, CMake)"

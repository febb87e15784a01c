#!/usr/bin/env bash
# Generates include/cortiauth.h from ffi/src with a pinned cbindgen (installed on
# first use into the machine's cortiauth cache, ~/.cache/cortiauth/tools/ as for
# Keycloak, so a fresh clone does not build it again; or $CORTIAUTH_TOOLS_DIR).
#
#   ffi/generate-header.sh           rewrite include/cortiauth.h
#   ffi/generate-header.sh --check   exit 1, showing the diff, if the committed
#                                    header differs from what would be generated
set -euo pipefail
CBINDGEN_VERSION=0.29.4
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${CORTIAUTH_TOOLS_DIR:-${CORTIAUTH_CACHE_DIR:-$HOME/.cache/cortiauth}/tools}
bin=$tools/cbindgen-$CBINDGEN_VERSION/bin/cbindgen

if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]; then
  echo "generate-header: installing cbindgen $CBINDGEN_VERSION into $tools" >&2
  # --debug: an unoptimised cbindgen builds in a third of the time (about 15 s
  # instead of 50 on 2 cores) and still generates the header in well under a second.
  cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --debug \
    --root "$tools/cbindgen-$CBINDGEN_VERSION" >&2
fi

header=$root/include/cortiauth.h
generated=$(mktemp)
trap 'rm -f "$generated"' EXIT
(cd "$root/ffi" && "$bin" --quiet --config cbindgen.toml --crate cortiauth-ffi \
  --output "$generated" .)

if [ "${1:-}" = "--check" ]; then
  if ! diff -u "$header" "$generated"; then
    echo "include/cortiauth.h is out of date: run ffi/generate-header.sh and commit it" >&2
    exit 1
  fi
  echo "include/cortiauth.h is up to date (cbindgen $CBINDGEN_VERSION)"
else
  mkdir -p "$(dirname "$header")"
  cp "$generated" "$header"
  echo "wrote include/cortiauth.h (cbindgen $CBINDGEN_VERSION)"
fi

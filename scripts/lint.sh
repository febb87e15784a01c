#!/usr/bin/env bash
# Static checks: formatting, clippy on every target, generated files in sync.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# include/cortiauth.h must be what the pinned cbindgen generates from ffi/.
ffi/generate-header.sh --check

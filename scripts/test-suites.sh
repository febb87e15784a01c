#!/usr/bin/env bash
# Every test suite, in order: the Rust crates first, then the hosts that wrap them.
# Run by scripts/test.sh with the loopback servers up and their CORTIAUTH_* variables set.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked

#!/usr/bin/env bash
# Static checks: formatting, clippy on every target, generated files in sync.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's time, for the per-step breakdown of scripts/test.sh.
last=$SECONDS
took() { echo "lint: $1 in $((SECONDS - last)) s"; last=$SECONDS; }
cargo fmt --all --check
took "rustfmt"
# Every target of every crate, with core's optional integrations on (the Redis store,
# the async reqwest helper and middleware, OpenTelemetry metrics): one build.
features=cortiauth/redis,cortiauth/reqwest,cortiauth/reqwest-middleware,cortiauth/opentelemetry
cargo clippy --workspace --all-targets --features "$features" --locked -- -D warnings
took "clippy (workspace, every target)"
# The API docs of the published crates: every public item documented, every
# intra-doc link resolved (rustdoc's own lints; `cargo test` runs their examples).
RUSTDOCFLAGS="-D missing_docs -D rustdoc::broken_intra_doc_links" \
  cargo doc --no-deps --locked -q -p cortiauth -p cortiauth-ffi --features "$features"
took "rustdoc (core, ffi)"
# The library alone (no `testing` feature): missing_docs holds for the public API.
cargo clippy -p cortiauth --lib --features redis,reqwest,reqwest-middleware,opentelemetry --locked -- -D warnings
took "clippy (core's public API)"
# The packaged crates carry copies of the licence texts (crate, wheel, npm): the same bytes as the root's.
for dir in core bindings/python bindings/node; do
  for f in LICENSE-MIT LICENSE-APACHE; do
    cmp -s "$f" "$dir/$f" || { echo "lint: $dir/$f differs from ./$f (copy it)" >&2; exit 1; }
  done
done
# Files generated from the core's settings table (C setters, Python and TypeScript
# option types, the README's settings table, the parity names) must be in sync.
# (scripts/test.sh defers this to scripts/test-suites.sh, after the workspace build
# that makes it a one-crate build: CORTIAUTH_LINT_GENERATED=after-build.)
if [ "${CORTIAUTH_LINT_GENERATED:-here}" = here ]; then
  scripts/check-generated.sh
  took "generated files"
fi
# Every link in the Markdown files resolves (files and headings; no network).
python3 scripts/check-links.py
# Python and Node describe each shared member with the same one-liner (docs/api/one-liners.toml).
python3 scripts/check-api-docs.py
took "links and one-liners"
# include/cortiauth.h must be what the pinned cbindgen generates from ffi/.
ffi/generate-header.sh --check
took "C header"
# GitHub Actions workflows: actionlint, pinned, built from the Go module proxy into
# target/tools (once; about 30 s). Needs Go.
actionlint_version=v1.7.12
actionlint=target/tools/actionlint-$actionlint_version
if [ ! -x "$actionlint" ]; then
  mkdir -p target/tools
  GOBIN="$PWD/target/tools/gobin" go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
  mv target/tools/gobin/actionlint "$actionlint"
fi
"$actionlint" -no-color .github/workflows/*.yml
echo "actionlint $actionlint_version: .github/workflows ok"

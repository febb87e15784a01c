#!/usr/bin/env bash
# Settings parity across surfaces: every surface maps the canonical
# settings of tests/parity/cases.json onto its OWN public API and prints, per case,
# `name<TAB>describe-json`. The binding suites leave their outputs in
# target/parity/<surface>.txt (ffi/test.sh: c, bindings/python/test.sh: python,
# bindings/node/test.sh: node); this script adds the CLI's and the Rust reference
# and fails unless all of them are byte-identical once `user_agent` is removed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../servers/lib.sh
. "$root/tests/servers/lib.sh" # cargo_out
out="$root/target/parity"
mkdir -p "$out"
cd "$root"

# The Rust reference: canonical keys straight onto cortiauth::Settings.
# The Rust reference. Under scripts/test-suites.sh, built with the packages and
# features of its workspace test run (CORTIAUTH_WORKSPACE_BUILD), which built it already.
# shellcheck disable=SC2086
cargo build -q --locked ${CORTIAUTH_WORKSPACE_BUILD:--p cortiauth-parity} --example parity_reference
"$(cargo_out debug)/examples/parity_reference" tests/parity/cases.json >"$out/rust.txt"
# The CLI: canonical keys onto flags.
python3 tests/parity/run_cli.py "$(cargo_out debug)/cortiauth" tests/parity/cases.json >"$out/cli.txt"

strip_agent() {
  python3 - "$1" <<'PY'
import re, sys
for line in open(sys.argv[1], encoding="utf-8"):
    name, _, js = line.rstrip("\n").partition("\t")
    # Remove the user_agent member (it names the binding) without re-serializing.
    js = re.sub(r',"user_agent":"[^"]*"', "", js)
    print(f"{name}\t{js}")
PY
}

cases=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' tests/parity/cases.json)
strip_agent "$out/rust.txt" >"$out/rust.norm"
[ "$(wc -l <"$out/rust.norm")" -eq "$cases" ] || { echo "parity: rust reference has $(wc -l <"$out/rust.norm") lines, want $cases"; exit 1; }
fail=0
for surface in c python node cli; do
  if [ ! -s "$out/$surface.txt" ]; then
    echo "parity: no output from $surface ($out/$surface.txt): its suite must run first"
    fail=1
    continue
  fi
  strip_agent "$out/$surface.txt" >"$out/$surface.norm"
  if diff -u "$out/rust.norm" "$out/$surface.norm"; then
    echo "parity: $surface describes all $cases cases byte-identically to the Rust reference"
  else
    echo "parity: $surface differs from the Rust reference (above)"
    fail=1
  fi
done
# Old names (each gives the same describe() as its new name) and a misspelled name
# (a configuration error suggesting the surface's right name), in every surface:
# tests/parity/names.json is generated from the core's settings table.
echo "parity: old and unknown setting names"
if ! "$root/target/python/test-venv/bin/python" tests/parity/run_names.py \
  --c "$root/target/cortiauth-c/prefix/lib/libcortiauth.so" --cli "$(cargo_out debug)/cortiauth"; then
  fail=1
fi
if ! node tests/parity/run_names.mjs "$root/target/cortiauth-node-test/node_modules/cortiauth"; then
  fail=1
fi
exit "$fail"

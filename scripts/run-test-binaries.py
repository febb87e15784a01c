#!/usr/bin/env python3
"""Runs cargo's test binaries a few at a time, as `cargo test` would run them one
after the other (scripts/cargo-test-with-servers.sh calls it).

    run-test-binaries.py [--only=NAME,…] [--skip=NAME,…] JOBS ARTIFACTS_JSON -- [TEST ARGS]

ARTIFACTS_JSON is the output of `cargo test --no-run --message-format=json`. Each
test binary runs as cargo runs it (in its package's directory, with
CARGO_MANIFEST_DIR and CARGO_PKG_NAME set); the tests inside one binary keep
libtest's own scheduling, so what a binary's tests share (a process, a static
lock) is unchanged: only separate binaries overlap. Most of the server-backed
tests wait on clocks (token lifetimes, a Keycloak round trip), so on 2 cores three
binaries at once take a third of the time.

--only / --skip pick binaries by target name (`keycloak_faults` for
tests/keycloak_faults.rs): the fault suite runs the scenarios that kill its
Keycloak alone, after the others.

Each binary's output is printed whole, in cargo's order, once it has finished.
Exits 1 when any binary failed (after printing every one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# One test binary's limit (CORTIAUTH_TEST_BINARY_TIMEOUT_S): the slowest takes ~11 s.
TIMEOUT_S = float(os.environ.get("CORTIAUTH_TEST_BINARY_TIMEOUT_S", "300"))


def test_binaries(artifacts: Path) -> list[dict[str, str]]:
    found = []
    for line in artifacts.read_text().splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        if not msg.get("profile", {}).get("test"):
            continue  # a bin built for CARGO_BIN_EXE_*, not a test harness
        target = msg["target"]
        kind = target["kind"][0]
        where = "unittests" if kind in ("lib", "cdylib", "staticlib", "rlib", "bin") else kind
        src = Path(target["src_path"])
        manifest_dir = Path(msg["manifest_path"]).parent
        try:
            shown = src.relative_to(manifest_dir)
        except ValueError:
            shown = src
        found.append(
            {
                "exe": msg["executable"],
                "dir": str(manifest_dir),
                "package": msg["package_id"],
                "title": f"{where} {shown}",
                "name": target["name"],
            }
        )
    return found


def package_name(package_id: str) -> str:
    # "path+file:///…/core#cortiauth@0.1.0" or "cortiauth 0.1.0 (path+file://…)"
    if "#" in package_id:
        tail = package_id.rsplit("#", 1)[1]
        return tail.split("@", 1)[0] if "@" in tail else Path(package_id.split("#")[0]).name
    return package_id.split(" ", 1)[0]


def run(binary: dict[str, str], test_args: list[str]) -> tuple[int, str, float]:
    env = dict(os.environ, CARGO_MANIFEST_DIR=binary["dir"], CARGO_PKG_NAME=package_name(binary["package"]))
    t0 = time.monotonic()
    try:
        done = subprocess.run(
            [binary["exe"], *test_args],
            cwd=binary["dir"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        # A hung binary fails the run at once instead of holding CI to its limit.
        output = (e.stdout or b"").decode(errors="replace")
        return 124, f"{output}\nrun-test-binaries: killed after {TIMEOUT_S} s\n", time.monotonic() - t0
    return done.returncode, done.stdout.decode(errors="replace"), time.monotonic() - t0


def main() -> int:
    args = sys.argv[1:]
    only: set[str] | None = None
    skip: set[str] = set()
    while args and args[0].startswith("--") and args[0] != "--":
        opt, _, names = args.pop(0).partition("=")
        if opt == "--only":
            only = set(names.split(","))
        elif opt == "--skip":
            skip = set(names.split(","))
        else:
            print(f"run-test-binaries: unknown option {opt}", file=sys.stderr)
            return 2
    jobs, artifacts, *rest = args
    test_args = rest[1:] if rest[:1] == ["--"] else rest
    binaries = [
        b
        for b in test_binaries(Path(artifacts))
        if (only is None or b["name"] in only) and b["name"] not in skip
    ]
    if not binaries:
        print("run-test-binaries: no test binary in the build output", file=sys.stderr)
        return 1
    missing = sorted((only or set()) - {b["name"] for b in binaries})
    if missing:
        print(f"run-test-binaries: no test binary named {', '.join(missing)}", file=sys.stderr)
        return 1
    failed = []
    with ThreadPoolExecutor(max_workers=int(jobs)) as pool:
        results = [pool.submit(run, b, test_args) for b in binaries]
        for binary, result in zip(binaries, results):
            code, output, took = result.result()
            print(f"     Running {binary['title']} ({binary['exe']}) [{took:.1f} s]", flush=True)
            sys.stdout.write(output)
            sys.stdout.flush()
            if code != 0:
                failed.append(binary["title"])
    for title in failed:
        print(f"run-test-binaries: FAILED: {title}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

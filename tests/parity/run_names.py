#!/usr/bin/env python3
"""Old and unknown setting names, per surface (tests/parity/run.sh).

tests/parity/names.json (generated from the core's settings table) lists every old
spelling with its new one and a sample value, and one misspelled name per surface.
For C (through libcortiauth's by-name setter `cortiauth_config_set`, with ctypes),
Python (`TokenManager` keywords) and the CLI (flags), this checks that:

- an old name gives the same describe() JSON as the new one;
- the misspelled name is a configuration error (Python: SettingError, a ConfigError;
  C: CORTIAUTH_STATUS_CONFIG; CLI: exit 2) that suggests the surface's right name.

Prints one line per check and exits 1 if any failed. Run from the repository root with
the installed wheel's Python: run_names.py --c LIBCORTIAUTH --cli CORTIAUTH_BINARY
"""

from __future__ import annotations

import argparse
import ctypes
import json
import pathlib
import subprocess
import warnings
from typing import Any

NAMES = pathlib.Path("tests/parity/names.json")


def resolve(value: Any) -> Any:
    """`@path` is the content of that file (a PEM)."""
    if isinstance(value, str) and value.startswith("@"):
        return pathlib.Path(value[1:]).read_text("utf-8")
    return value


def python_describe(base: dict[str, Any], name: str, value: Any) -> str:
    from cortiauth import TokenManager

    if name == "extra_params" or isinstance(value, list) and value and isinstance(value[0], list):
        value = [tuple(p) for p in value]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return TokenManager(**base, **{name: value})._describe_json()


def python_unknown(base: dict[str, Any], name: str) -> tuple[str, str]:
    from cortiauth import ConfigError, TokenManager

    try:
        TokenManager(**base, **{name: 1})
    except ConfigError as e:
        return "config", str(e)
    return "none", ""


class C:
    def __init__(self, lib: str) -> None:
        self.lib = ctypes.CDLL(lib)
        self.lib.cortiauth_config_new.restype = ctypes.c_void_p
        self.lib.cortiauth_config_set.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_void_p),
        ]
        self.lib.cortiauth_config_describe.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.POINTER(ctypes.c_void_p),
        ]
        self.lib.cortiauth_error_message.argtypes = [ctypes.c_void_p]
        self.lib.cortiauth_error_message.restype = ctypes.c_char_p
        self.lib.cortiauth_error_free.argtypes = [ctypes.c_void_p]
        self.lib.cortiauth_config_free.argtypes = [ctypes.c_void_p]

    def texts(self, name: str, value: Any) -> list[str]:
        if isinstance(value, list):
            return ["=".join(v) if isinstance(v, list) else str(v) for v in value]
        return [str(value).lower() if isinstance(value, bool) else str(value)]

    def set_all(self, config: int, base: dict[str, Any], name: str, value: Any) -> tuple[int, str]:
        items = [(k, [str(v)]) for k, v in base.items()] + [(name, self.texts(name, value))]
        for key, texts in items:
            for text in texts:
                err = ctypes.c_void_p()
                status = self.lib.cortiauth_config_set(
                    config, key.encode(), text.encode(), ctypes.byref(err)
                )
                if status != 0:
                    message = self.lib.cortiauth_error_message(err).decode()
                    self.lib.cortiauth_error_free(err)
                    return status, message
        return 0, ""

    def describe(self, base: dict[str, Any], name: str, value: Any) -> str:
        config = self.lib.cortiauth_config_new()
        try:
            status, message = self.set_all(config, base, name, value)
            if status != 0:
                raise SystemExit(f"run_names.py: C set {name}: {message}")
            out = ctypes.c_char_p()
            err = ctypes.c_void_p()
            if self.lib.cortiauth_config_describe(config, ctypes.byref(out), ctypes.byref(err)):
                raise SystemExit("run_names.py: C describe failed")
            return out.value.decode()
        finally:
            self.lib.cortiauth_config_free(config)

    def unknown(self, base: dict[str, Any], name: str) -> tuple[str, str]:
        config = self.lib.cortiauth_config_new()
        try:
            status, message = self.set_all(config, base, name, "1")
        finally:
            self.lib.cortiauth_config_free(config)
        config_status = 3  # CORTIAUTH_STATUS_CONFIG
        return ("config" if status == config_status else f"status {status}"), message


def cli_args(base: dict[str, Any], name: str, value: Any) -> list[str]:
    args = []
    for key, v in base.items():
        args += [f"--{key.replace('_', '-')}", str(v)]
    values = value if isinstance(value, list) else [value]
    for v in values:
        args += [f"--{name}", "=".join(v) if isinstance(v, list) else str(v)]
    return args


def cli_describe(cli: str, base: dict[str, Any], name: str, value: Any) -> str:
    run = subprocess.run(
        [cli, "config", "--json", *cli_args(base, name, value)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    if run.returncode != 0:
        raise SystemExit(f"run_names.py: cortiauth config --{name}: {run.stderr}")
    return run.stdout.strip()


def cli_unknown(cli: str, base: dict[str, Any], name: str) -> tuple[str, str]:
    run = subprocess.run(
        [cli, "config", *cli_args(base, name, "1")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return ("config" if run.returncode == 2 else f"exit {run.returncode}"), run.stderr


def strip_agent(text: str) -> str:
    d = json.loads(text)
    d.pop("user_agent", None)
    return json.dumps(d, sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--c", required=True, help="path of libcortiauth.so")
    parser.add_argument("--cli", required=True, help="path of the cortiauth binary")
    args = parser.parse_args()
    names = json.loads(NAMES.read_text("utf-8"))
    base = names["base"]
    c = C(args.c)
    describe = {
        "python": python_describe,
        "c": c.describe,
        "cli": lambda b, n, v: cli_describe(args.cli, b, n, v),
    }
    unknown = {
        "python": python_unknown,
        "c": c.unknown,
        "cli": lambda b, n: cli_unknown(args.cli, b, n),
    }
    failed = 0
    for alias in names["aliases"]:
        surface = alias["surface"]
        if surface not in describe:
            continue
        value = resolve(alias["value"])
        old = strip_agent(describe[surface](base, alias["old"], value))
        new = strip_agent(describe[surface](base, alias["new"], value))
        same = old == new
        failed += not same
        print(f"{surface}\talias\t{alias['old']} -> {alias['new']}\t{'same' if same else 'DIFFERENT'}")
    for case in names["unknown"]:
        surface = case["surface"]
        if surface not in unknown:
            continue
        kind, message = unknown[surface](base, case["name"])
        ok = kind == "config" and case["suggestion"] in message
        failed += not ok
        print(f"{surface}\tunknown\t{case['name']}\t{kind}\t{'suggests ' + case['suggestion'] if ok else 'FAILED: ' + message.strip()}")
    if failed:
        raise SystemExit(f"run_names.py: {failed} check(s) failed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Python side of the settings parity test (tests/parity/run.sh): maps each case's
canonical settings (tests/parity/cases.json) onto the keyword arguments of
`cortiauth.TokenManager` (durations: ms -> seconds), builds the manager (no token
fetch) and prints `name<TAB>describe-json` with the core's describe() string as the
binding returns it. Run from the repository root (paths in the cases are relative to
it) with the installed wheel: bindings/python/test.sh writes target/parity/python.txt.

Usage: run_python.py tests/parity/cases.json
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

from cortiauth import TokenManager

# Canonical key -> keyword argument, where the value passes unchanged.
SAME = {
    "client_id",
    "client_secret",
    "client_secret_file",
    "environment",
    "tenant",
    "scopes",
    "token_url",
    "api_base_url",
    "auth_method",
    "max_attempts",
    "refresh_margin_fraction",
    "background_refresh",
    "shared_cache",
}


def kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key in SAME:
            out[key] = value
        elif key.endswith("_ms"):
            out[key[: -len("_ms")]] = value / 1000  # timeout_ms -> timeout (s), …
        elif key == "extra_params":
            out[key] = [tuple(pair) for pair in value]  # pairs; a repeated name keeps the last
        elif key == "ca_certificates":
            out["ca_certificates_pem"] = [pathlib.Path(path).read_text("utf-8") for path in value]
        else:
            raise SystemExit(f"run_python.py: unknown canonical setting {key!r}")
    return out


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    for case in cases:
        manager = TokenManager(**kwargs(case["settings"]))
        text = manager._describe_json()
        # describe() is json.loads of that same string: dumping it back the way the
        # core writes it (sorted keys, no spaces) must give the string again.
        # The manager adds what it knows beyond its settings (the credential's
        # load time and source): without those keys, the same string.
        shown = manager.describe()
        assert shown.pop("credential_source") in ("settings", "file")
        assert isinstance(shown.pop("credential_loaded_at_ms"), int)
        again = json.dumps(shown, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        if again != text:
            raise SystemExit(f"run_python.py: {case['name']}: describe() != core string")
        print(f"{case['name']}\t{text}")


if __name__ == "__main__":
    main()

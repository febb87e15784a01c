#!/usr/bin/env python3
"""CLI side of the settings parity test: maps each case's canonical settings onto
`cortiauth` flags (durations in seconds) and prints `name<TAB>describe-json` from
`cortiauth config --json`. Usage: run_cli.py PATH/TO/cortiauth cases.json"""
import json
import os
import subprocess
import sys

FLAG = {
    "client_id": "--client-id",
    "client_secret": "--client-secret",
    "client_secret_file": "--client-secret-file",
    "environment": "--environment",
    "tenant": "--tenant",
    "token_url": "--token-url",
    "api_base_url": "--api-base-url",
    "auth_method": "--auth-method",
    "max_attempts": "--max-attempts",
    "refresh_margin_fraction": "--refresh-margin-fraction",
    "shared_cache": "--shared-cache",
}
SECONDS = {
    "timeout_ms": "--timeout",
    "initial_backoff_ms": "--initial-backoff",
    "max_backoff_ms": "--max-backoff",
    "retry_deadline_ms": "--retry-deadline",
    "failure_cooldown_ms": "--failure-cooldown",
    "refresh_margin_ms": "--refresh-margin",
    "expiry_skew_ms": "--expiry-skew",
    "default_lifetime_ms": "--default-lifetime",
}


def flags(settings):
    out = []
    for key, value in settings.items():
        if key in FLAG:
            out += [FLAG[key], str(value)]
        elif key in SECONDS:
            out += [SECONDS[key], repr(value / 1000)]
        elif key == "scopes":
            for scope in value:
                out += ["--scopes", scope]
        elif key == "extra_params":
            for name, val in value:
                out += ["--extra-params", f"{name}={val}"]
        elif key == "ca_certificates":
            for path in value:
                out += ["--ca-cert", path]
        elif key == "background_refresh":
            if value:
                out.append("--background-refresh")
        else:
            raise SystemExit(f"run_cli.py: unknown canonical setting {key!r}")
    return out


def main():
    cli, cases_path = sys.argv[1], sys.argv[2]
    # Only the flags count: no CORTI_* / CORTIAUTH_* from the caller's environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CORTI_", "CORTIAUTH_"))}
    for case in json.load(open(cases_path, encoding="utf-8")):
        args = [cli, *flags(case["settings"]), "config", "--json"]
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"run_cli.py: case {case['name']}: {done.stderr.strip()}")
        print(f"{case['name']}\t{done.stdout.strip()}")


if __name__ == "__main__":
    main()

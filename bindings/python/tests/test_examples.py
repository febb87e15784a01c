"""examples/python runs as a user runs it: the CORTI_* variables point at the loopback
Keycloak, and the authenticated call is its userinfo endpoint (which checks the token)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from conftest import Servers

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples" / "python"


def test_the_python_example_gets_a_token_and_calls_an_api(servers: Servers) -> None:
    client = servers.kc_corti
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTI_")}
    env.update(client.env())
    userinfo = client.token_url.rsplit("/", 1)[0] + "/userinfo"
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "call_api.py"), userinfo],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("token: Bearer, expires in "), out.stdout
    assert "\n200 {" in out.stdout, out.stdout
    assert client.client_secret not in out.stdout + out.stderr

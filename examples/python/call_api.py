"""The Corti docs' Python example with cortiauth: no token request by hand, no expiry
arithmetic. One manager per client (share it between threads); each call gets a valid
token, cached and refreshed ahead of expiry.

    export CORTI_CLIENT_ID=... CORTI_CLIENT_SECRET=... CORTI_ENVIRONMENT=eu CORTI_TENANT_NAME=base
    pip install cortiauth
    python call_api.py                  # GET https://api.eu.corti.app/v2/interactions
    python call_api.py URL              # or any other URL of the API

(CORTI_TOKEN_URL replaces environment and tenant for another server.)
"""

import sys
import urllib.request

import cortiauth
from cortiauth import TokenManager

manager = TokenManager.from_env()
try:
    token = manager.get_token()
except cortiauth.Error as e:  # says what to check, never the secret
    sys.exit(f"no token: {e}")
print(f"token: {token.token_type}, expires in {token.expires_in} s, scope {token.scope}")

url = sys.argv[1] if len(sys.argv) > 1 else manager.api_url("/interactions")
request = urllib.request.Request(url, headers=manager.headers())
with urllib.request.urlopen(request) as response:
    print(response.status, response.read(120).decode(errors="replace"))

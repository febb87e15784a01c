#!/usr/bin/env bash
# The Corti docs' cURL example with the cortiauth CLI: no token request by hand. The
# token is cached (encrypted) between invocations with --cache, and refreshed ahead of
# expiry.
#
#   export CORTI_CLIENT_ID=... CORTI_CLIENT_SECRET=... CORTI_ENVIRONMENT=eu CORTI_TENANT_NAME=base
#   examples/cli/call_api.sh          # GET https://api.$CORTI_ENVIRONMENT.corti.app/v2/interactions
#   examples/cli/call_api.sh URL      # or any other URL of the API
#
# (CORTI_TOKEN_URL replaces environment and tenant for another server.)
set -euo pipefail
url=${1:-https://api.${CORTI_ENVIRONMENT:?set CORTI_ENVIRONMENT or give a URL}.corti.app/v2/interactions}
cortiauth check
curl -sS --fail-with-body -H @<(cortiauth headers --cache) "$url" | head -c 120
echo

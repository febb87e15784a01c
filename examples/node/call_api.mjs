// The Corti docs' JavaScript example with cortiauth: no token request by hand, no
// expiry arithmetic. One manager per client; every call gets a valid token, cached and
// refreshed ahead of expiry, and manager.fetch adds both headers (a 401 retries once).
//
//   export CORTI_CLIENT_ID=... CORTI_CLIENT_SECRET=... CORTI_ENVIRONMENT=eu CORTI_TENANT_NAME=base
//   npm install cortiauth
//   node call_api.mjs          # GET https://api.eu.corti.app/v2/interactions
//   node call_api.mjs URL      # or any other URL of the API
//
// (CORTI_TOKEN_URL replaces environment and tenant for another server.)
import { TokenManager, CortiAuthError } from 'cortiauth'

const manager = TokenManager.fromEnv()
try {
  const token = await manager.getToken()
  console.log(`token: ${token.tokenType}, expires in ${token.expiresIn} s, scope ${token.scope}`)
} catch (e) {
  if (!(e instanceof CortiAuthError)) throw e
  console.error(`no token: ${e.message}`) // says what to check, never the secret
  process.exit(1)
}

const res = await manager.fetch(process.argv[2] ?? '/interactions')
console.log(res.status, (await res.text()).slice(0, 120))

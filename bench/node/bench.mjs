// Per-call cost of getting a cached access token, cortiauth against simple-oauth2
// and openid-client doing the same job (reuse the token until shortly before it
// expires), all against the loopback Keycloak's 300 s client. Run by ../bench.sh.
//
// Each row: ROUNDS rounds of N sequential calls, in ns per call (median and best round).
// Async rows `await` every call (a microtask turn each, the same for everyone).
import { TokenManager, coreVersion } from 'cortiauth'
import simpleOauth2 from 'simple-oauth2'
import * as oidc from 'openid-client'

const N = Number(process.env.BENCH_CALLS ?? 200_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const FETCHES = Number(process.env.BENCH_FETCHES ?? 100)

function need(name) {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set: run bench/node/run.sh (it starts the loopback servers)`)
  return v
}

const clientId = need('CORTIAUTH_KC_CORTI_CLIENT_ID')
const clientSecret = need('CORTIAUTH_KC_CORTI_CLIENT_SECRET')
const tokenUrl = new URL(need('CORTIAUTH_KC_TOKEN_URL_BASE'))
const REFRESH_WINDOW_S = 60 // refresh 60 s before expiry, as cortiauth does for 300 s tokens

// --- cortiauth -------------------------------------------------------------
const manager = new TokenManager({ clientId, clientSecret, tokenUrl: tokenUrl.href })

// --- simple-oauth2: the documented reuse pattern (expired(window) then getToken) ---
const so2 = new simpleOauth2.ClientCredentials({
  client: { id: clientId, secret: clientSecret },
  auth: { tokenHost: tokenUrl.origin, tokenPath: tokenUrl.pathname },
  options: { authorizationMethod: 'body' },
})
let so2Token = null
async function simpleOauth2Token() {
  if (so2Token === null || so2Token.expired(REFRESH_WINDOW_S)) so2Token = await so2.getToken({ scope: 'openid' })
  return so2Token.token.access_token
}

// --- openid-client: clientCredentialsGrant, reused until the window ---------
const issuer = tokenUrl.href.replace(/\/protocol\/openid-connect\/token$/, '')
const oidcConfig = new oidc.Configuration({ issuer, token_endpoint: tokenUrl.href }, clientId, clientSecret)
oidc.allowInsecureRequests(oidcConfig) // loopback http only
let oidcToken = null
let oidcRefreshAt = 0
async function openidClientToken() {
  if (oidcToken === null || Date.now() >= oidcRefreshAt) {
    const r = await oidc.clientCredentialsGrant(oidcConfig, { scope: 'openid' })
    oidcToken = r.access_token
    oidcRefreshAt = Date.now() + (r.expiresIn() - REFRESH_WINDOW_S) * 1000
  }
  return oidcToken
}

// --- measuring --------------------------------------------------------------
// Rounds are interleaved across the cases, so that load from other processes on the
// machine falls on all of them alike; each row shows the median and the best round.
function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

async function roundAsync(fn, n) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await fn()
  return Number(process.hrtime.bigint() - t0) / n
}

let sink = 0
function roundSync(fn, n) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) sink += fn().length
  return Number(process.hrtime.bigint() - t0) / n
}

const rows = []
function row(library, operation, times, note = '') {
  const ns = median(times)
  rows.push({
    library,
    operation,
    'ns/call (median)': Math.round(ns),
    'ns/call (best)': Math.round(Math.min(...times)),
    'calls/s': Math.round(1e9 / ns).toLocaleString('en-US'),
    note,
  })
}

// One real fetch each first, and the three must agree on what they got.
const first = await Promise.all([manager.getAccessToken(), simpleOauth2Token(), openidClientToken()])
for (const t of first) if (t.split('.').length !== 3) throw new Error('expected JWT access tokens')

const cases = [
  ['cortiauth', 'await getAccessToken() (cached)', false, () => manager.getAccessToken()],
  ['cortiauth', 'getAccessTokenSync() (cached)', true, () => manager.getAccessTokenSync()],
  ['cortiauth', 'await getToken() (cached)', false, () => manager.getToken().then((t) => t.accessToken)],
  ['cortiauth', 'await headers() (cached)', false, () => manager.headers().then((h) => h.Authorization)],
  ['simple-oauth2 5.1.0', 'await expired(60) ? getToken() : token', false, simpleOauth2Token],
  ['openid-client 6.8.9', 'await (cached clientCredentialsGrant)', false, openidClientToken],
]
const times = cases.map(() => [])
for (const [, , sync, fn] of cases) {
  if (sync) roundSync(fn, Math.min(N, 20_000))
  else await roundAsync(fn, Math.min(N, 20_000)) // warm-up (JIT, caches)
}
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [, , sync, fn]] of cases.entries()) {
    times[i].push(sync ? roundSync(fn, N) : await roundAsync(fn, N))
  }
}
if (sink === 0) throw new Error('unreachable')
for (const [i, [library, operation]] of cases.entries()) row(library, operation, times[i])

// A real token request each (loopback Keycloak), for scale: invalidate/forget, fetch.
async function fetchCost(fn) {
  const times = []
  for (let i = 0; i < FETCHES; i++) {
    const t0 = process.hrtime.bigint()
    await fn()
    times.push(Number(process.hrtime.bigint() - t0))
  }
  return times
}
row(
  'cortiauth',
  'token request (invalidate, then getAccessToken)',
  await fetchCost(async () => manager.invalidate(await manager.getAccessToken()) && manager.getAccessToken()),
  `${FETCHES} requests`,
)
row('simple-oauth2 5.1.0', 'token request (getToken)', await fetchCost(() => so2.getToken({ scope: 'openid' })), `${FETCHES} requests`)
row(
  'openid-client 6.8.9',
  'token request (clientCredentialsGrant)',
  await fetchCost(() => oidc.clientCredentialsGrant(oidcConfig, { scope: 'openid' })),
  `${FETCHES} requests`,
)

const s = manager.stats()
console.log(`cortiauth ${coreVersion}, Node ${process.version}, ${N} calls x ${ROUNDS} rounds, interleaved`)
console.table(rows)
console.log(`cortiauth stats: ${s.tokenRequests} token requests, ${s.cacheHits} cache hits`)

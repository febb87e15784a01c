// Fault and soak suite, Node binding: 50 concurrent promise loops call
// `getToken()` through tests/fault's proxy (which answers 503/429/500 with
// Retry-After for longer than a token lifetime), for DURATION seconds. Prints its
// counts as one JSON line and exits 1 when a check fails. Run by
// tests/fault/bindings.sh with the package bindings/node/test.sh installed.
//
//   CORTIAUTH_FAULT_NODE_PROJECT=<dir with node_modules/cortiauth> node node_soak.mjs TOKEN_URL DURATION_S
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'

const PROMISES = 50
const VALID_MARGIN_MS = 750 // a call starting with this much token life left must succeed
const MAX_WAIT_MS = 500 // ... and must not wait longer than this

const [tokenUrl, durationS] = process.argv.slice(2)
const require = createRequire(`${process.env.CORTIAUTH_FAULT_NODE_PROJECT}/package.json`)
const { TokenManager, CortiAuthError } = require('cortiauth')
const secret = process.env.CORTIAUTH_KC_CLIENT_SECRET

const m = new TokenManager({
  clientId: process.env.CORTIAUTH_KC_CLIENT_ID,
  clientSecret: secret,
  tokenUrl,
  tenantName: 'base',
  timeoutMs: 2000,
})

const tokens = []
let validUntil = 0
const saw = (t) => {
  validUntil = Math.max(validUntil, t.expiresAt.getTime() - VALID_MARGIN_MS)
  if (!tokens.includes(t.accessToken)) tokens.push(t.accessToken)
}
saw(await m.getToken())

const totals = { calls: 0, ok: 0, errors: 0, errors_while_valid: 0, waits_while_valid: 0 }
const kinds = {}
const texts = new Set()
let recoveries = 0
let maxWait = 0
let otherErrors = 0
const stop = Date.now() + Number(durationS) * 1000

async function loop() {
  let inError = false
  while (Date.now() < stop) {
    const start = Date.now()
    const valid = start < validUntil
    const validThroughWait = start + MAX_WAIT_MS < validUntil
    try {
      saw(await m.getToken())
      totals.ok++
      if (inError) recoveries++
      inError = false
    } catch (e) {
      totals.errors++
      inError = true
      if (valid) totals.errors_while_valid++
      if (e instanceof CortiAuthError) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1
      else otherErrors++
      if (texts.size < 64) texts.add(`${e} | ${inspect(e)}`)
    }
    totals.calls++
    const took = Date.now() - start
    if (validThroughWait) {
      maxWait = Math.max(maxWait, took)
      if (took > MAX_WAIT_MS) totals.waits_while_valid++
    }
    await sleep(1)
  }
}
await Promise.all(Array.from({ length: PROMISES }, loop))

const stats = m.stats()
const secrets = [secret, ...tokens, ...tokens.map((t) => t.split('.').pop())]
const outputs = [...texts, inspect(m), inspect(stats)]
const leaks = outputs.filter((o) => secrets.some((s) => o.includes(s))).length
console.log(JSON.stringify({
  binding: 'node',
  promises: PROMISES,
  ...totals,
  max_wait_while_valid_s: maxWait / 1000,
  error_kinds: kinds,
  token_requests: stats.tokenRequests,
  refreshes: stats.refreshes,
  distinct_tokens: tokens.length,
  recovered: recoveries > 0,
  texts_scanned: outputs.length,
  secret_leaks: leaks,
}))
const failed = Object.entries({
  'errors while a valid token existed': totals.errors_while_valid > 0,
  'waits while a valid token existed': totals.waits_while_valid > 0,
  'error kinds other than http': Object.keys(kinds).some((k) => k !== 'http') || otherErrors > 0,
  'no error once the token expired': totals.errors === 0,
  'no recovery': recoveries === 0,
  'a secret in the output': leaks > 0,
  'tokens != refreshes': tokens.length !== stats.refreshes,
}).filter(([, bad]) => bad)
for (const [name] of failed) console.error(`node_soak: FAILED: ${name}`)
process.exit(failed.length ? 1 : 0)

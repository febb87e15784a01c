// Refresh tail: 50 concurrent callers loop on
// `await getAccessToken()` over several refreshes of a 3 s token from a loopback
// token endpoint answering in ~20 ms (a scenario of the stub token server, tests/stub), and
// we count the calls that waited more than 1 ms (a whole token request), with and
// without backgroundRefresh. Then `await headers()` against building the headers by
// hand around `getAccessTokenSync()`.
//
//   node bench/node/refresh_tail.mjs [PACKAGE_DIR]      (default: bindings/node, addon built)
// Environment: TAIL_SECONDS (12), TAIL_CALLERS (50), TAIL_LIFETIME_S (3), TAIL_DELAY_MS (20).
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'

import { tokenServer } from './stub.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const packageDir = resolve(process.argv[2] ?? join(here, '..', '..', 'bindings', 'node'))
const { TokenManager, coreVersion } = createRequire(join(packageDir, 'package.json'))(join(packageDir, 'index.js'))

const SECONDS = Number(process.env.TAIL_SECONDS ?? 12)
const CALLERS = Number(process.env.TAIL_CALLERS ?? 50)
const LIFETIME_S = Number(process.env.TAIL_LIFETIME_S ?? 3)
const DELAY_MS = Number(process.env.TAIL_DELAY_MS ?? 20)

const yieldToLoop = () => new Promise((r) => setImmediate(r))

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** `backgroundRefresh` true/false, or null: the noise floor (callers awaiting a constant). */
async function tail(backgroundRefresh) {
  const server = await tokenServer(LIFETIME_S, DELAY_MS, 'tail-{n}-' + 'x'.repeat(900))
  const m =
    backgroundRefresh === null
      ? { getAccessToken: () => Promise.resolve('constant') }
      : new TokenManager({ clientId: 'bench', clientSecret: 'bench-secret', tokenUrl: server.url, backgroundRefresh })
  await m.getAccessToken() // warm: the first fetch is not part of the tail
  const before = await server.count()
  const waits = []
  const end = performance.now() + SECONDS * 1000
  async function caller() {
    while (performance.now() < end) {
      const t0 = performance.now()
      await m.getAccessToken()
      waits.push(performance.now() - t0)
      // Callers do other work between calls; without a macrotask turn 50 loops on
      // cached tokens would starve the event loop (and the pool's completions).
      await yieldToLoop()
    }
  }
  await Promise.all(Array.from({ length: CALLERS }, caller))
  const requests = (await server.count()) - before
  await server.stop()
  waits.sort((a, b) => a - b)
  return {
    backgroundRefresh,
    calls: waits.length,
    slow: waits.filter((w) => w > 1).length,
    requests,
    lifetimes: Math.floor(SECONDS / LIFETIME_S),
    p50: percentile(waits, 50),
    p999: percentile(waits, 99.9),
    max: waits[waits.length - 1],
    // How long the slow calls waited: a whole token request (~DELAY_MS) or a pool hop.
    slowBuckets: [1, 2, 5, 10, 20, Infinity].map((hi, i, a) => [
      `${i === 0 ? 1 : a[i - 1]}-${hi}`,
      waits.filter((w) => w > (i === 0 ? 1 : a[i - 1]) && w <= hi).length,
    ]),
  }
}

async function headersVsHand() {
  // Long-lived tokens for this part: 300 s, so every call is a cached read.
  const longServer = await tokenServer(300, 0)
  const lm = new TokenManager({ clientId: 'bench', clientSecret: 'bench-secret', tokenUrl: longServer.url })
  await lm.getAccessToken()
  const tenant = lm.tenantName
  const N = 200_000
  const rows = {
    'await headers()': async () => {
      for (let i = 0; i < N; i++) await lm.headers()
    },
    'await by hand: { Authorization: `Bearer ${getAccessTokenSync()}`, Tenant-Name }': async () => {
      for (let i = 0; i < N; i++) await { Authorization: `Bearer ${lm.getAccessTokenSync()}`, 'Tenant-Name': tenant }
    },
    'headersSync()': async () => {
      for (let i = 0; i < N; i++) lm.headersSync()
    },
    'by hand, sync': async () => {
      for (let i = 0; i < N; i++) void { Authorization: `Bearer ${lm.getAccessTokenSync()}`, 'Tenant-Name': tenant }
    },
    'await getAccessToken()': async () => {
      for (let i = 0; i < N; i++) await lm.getAccessToken()
    },
    'getAccessTokenSync()': async () => {
      for (let i = 0; i < N; i++) lm.getAccessTokenSync()
    },
  }
  const results = Object.fromEntries(Object.keys(rows).map((k) => [k, []]))
  for (let round = 0; round < 7; round++) {
    for (const [name, run] of Object.entries(rows)) {
      const t0 = performance.now()
      await run()
      results[name].push(((performance.now() - t0) * 1e6) / N)
    }
  }
  await longServer.stop()
  return Object.entries(results).map(([name, r]) => [name, r.sort((a, b) => a - b)[3]])
}

console.log(`cortiauth ${coreVersion}, Node ${process.version}: ${CALLERS} callers, ${SECONDS} s, ${LIFETIME_S} s tokens, endpoint answering in ${DELAY_MS} ms`)
console.log('(backgroundRefresh null: the noise floor, the same loop awaiting a constant: GC and scheduling)')
console.log('backgroundRefresh | calls | waited > 1 ms | token requests (lifetimes) | p50 ms | p99.9 ms | max ms')
for (const bg of [null, false, true]) {
  const r = await tail(bg)
  console.log(
    `${String(r.backgroundRefresh).padEnd(17)} | ${String(r.calls).padStart(7)} | ${String(r.slow).padStart(13)} | ${String(r.requests).padStart(14)} (${r.lifetimes}) | ${r.p50.toFixed(3)} | ${r.p999.toFixed(3)} | ${r.max.toFixed(1)}`,
  )
  console.log(`  slow calls by wait (ms): ${r.slowBuckets.map(([k, n]) => `${k}: ${n}`).join(', ')}`)
}
console.log('\ncached path, ns/call (median of 7 rounds of 200,000 calls)')
for (const [name, ns] of await headersVsHand()) console.log(`${ns.toFixed(0).padStart(6)}  ${name}`)

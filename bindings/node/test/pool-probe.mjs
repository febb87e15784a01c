// Run by token.test.mjs with UV_THREADPOOL_SIZE=1: 1,000 concurrent
// getAccessToken() calls wait for a held token request while fs work, which needs
// the libuv pool's only thread, must still finish. Prints what it saw as JSON.
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

import { TokenManager } from 'cortiauth'
import { heldTokenServer } from './helpers.mjs'

const stub = await heldTokenServer('pool-free-token')
try {
  const m = new TokenManager({ clientId: 'c', clientSecret: 's', tokenUrl: `${stub.url}/token`, timeoutMs: 20_000 })
  const pending = Array.from({ length: 1000 }, () => m.getAccessToken())
  await stub.arrived
  // Saturate the pool: 50 reads queue on its one thread. With a token call holding
  // that thread they would wait for the release; the timer keeps the old behaviour
  // from hanging.
  const started = performance.now()
  const file = fileURLToPath(import.meta.url)
  const reads = Promise.all(Array.from({ length: 50 }, () => readFile(file))).then(() => 'read')
  const outcome = await Promise.race([reads, sleep(5_000, undefined, { ref: false }).then(() => 'timed out')])
  const readMs = performance.now() - started
  const inFlight = m.stats().tokenRequests
  stub.release()
  const tokens = await Promise.all(pending)
  console.log(
    JSON.stringify({
      outcome,
      readMs,
      inFlight,
      distinct: [...new Set(tokens)],
      count: tokens.length,
      tokenRequests: m.stats().tokenRequests,
    }),
  )
} finally {
  await stub.close()
}

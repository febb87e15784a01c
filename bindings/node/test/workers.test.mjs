// worker_threads: each worker loads the addon and builds its own manager; the main
// thread's manager keeps working; a worker torn down mid-fetch harms nobody.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'

import { TokenManager } from 'cortiauth'
import { claims, cortiClient, env, heldTokenServer } from './helpers.mjs'

const workerFile = new URL('./worker.mjs', import.meta.url)

test('workers each get their token while the main thread keeps going', { timeout: 60_000 }, async () => {
  const main = new TokenManager(cortiClient())
  const mainToken = await main.getAccessToken()
  const workers = Array.from({ length: 4 }, () => new Worker(workerFile, { workerData: { options: cortiClient() } }))
  const results = workers.map((w) => once(w, 'message').then(([m]) => m))
  const exits = workers.map((w) => once(w, 'exit').then(([code]) => code))
  // The main thread's manager works all along.
  let mainCalls = 0
  let done = false
  const mainLoop = (async () => {
    while (!done) {
      assert.equal(await main.getAccessToken(), mainToken)
      mainCalls++
      await new Promise((r) => setImmediate(r))
    }
  })()
  const got = await Promise.all(results)
  done = true
  await mainLoop
  assert.deepEqual(await Promise.all(exits), [0, 0, 0, 0])
  for (const r of got) {
    assert.equal(r.distinct, 1, 'one token per worker for all its calls')
    assert.equal(r.stats.tokenRequests, 1, 'each worker manager fetched once')
    assert.equal(claims(r.token).azp, env('CORTIAUTH_KC_CORTI_CLIENT_ID'))
  }
  assert.equal(new Set(got.map((r) => r.token)).size, 4, 'managers in different workers share nothing')
  assert.ok(mainCalls > 0)
  assert.equal(main.stats().tokenRequests, 1)
  assert.equal(await main.getAccessToken(), mainToken)
})

test('a worker terminated while its fetch is in flight does not crash the process', { timeout: 60_000 }, async () => {
  const stub = await heldTokenServer('late-token')
  try {
    const options = { clientId: 'c', clientSecret: 's', tokenUrl: `${stub.url}/token`, timeoutMs: 20_000 }
    const worker = new Worker(workerFile, { workerData: { options, mode: 'in-flight' } })
    await once(worker, 'message')
    await stub.arrived
    const terminated = worker.terminate()
    stub.release()
    assert.equal(await terminated, 1)
    // The process and the addon in the main thread are fine.
    const main = new TokenManager(cortiClient())
    assert.ok(claims(await main.getAccessToken()).exp)
    // And a new worker loads the addon again.
    const again = new Worker(workerFile, { workerData: { options: cortiClient() } })
    // Listened for before the message: a worker that ends before its message is
    // drained emits 'message' and 'exit' in one tick.
    const exited = once(again, 'exit')
    const [r] = await once(again, 'message')
    assert.equal(r.stats.tokenRequests, 1)
    assert.equal((await exited)[0], 0)
  } finally {
    await stub.close()
  }
})

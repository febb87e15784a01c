// Refresh ahead is the core's: while a refresh runs, callers are
// handed the still-valid token instead of all awaiting the request, as the old
// JavaScript cache made them do. A stub token endpoint holds the refresh open.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHook } from 'node:async_hooks'

import { TokenManager } from 'cortiauth'
import { signal, stub as startStub } from './helpers.mjs'

test('while a refresh ahead is in flight, callers get the still-valid token', { timeout: 30_000 }, async () => {
  // The first token answers at once; the refresh (and anything after it) is held.
  const stub = await startStub([
    { access_token: 'token-{n}', expires_in: 60 },
    { access_token: 'token-{n}', expires_in: 60, hold: true },
  ])
  try {
    // marginFraction 1: a token is due for refresh as soon as it arrives, and usable
    // for its whole lifetime (less the skew): every call after the first is "ahead".
    const m = new TokenManager({
      clientId: 'c',
      clientSecret: 's',
      tokenUrl: `${stub.url}/token`,
      refresh: { marginFraction: 1 },
    })
    assert.equal(await m.getAccessToken(), 'token-1')
    const settled = []
    const twenty = signal()
    // The calls are made in one synchronous burst with an async hook on: a call that
    // went to the libuv pool would create async work right there (the fast path is
    // the core's try_token(), which starts the refresh on the core's worker thread).
    const types = []
    const hook = createHook({
      init(_id, type) {
        types.push(type)
      },
    })
    hook.enable()
    const calls = Array.from({ length: 20 }, (_, i) =>
      m.getAccessToken().then((t) => {
        settled.push([i, t])
        if (settled.length === 20) twenty.resolve()
        return t
      }),
    )
    hook.disable()
    assert.deepEqual(
      types.filter((t) => t !== 'PROMISE'),
      [],
      'no call in the refresh window takes a thread-pool hop',
    )
    assert.ok(await stub.wait({ requests: 2 }), 'the refresh request arrived')
    // Every call comes back while the refresh is held: the refresh runs on the core's
    // worker thread, so no caller waits for it.
    const timedOut = new Promise((r) => setTimeout(r, 10_000).unref())
    await Promise.race([twenty.promise, timedOut])
    assert.equal(settled.length, 20, `${settled.length} of 20 calls came back while the refresh was held`)
    assert.ok(settled.every(([, t]) => t === 'token-1'))
    await stub.release()
    const all = await Promise.all(calls)
    assert.ok(all.every((t) => t === 'token-1' || t === 'token-2'))
    assert.equal((await stub.log()).length, 2, 'one refresh for all callers')
  } finally {
    await stub.close()
  }
})

test('concurrent cold callers each ask the core, which sends one request', async () => {
  const stub = await startStub([{ access_token: 'only-token', delay_ms: 50 }])
  try {
    const m = new TokenManager({ clientId: 'c', clientSecret: 's', tokenUrl: `${stub.url}/token` })
    const got = await Promise.all([
      ...Array.from({ length: 50 }, () => m.getAccessToken()),
      ...Array.from({ length: 50 }, () => m.getToken().then((t) => t.accessToken)),
      ...Array.from({ length: 50 }, () => m.headers().then((h) => h.Authorization.slice(7))),
    ])
    assert.ok(got.every((t) => t === 'only-token'))
    assert.equal((await stub.log()).length, 1)
    assert.equal(m.stats().tokenRequests, 1)
  } finally {
    await stub.close()
  }
})

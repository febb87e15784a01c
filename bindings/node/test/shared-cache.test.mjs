// The shared token cache across real processes: 8 Node processes
// (child_process.fork), each with its own manager on the same Redis, send one
// token request in total, and one more for the whole fleet after the token's
// refresh point. Needs CORTIAUTH_REDIS_URL (tests/servers/with-servers.sh);
// with CORTIAUTH_REQUIRE_REDIS=1 (scripts/test-suites.sh) it fails without it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'

import { TokenManager, OAuthError } from 'cortiauth'
import { shortClient, cortiClient } from './helpers.mjs'

const memberFile = new URL('./fleet-member.mjs', import.meta.url)

function redisUrl(t) {
  const url = process.env.CORTIAUTH_REDIS_URL
  if (!url) {
    assert.notEqual(process.env.CORTIAUTH_REQUIRE_REDIS, '1', 'CORTIAUTH_REQUIRE_REDIS=1 but CORTIAUTH_REDIS_URL is not set')
    t.skip('CORTIAUTH_REDIS_URL is not set')
    return null
  }
  // A store timeout a loaded 2-core machine meets: these tests are about sharing.
  return `${url}?timeout_ms=5000`
}

/** The next `n` messages of each child that satisfy `pick`. */
function collect(children, pick) {
  return Promise.all(
    children.map(
      (c) =>
        new Promise((resolve, reject) => {
          const on = (m) => {
            if (m.error) reject(new Error(m.error))
            else if (pick(m)) {
              c.off('message', on)
              resolve(m)
            }
          }
          c.on('message', on)
        }),
    ),
  )
}

test('8 processes on one Redis: one token request per lifetime for the fleet', { timeout: 120_000 }, async (t) => {
  const store = redisUrl(t)
  if (!store) return
  // 10 s tokens (refreshed from 8 s); a fresh slot for this run (extra parameters are part of the key).
  const options = shortClient({ sharedCache: store, extraParams: { fleet_run: `node-${process.pid}-${Date.now()}` } })
  const n = 8
  const children = Array.from({ length: n }, () =>
    fork(memberFile, { env: { ...process.env, CORTIAUTH_FLEET_OPTIONS: JSON.stringify(options) } }),
  )
  try {
    await collect(children, (m) => m.ready)
    const phase1 = collect(children, (m) => m.phase === 1)
    for (const c of children) c.send('go')
    const first = await phase1
    assert.equal(new Set(first.map((r) => r.token)).size, 1, 'every process got the same token')
    const sum = (rs, f) => rs.reduce((a, r) => a + f(r.stats), 0)
    assert.equal(sum(first, (s) => s.tokenRequests), 1, JSON.stringify(first.map((r) => r.stats)))
    assert.equal(sum(first, (s) => s.storeHits), n - 1)
    assert.equal(sum(first, (s) => s.storeErrors), 0)
    // Past the refresh point (8 s of 10), before the usable end (9.5 s).
    const fetchedAt = Math.min(...first.map((r) => r.at))
    await new Promise((r) => setTimeout(r, Math.max(0, fetchedAt + 8200 - Date.now())))
    const phase2 = collect(children, (m) => m.phase === 2)
    for (const c of children) c.send('phase2')
    const second = await phase2
    assert.equal(new Set(second.map((r) => r.token)).size, 1, 'every process got the same new token')
    assert.notEqual(second[0].token, first[0].token)
    assert.equal(sum(second, (s) => s.tokenRequests), 2, JSON.stringify(second.map((r) => r.stats)))
    const codes = await Promise.all(children.map((c) => (c.exitCode !== null ? c.exitCode : once(c, 'exit').then(([code]) => code))))
    assert.deepEqual(codes, Array(n).fill(0))
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill()
  }
})

test('a wrong secret gets invalid_client, not the shared token', { timeout: 60_000 }, async (t) => {
  const store = redisUrl(t)
  if (!store) return
  const right = new TokenManager(cortiClient({ sharedCache: store }))
  const token = await right.getAccessToken()
  const wrong = new TokenManager(cortiClient({ sharedCache: store, clientSecret: 'not-the-secret' }))
  await assert.rejects(wrong.getAccessToken(), (e) => e instanceof OAuthError && e.oauthError === 'invalid_client')
  assert.equal(wrong.stats().storeHits, 0)
  const again = new TokenManager(cortiClient({ sharedCache: store }))
  assert.equal(await again.getAccessToken(), token)
  assert.equal(again.stats().tokenRequests, 0)
  assert.equal(again.stats().storeHits, 1)
})

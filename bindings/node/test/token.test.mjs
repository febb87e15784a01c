// Getting tokens from the real loopback servers through the installed package.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHook } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import path from 'node:path'
import { inspect, promisify } from 'node:util'

import { TokenManager, Token } from 'cortiauth'
import { claims, cortiClient, env, heldTokenServer, shortClient } from './helpers.mjs'

const projectDir = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)

function docsEnv() {
  return {
    ...process.env,
    CORTI_CLIENT_ID: env('CORTIAUTH_KC_CORTI_CLIENT_ID'),
    CORTI_CLIENT_SECRET: env('CORTIAUTH_KC_CORTI_CLIENT_SECRET'),
    CORTI_TOKEN_URL: env('CORTIAUTH_KC_TOKEN_URL_BASE'),
    CORTI_TENANT_NAME: 'base',
  }
}

test('the docs example prints a token (ESM and CommonJS)', async () => {
  const esm = "import { TokenManager } from 'cortiauth'\nconsole.log(await TokenManager.fromEnv().getAccessToken())"
  const cjs = "const { TokenManager } = require('cortiauth')\nTokenManager.fromEnv().getAccessToken().then((t) => console.log(t))"
  for (const args of [['--input-type=module', '-e', esm], ['-e', cjs]]) {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: projectDir, env: docsEnv() })
    assert.equal(stderr, '')
    const token = stdout.trim()
    const c = claims(token)
    assert.equal(c.azp, env('CORTIAUTH_KC_CORTI_CLIENT_ID'), 'issued to the configured client')
    assert.equal(c.exp - c.iat, 300, 'the 300 s client, as Corti issues them')
    assert.ok(!stdout.includes(env('CORTIAUTH_KC_CORTI_CLIENT_SECRET')))
  }
})

test('a token is fetched once and then served from the cache', async () => {
  const m = new TokenManager(cortiClient())
  assert.equal(m.stats().tokenRequests, 0, 'nothing is fetched before the first call')
  const first = await m.getAccessToken()
  const again = await m.getAccessToken()
  const sync = m.getAccessTokenSync()
  assert.equal(again, first)
  assert.equal(sync, first)
  const s = m.stats()
  assert.equal(s.tokenRequests, 1)
  assert.equal(s.refreshes, 1)
  assert.ok(s.cacheHits >= 2, `cache hits ${s.cacheHits}`)
  assert.equal(s.failures, 0)
  assert.equal(s.lastErrorKind, null)

  const t = await m.getToken()
  assert.ok(t instanceof Token)
  assert.equal(t.accessToken, first)
  assert.equal(t.tokenType.toLowerCase(), 'bearer')
  assert.ok(t.expiresAt instanceof Date)
  const skew = Math.abs(t.expiresAt.getTime() / 1000 - claims(first).exp)
  assert.ok(skew <= 1.5, `expiresAt is the token exp (off by ${skew} s)`)
  assert.ok(t.expiresIn > 250 && t.expiresIn <= 300, `expiresIn ${t.expiresIn}`)
  assert.ok(t.scope.split(' ').includes('profile'), `scope ${t.scope}`)
  const ts = m.getTokenSync()
  assert.equal(ts.accessToken, t.accessToken)
  assert.equal(ts.expiresAt.getTime(), t.expiresAt.getTime())
  assert.equal(m.stats().tokenRequests, 1)
})

test('a cached token resolves without a thread-pool hop', async () => {
  const m = new TokenManager(cortiClient())
  const types = []
  const hook = createHook({
    init(_id, type) {
      types.push(type)
    },
  })
  hook.enable()
  await m.getAccessToken()
  hook.disable()
  // The first call waits for the core's worker: a threadsafe function settles it,
  // no async work is queued on the libuv pool.
  const fetchTypes = types.filter((t) => t !== 'PROMISE')
  assert.ok(!fetchTypes.some((t) => /work/i.test(t)), `async work created: ${fetchTypes}`)

  types.length = 0
  hook.enable()
  for (let i = 0; i < 100; i++) await m.getAccessToken()
  await m.getToken()
  await m.headers()
  const ws = await m.websocketUrl('wss://api.eu.corti.app/audio-bridge/v2/transcribe?tenant-name=base')
  hook.disable()
  assert.ok(ws.startsWith('wss://api.eu.corti.app/audio-bridge/v2/transcribe?tenant-name=base&token=Bearer%20'), 'the URL')
  assert.deepEqual(
    types.filter((t) => t !== 'PROMISE'),
    [],
    'cached calls create no async work, only promises',
  )
  assert.equal(m.stats().tokenRequests, 1)
})

test('several managers share one native hot-path function and each gets its own token', async () => {
  const a = new TokenManager(cortiClient())
  const b = new TokenManager(shortClient())
  const [ta, tb] = await Promise.all([a.getAccessToken(), b.getAccessToken()])
  assert.notEqual(ta, tb)
  for (let i = 0; i < 1000; i++) {
    // Interleaved cached calls: the one call site sees both managers' handles.
    assert.equal(await a.getAccessToken(), ta)
    assert.equal(await b.getAccessToken(), tb)
    assert.equal(a.getAccessTokenSync(), ta)
    assert.equal(b.getAccessTokenSync(), tb)
  }
  assert.equal(a.stats().tokenRequests + b.stats().tokenRequests, 2)
  assert.equal(claims(ta).azp, env('CORTIAUTH_KC_CORTI_CLIENT_ID'))
  assert.equal(claims(tb).azp, env('CORTIAUTH_KC_CLIENT_ID'))
  // Given anything but a manager's handle, the native function throws (no crash).
  const pkgDir = path.dirname(fileURLToPath(import.meta.resolve('cortiauth')))
  const native = createRequire(import.meta.url)(path.join(pkgDir, 'native.js'))
  const cachedStamp = native.cachedStampFunction()
  for (const receiver of [{}, undefined, 42, 'x']) {
    assert.throws(() => cachedStamp.call(receiver), /not given a manager handle/)
  }
})

test('Promise.all of 1,000 calls sends one token request', async () => {
  const m = new TokenManager(cortiClient())
  const tokens = await Promise.all(Array.from({ length: 1000 }, () => m.getAccessToken()))
  assert.equal(new Set(tokens).size, 1)
  assert.equal(m.stats().tokenRequests, 1)
  // Mixed entry points joining one fetch.
  const m2 = new TokenManager(cortiClient())
  const mixed = await Promise.all([
    ...Array.from({ length: 300 }, () => m2.getAccessToken()),
    ...Array.from({ length: 300 }, () => m2.getToken().then((t) => t.accessToken)),
    ...Array.from({ length: 300 }, () => m2.headers().then((h) => h.Authorization.slice('Bearer '.length))),
  ])
  assert.equal(new Set(mixed).size, 1)
  assert.equal(m2.stats().tokenRequests, 1)
})

test('the event loop keeps ticking while a slow token fetch is in flight', { timeout: 30_000 }, async () => {
  // The stub runs on this thread: if the fetch blocked the event loop, the request
  // could not even be received.
  const stub = await heldTokenServer('slow-token-value')
  try {
    const m = new TokenManager({ clientId: 'c', clientSecret: 's', tokenUrl: `${stub.url}/token`, timeoutMs: 20_000 })
    const pending = m.getAccessToken()
    await stub.arrived
    const interval = 20
    const fired = []
    const started = performance.now()
    await new Promise((resolve) => {
      const t = setInterval(() => {
        fired.push(performance.now())
        if (fired.length === 10) {
          clearInterval(t)
          resolve()
        }
      }, interval)
    })
    const gaps = fired.map((t, i) => t - (i === 0 ? started : fired[i - 1]))
    assert.ok(Math.max(...gaps) < 250, `timer gaps while the fetch was in flight: ${gaps.map(Math.round)}`)
    assert.equal(m.stats().tokenRequests, 1, 'the request is still in flight')
    stub.release()
    assert.equal(await pending, 'slow-token-value')
  } finally {
    await stub.close()
  }
})

test('1,000 concurrent cold calls leave the libuv pool alone (one pool thread, fs not delayed)', { timeout: 30_000 }, async () => {
  const probe = fileURLToPath(new URL('./pool-probe.mjs', import.meta.url))
  const { stdout } = await run(process.execPath, [probe], {
    cwd: projectDir,
    env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
  })
  const seen = JSON.parse(stdout)
  assert.equal(seen.outcome, 'read', 'fs work waited for the token request: a token call held the pool')
  assert.ok(seen.readMs < 2_000, `50 reads took ${Math.round(seen.readMs)} ms`)
  assert.equal(seen.inFlight, 1, 'the request was held while fs ran')
  assert.deepEqual(seen.distinct, ['pool-free-token'])
  assert.equal(seen.count, 1000)
  assert.equal(seen.tokenRequests, 1)
})

test('a cold manager: every kind of call joins the one request', { timeout: 30_000 }, async () => {
  const stub = await heldTokenServer('shared-hop-token')
  try {
    const m = new TokenManager({ clientId: 'c', clientSecret: 's', tokenUrl: `${stub.url}/token`, timeoutMs: 20_000 })
    const pending = [
      ...Array.from({ length: 50 }, () => m.getAccessToken()),
      ...Array.from({ length: 50 }, () => m.getToken().then((t) => t.accessToken)),
      ...Array.from({ length: 20 }, () => m.headers().then((h) => h.Authorization.slice('Bearer '.length))),
      ...Array.from({ length: 20 }, () =>
        m.websocketUrl('wss://example.test/s?x=1').then((u) => decodeURIComponent(u.split('token=Bearer%20')[1])),
      ),
    ]
    await stub.arrived
    stub.release()
    const tokens = await Promise.all(pending)
    assert.deepEqual(new Set(tokens), new Set(['shared-hop-token']))
    assert.equal(m.stats().tokenRequests, 1)
    // Settled: the next calls take the fast path.
    assert.equal(await m.getAccessToken(), 'shared-hop-token')
  } finally {
    await stub.close()
  }
})

test('a token due for refresh is replaced by a new one', { timeout: 30_000 }, async () => {
  // 10 s tokens, refreshed once 90 % of their lifetime is left: after about 1 s.
  const m = new TokenManager(shortClient({ refresh: { marginFraction: 0.9 } }))
  const first = await m.getToken()
  assert.ok(first.expiresIn <= 10)
  assert.equal(await m.getAccessToken(), first.accessToken)
  assert.equal(m.stats().tokenRequests, 1)
  const refreshAt = first.expiresAt.getTime() - 9_000
  await sleep(Math.max(0, refreshAt - Date.now()) + 200)
  // Due but still valid: callers may keep it while the refresh runs on the
  // manager's worker thread; the new token replaces it shortly.
  let second = await m.getAccessToken()
  for (let i = 0; i < 250 && second === first.accessToken; i++) {
    await sleep(20)
    second = await m.getAccessToken()
  }
  assert.notEqual(second, first.accessToken)
  assert.ok(claims(second).exp > claims(first.accessToken).exp)
  const s = m.stats()
  assert.equal(s.tokenRequests, 2)
  assert.equal(s.refreshes, 2)
  assert.equal(await m.getAccessToken(), second)
})

test('an expired token is never handed out', { timeout: 30_000 }, async () => {
  // Tiro's short-lived client; no refresh ahead, so the expiry itself is what counts.
  const m = new TokenManager({
    clientId: env('CORTIAUTH_TIRO_SHORT_CLIENT_ID'),
    clientSecret: env('CORTIAUTH_TIRO_SHORT_CLIENT_SECRET'),
    tokenUrl: env('CORTIAUTH_TIRO_TOKEN_URL'),
    authMethod: 'client_secret_basic',
    refresh: { marginFraction: 0 },
  })
  const first = await m.getToken()
  assert.ok(first.expiresIn <= 60, `the short client's tokens live ${first.expiresIn} s`)
  await sleep(Math.max(0, first.expiresAt.getTime() - Date.now()) + 100)
  const second = await m.getToken()
  assert.notEqual(second.accessToken, first.accessToken)
  assert.ok(second.expiresAt > new Date(), 'the token handed out is not expired')
  assert.equal(m.stats().tokenRequests, 2)
})

test('invalidate drops the rejected token once', async () => {
  const m = new TokenManager(cortiClient())
  const first = await m.getAccessToken()
  assert.equal(m.invalidate('not-the-cached-token'), false)
  // The `Bearer ` prefix is stripped by the core (the JS layer passes the string on).
  assert.equal(m.invalidate(`Bearer ${first}x`), false, 'a different token after the prefix')
  assert.equal(m.invalidate(`Bearer ${first}`), true)
  assert.equal(m.invalidate(first), false, 'a burst of 401s for one token drops it once')
  const second = await m.getAccessToken()
  assert.notEqual(second, first)
  assert.equal(m.stats().tokenRequests, 2)
  assert.equal(m.getAccessTokenSync(), second)
  assert.equal(m.invalidate(await m.getToken()), true, 'a Token is accepted too')
  const third = m.getAccessTokenSync()
  assert.ok(![first, second].includes(third), 'the synchronous path fetches a new one too')
  assert.equal((await m.getToken()).accessToken, third)
  assert.equal(m.stats().tokenRequests, 3)
})

test('headers, apiBaseUrl and websocketUrl', async () => {
  const m = new TokenManager(cortiClient({ tenantName: 'base' }))
  const h = await m.headers()
  const token = await m.getAccessToken()
  assert.deepEqual({ ...h }, { Authorization: `Bearer ${token}`, 'Tenant-Name': 'base' })
  assert.deepEqual({ ...m.headersSync() }, { ...h })
  const asHeaders = new Headers(h) // usable as fetch's headers as they are
  assert.equal(asHeaders.get('authorization'), `Bearer ${token}`)
  assert.equal(asHeaders.get('tenant-name'), 'base')
  assert.ok(!inspect(h).includes(token), 'util.inspect hides the token in headers')

  assert.equal(m.apiBaseUrl, null, 'no environment, no API base URL')
  const eu = new TokenManager({ clientId: 'x', clientSecret: 'y', environment: 'eu' })
  assert.equal(eu.apiBaseUrl, 'https://api.eu.corti.app/v2')
  assert.equal(eu.tokenUrl, 'https://auth.eu.corti.app/realms/base/protocol/openid-connect/token')
  assert.equal(eu.tenantName, 'base')
  assert.equal(eu.apiUrl('/interactions?limit=1'), 'https://api.eu.corti.app/v2/interactions?limit=1')
  assert.equal(eu.apiUrl('interactions/1'), 'https://api.eu.corti.app/v2/interactions/1')
  assert.throws(() => eu.apiUrl('https://elsewhere.example/x'), { code: 'CORTIAUTH_CONFIG' })
  assert.throws(() => m.apiUrl('/interactions'), { code: 'CORTIAUTH_CONFIG' }, 'no API base URL')
  assert.throws(() => eu.apiUrl(42), { code: 'CORTIAUTH_CONFIG' })

  const stream = 'wss://api.eu.corti.app/audio-bridge/v2/interactions/1/streams?tenant-name=base'
  const url = await m.websocketUrl(stream)
  assert.equal(url, `${stream}&token=Bearer%20${encodeURIComponent(token)}`)
  assert.equal(m.websocketUrlSync('wss://h/s'), `wss://h/s?token=Bearer%20${encodeURIComponent(token)}`)
  assert.equal(m.stats().tokenRequests, 1)
})

test('scopes are requested and granted', async () => {
  const m = new TokenManager(cortiClient({ scopes: ['transcribe'] }))
  assert.deepEqual(m.scopes, ['openid', 'transcribe'])
  const t = await m.getToken()
  assert.ok(t.scope.split(' ').includes('transcribe'), `granted scope: ${t.scope}`)
  const plain = await new TokenManager(cortiClient()).getToken()
  assert.ok(!plain.scope.split(' ').includes('transcribe'), `without asking: ${plain.scope}`)
  const fromString = new TokenManager(cortiClient({ scopes: 'streams transcribe' }))
  assert.deepEqual(fromString.scopes, ['openid', 'streams', 'transcribe'])
})

test('Tiro-shaped server: client_secret_basic and client_secret_post', async () => {
  const basic = new TokenManager({
    clientId: env('CORTIAUTH_TIRO_CLIENT_ID'),
    clientSecret: env('CORTIAUTH_TIRO_CLIENT_SECRET'),
    tokenUrl: env('CORTIAUTH_TIRO_TOKEN_URL'),
    authMethod: 'client_secret_basic',
  })
  assert.equal(basic.authMethod, 'client_secret_basic')
  const t = await basic.getToken()
  assert.ok(t.accessToken.length > 10)
  assert.ok(t.expiresIn > 3000 && t.expiresIn <= 3600, `Tiro tokens live an hour: ${t.expiresIn}`)
  const post = new TokenManager({
    clientId: env('CORTIAUTH_TIRO_POST_CLIENT_ID'),
    clientSecret: env('CORTIAUTH_TIRO_POST_CLIENT_SECRET'),
    tokenUrl: env('CORTIAUTH_TIRO_TOKEN_URL'),
    authMethod: 'client_secret_post',
  })
  assert.ok((await post.getAccessToken()).length > 10)
  assert.equal(post.stats().tokenRequests, 1)
})

test('the secret and the token never show in printed forms', async () => {
  const secret = env('CORTIAUTH_KC_CORTI_CLIENT_SECRET')
  const m = new TokenManager(cortiClient())
  const t = await m.getToken()
  const h = await m.headers()
  const printed = [
    inspect(m),
    inspect(m, { showHidden: true, depth: 10 }),
    String(m),
    JSON.stringify(m),
    inspect(t),
    inspect(t, { depth: 10 }),
    String(t),
    inspect(h),
    inspect({ nested: { t, h } }, { depth: 10 }),
  ]
  for (const p of printed) {
    assert.ok(!p.includes(secret), `secret in ${p}`)
    assert.ok(!p.includes(t.accessToken), `token in ${p}`)
  }
  assert.ok(inspect(m).includes(m.clientId), 'the client id is shown')
  assert.ok(inspect(t).includes('REDACTED'))
})

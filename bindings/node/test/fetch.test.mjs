// manager.fetch: both headers added; on a 401 the token is invalidated and the
// request sent once more. Tokens come from the real Keycloak; the API is a loopback
// stand-in (there is no Corti API here) that can reject a token on demand.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'

import { TokenManager } from 'cortiauth'
import { cortiClient, stub } from './helpers.mjs'

/** What a stub scenario received, as the API tests read it. */
async function received(scenario) {
  return (await scenario.log()).map((r) => ({
    method: r.method,
    url: r.target,
    authorization: r.headers.authorization ?? null,
    token: (r.headers.authorization ?? '').replace(/^Bearer /, ''),
    tenant: r.headers['tenant-name'],
    custom: r.headers['x-custom'] ?? null,
    body: r.body,
  }))
}

/**
 * An API (a stub scenario) that answers `{"ok":true}` to a bearer token, 401 to the
 * first request (`rejectFirstToken`) or to every one (`alwaysReject`).
 */
async function api({ rejectFirstToken = false, alwaysReject = false } = {}) {
  const rejectFirst = {
    status: 401,
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    json: { error: 'invalid_token' },
  }
  const steps = [
    ...(rejectFirstToken ? [rejectFirst] : []),
    { api: { reject_all: alwaysReject } },
  ]
  const server = await stub(steps)
  return { ...server, seen: () => received(server) }
}

test('adds Authorization and Tenant-Name and keeps the caller headers', async () => {
  const server = await api()
  try {
    const m = new TokenManager(cortiClient({ tenantName: 'base' }))
    const r = await m.fetch(`${server.url}/v2/interactions`, { headers: { 'X-Custom': 'kept' } })
    assert.equal(r.status, 200)
    assert.deepEqual(await r.json(), { ok: true })
    assert.equal((await server.seen()).length, 1)
    assert.equal((await server.seen())[0].url, '/v2/interactions')
    assert.equal((await server.seen())[0].custom, 'kept')
    assert.equal((await server.seen())[0].token, await m.getAccessToken())
    assert.equal((await server.seen())[0].tenant, 'base')
    await (await m.fetch(`${server.url}/again`)).text()
    assert.equal(m.stats().tokenRequests, 1, 'the second call reuses the cached token')
  } finally {
    await server.close()
  }
})

test('headers() plug into the global fetch as they are', async () => {
  const server = await api()
  try {
    const m = new TokenManager(cortiClient({ tenantName: 'base' }))
    const r = await fetch(`${server.url}/plain`, { headers: await m.headers() })
    assert.equal(r.status, 200)
    await r.text()
    assert.equal((await server.seen())[0].token, await m.getAccessToken())
    assert.equal((await server.seen())[0].tenant, 'base')
    const spread = await fetch(`${server.url}/spread`, { headers: { ...m.headersSync(), 'X-Custom': 'c' } })
    await spread.text()
    assert.equal((await server.seen()).at(-1).custom, 'c')
  } finally {
    await server.close()
  }
})

test('on a 401 the token is invalidated and the request retried once with a new one', async () => {
  const server = await api({ rejectFirstToken: true })
  try {
    const m = new TokenManager(cortiClient())
    const r = await m.fetch(`${server.url}/v2/interactions/`, { method: 'POST', body: '{"a":1}' })
    assert.equal(r.status, 200)
    assert.equal((await server.seen()).length, 2)
    const [first, second] = await server.seen()
    assert.notEqual(first.token, second.token, 'the retry carries a fresh token')
    assert.equal(second.body, '{"a":1}', 'the body is sent again')
    assert.equal(second.method, 'POST')
    assert.equal(await m.getAccessToken(), second.token)
    assert.equal(m.stats().tokenRequests, 2)
  } finally {
    await server.close()
  }
})

test('a second 401 is returned, not retried again', async () => {
  const server = await api({ alwaysReject: true })
  try {
    const m = new TokenManager(cortiClient())
    const r = await m.fetch(`${server.url}/x`)
    assert.equal(r.status, 401)
    assert.equal((await server.seen()).length, 2, 'exactly one retry')
    assert.equal(m.stats().tokenRequests, 2)
  } finally {
    await server.close()
  }
})

test('a Request with a body is replayed on the retry', async () => {
  const server = await api({ rejectFirstToken: true })
  try {
    const m = new TokenManager(cortiClient())
    const req = new Request(`${server.url}/req`, { method: 'PUT', body: 'payload', headers: { 'X-Custom': 'r' } })
    const r = await m.fetch(req)
    assert.equal(r.status, 200)
    assert.deepEqual(
      (await server.seen()).map((s) => [s.method, s.body]),
      [
        ['PUT', 'payload'],
        ['PUT', 'payload'],
      ],
    )
    await r.text()
    assert.equal((await server.seen()).at(-1).custom, 'r')
  } finally {
    await server.close()
  }
})

test('a streamed body cannot be sent twice: the 401 is returned', async () => {
  const server = await api({ rejectFirstToken: true })
  try {
    const m = new TokenManager(cortiClient())
    const body = Readable.toWeb(Readable.from([Buffer.from('streamed')]))
    const r = await m.fetch(`${server.url}/s`, { method: 'POST', body, duplex: 'half' })
    assert.equal(r.status, 401)
    assert.equal((await server.seen()).length, 1)
    assert.equal((await server.seen())[0].body, 'streamed')
    // A one-shot body: not resent, but the rejected token is dropped all the same.
    const rejected = (await server.seen())[0].token
    assert.equal(m.invalidate(rejected), false, 'fetch has invalidated it already')
    assert.notEqual(await m.getAccessToken(), rejected)
    assert.equal(m.stats().tokenRequests, 2)
  } finally {
    await server.close()
  }
})

test('a relative URL is appended to apiBaseUrl', async () => {
  const server = await api()
  try {
    const m = new TokenManager(cortiClient({ apiBaseUrl: `${server.url}/v2/` }))
    await (await m.fetch('/interactions?limit=1')).text()
    assert.equal((await server.seen()).at(-1).url, '/v2/interactions?limit=1')
    await (await m.fetch('interactions/7')).text()
    assert.equal((await server.seen()).at(-1).url, '/v2/interactions/7', 'joined by the core: no leading slash needed')
    const none = new TokenManager(cortiClient())
    await assert.rejects(none.fetch('/interactions'), { code: 'CORTIAUTH_CONFIG' })
  } finally {
    await server.close()
  }
})

test('token errors reject fetch with the token error', async () => {
  const server = await api()
  try {
    const m = new TokenManager(cortiClient({ clientSecret: 'wrong-secret-for-fetch' }))
    await assert.rejects(m.fetch(`${server.url}/x`), { code: 'CORTIAUTH_OAUTH' })
    assert.equal((await server.seen()).length, 0, 'no API call without a token')
  } finally {
    await server.close()
  }
})

/** A server (a stub scenario) that redirects every request to `target`. */
async function redirector(target) {
  const server = await stub([{ redirect: target }])
  return { ...server, seen: () => received(server) }
}

test('a 401 from another origin after a redirect is returned, the token kept', async () => {
  const other = await api({ alwaysReject: true })
  const origin = await redirector(`${other.url}/elsewhere`)
  try {
    const m = new TokenManager(cortiClient())
    const token = await m.getAccessToken()
    const r = await m.fetch(`${origin.url}/start`)
    assert.equal(r.status, 401)
    assert.equal((await origin.seen()).length, 1, 'not retried')
    assert.equal((await origin.seen())[0].authorization, `Bearer ${token}`)
    assert.equal((await other.seen()).length, 1, 'the other origin got one request')
    assert.equal((await other.seen())[0].token, '', 'fetch drops Authorization when a redirect leaves the origin')
    assert.equal(m.getAccessTokenSync(), token, 'the token was not invalidated')
    assert.equal(m.stats().tokenRequests, 1, 'no new token fetched')
  } finally {
    await origin.close()
    await other.close()
  }
})

test('a 401 after a redirect within the origin invalidates and retries once', async () => {
  // /start redirects to /final, which rejects the first token once.
  const server = await stub([
    { redirect: '/final' },
    { status: 401 },
    { redirect: '/final' },
    { body: 'ok' },
  ])
  try {
    const m = new TokenManager(cortiClient())
    const first = await m.getAccessToken()
    const r = await m.fetch(`${server.url}/start`)
    assert.equal(r.status, 200)
    const seen = await received(server)
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/start', '/final', '/start', '/final'],
    )
    assert.equal(seen[1].token, first)
    assert.notEqual(seen[3].token, first, 'the retry carries a fresh token')
    assert.equal(m.stats().tokenRequests, 2)
  } finally {
    await server.close()
  }
})

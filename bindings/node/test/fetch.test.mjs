// manager.fetch: both headers added; on a 401 the token is invalidated and the
// request sent once more. Tokens come from the real Keycloak; the API is a loopback
// stand-in (there is no Corti API here) that can reject a token on demand.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'

import { TokenManager } from 'cortiauth'
import { cortiClient, stubServer } from './helpers.mjs'

/** An API that answers 401 to the tokens in `rejected` and echoes what it got otherwise. */
async function api({ rejectFirstToken = false, alwaysReject = false } = {}) {
  const seen = []
  const rejected = new Set()
  const server = await stubServer(async (req, res) => {
    const chunks = []
    for await (const c of req) chunks.push(c)
    const auth = req.headers.authorization ?? ''
    const token = auth.replace(/^Bearer /, '')
    seen.push({ method: req.method, url: req.url, token, tenant: req.headers['tenant-name'], body: Buffer.concat(chunks).toString() })
    if (rejectFirstToken && seen.length === 1) rejected.add(token)
    if (alwaysReject || rejected.has(token) || !auth.startsWith('Bearer ')) {
      res.statusCode = 401
      res.setHeader('www-authenticate', 'Bearer error="invalid_token"')
      res.end('{"error":"invalid_token"}')
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ ok: true, url: req.url, custom: req.headers['x-custom'] ?? null }))
  })
  return { ...server, seen }
}

test('adds Authorization and Tenant-Name and keeps the caller headers', async () => {
  const server = await api()
  try {
    const m = new TokenManager(cortiClient({ tenantName: 'base' }))
    const r = await m.fetch(`${server.url}/v2/interactions`, { headers: { 'X-Custom': 'kept' } })
    assert.equal(r.status, 200)
    assert.deepEqual(await r.json(), { ok: true, url: '/v2/interactions', custom: 'kept' })
    assert.equal(server.seen.length, 1)
    assert.equal(server.seen[0].token, await m.getAccessToken())
    assert.equal(server.seen[0].tenant, 'base')
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
    assert.equal(server.seen[0].token, await m.getAccessToken())
    assert.equal(server.seen[0].tenant, 'base')
    const spread = await fetch(`${server.url}/spread`, { headers: { ...m.headersSync(), 'X-Custom': 'c' } })
    assert.equal((await spread.json()).custom, 'c')
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
    assert.equal(server.seen.length, 2)
    const [first, second] = server.seen
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
    assert.equal(server.seen.length, 2, 'exactly one retry')
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
      server.seen.map((s) => [s.method, s.body]),
      [
        ['PUT', 'payload'],
        ['PUT', 'payload'],
      ],
    )
    assert.equal((await r.json()).custom, 'r')
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
    assert.equal(server.seen.length, 1)
    assert.equal(server.seen[0].body, 'streamed')
    // A one-shot body: not resent, but the rejected token is dropped all the same.
    const rejected = server.seen[0].token
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
    const r = await m.fetch('/interactions?limit=1')
    assert.equal((await r.json()).url, '/v2/interactions?limit=1')
    const bare = await m.fetch('interactions/7')
    assert.equal((await bare.json()).url, '/v2/interactions/7', 'joined by the core: no leading slash needed')
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
    assert.equal(server.seen.length, 0, 'no API call without a token')
  } finally {
    await server.close()
  }
})

/** A server that redirects every request to `target` (absolute) and records what it got. */
async function redirector(target) {
  const seen = []
  const server = await stubServer(async (req, res) => {
    for await (const _ of req);
    seen.push({ url: req.url, authorization: req.headers.authorization ?? null })
    res.statusCode = 302
    res.setHeader('location', typeof target === 'function' ? target() : target)
    res.end()
  })
  return { ...server, seen }
}

test('a 401 from another origin after a redirect is returned, the token kept', async () => {
  const other = await api({ alwaysReject: true })
  const origin = await redirector(() => `${other.url}/elsewhere`)
  try {
    const m = new TokenManager(cortiClient())
    const token = await m.getAccessToken()
    const r = await m.fetch(`${origin.url}/start`)
    assert.equal(r.status, 401)
    assert.equal(origin.seen.length, 1, 'not retried')
    assert.equal(origin.seen[0].authorization, `Bearer ${token}`)
    assert.equal(other.seen.length, 1, 'the other origin got one request')
    assert.equal(other.seen[0].token, '', 'fetch drops Authorization when a redirect leaves the origin')
    assert.equal(m.getAccessTokenSync(), token, 'the token was not invalidated')
    assert.equal(m.stats().tokenRequests, 1, 'no new token fetched')
  } finally {
    await origin.close()
    await other.close()
  }
})

test('a 401 after a redirect within the origin invalidates and retries once', async () => {
  const rejected = new Set()
  const seen = []
  const server = await stubServer(async (req, res) => {
    for await (const _ of req);
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '')
    seen.push({ url: req.url, token })
    if (req.url === '/start') {
      res.statusCode = 302
      res.setHeader('location', '/final')
      res.end()
    } else if (seen.length <= 2 || rejected.has(token)) {
      rejected.add(token)
      res.statusCode = 401
      res.end()
    } else {
      res.end('ok')
    }
  })
  try {
    const m = new TokenManager(cortiClient())
    const first = await m.getAccessToken()
    const r = await m.fetch(`${server.url}/start`)
    assert.equal(r.status, 200)
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

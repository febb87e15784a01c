// The core's events on diagnostics_channel `cortiauth`, audit fingerprints, and the
// secret rotated in place with setClientSecret: against the loopback Keycloak and a stub.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'

import { TokenManager, fingerprint, CHANNEL, OAuthError } from 'cortiauth'
import { cortiClient, stub as startStub } from './helpers.mjs'

const sha256Prefix = (t) => createHash('sha256').update(t).digest('hex').slice(0, 16)

/** Collects the events of `clientId` until `stop()`. */
function collect(clientId) {
  const events = []
  const waiters = []
  const onMessage = (e) => {
    if (e.client_id !== clientId) return
    events.push(e)
    for (const w of waiters.splice(0)) w()
  }
  diagnostics.subscribe(CHANNEL, onMessage)
  return {
    events,
    /**
     * Resolves once `n` events have arrived. Its timer bounds the wait and keeps the
     * event loop alive meanwhile: the events come from the core's worker thread
     * through an unref'd threadsafe function (by design it never holds a process
     * open), so a test with nothing else pending could otherwise end first.
     */
    async atLeast(n, timeoutMs = 10_000) {
      let timer
      const timedOut = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${events.length} of ${n} events in ${timeoutMs} ms`)), timeoutMs)
      })
      try {
        while (events.length < n) await Promise.race([new Promise((resolve) => waiters.push(resolve)), timedOut])
        return events
      } finally {
        clearTimeout(timer)
      }
    },
    stop: () => diagnostics.unsubscribe(CHANNEL, onMessage),
  }
}

test('the fingerprint is the same SHA-256 prefix in every surface', () => {
  // The same constant is pinned by the Rust, Python and C tests.
  assert.equal(fingerprint('abc'), 'ba7816bf8f01cfea')
  assert.equal(fingerprint('Bearer abc'), 'ba7816bf8f01cfea')
})

test('a fetch, a rejection and a failure reach diagnostics_channel, without a token or secret', async () => {
  const client = cortiClient()
  const seen = collect(client.clientId)
  try {
    const m = new TokenManager(client)
    const first = await m.getAccessToken()
    for (let i = 0; i < 100; i++) assert.equal(await m.getAccessToken(), first)
    assert.ok(m.invalidate(first))
    const second = await m.getAccessToken()
    const bad = new TokenManager({ ...client, clientSecret: 'not-the-secret', maxAttempts: 1 })
    await assert.rejects(bad.getAccessToken(), OAuthError)
    const events = await seen.atLeast(4)
    assert.deepEqual(
      events.map((e) => e.event),
      ['token_fetched', 'token_rejected', 'token_fetched', 'fetch_failed'],
      'one event per fetch, none from the 100 cached calls',
    )
    const [f1, rejected, f2, failed] = events
    assert.equal(f1.token.fingerprint, fingerprint(first))
    assert.equal(f1.token.fingerprint, sha256Prefix(first))
    assert.equal(rejected.token.fingerprint, f1.token.fingerprint)
    assert.equal(f2.token.fingerprint, sha256Prefix(second))
    assert.equal(f1.token.surface, 'node')
    assert.equal(f1.token.pid, process.pid)
    assert.ok(f1.token.jti, "Keycloak's tokens are JWTs with a jti")
    assert.equal(f1.trigger, 'caller')
    assert.equal(f1.attempts, 1)
    assert.equal(failed.oauth_error, 'invalid_client')
    assert.equal(failed.http_status, 401)
    const text = JSON.stringify(events)
    for (const secret of [client.clientSecret, 'not-the-secret', first, second]) {
      assert.ok(!text.includes(secret), 'no event carries a token or a secret')
    }
  } finally {
    seen.stop()
  }
})

test('setClientSecret: the next token request sends the new secret', async () => {
  const stub = await startStub() // answers tok-1, tok-2, …
  const seen = collect('rot-node')
  try {
    const m = new TokenManager({ clientId: 'rot-node', clientSecret: 'first-secret', tokenUrl: `${stub.url}/token` })
    const first = await m.getAccessToken()
    m.setClientSecret('second-secret')
    assert.equal(await m.getAccessToken(), first, 'the token in use stays')
    assert.ok(m.invalidate(first))
    assert.equal(await m.getAccessToken(), 'tok-2')
    const secrets = (await stub.log()).map((r) => r.form.client_secret)
    assert.deepEqual(secrets, ['first-secret', 'second-secret'])
    const d = m.describe()
    assert.equal(d.credential_source, 'set_client_secret')
    assert.equal(d.client_secret, '[REDACTED]')
    assert.ok(!JSON.stringify(d).includes('second-secret'))
    const events = await seen.atLeast(4)
    const reloaded = events.find((e) => e.event === 'credential_reloaded')
    assert.equal(reloaded.credential_source, 'set_client_secret')
    assert.throws(() => m.setClientSecret(''), /non-empty/)
  } finally {
    seen.stop()
    await stub.close()
  }
})

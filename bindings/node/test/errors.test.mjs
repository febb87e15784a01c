// Errors: classes, stable codes, details, and no secret in any printed form.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'

import {
  ConfigError,
  CortiAuthError,
  ErrorCode,
  HttpError,
  InvalidResponseError,
  NetworkError,
  OAuthError,
  TimeoutError,
  TokenManager,
} from 'cortiauth'
import { closedPort, cortiClient, env, stub as startStub, thrown } from './helpers.mjs'

const SECRET = 'wrong-s3cret-for-the-tests-9f2c'

/** Asserts nothing printable about `err` contains `secrets`. */
function assertNoSecrets(err, ...secrets) {
  const forms = [err.message, String(err), err.stack, inspect(err), inspect(err, { showHidden: true, depth: 10 })]
  forms.push(JSON.stringify(err))
  for (const form of forms) {
    for (const s of secrets) assert.ok(!form.includes(s), `secret in ${form}`)
  }
}

async function rejection(promise) {
  try {
    await promise
  } catch (e) {
    return e
  }
  assert.fail('expected a rejection')
}


test('a wrong secret is an OAuthError with the server error code', async () => {
  const m = new TokenManager(cortiClient({ clientSecret: SECRET }))
  const e = await rejection(m.getAccessToken())
  assert.ok(e instanceof OAuthError)
  assert.ok(e instanceof CortiAuthError)
  assert.ok(e instanceof Error)
  assert.equal(e.name, 'OAuthError')
  assert.equal(e.code, 'CORTIAUTH_OAUTH')
  assert.equal(e.code, ErrorCode.OAUTH)
  assert.equal(e.kind, 'oauth')
  assert.ok(['invalid_client', 'unauthorized_client'].includes(e.oauthError), e.oauthError)
  assert.ok([400, 401].includes(e.status), String(e.status))
  assert.equal(e.transient, false)
  assert.ok(e.message.includes(e.oauthError), 'the message names the OAuth error')
  assert.match(e.message, /HTTP 40[01]/)
  assertNoSecrets(e, SECRET)
  const s = m.stats()
  assert.equal(s.failures, 1)
  assert.equal(s.lastErrorKind, 'oauth')
  assert.equal(s.tokenRequests, 1, 'a permanent error is not retried')

  // The same error, synchronously.
  const sync = thrown(() => new TokenManager(cortiClient({ clientSecret: SECRET })).getAccessTokenSync())
  assert.ok(sync instanceof OAuthError)
  assert.equal(sync.oauthError, e.oauthError)
  assertNoSecrets(sync, SECRET)
})

test('a disabled client is an OAuthError', async () => {
  const m = new TokenManager({
    clientId: env('CORTIAUTH_KC_DISABLED_CLIENT_ID'),
    clientSecret: env('CORTIAUTH_KC_DISABLED_CLIENT_SECRET'),
    tokenUrl: env('CORTIAUTH_KC_TOKEN_URL_BASE'),
  })
  const e = await rejection(m.getToken())
  assert.equal(e.code, 'CORTIAUTH_OAUTH')
  assert.ok(e.oauthError, 'the OAuth error code is kept')
  assertNoSecrets(e, env('CORTIAUTH_KC_DISABLED_CLIENT_SECRET'))
})

test('an unknown tenant is an HttpError 404', async () => {
  const tokenUrl = env('CORTIAUTH_KC_TOKEN_URL_BASE').replace('/realms/base/', '/realms/no-such-tenant/')
  const m = new TokenManager(cortiClient({ tokenUrl }))
  const e = await rejection(m.getAccessToken())
  assert.ok(e instanceof HttpError, inspect(e))
  assert.equal(e.code, 'CORTIAUTH_HTTP')
  assert.equal(e.status, 404)
  assert.equal(e.oauthError, null)
  assert.match(e.message, /CORTI_TENANT_NAME|token URL/)
  assertNoSecrets(e, env('CORTIAUTH_KC_CORTI_CLIENT_SECRET'))
})

test('nothing listening is a NetworkError, retried, then cooled down', async () => {
  const port = await closedPort()
  const m = new TokenManager({
    clientId: 'c',
    clientSecret: SECRET,
    tokenUrl: `http://127.0.0.1:${port}/token`,
    retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5, failureCooldownMs: 60_000 },
  })
  const e = await rejection(m.getAccessToken())
  assert.ok(e instanceof NetworkError)
  assert.equal(e.code, 'CORTIAUTH_NETWORK')
  assert.equal(e.transient, true)
  assert.equal(e.status, null)
  // The socket error is the cause chain (core Error::source), not the message.
  const causes = []
  for (let c = e.cause; c; c = c.cause) causes.push(c.message)
  assert.ok(causes.some((c) => /refused/i.test(c)), inspect(causes))
  assert.deepEqual([...e.causes], causes, 'err.causes lists the same chain, outermost first')
  assert.ok(e.causes.length >= 1)
  assertNoSecrets(e, SECRET)
  assert.equal(m.stats().tokenRequests, 3, 'transient errors are retried')
  const again = await rejection(m.getAccessToken())
  assert.equal(again.code, 'CORTIAUTH_NETWORK')
  assert.equal(m.stats().tokenRequests, 3, 'during the cooldown no request is sent')
  assert.notEqual(again, e, 'every caller gets its own Error object')
})

test('a token endpoint that does not answer is a TimeoutError', async () => {
  const stub = await startStub([{ hold: true }]) // never answers: a fault on demand
  try {
    const m = new TokenManager({
      clientId: 'c',
      clientSecret: SECRET,
      tokenUrl: `${stub.url}/token`,
      timeoutMs: 300,
      retry: { maxAttempts: 1 },
    })
    const e = await rejection(m.getAccessToken())
    assert.ok(e instanceof TimeoutError, inspect(e))
    assert.equal(e.code, 'CORTIAUTH_TIMEOUT')
    assert.equal(e.transient, true)
    assertNoSecrets(e, SECRET)
  } finally {
    await stub.close()
  }
})

test('a 200 without a token is an InvalidResponseError', async () => {
  const stub = await startStub([{ json: { token_type: 'Bearer' } }])
  try {
    const m = new TokenManager({ clientId: 'c', clientSecret: SECRET, tokenUrl: `${stub.url}/token` })
    const e = await rejection(m.getAccessToken())
    assert.ok(e instanceof InvalidResponseError, inspect(e))
    assert.equal(e.code, 'CORTIAUTH_INVALID_RESPONSE')
    assertNoSecrets(e, SECRET)
    const viaWs = await rejection(m.websocketUrl('wss://h/s'))
    assert.equal(viaWs.code, 'CORTIAUTH_INVALID_RESPONSE', 'websocketUrl maps errors the same way')
  } finally {
    await stub.close()
  }
})

test('configuration errors are thrown by the constructor, without values', () => {
  const cases = [
    [{ clientSecret: SECRET, environment: 'eu' }, /CORTI_CLIENT_ID/],
    [{ clientId: 'c', environment: 'eu' }, /CORTI_CLIENT_SECRET/],
    [{ clientId: 'c', clientSecret: SECRET }, /CORTI_ENVIRONMENT/],
    [{ clientId: 'c', clientSecret: SECRET, tokenUrl: 'http://auth.example.com/token' }, /https/],
    [{ clientId: 'c', clientSecret: SECRET, environment: 'eu', tenantNme: 'x' }, /did you mean "tenant"/],
    [{ clientId: 'c', clientSecret: 12345, environment: 'eu' }, /clientSecret must be a string/],
    [{ clientId: 'c', clientSecret: SECRET, environment: 'eu', authMethod: 'jwt' }, /auth method/],
    [{ clientId: 'c', clientSecret: SECRET, environment: 'eu', timeoutMs: -1 }, /timeoutMs/],
    [{ clientId: 'c', clientSecret: SECRET, environment: 'eu.evil.com/x' }, /environment/],
    [{ clientId: 'c', clientSecret: SECRET, environment: 'eu', retry: { maxAttempts: 0 } }, /max_attempts/],
  ]
  for (const [options, pattern] of cases) {
    const e = thrown(() => new TokenManager(options))
    assert.ok(e instanceof ConfigError, inspect(e))
    assert.equal(e.code, 'CORTIAUTH_CONFIG')
    assert.match(e.message, pattern)
    assertNoSecrets(e, SECRET, '12345')
  }
})

test('fromEnv reads CORTI_* and lets options override them', () => {
  const saved = { ...process.env }
  try {
    for (const k of Object.keys(process.env)) if (k.startsWith('CORTI_')) delete process.env[k]
    const e = thrown(() => TokenManager.fromEnv())
    assert.equal(e.code, 'CORTIAUTH_CONFIG')
    assert.match(e.message, /CORTI_CLIENT_ID/)
    process.env.CORTI_CLIENT_ID = 'from-env'
    process.env.CORTI_CLIENT_SECRET = SECRET
    process.env.CORTI_ENVIRONMENT = 'us'
    process.env.CORTI_TENANT_NAME = 'copiloteu'
    process.env.CORTI_SCOPES = 'streams'
    const m = TokenManager.fromEnv()
    assert.equal(m.clientId, 'from-env')
    assert.equal(m.tenantName, 'copiloteu')
    assert.equal(m.environment, 'us')
    assert.deepEqual(m.scopes, ['openid', 'streams'])
    assert.equal(m.tokenUrl, 'https://auth.us.corti.app/realms/copiloteu/protocol/openid-connect/token')
    const o = TokenManager.fromEnv({ tenantName: 'base', environment: 'eu' })
    assert.equal(o.tokenUrl, 'https://auth.eu.corti.app/realms/base/protocol/openid-connect/token')
    assert.ok(!inspect(m).includes(SECRET))
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
})

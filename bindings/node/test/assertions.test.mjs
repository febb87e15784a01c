// RFC 7523 client authentication against the loopback Keycloak:
// client_secret_jwt, and private_key_jwt with the RSA and EC keys that
// tests/servers/keycloak.sh made for this run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { inspect } from 'node:util'

import { TokenManager } from 'cortiauth'
import { claims, env } from './helpers.mjs'

test('client_secret_jwt gets a token', async () => {
  const m = new TokenManager({
    clientId: env('CORTIAUTH_KC_JWT_SECRET_CLIENT_ID'),
    clientSecret: env('CORTIAUTH_KC_JWT_SECRET_CLIENT_SECRET'),
    tokenUrl: env('CORTIAUTH_KC_TOKEN_URL_BASE'),
    authMethod: 'client_secret_jwt',
  })
  assert.equal(claims(await m.getAccessToken()).azp, 'cortiauth-jwt-secret')
  assert.equal(m.authMethod, 'client_secret_jwt')
})

for (const [kind, clientVar, keyVar] of [
  ['RSA 2048', 'CORTIAUTH_KC_JWT_RSA_CLIENT_ID', 'CORTIAUTH_KC_JWT_RSA_KEY_FILE'],
  ['EC P-256', 'CORTIAUTH_KC_JWT_EC_CLIENT_ID', 'CORTIAUTH_KC_JWT_EC_KEY_FILE'],
]) {
  test(`private_key_jwt with an ${kind} key`, async () => {
    const m = new TokenManager({
      clientId: env(clientVar),
      tokenUrl: env('CORTIAUTH_KC_TOKEN_URL_BASE'),
      authMethod: 'private_key_jwt',
      privateKeyFile: env(keyVar),
    })
    const tokens = await Promise.all(Array.from({ length: 100 }, () => m.getAccessToken()))
    assert.equal(new Set(tokens).size, 1)
    assert.equal(claims(tokens[0]).azp, env(clientVar))
    assert.equal(m.stats().tokenRequests, 1)
    const d = m.describe()
    assert.equal(d.auth_method, 'private_key_jwt')
    assert.equal(d.private_key.type, kind)
    assert.match(d.private_key.fingerprint, /^sha256:[0-9a-f]{64}$/)
    const keyLine = readFileSync(env(keyVar), 'utf8').split('\n')[1]
    assert.ok(!inspect(m).includes(keyLine) && !JSON.stringify(d).includes(keyLine))
  })
}

test('a local mistake is a ConfigError naming the setting; an unknown key is invalid_client', async () => {
  const base = { clientId: 'c', tokenUrl: env('CORTIAUTH_KC_TOKEN_URL_BASE'), authMethod: 'private_key_jwt' }
  assert.throws(() => new TokenManager(base), (e) => e.code === 'CORTIAUTH_CONFIG' && /private_key_file/.test(e.message))
  assert.throws(
    () => new TokenManager({ ...base, privateKeyFile: env('CORTIAUTH_KC_JWT_EC_KEY_FILE'), signingAlg: 'RS256' }),
    (e) => e.code === 'CORTIAUTH_CONFIG' && /signing_alg/.test(e.message),
  )
  const m = new TokenManager({
    ...base,
    clientId: env('CORTIAUTH_KC_JWT_RSA_CLIENT_ID'),
    privateKeyFile: env('CORTIAUTH_KC_JWT_EC_KEY_FILE'),
    maxAttempts: 1,
  })
  await assert.rejects(m.getAccessToken(), (e) => e.oauthError === 'invalid_client')
})

test('tls_client_auth: the token is bound to the client certificate', async () => {
  const { createHash, X509Certificate } = await import('node:crypto')
  const cert = readFileSync(env('CORTIAUTH_KC_MTLS_CERT_FILE'))
  const m = new TokenManager({
    clientId: env('CORTIAUTH_KC_MTLS_CLIENT_ID'),
    tokenUrl: env('CORTIAUTH_KC_HTTPS_TOKEN_URL_BASE'),
    authMethod: 'tls_client_auth',
    clientCertificateFile: env('CORTIAUTH_KC_MTLS_CERT_FILE'),
    clientKeyFile: env('CORTIAUTH_KC_MTLS_KEY_FILE'),
    caCertificatesPem: [readFileSync(env('CORTIAUTH_KC_CA_FILE'), 'utf8')],
  })
  const thumbprint = createHash('sha256').update(new X509Certificate(cert).raw).digest('base64url')
  assert.deepEqual(claims(await m.getAccessToken()).cnf, { 'x5t#S256': thumbprint })
  assert.deepEqual(m.describe().client_certificate, { 'x5t#S256': thumbprint })
})

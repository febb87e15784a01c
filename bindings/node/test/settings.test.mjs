// Settings are the core's: the options map onto cortiauth::Settings, describe()
// shows the core's effective settings, and every default, rule and range check
// (defaults, ranges, aliases) comes from the core, not from JavaScript.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { spawnSync } from 'node:child_process'

import { TokenManager, ConfigError, coreVersion } from 'cortiauth'
import { thrown } from './helpers.mjs'

const SECRET = 'settings-test-secret-value'
const base = (extra = {}) => ({ clientId: 'c', clientSecret: SECRET, environment: 'eu', ...extra })


test('describe() is the core description: defaults filled in, secret redacted, binding node', () => {
  const d = new TokenManager(base()).describe()
  assert.equal(d.client_secret, '[REDACTED]')
  assert.ok(!JSON.stringify(d).includes(SECRET))
  // The default timeout is the core's 10 s (the old Python copy said 30 s).
  assert.equal(d.timeout_ms, 10000)
  assert.equal(d.max_attempts, 4)
  assert.equal(d.failure_cooldown_ms, 1000)
  assert.equal(d.refresh_margin_fraction, 0.2)
  assert.equal(d.tenant, 'base')
  assert.deepEqual(d.scopes, ['openid'])
  assert.equal(d.token_url, 'https://auth.eu.corti.app/realms/base/protocol/openid-connect/token')
  assert.equal(d.user_agent, `cortiauth/${coreVersion} (node)`)
  const suffixed = new TokenManager(base({ userAgentSuffix: 'my-app/2' })).describe()
  assert.equal(suffixed.user_agent, `cortiauth/${coreVersion} (node; my-app/2)`)
})

test('every option lands on its core setting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortiauth-settings-'))
  const d = new TokenManager({
    clientId: 'c',
    clientSecret: SECRET,
    tokenUrl: 'http://127.0.0.1:1/token',
    apiBaseUrl: 'https://api.example.test/v2/',
    tenantName: 'copiloteu',
    scopes: 'transcribe streams',
    authMethod: 'basic',
    timeoutMs: 2500,
    backgroundRefresh: true,
    sharedCache: `file://${dir}`,
    retry: { maxAttempts: 6, initialBackoffMs: 250, maxBackoffMs: 2000, deadlineMs: 12000, failureCooldownMs: 3000 },
    refresh: { maxMarginMs: 30000, marginFraction: 0.1, maxExpirySkewMs: 5000, defaultLifetimeMs: 3600000 },
  }).describe()
  assert.deepEqual(
    [d.token_url, d.api_base_url, d.tenant, d.auth_method, d.timeout_ms, d.background_refresh, d.shared_cache],
    ['http://127.0.0.1:1/token', 'https://api.example.test/v2', 'copiloteu', 'client_secret_basic', 2500, true, `file://${dir}`],
  )
  assert.deepEqual(d.scopes, ['openid', 'transcribe', 'streams'])
  assert.deepEqual(
    [d.max_attempts, d.initial_backoff_ms, d.max_backoff_ms, d.retry_deadline_ms, d.failure_cooldown_ms],
    [6, 250, 2000, 12000, 3000],
  )
  assert.deepEqual(
    [d.refresh_margin_ms, d.refresh_margin_fraction, d.expiry_skew_ms, d.default_lifetime_ms],
    [30000, 0.1, 5000, 3600000],
  )
})

test('with retries off the failure cooldown is 0 (core rule), unless set', () => {
  assert.equal(new TokenManager(base({ retry: { maxAttempts: 1 } })).describe().failure_cooldown_ms, 0)
  const set = new TokenManager(base({ retry: { maxAttempts: 1, failureCooldownMs: 500 } })).describe()
  assert.equal(set.failure_cooldown_ms, 500)
})

test('an extra parameter given twice keeps its last value, in first-seen order', () => {
  const pairs = [
    ['audience', 'first'],
    ['resource', 'r'],
    ['audience', 'second'],
  ]
  const d = new TokenManager(base({ extraParams: pairs })).describe()
  assert.deepEqual(d.extra_params, [
    ['audience', 'second'],
    ['resource', 'r'],
  ])
  // The object form keeps the caller's order (the old binding sorted it).
  const o = new TokenManager(base({ extraParams: { resource: 'r', audience: 'a' } })).describe()
  assert.deepEqual(o.extra_params, [
    ['resource', 'r'],
    ['audience', 'a'],
  ])
})

test('clientSecretFile reads the secret; with clientSecret as well the core refuses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortiauth-secret-'))
  const file = join(dir, 'secret')
  writeFileSync(file, `${SECRET}\n`)
  const d = new TokenManager({ clientId: 'c', clientSecretFile: file, environment: 'eu' }).describe()
  assert.equal(d.client_secret_file, file)
  assert.equal(d.client_secret, '[REDACTED]')
  const both = thrown(() => new TokenManager(base({ clientSecretFile: file })))
  assert.ok(both instanceof ConfigError, inspect(both))
  assert.match(both.message, /both a client secret and a client secret file/)
  const missing = thrown(() => new TokenManager({ clientId: 'c', clientSecretFile: join(dir, 'nope'), environment: 'eu' }))
  assert.equal(missing.code, 'CORTIAUTH_CONFIG')
  assert.ok(!missing.message.includes(SECRET))
})

test('fromEnv: CORTI_CLIENT_SECRET_FILE and CORTIAUTH_SHARED_CACHE; an option secret replaces the env file', () => {
  const saved = { ...process.env }
  const dir = mkdtempSync(join(tmpdir(), 'cortiauth-env-'))
  const file = join(dir, 'secret')
  writeFileSync(file, SECRET)
  try {
    for (const k of Object.keys(process.env)) if (k.startsWith('CORTI')) delete process.env[k]
    process.env.CORTI_CLIENT_ID = 'env-client'
    process.env.CORTI_CLIENT_SECRET_FILE = file
    process.env.CORTI_ENVIRONMENT = 'eu'
    process.env.CORTIAUTH_SHARED_CACHE = `file://${dir}`
    const d = TokenManager.fromEnv().describe()
    assert.equal(d.client_secret_file, file)
    assert.equal(d.shared_cache, `file://${dir}`)
    const o = TokenManager.fromEnv({ clientSecret: SECRET }).describe()
    assert.equal(o.client_secret_file, null, 'a secret given as an option replaces the file from the environment')
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
})

test('flat option names set what the old nested ones did, and the old ones warn once', async () => {
  const flat = new TokenManager(
    base({
      maxAttempts: 6,
      initialBackoffMs: 250,
      maxBackoffMs: 2000,
      retryDeadlineMs: 12000,
      failureCooldownMs: 3000,
      refreshMarginMs: 30000,
      refreshMarginFraction: 0.1,
      expirySkewMs: 5000,
      defaultLifetimeMs: 3600000,
      tenant: 'copiloteu',
    }),
  ).describe()
  const nested = new TokenManager(
    base({
      retry: { maxAttempts: 6, initialBackoffMs: 250, maxBackoffMs: 2000, deadlineMs: 12000, failureCooldownMs: 3000 },
      refresh: { maxMarginMs: 30000, marginFraction: 0.1, maxExpirySkewMs: 5000, defaultLifetimeMs: 3600000 },
      tenantName: 'copiloteu',
    }),
  ).describe()
  // The settings only: not the moment each manager loaded its secret.
  delete nested.credential_loaded_at_ms
  delete flat.credential_loaded_at_ms
  assert.deepEqual(nested, flat)
  // In a fresh process (each old name warns once per process): the warnings say what to use.
  const script = `
    const { TokenManager } = require('cortiauth')
    for (let i = 0; i < 2; i++) new TokenManager({ clientId: 'c', clientSecret: 's', environment: 'eu',
      retry: { deadlineMs: 12000 }, tenantName: 'x' })`
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stderr, /DeprecationWarning: the setting name "retry.deadlineMs" is deprecated: use "retryDeadlineMs"/)
  assert.match(run.stderr, /"tenantName" is deprecated: use "tenant"/)
  assert.equal(run.stderr.match(/retry\.deadlineMs/g).length, 1, run.stderr)
})

test('absurd durations are a ConfigError at construction, from the core', () => {
  const cases = [
    [{ retry: { deadlineMs: 1e22 } }, /retry.deadlineMs|retry_deadline/],
    [{ timeoutMs: 1e300 }, /timeoutMs/],
    [{ timeoutMs: Number.NaN }, /timeoutMs/],
    [{ timeoutMs: Infinity }, /timeoutMs/],
    [{ retry: { deadlineMs: 1e15 } }, /retry_deadline must be/],
    [{ timeoutMs: 0 }, /timeout must be/],
    [{ refresh: { maxMarginMs: -5 } }, /refresh.maxMarginMs/],
    [{ refresh: { marginFraction: 1.5 } }, /refresh_margin_fraction/],
    [{ refresh: { defaultLifetimeMs: 10 } }, /default_lifetime/],
    [{ retry: { maxAttempts: 1e22 } }, /max_attempts/],
    [{ maxAttempts: 1e22 }, /max_attempts/],
    [{ retry: { maxAttempts: 2.5 } }, /retry.maxAttempts/],
  ]
  for (const [extra, pattern] of cases) {
    const e = thrown(() => new TokenManager(base(extra)))
    assert.ok(e instanceof ConfigError, `${inspect(extra)}: ${inspect(e)}`)
    assert.match(e.message, pattern, inspect(extra))
  }
})

test('unknown options get a "did you mean" (the core\'s), wrong types never echo the value', () => {
  for (const [extra, pattern] of [
    [{ clientID: 'x' }, /unknown setting "clientID" \(did you mean "clientId"\?\)/],
    [{ client_secret_file: 'x' }, /did you mean "clientSecretFile"/],
    [{ shared_cache: 'x' }, /did you mean "sharedCache"/],
    [{ timeout: 100 }, /did you mean "timeoutMs"/],
    [{ retry: { deadline: 1 } }, /unknown setting "retry.deadline" \(did you mean "retryDeadlineMs"\?\)/],
    [{ refresh: { bogus: 1 } }, /unknown setting "refresh.bogus": describe\(\) lists/],
    [{ timeoutMs: '100' }, /timeoutMs must be a number of milliseconds/],
    [{ sharedCache: 42 }, /sharedCache must be a string/],
    [{ extraParams: [['audience']] }, /extraParams must be/],
  ]) {
    const e = thrown(() => new TokenManager(base(extra)))
    assert.equal(e.code, 'CORTIAUTH_CONFIG', inspect(extra))
    assert.match(e.message, pattern)
  }
  const e = thrown(() => new TokenManager({ clientId: 'c', clientSecret: 987654321, environment: 'eu' }))
  assert.ok(!e.message.includes('987654321'))
})

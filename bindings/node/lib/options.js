'use strict'
// The options object → the addon's shape. Checks only what the core cannot see:
// unknown option names ("did you mean …?") and JavaScript types (so that a wrong
// type never reaches the addon, whose conversion errors would echo the value).
// Defaults, ranges and every rule are the core's (`cortiauth::Settings::build`).

const { configError } = require('./errors.js')

const STRING_OPTIONS = [
  'clientId',
  'clientSecret',
  'clientSecretFile',
  'environment',
  'tenantName',
  'tokenUrl',
  'apiBaseUrl',
  'authMethod',
  'sharedCache',
  'userAgentSuffix',
]
const KNOWN_OPTIONS = [
  ...STRING_OPTIONS,
  'scopes',
  'timeoutMs',
  'backgroundRefresh',
  'caCertificates',
  'extraParams',
  'retry',
  'refresh',
]
const RETRY_OPTIONS = ['maxAttempts', 'initialBackoffMs', 'maxBackoffMs', 'deadlineMs', 'failureCooldownMs']
const REFRESH_OPTIONS = ['maxMarginMs', 'marginFraction', 'maxExpirySkewMs', 'defaultLifetimeMs']

/** Names people carry over from the environment variables, Python or the CLI. */
const LIKELY_MEANT = {
  tenant: 'tenantName',
  tenant_name: 'tenantName',
  client_id: 'clientId',
  client_secret: 'clientSecret',
  client_secret_file: 'clientSecretFile',
  secret: 'clientSecret',
  scope: 'scopes',
  timeout: 'timeoutMs',
  token_url: 'tokenUrl',
  api_base_url: 'apiBaseUrl',
  shared_cache: 'sharedCache',
  env: 'environment',
  maxAttempts: 'retry.maxAttempts',
  max_attempts: 'retry.maxAttempts',
  retryDeadlineMs: 'retry.deadlineMs',
  refreshMarginMs: 'refresh.maxMarginMs',
}

/** Edit distance, for "did you mean" on typos (`clientID`, `tokenURL`). */
function distance(a, b) {
  a = a.toLowerCase()
  b = b.toLowerCase()
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}

function unknownOption(prefix, key, known) {
  let hint = prefix === '' ? LIKELY_MEANT[key] : undefined
  if (hint === undefined) {
    const close = known.filter((k) => distance(k, key) <= 2)
    if (close.length === 1) hint = prefix + close[0]
  }
  const suffix = hint ? ` (did you mean ${hint}?)` : ` (known: ${known.join(', ')})`
  return configError(`unknown option ${prefix}${key}${suffix}`)
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

const given = (v) => v !== undefined && v !== null

function number(name, v) {
  if (typeof v !== 'number') throw configError(`${name} must be a number`)
  return v
}

function nested(name, value, keys) {
  if (!isPlainObject(value)) throw configError(`${name} must be an object`)
  const out = {}
  for (const [key, v] of Object.entries(value)) {
    if (!keys.includes(key)) throw unknownOption(`${name}.`, key, keys)
    if (given(v)) out[key] = number(`${name}.${key}`, v)
  }
  return out
}

function pemText(v) {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')
  throw configError('caCertificates must be a PEM string or Buffer, or an array of them')
}

/** `{ name: value }` or `[[name, value], …]` (a name may repeat: the last value wins, in core). */
function extraParams(v) {
  const pairs = Array.isArray(v) ? v : isPlainObject(v) ? Object.entries(v) : null
  if (pairs === null) throw configError('extraParams must be an object of strings or an array of [name, value] pairs')
  return pairs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
      throw configError('extraParams must be an object of strings or an array of [name, value] pairs')
    }
    if (typeof pair[1] !== 'string') throw configError(`extraParams.${pair[0]} must be a string`)
    return { name: pair[0], value: pair[1] }
  })
}

/** Checks the caller's options and turns them into the addon's shape. Never echoes values. */
function nativeOptions(options) {
  if (!given(options)) return {}
  if (!isPlainObject(options)) throw configError('options must be an object')
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) throw unknownOption('', key, KNOWN_OPTIONS)
  }
  const out = {}
  for (const key of STRING_OPTIONS) {
    const v = options[key]
    if (!given(v)) continue
    if (typeof v !== 'string') throw configError(`${key} must be a string`)
    out[key] = v
  }
  const { scopes, timeoutMs, backgroundRefresh, caCertificates, retry, refresh } = options
  if (given(scopes)) {
    // A string may hold several space-separated scopes: the core splits it.
    if (typeof scopes === 'string') out.scopes = [scopes]
    else if (Array.isArray(scopes) && scopes.every((s) => typeof s === 'string')) out.scopes = [...scopes]
    else throw configError('scopes must be a string or an array of strings')
  }
  if (given(timeoutMs)) out.timeoutMs = number('timeoutMs', timeoutMs)
  if (given(backgroundRefresh)) {
    if (typeof backgroundRefresh !== 'boolean') throw configError('backgroundRefresh must be a boolean')
    out.backgroundRefresh = backgroundRefresh
  }
  if (given(caCertificates)) {
    out.caCertificatesPem = (Array.isArray(caCertificates) ? caCertificates : [caCertificates]).map(pemText)
  }
  if (given(options.extraParams)) out.extraParams = extraParams(options.extraParams)
  if (given(retry)) out.retry = nested('retry', retry, RETRY_OPTIONS)
  if (given(refresh)) out.refresh = nested('refresh', refresh, REFRESH_OPTIONS)
  return out
}

module.exports = { nativeOptions }

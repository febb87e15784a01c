'use strict'
// cortiauth for Node.js: a thin layer over the native addon (Rust core).
//
// The addon does the work (cache, single flight, refresh ahead, retries, errors);
// this file checks options, maps the core's error kinds to Error subclasses with a
// stable `code` (in one place: `toError`), keeps secrets out of every printed form,
// and adds the `fetch` wrapper. No runtime dependencies.

const { existsSync, readFileSync } = require('node:fs')
const { join } = require('node:path')

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom')
const REDACTED = '[REDACTED]'

// ---------------------------------------------------------------------------
// Loading the addon

function isMusl() {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    // No ldd: ask the process report whether glibc is there.
  }
  try {
    const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
    return report ? !report.header?.glibcVersionRuntime : false
  } catch {
    return false
  }
}

function platformTriple() {
  const { platform, arch } = process
  switch (platform) {
    case 'linux':
      if (arch === 'arm') return 'linux-arm-gnueabihf'
      return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
    case 'win32':
      return `win32-${arch}-msvc`
    case 'darwin':
      return `darwin-${arch}`
    default:
      return `${platform}-${arch}`
  }
}

function loadNative() {
  const candidates = [`cortiauth.${platformTriple()}.node`, 'cortiauth.node']
  for (const name of candidates) {
    const path = join(__dirname, name)
    if (existsSync(path)) return require(path)
  }
  const error = new Error(
    `cortiauth: no native addon for ${process.platform}-${process.arch} in ${__dirname} ` +
      `(looked for ${candidates.join(', ')}): build it from source with \`npm run build\` in bindings/node`,
  )
  error.code = 'CORTIAUTH_NATIVE_MISSING'
  throw error
}

const native = loadNative()

// ---------------------------------------------------------------------------
// Errors

/** Stable error codes, one per core error kind. */
const ErrorCode = Object.freeze({
  CONFIG: 'CORTIAUTH_CONFIG',
  OAUTH: 'CORTIAUTH_OAUTH',
  HTTP: 'CORTIAUTH_HTTP',
  NETWORK: 'CORTIAUTH_NETWORK',
  TIMEOUT: 'CORTIAUTH_TIMEOUT',
  INVALID_RESPONSE: 'CORTIAUTH_INVALID_RESPONSE',
  INTERNAL: 'CORTIAUTH_INTERNAL',
})

/** Base class of every error cortiauth throws. `code` is stable; `message` is for people. */
class CortiAuthError extends Error {
  constructor(message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = details.code ?? ErrorCode.INTERNAL
    this.kind = details.kind ?? 'internal'
    /** OAuth `error` code from the token endpoint (`invalid_client`, …), or null. */
    this.oauthError = details.oauthError ?? null
    this.oauthErrorDescription = details.oauthErrorDescription ?? null
    this.oauthErrorUri = details.oauthErrorUri ?? null
    /** HTTP status of the token endpoint's answer, or null. */
    this.status = details.status ?? null
    /** Whether trying again later may succeed. */
    this.transient = details.transient ?? false
  }
}
Object.defineProperty(CortiAuthError.prototype, 'name', { value: 'CortiAuthError', writable: true, configurable: true })

function errorClass(name, code, kind) {
  const cls = {
    [name]: class extends CortiAuthError {
      constructor(message, details = {}) {
        super(message, { ...details, code, kind })
      }
    },
  }[name]
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true })
  return cls
}

/** Missing or invalid settings (thrown by the constructor and `fromEnv`). */
const ConfigError = errorClass('ConfigError', ErrorCode.CONFIG, 'config')
/** The token endpoint answered with an OAuth error (`invalid_client`, `invalid_scope`, …). */
const OAuthError = errorClass('OAuthError', ErrorCode.OAUTH, 'oauth')
/** The token endpoint answered with an HTTP error that is no OAuth error (404, 502, …). */
const HttpError = errorClass('HttpError', ErrorCode.HTTP, 'http')
/** The token endpoint could not be reached (DNS, refused, TLS, …). */
const NetworkError = errorClass('NetworkError', ErrorCode.NETWORK, 'network')
/** The token endpoint did not answer in time. */
const TimeoutError = errorClass('TimeoutError', ErrorCode.TIMEOUT, 'timeout')
/** The token endpoint answered 2xx with something that is no usable token response. */
const InvalidResponseError = errorClass('InvalidResponseError', ErrorCode.INVALID_RESPONSE, 'invalid_response')
/** A bug in cortiauth (a Rust panic, caught at the boundary). */
const InternalError = errorClass('InternalError', ErrorCode.INTERNAL, 'internal')

const CLASS_OF_KIND = {
  config: ConfigError,
  oauth: OAuthError,
  http: HttpError,
  network: NetworkError,
  timeout: TimeoutError,
  invalid_response: InvalidResponseError,
  internal: InternalError,
}

/** The one place where a native error descriptor becomes a JavaScript error. */
function toError(d) {
  let cause
  const causes = Array.isArray(d.causes) ? d.causes : []
  for (let i = causes.length - 1; i >= 0; i--) {
    cause = new Error(causes[i], cause === undefined ? undefined : { cause })
  }
  const Class = CLASS_OF_KIND[d.kind] ?? InternalError
  return new Class(d.message, {
    oauthError: d.oauthError,
    oauthErrorDescription: d.oauthErrorDescription,
    oauthErrorUri: d.oauthErrorUri,
    status: d.status,
    transient: d.transient,
    cause,
  })
}

/** Something the addon threw (a caught panic): never a token error. */
function fromThrown(e) {
  if (e instanceof CortiAuthError) return e
  const message = e instanceof Error ? e.message : String(e)
  return new InternalError(message.startsWith('cortiauth') ? message : `cortiauth internal error: ${message}`, {
    cause: e,
  })
}

function isFailure(v) {
  return v !== null && typeof v === 'object' && typeof v.kind === 'string' && typeof v.message === 'string'
}

// ---------------------------------------------------------------------------
// Options

const STRING_OPTIONS = [
  'clientId',
  'clientSecret',
  'environment',
  'tenantName',
  'tokenUrl',
  'apiBaseUrl',
  'authMethod',
  'userAgentSuffix',
]
const KNOWN_OPTIONS = new Set([
  ...STRING_OPTIONS,
  'scopes',
  'timeoutMs',
  'backgroundRefresh',
  'caCertificates',
  'extraParams',
  'retry',
  'refresh',
])
const LIKELY_MEANT = {
  tenant: 'tenantName',
  tenant_name: 'tenantName',
  client_id: 'clientId',
  client_secret: 'clientSecret',
  secret: 'clientSecret',
  scope: 'scopes',
  timeout: 'timeoutMs',
  token_url: 'tokenUrl',
  env: 'environment',
}
const RETRY_OPTIONS = ['maxAttempts', 'initialBackoffMs', 'maxBackoffMs', 'deadlineMs', 'failureCooldownMs']
const REFRESH_OPTIONS = ['maxMarginMs', 'marginFraction', 'maxExpirySkewMs', 'defaultLifetimeMs']

function configError(message) {
  return new ConfigError(`configuration error: ${message}`)
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function numberOption(name, v, { integer = false, min = 0 } = {}) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw configError(`${name} must be a${integer ? 'n integer' : ' number'} >= ${min}`)
  }
  return v
}

function nestedOptions(name, value, keys) {
  if (!isPlainObject(value)) throw configError(`${name} must be an object`)
  const out = {}
  for (const [key, v] of Object.entries(value)) {
    if (!keys.includes(key)) throw configError(`unknown option ${name}.${key} (known: ${keys.join(', ')})`)
    if (v === undefined || v === null) continue
    out[key] = numberOption(`${name}.${key}`, v, key === 'maxAttempts' ? { integer: true, min: 1 } : {})
  }
  return out
}

function pemText(v) {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')
  throw configError('caCertificates must be a PEM string or Buffer, or an array of them')
}

/** Checks the caller's options and turns them into the addon's shape. Never echoes values. */
function nativeOptions(options) {
  if (options === undefined || options === null) return {}
  if (!isPlainObject(options)) throw configError('options must be an object')
  const out = {}
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      const hint = LIKELY_MEANT[key] ? ` (did you mean ${LIKELY_MEANT[key]}?)` : ''
      throw configError(`unknown option ${key}${hint}`)
    }
  }
  for (const key of STRING_OPTIONS) {
    const v = options[key]
    if (v === undefined || v === null) continue
    if (typeof v !== 'string') throw configError(`${key} must be a string`)
    out[key] = v
  }
  const { scopes, timeoutMs, backgroundRefresh, caCertificates, extraParams, retry, refresh } = options
  if (scopes !== undefined && scopes !== null) {
    if (typeof scopes === 'string') out.scopes = scopes.split(/\s+/).filter(Boolean)
    else if (Array.isArray(scopes) && scopes.every((s) => typeof s === 'string')) out.scopes = [...scopes]
    else throw configError('scopes must be a string or an array of strings')
  }
  if (timeoutMs !== undefined && timeoutMs !== null) {
    out.timeoutMs = numberOption('timeoutMs', timeoutMs)
    if (out.timeoutMs === 0) throw configError('timeoutMs must be greater than zero')
  }
  if (backgroundRefresh !== undefined && backgroundRefresh !== null) {
    if (typeof backgroundRefresh !== 'boolean') throw configError('backgroundRefresh must be a boolean')
    out.backgroundRefresh = backgroundRefresh
  }
  if (caCertificates !== undefined && caCertificates !== null) {
    out.caCertificatesPem = (Array.isArray(caCertificates) ? caCertificates : [caCertificates]).map(pemText)
  }
  if (extraParams !== undefined && extraParams !== null) {
    if (!isPlainObject(extraParams)) throw configError('extraParams must be an object of strings')
    for (const [k, v] of Object.entries(extraParams)) {
      if (typeof v !== 'string') throw configError(`extraParams.${k} must be a string`)
    }
    out.extraParams = { ...extraParams }
  }
  if (retry !== undefined && retry !== null) out.retry = nestedOptions('retry', retry, RETRY_OPTIONS)
  if (refresh !== undefined && refresh !== null) {
    out.refresh = nestedOptions('refresh', refresh, REFRESH_OPTIONS)
    if (out.refresh.marginFraction !== undefined && out.refresh.marginFraction > 1) {
      throw configError('refresh.marginFraction must be between 0 and 1')
    }
  }
  return out
}

// ---------------------------------------------------------------------------
// Values handed out

/** An access token and what the server said about it. Printing it hides the value. */
class Token {
  constructor(t) {
    /** The raw token. Never log it. */
    this.accessToken = t.accessToken
    /** When the token expires, on the wall clock. */
    this.expiresAt = new Date(t.expiresAtMs)
    /** Whole seconds left before expiry, now (an own enumerable getter: spread and JSON keep it). */
    Object.defineProperty(this, 'expiresIn', { get: expiresIn, enumerable: true })
    /** As the server sent it (`Bearer`). */
    this.tokenType = t.tokenType
    /** The scope the server granted, or null when it did not say. */
    this.scope = t.scope ?? null
    Object.freeze(this)
  }

  toString() {
    return `Token(${this.tokenType}, expires ${this.expiresAt.toISOString()})`
  }

  [inspectSymbol](depth, options, inspect) {
    const shown = { ...this, accessToken: REDACTED }
    return `Token ${typeof inspect === 'function' ? inspect(shown, options) : JSON.stringify(shown)}`
  }
}

// Headers objects inherit their redacting inspect from here: an own symbol key would
// break `new Headers(h)` (undici converts every own key of a record, enumerable or not).
const HEADERS_PROTOTYPE = Object.create(Object.prototype, {
  [inspectSymbol]: {
    value(depth, options, inspect) {
      const shown = { ...this, Authorization: `Bearer ${REDACTED}` }
      return typeof inspect === 'function' ? inspect(shown, options) : JSON.stringify(shown)
    },
  },
})

function expiresIn() {
  return Math.max(0, Math.floor((this.expiresAt.getTime() - Date.now()) / 1000))
}

function redactedHeaders(authorization, tenantName) {
  const headers = Object.create(HEADERS_PROTOTYPE)
  headers.Authorization = authorization
  headers['Tenant-Name'] = tenantName
  return headers
}

const BEARER = /^bearer\s+/i
const FROM_ENV = Symbol('cortiauth.fromEnv')

// ---------------------------------------------------------------------------
// The token manager

/**
 * Hands out valid access tokens for one OAuth client, fetching one per token
 * lifetime however many callers ask at once. Build one per client and share it.
 */
class TokenManager {
  #native
  #tenantName
  /** Native functions bound to this manager: the stamp of the cached token (0: none), and the same fetching if needed. */
  #cachedStamp
  #stampSyncFn
  /** The one pool task in flight: concurrent callers share it instead of each holding a pool thread. */
  #pending = null
  /** The token string made for stamp `#valueStamp` (see native.d.ts: stamps name tokens). */
  #value = null
  #valueStamp = 0
  /** The Token object made for stamp `#tokenStamp`. */
  #token = null
  #tokenStamp = 0

  /**
   * @param {object} options clientId, clientSecret, environment, tenantName ('base'),
   *   scopes, tokenUrl, authMethod, timeoutMs, … (see index.d.ts)
   */
  constructor(options = {}, _mode = undefined) {
    const prepared = nativeOptions(options)
    let created
    try {
      created = native.createManager(prepared, _mode === FROM_ENV)
    } catch (e) {
      throw fromThrown(e)
    } finally {
      // Do not keep a copy of the secret on the JavaScript side.
      prepared.clientSecret = undefined
    }
    if (isFailure(created)) throw toError(created)
    this.#native = created
    this.#tenantName = created.tenantName
    this.#cachedStamp = created.cachedStampFn()
    this.#stampSyncFn = created.stampSyncFn()
  }

  /**
   * A manager configured from CORTI_CLIENT_ID, CORTI_CLIENT_SECRET, CORTI_ENVIRONMENT,
   * CORTI_TENANT_NAME, CORTI_TOKEN_URL and CORTI_SCOPES; `overrides` win over them.
   */
  static fromEnv(overrides = {}) {
    return new TokenManager(overrides, FROM_ENV)
  }

  /** The shared pool task: resolves to a native token or an error descriptor. */
  #acquire() {
    if (this.#pending === null) {
      let task
      try {
        task = this.#native.tokenAsync()
      } catch (e) {
        return Promise.reject(fromThrown(e))
      }
      this.#pending = task.then(
        (r) => {
          this.#pending = null
          return r
        },
        (e) => {
          this.#pending = null
          throw fromThrown(e)
        },
      )
    }
    return this.#pending
  }

  /** The string of the token named by `stamp` (made once per token). */
  #valueFor(stamp) {
    if (stamp !== this.#valueStamp) {
      this.#value = this.#native.seenAccessToken()
      this.#valueStamp = stamp
    }
    return this.#value
  }

  /** The Token named by `stamp` (made once per token; it is immutable). */
  #tokenFor(stamp) {
    if (stamp !== this.#tokenStamp) {
      this.#token = new Token(this.#native.seenToken())
      this.#tokenStamp = stamp
    }
    return this.#token
  }

  #stampSync() {
    let r
    try {
      r = this.#stampSyncFn()
    } catch (e) {
      throw fromThrown(e)
    }
    if (typeof r === 'number') return r
    throw toError(r)
  }

  /**
   * A valid access token. A cached one resolves at once (no thread hop); otherwise it
   * is fetched on the libuv thread pool, once for all concurrent callers.
   * @returns {Promise<string>}
   */
  getAccessToken() {
    let stamp
    try {
      stamp = this.#cachedStamp()
    } catch (e) {
      return Promise.reject(fromThrown(e))
    }
    if (stamp !== 0) return Promise.resolve(this.#valueFor(stamp))
    return this.#acquire().then(tokenValue)
  }

  /** A valid access token, fetched on this thread if needed (blocks the event loop: for scripts). */
  getAccessTokenSync() {
    return this.#valueFor(this.#stampSync())
  }

  /** A valid token with its expiry, type and scope. @returns {Promise<Token>} */
  getToken() {
    let stamp
    try {
      stamp = this.#cachedStamp()
    } catch (e) {
      return Promise.reject(fromThrown(e))
    }
    if (stamp !== 0) return Promise.resolve(this.#tokenFor(stamp))
    return this.#acquire().then(tokenObject)
  }

  /** `getToken()` on this thread (blocks the event loop if a fetch is needed). */
  getTokenSync() {
    return this.#tokenFor(this.#stampSync())
  }

  /** `{ Authorization: 'Bearer …', 'Tenant-Name': … }` for a Corti API call. */
  headers() {
    return this.getAccessToken().then((token) => this.#headersFor(token))
  }

  /** `headers()` on this thread (blocks the event loop if a fetch is needed). */
  headersSync() {
    return this.#headersFor(this.getAccessTokenSync())
  }

  #headersFor(token) {
    return redactedHeaders(`Bearer ${token}`, this.#tenantName)
  }

  /** The stream URL returned by the API with `token=Bearer%20…` appended. */
  websocketUrl(streamUrl) {
    if (typeof streamUrl !== 'string') return Promise.reject(configError('streamUrl must be a string'))
    let task
    try {
      task = this.#native.websocketUrlAsync(streamUrl)
    } catch (e) {
      return Promise.reject(fromThrown(e))
    }
    return task.then(stringOrThrow, (e) => {
      throw fromThrown(e)
    })
  }

  /** `websocketUrl()` on this thread (blocks the event loop if a fetch is needed). */
  websocketUrlSync(streamUrl) {
    if (typeof streamUrl !== 'string') throw configError('streamUrl must be a string')
    let r
    try {
      r = this.#native.websocketUrlSync(streamUrl)
    } catch (e) {
      throw fromThrown(e)
    }
    return stringOrThrow(r)
  }

  /**
   * Drops the cached token if it is still `rejected` (the API answered 401 to it);
   * accepts the token, `Bearer <token>` or a Token. Returns whether it was dropped:
   * a burst of 401s for one token causes one refresh.
   */
  invalidate(rejected) {
    const value = rejected instanceof Token ? rejected.accessToken : rejected
    if (typeof value !== 'string') throw configError('invalidate() takes the rejected token (a string or a Token)')
    let dropped
    try {
      dropped = this.#native.invalidate(value.replace(BEARER, ''))
    } catch (e) {
      throw fromThrown(e)
    }
    if (dropped) {
      // Let go of the strings made for it (the core has dropped the token itself).
      this.#value = this.#token = null
      this.#valueStamp = this.#tokenStamp = 0
    }
    return dropped
  }

  /** Counters: `{ tokenRequests, cacheHits, refreshes, failures, lastErrorKind }`. */
  stats() {
    let s
    try {
      s = this.#native.stats()
    } catch (e) {
      throw fromThrown(e)
    }
    return {
      tokenRequests: s.tokenRequests,
      cacheHits: s.cacheHits,
      refreshes: s.refreshes,
      failures: s.failures,
      lastErrorKind: s.lastErrorKind ?? null,
    }
  }

  /** `https://api.{environment}.corti.app/v2`, or null when no environment is configured. */
  get apiBaseUrl() {
    return this.#native.apiBaseUrl ?? null
  }

  get clientId() {
    return this.#native.clientId
  }

  get tenantName() {
    return this.#tenantName
  }

  get environment() {
    return this.#native.environment ?? null
  }

  get tokenUrl() {
    return this.#native.tokenUrl
  }

  /** The scopes sent, `openid` first. */
  get scopes() {
    return this.#native.scopes
  }

  get authMethod() {
    return this.#native.authMethod
  }

  /**
   * The global `fetch` with `Authorization` and `Tenant-Name` added. On a 401 the
   * token is invalidated and the request sent once more with a fresh one (unless
   * its body is a stream, which cannot be sent twice). A relative URL (`/interactions`)
   * is appended to `apiBaseUrl`.
   * @returns {Promise<Response>}
   */
  async fetch(input, init = undefined) {
    const fetchImpl = globalThis.fetch
    if (typeof fetchImpl !== 'function') {
      throw new InternalError('cortiauth: manager.fetch needs the global fetch (Node.js 18 or later)')
    }
    if (typeof input === 'string' && input.startsWith('/')) {
      const base = this.apiBaseUrl
      if (base === null) {
        throw configError(`relative URL ${JSON.stringify(input)} needs an apiBaseUrl (set environment or apiBaseUrl)`)
      }
      input = base.replace(/\/+$/, '') + input
    }
    const isRequest = typeof Request === 'function' && input instanceof Request
    const body = init?.body
    const replayable = isRequest
      ? init?.body !== undefined
        ? !isStream(body)
        : true
      : !isStream(body)
    // A Request's body can be read once: keep a copy for the retry.
    const spare = isRequest && init?.body === undefined && input.body !== null ? input.clone() : null
    const baseHeaders = init?.headers ?? (isRequest ? input.headers : undefined)

    const send = (target, token) => {
      const headers = new Headers(baseHeaders)
      headers.set('Authorization', `Bearer ${token}`)
      headers.set('Tenant-Name', this.#tenantName)
      return fetchImpl(target, { ...init, headers })
    }

    const token = await this.getAccessToken()
    const response = await send(input, token)
    if (response.status !== 401 || !replayable) return response
    this.invalidate(token)
    try {
      await response.body?.cancel()
    } catch {
      // The first answer is dropped either way.
    }
    return send(spare ?? input, await this.getAccessToken())
  }

  toString() {
    return `TokenManager(${this.clientId} @ ${this.tokenUrl})`
  }

  toJSON() {
    return { clientId: this.clientId, tenantName: this.tenantName, tokenUrl: this.tokenUrl }
  }

  [inspectSymbol](depth, options, inspect) {
    const shown = {
      clientId: this.clientId,
      clientSecret: REDACTED,
      tenantName: this.tenantName,
      tokenUrl: this.tokenUrl,
      authMethod: this.authMethod,
      scopes: this.scopes,
      stats: this.stats(),
    }
    return `TokenManager ${typeof inspect === 'function' ? inspect(shown, options) : JSON.stringify(shown)}`
  }
}

function isStream(body) {
  return (
    body !== null &&
    typeof body === 'object' &&
    (typeof body.getReader === 'function' ||
      typeof body.pipe === 'function' ||
      typeof body[Symbol.asyncIterator] === 'function')
  )
}

function tokenValue(r) {
  if (isFailure(r)) throw toError(r)
  return r.accessToken
}

function tokenObject(r) {
  if (isFailure(r)) throw toError(r)
  return new Token(r)
}

function stringOrThrow(r) {
  if (typeof r === 'string') return r
  throw toError(r)
}

const version = require('./package.json').version

module.exports = {
  TokenManager,
  Token,
  CortiAuthError,
  ConfigError,
  OAuthError,
  HttpError,
  NetworkError,
  TimeoutError,
  InvalidResponseError,
  InternalError,
  ErrorCode,
  version,
  coreVersion: native.coreVersion(),
}

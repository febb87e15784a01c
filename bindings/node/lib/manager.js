'use strict'
// The token manager: a thin layer over the addon. The token cache, single flight,
// refresh ahead and stale-while-revalidate are the core's; nothing here keeps a
// token's validity or an in-flight request. A usable token is read synchronously
// through the core's `try_token()` (also in the refresh window: the core starts the
// refresh on its worker thread and hands out the current token); otherwise the
// core's `token_then()` joins its one token request and the core's worker thread
// settles the Promise (a threadsafe function: the libuv pool is not used).

const native = require('./native.js')
const { toError, fromThrown, isFailure, configError } = require('./errors.js')
const { nativeOptions } = require('./options.js')
const { authorizedFetch } = require('./fetch.js')
const { deliver } = require('./events.js')

/** What the hot path's NaN stamp stands for: a panic caught in the native call. */
const panicked = () => fromThrown(new Error('cortiauth internal error: panic in cachedStamp'))

/** Called as `cachedStamp.call(handle)` → stamp: one native function for every manager (one call target on the hot path; the handle as the receiver copies no argument). */
const cachedStamp = native.cachedStampFunction()

// The core's events (a token fetched, a fetch failed, a token from the shared
// cache, a shared-cache error, a credential reloaded, a token rejected) arrive
// here on this thread, queued by the core's worker: lib/events.js publishes them
// on diagnostics_channel `cortiauth`. Never on the cached path.
native.setEventSink(deliver)

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom')
const REDACTED = '[REDACTED]'

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

function expiresIn() {
  return Math.max(0, Math.floor((this.expiresAt.getTime() - Date.now()) / 1000))
}

// Headers objects inherit their redacting inspect from here: an own symbol key would
// break `new Headers(h)` (undici converts every own key of a record, enumerable or not).
const HEADERS_PROTOTYPE = Object.create(Object.prototype, {
  [inspectSymbol]: {
    value(depth, options, inspect) {
      // The scheme stays visible (it is the core's: the text before the first space).
      const scheme = String(this.Authorization).split(' ', 1)[0]
      const shown = { ...this, Authorization: `${scheme} ${REDACTED}` }
      return typeof inspect === 'function' ? inspect(shown, options) : JSON.stringify(shown)
    },
  },
})

function redactedHeaders(authorization, tenantName) {
  const headers = Object.create(HEADERS_PROTOTYPE)
  headers.Authorization = authorization
  headers['Tenant-Name'] = tenantName
  return headers
}

const FROM_ENV = Symbol('cortiauth.fromEnv')

/** An old option name: one DeprecationWarning per name and process. */
const warned = new Set()
function warnOnce(warning) {
  if (warned.has(warning)) return
  warned.add(warning)
  process.emitWarning(warning, { type: 'DeprecationWarning', code: 'CORTIAUTH_DEPRECATED_OPTION' })
}

/** The core's describe string of a manager (for the parity runner: byte-identical). */
let describeJsonOf

/**
 * Hands out valid access tokens for one OAuth client, fetching one per token
 * lifetime however many callers ask at once. Build one per client and share it.
 */
class TokenManager {
  #native
  #tenantName
  /** This manager's handle for `cachedStamp` (the stamp of the core's `try_token()`; 0: none without waiting). */
  #stampHandle
  /** The native `token()` on this thread, bound to this manager. */
  #stampSync = null
  // The strings made for the last token the core handed out, named by its stamp, so
  // that a cached read copies nothing. No cache: the core decides at every call
  // whether a token is handed out (a stamp of 0 means it is not).
  #value = null
  #valueStamp = 0
  /** A Promise resolved with `#value` (immutable once settled: every cached call may share it). */
  #valuePromise = null
  /** -1: none (a stamp is ≥ 0, 0 meaning no token; NaN never equals it). */
  #valuePromiseStamp = -1
  #header = null
  #headerStamp = 0
  #token = null
  #tokenStamp = 0

  static {
    describeJsonOf = (m) => m.#native.describeJson()
  }

  /**
   * @param {object} options clientId, clientSecret, environment, tenantName ('base'),
   *   scopes, tokenUrl, authMethod, timeoutMs, … (see index.d.ts and the README's table)
   */
  constructor(options = {}, _mode = undefined) {
    const prepared = nativeOptions(options)
    let created
    try {
      created = native.createManager(prepared.settings, prepared.userAgentSuffix, _mode === FROM_ENV)
    } catch (e) {
      throw fromThrown(e)
    } finally {
      // Do not keep a copy of the secret on the JavaScript side.
      prepared.settings.length = 0
    }
    if (isFailure(created)) throw toError(created)
    for (const warning of created.deprecations()) warnOnce(warning)
    this.#native = created
    this.#tenantName = created.tenantName
    this.#stampHandle = created.cachedStampHandle()
  }

  /**
   * A manager configured from the CORTI_* variables (and CORTIAUTH_SHARED_CACHE);
   * `overrides` win over them.
   */
  static fromEnv(overrides = {}) {
    return new TokenManager(overrides, FROM_ENV)
  }

  /** The string of the token named by `stamp` (made once per token). */
  #valueFor(stamp) {
    if (stamp !== this.#valueStamp) {
      this.#value = this.#native.seenAccessToken()
      this.#valueStamp = stamp
    }
    return this.#value
  }

  /** The core's `Authorization` value for the token named by `stamp` (made once per token). */
  #headerFor(stamp) {
    if (stamp !== this.#headerStamp) {
      this.#header = this.#native.seenAuthorization()
      this.#headerStamp = stamp
    }
    return this.#header
  }

  /** The Token named by `stamp` (made once per token; it is immutable). */
  #tokenFor(stamp) {
    if (stamp !== this.#tokenStamp) {
      this.#token = new Token(this.#native.seenToken())
      this.#tokenStamp = stamp
    }
    return this.#token
  }

  /**
   * The core's `token_then()`: a native token (with its stamp) when the core answers
   * without waiting, else the Promise the core's worker thread settles when the one
   * token request ends (every caller joins it: the core's single flight). It rejects
   * with the error. Nothing about the token is kept here.
   */
  #fromCore() {
    let r
    try {
      r = this.#native.tokenThen()
    } catch (e) {
      return Promise.reject(fromThrown(e))
    }
    if (r instanceof Promise) return r.then(nativeToken)
    try {
      return Promise.resolve(nativeToken(r))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  #syncStamp() {
    // A usable token through the shared hot-path function (one call target for
    // every manager: a per-manager function here cost ~20 ns more per call once a
    // second manager was used); the core's blocking `token()` only without one.
    const cached = cachedStamp.call(this.#stampHandle)
    return cached > 0 ? cached : this.#fetchStampSync()
  }

  #fetchStampSync() {
    let r
    try {
      // Made on first use: most programs never call a Sync variant.
      this.#stampSync ??= this.#native.stampSyncFn()
      r = this.#stampSync()
    } catch (e) {
      throw fromThrown(e)
    }
    if (typeof r === 'number') return r
    throw toError(r)
  }

  /**
   * A valid access token. A cached one resolves at once (no thread hop); otherwise the
   * core's one token request for all callers is awaited (not on the libuv pool).
   * @returns {Promise<string>}
   */
  getAccessToken() {
    // The hot path, kept small so that V8 inlines it into the caller (a try/catch
    // here cost ~20 ns in a large calling function): the core hands out the token
    // whose settled Promise is already made (one per token, shared by the cached
    // calls: no allocation). A panic in the native call comes back as NaN.
    const stamp = cachedStamp.call(this.#stampHandle)
    return stamp === this.#valuePromiseStamp ? this.#valuePromise : this.#accessTokenFor(stamp)
  }

  #accessTokenFor(stamp) {
    if (Number.isNaN(stamp)) return Promise.reject(panicked())
    if (stamp !== 0) {
      this.#valuePromise = Promise.resolve(this.#valueFor(stamp))
      this.#valuePromiseStamp = stamp
      return this.#valuePromise
    }
    return this.#fromCore().then((r) => {
      if (r.stamp !== this.#valueStamp) {
        this.#value = r.accessToken
        this.#valueStamp = r.stamp
      }
      return this.#value
    })
  }

  /** A valid access token, fetched on this thread if needed (blocks the event loop: for scripts). */
  getAccessTokenSync() {
    return this.#valueFor(this.#syncStamp())
  }

  /** A valid token with its expiry, type and scope. @returns {Promise<Token>} */
  getToken() {
    const stamp = cachedStamp.call(this.#stampHandle)
    if (stamp > 0) return Promise.resolve(this.#tokenFor(stamp))
    if (Number.isNaN(stamp)) return Promise.reject(panicked())
    return this.#fromCore().then((r) => {
      if (r.stamp !== this.#tokenStamp) {
        this.#token = new Token(r)
        this.#tokenStamp = r.stamp
      }
      return this.#token
    })
  }

  /** `getToken()` on this thread (blocks the event loop if a fetch is needed). */
  getTokenSync() {
    return this.#tokenFor(this.#syncStamp())
  }

  /** `{ Authorization: 'Bearer …', 'Tenant-Name': … }` for a Corti API call. */
  headers() {
    const stamp = cachedStamp.call(this.#stampHandle)
    if (stamp > 0) return Promise.resolve(redactedHeaders(this.#headerFor(stamp), this.#tenantName))
    if (Number.isNaN(stamp)) return Promise.reject(panicked())
    return this.#fromCore().then((r) => {
      if (r.stamp !== this.#headerStamp) {
        this.#header = r.authorization
        this.#headerStamp = r.stamp
      }
      return redactedHeaders(this.#header, this.#tenantName)
    })
  }

  /** `headers()` on this thread (blocks the event loop if a fetch is needed). */
  headersSync() {
    return redactedHeaders(this.#headerFor(this.#syncStamp()), this.#tenantName)
  }

  /** The stream URL returned by the API with `token=Bearer%20…` appended. */
  websocketUrl(streamUrl) {
    if (typeof streamUrl !== 'string') return Promise.reject(configError('streamUrl must be a string'))
    return this.getAccessToken().then((token) => {
      let r
      try {
        r = this.#native.websocketUrlWith(streamUrl, token)
      } catch (e) {
        throw fromThrown(e)
      }
      return stringOrThrow(r)
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
      dropped = this.#native.invalidate(value)
    } catch (e) {
      throw fromThrown(e)
    }
    if (dropped) this.#forgetToken()
    return dropped
  }

  /**
   * The 401 rule of `fetch` (the core's, shared by every HTTP integration), for your
   * own HTTP client: whether the answer (`status`, from `answeredBy`, the final URL
   * after redirects) to a request that carried `sentToken` to `sentTo` rejected the
   * token: a 401 from that same origin. If so the token is invalidated; send the
   * request once more with a new one.
   */
  onResponse(sentToken, sentTo, answeredBy, status) {
    let rejected
    try {
      rejected = this.#native.onResponse(sentToken, String(sentTo), String(answeredBy), status)
    } catch (e) {
      throw fromThrown(e)
    }
    if (rejected) this.#forgetToken()
    return rejected
  }

  /** Lets go of the strings made for the cached token (the core has dropped it). */
  #forgetToken() {
    this.#value = this.#valuePromise = this.#header = this.#token = null
    this.#valueStamp = this.#headerStamp = this.#tokenStamp = 0
    this.#valuePromiseStamp = -1
  }

  /**
   * Counters: `{ tokenRequests, cacheHits, refreshes, failures, lastErrorKind,
   * storeHits, storeMisses, storeErrors, storeWaits, storeLastError }`.
   */
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
      storeHits: s.storeHits,
      storeMisses: s.storeMisses,
      storeErrors: s.storeErrors,
      storeWaits: s.storeWaits,
      storeLastError: s.storeLastError ?? null,
    }
  }

  /**
   * The effective settings, as the core describes them (the same JSON in every
   * language): every setting with its default filled in, durations as `*_ms`, the
   * secret as `"[REDACTED]"`.
   */
  describe() {
    let json
    try {
      json = this.#native.describeManagerJson()
    } catch (e) {
      throw fromThrown(e)
    }
    return JSON.parse(json)
  }

  /**
   * Replaces the client secret in place, without a restart: the next token request
   * sends it (the token in use stays until its refresh), and the shared cache's slot
   * follows it. A later change of `clientSecretFile` replaces it again.
   */
  setClientSecret(secret) {
    if (typeof secret !== 'string' || secret.trim() === '') {
      throw configError('setClientSecret() takes the new secret (a non-empty string)')
    }
    try {
      this.#native.setClientSecret(secret)
    } catch (e) {
      throw fromThrown(e)
    }
  }

  /**
   * A relative API path (`/interactions`, `interactions/1?limit=5`) joined onto
   * `apiBaseUrl` by the core. Throws a ConfigError when there is no API base URL or
   * `path` is an absolute URL (the token must not travel to another host).
   */
  apiUrl(path) {
    if (typeof path !== 'string') throw configError('apiUrl() takes a path (a string)')
    let r
    try {
      r = this.#native.apiUrl(path)
    } catch (e) {
      throw fromThrown(e)
    }
    return stringOrThrow(r)
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
   * The global `fetch` with `Authorization` and `Tenant-Name` added. On a 401 from the
   * origin the token was sent to, the token is invalidated and the request sent once
   * more with a fresh one (unless its body is a stream, which cannot be sent twice).
   * A relative URL (`/interactions`, `interactions/1`) is joined onto `apiBaseUrl` (`apiUrl()`).
   * @returns {Promise<Response>}
   */
  fetch(input, init = undefined) {
    return authorizedFetch(this, input, init)
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

/** A native answer of `tokenThen()`: the token, or its error thrown. */
function nativeToken(r) {
  if (isFailure(r)) throw toError(r)
  return r
}

function stringOrThrow(r) {
  if (typeof r === 'string') return r
  throw toError(r)
}

/** The core's describe string, unchanged (private: the parity runner uses it). */
function describeJson(manager) {
  return describeJsonOf(manager)
}

/** The audit fingerprint of a token: the first 16 hex digits of its SHA-256. */
function fingerprint(accessToken) {
  const value = accessToken instanceof Token ? accessToken.accessToken : accessToken
  if (typeof value !== 'string') throw configError('fingerprint() takes a token (a string or a Token)')
  return native.fingerprint(value)
}

module.exports = { TokenManager, Token, describeJson, fingerprint, coreVersion: native.coreVersion() }

'use strict'
// Error classes with a stable `code`, and the one place where a native error
// descriptor (kind, message, OAuth fields, causes) becomes a JavaScript error.

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
    /** Messages of the core error's causes, outermost first (also chained as `cause`). */
    this.causes = Object.freeze([...(details.causes ?? [])])
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

/**
 * The one place where a native error descriptor becomes a JavaScript error. The
 * core's `source()` chain arrives as `causes` (outermost first): it becomes
 * `err.causes` and a chain of `Error`s under `err.cause`.
 */
function toError(d) {
  let cause
  const causes = Array.isArray(d.causes) ? d.causes.map(String) : []
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
    causes,
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

/** Whether a native result is an error descriptor. */
function isFailure(v) {
  return v !== null && typeof v === 'object' && typeof v.kind === 'string' && typeof v.message === 'string'
}

/** A configuration error raised by the JavaScript layer (shape of the options only). */
function configError(message) {
  return new ConfigError(`configuration error: ${message}`)
}

module.exports = {
  ErrorCode,
  CortiAuthError,
  ConfigError,
  OAuthError,
  HttpError,
  NetworkError,
  TimeoutError,
  InvalidResponseError,
  InternalError,
  toError,
  fromThrown,
  isFailure,
  configError,
}

// Public types of the `cortiauth` package (the JavaScript layer in index.js and lib/).
// The addon's own generated types are in native.d.ts (private, drift-checked).

/** How the client authenticates at the token endpoint. */
export type AuthMethod = 'client_secret_post' | 'client_secret_basic' | 'post' | 'basic'

/** How transient failures are retried (exponential backoff with full jitter). */
import type { SettingsDescription, SettingsOptions } from './settings'
export type { SettingsDescription, SettingsOptions } from './settings'

/** @deprecated Use the flat options (`maxAttempts`, `retryDeadlineMs`, …). */
export type RetryOptions = NonNullable<SettingsOptions['retry']>
/** @deprecated Use the flat options (`refreshMarginMs`, …). */
export type RefreshOptions = NonNullable<SettingsOptions['refresh']>

/**
 * The options of `new TokenManager(options)`: every setting of the core's settings
 * table (`SettingsOptions`, generated from it), plus Node's own `userAgentSuffix`.
 */
export interface TokenManagerOptions extends SettingsOptions {
  /** Shown in the User-Agent: `cortiauth/<version> (node; <suffix>)`. */
  userAgentSuffix?: string
}

/** An access token and what the server said about it. `util.inspect` hides the value. */
export declare class Token {
  private constructor()
  /** The raw token. Never log it. */
  readonly accessToken: string
  /** When the token expires, on the wall clock. */
  readonly expiresAt: Date
  /** Whole seconds left before expiry when the token was handed out. */
  readonly expiresIn: number
  /** As the server sent it (`Bearer`). */
  readonly tokenType: string
  /** The scope the server granted, or `null` when it did not say. */
  readonly scope: string | null
}

/** The headers every Corti API call carries. `util.inspect` hides the token. */
export interface AuthHeaders {
  Authorization: string
  'Tenant-Name': string
  [name: string]: string
}

/**
 * The effective settings as the core describes them, the same in every language
 * (`manager.describe()`): every setting with its default filled in.
 */
export interface Description extends SettingsDescription {
  /** `cortiauth/<version> (node)`. */
  user_agent: string
  /** When the client secret in use was loaded (Unix milliseconds): at start, or its last rotation. */
  credential_loaded_at_ms: number
  /** Where it came from: `settings`, `file` (`clientSecretFile`) or `set_client_secret`. */
  credential_source: 'settings' | 'file' | 'set_client_secret'
  [setting: string]: unknown
}

export interface Stats {
  /** HTTP requests sent to the token endpoint, retries included. */
  tokenRequests: number
  /** Calls answered from the cache. */
  cacheHits: number
  /** Tokens obtained (first fetch and every refresh). */
  refreshes: number
  /** Token acquisitions that failed after their retries. */
  failures: number
  /** Kind of the most recent failure, or null. */
  lastErrorKind: ErrorKind | null
  /** Shared cache (`sharedCache`): tokens taken from the store instead of fetched. */
  storeHits: number
  /** Shared cache: lookups that found no usable token there. */
  storeMisses: number
  /** Shared cache: store operations that failed (each fell back to a direct fetch). */
  storeErrors: number
  /** Shared cache: waits for another process's token request. */
  storeWaits: number
  /** Shared cache: kind of the last store error, or null. */
  storeLastError: 'config' | 'timeout' | 'unavailable' | 'protocol' | 'unsafe' | 'io' | null
}

/**
 * Hands out valid access tokens for one OAuth client, fetching one per token
 * lifetime however many callers ask at once. Build one per client and share it.
 */
export declare class TokenManager {
  /** @throws {ConfigError} when a setting is missing or invalid. */
  constructor(options: TokenManagerOptions)
  /**
   * From CORTI_CLIENT_ID, CORTI_CLIENT_SECRET, CORTI_ENVIRONMENT, CORTI_TENANT_NAME,
   * CORTI_TOKEN_URL and CORTI_SCOPES; `overrides` win over them.
   * @throws {ConfigError}
   */
  static fromEnv(overrides?: TokenManagerOptions): TokenManager

  /**
   * A valid access token: cached, or fetched once for all concurrent callers. A cached
   * one resolves at once; a fetch runs off the main thread.
   */
  getAccessToken(): Promise<string>
  /** Blocks the event loop while a token is fetched: for scripts. */
  getAccessTokenSync(): string
  /** A valid token with its type, scope and expiry. */
  getToken(): Promise<Token>
  /** `getToken()`, blocking the event loop while a token is fetched (scripts, CLIs). */
  getTokenSync(): Token
  /** `Authorization` and `Tenant-Name`: the headers every Corti API call carries. */
  headers(): Promise<AuthHeaders>
  /** `headers()`, blocking the event loop while a token is fetched. */
  headersSync(): AuthHeaders
  /** The stream URL with `token=Bearer%20{access_token}` appended, from a valid token. */
  websocketUrl(streamUrl: string): Promise<string>
  /** `websocketUrl()`, blocking the event loop while a token is fetched. */
  websocketUrlSync(streamUrl: string): string
  /**
   * The one 401 rule of the HTTP integrations (the core's), for your own HTTP client.
   * It says whether the answer (`status` from `answeredBy`, the final URL after
   * redirects) to a request that carried `sentToken` to `sentTo` rejected the token (a
   * 401 from that origin). If so the token is invalidated: send once more with a new one.
   */
  onResponse(sentToken: string, sentTo: string | URL, answeredBy: string | URL, status: number): boolean
  /**
   * Drops the cached token if it is still the rejected one (the API answered 401 to it).
   * Accepts the token, `Bearer <token>` or a Token. Returns whether it was dropped.
   */
  invalidate(rejected: string | Token): boolean
  /** The core's counters: token requests, cache hits, refreshes, failures, the shared cache's. */
  stats(): Stats
  /**
   * Replaces the client secret in place, without a restart. The next token request
   * sends it (the token in use stays until its refresh), and the shared cache's slot
   * follows it. A later change of `clientSecretFile` replaces it again. (A rewritten
   * `clientSecretFile` is read again by itself, before the next token request.)
   */
  setClientSecret(secret: string): void
  /**
   * The effective settings, as the core describes them (the same JSON in every language).
   * Python's `describe()`, C's `cortiauth_manager_describe`, `cortiauth config --json`.
   */
  describe(): Description
  /**
   * The global `fetch` with `Authorization` and `Tenant-Name` added; on a 401 from the
   * origin the token was sent to, the token is invalidated and the request sent once
   * more (not when its body is a stream: then the 401 is returned). A 401 after a
   * redirect to another origin is returned as it is. A string that is not an
   * absolute URL (`/interactions`) is joined onto `apiBaseUrl` (`apiUrl()`).
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>

  /**
   * A relative API path (`/interactions`, `interactions/1?limit=5`) joined onto the API
   * base URL by the core. See `apiBaseUrl`. Throws a ConfigError without an API base URL or when
   * `path` is an absolute URL.
   */
  apiUrl(path: string): string
  /** `https://api.{environment}.corti.app/v2`, or `null` without an environment. */
  readonly apiBaseUrl: string | null
  /** The OAuth client id. */
  readonly clientId: string
  /** The tenant: the Keycloak realm and the `Tenant-Name` header (`base` by default). */
  readonly tenantName: string
  /** The Corti environment (`eu`, `us`, …), or `null` with a bare token URL. */
  readonly environment: string | null
  /** The token endpoint. */
  readonly tokenUrl: string
  /** The scopes requested, `openid` first. */
  readonly scopes: string[]
  /** How the client authenticates at the token endpoint. */
  readonly authMethod: 'client_secret_post' | 'client_secret_basic' | 'client_secret_jwt' | 'private_key_jwt' | 'tls_client_auth'
  /** What `JSON.stringify` shows of a manager: never the secret or a token. */
  toJSON(): { clientId: string; tenantName: string; tokenUrl: string }
}

export type ErrorKind = 'config' | 'oauth' | 'http' | 'network' | 'timeout' | 'invalid_response' | 'internal'

export declare const ErrorCode: {
  readonly CONFIG: 'CORTIAUTH_CONFIG'
  readonly OAUTH: 'CORTIAUTH_OAUTH'
  readonly HTTP: 'CORTIAUTH_HTTP'
  readonly NETWORK: 'CORTIAUTH_NETWORK'
  readonly TIMEOUT: 'CORTIAUTH_TIMEOUT'
  readonly INVALID_RESPONSE: 'CORTIAUTH_INVALID_RESPONSE'
  readonly INTERNAL: 'CORTIAUTH_INTERNAL'
}
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Base class of every error cortiauth throws. Messages never contain a secret. */
export declare class CortiAuthError extends Error {
  /** Stable: switch on this, not on `message`. */
  readonly code: ErrorCodeValue
  readonly kind: ErrorKind
  /** The OAuth `error` code from the token endpoint (`invalid_client`, …), or null. */
  readonly oauthError: string | null
  readonly oauthErrorDescription: string | null
  readonly oauthErrorUri: string | null
  /** HTTP status of the token endpoint's answer, or null. */
  readonly status: number | null
  /** Whether trying again later may succeed. */
  readonly transient: boolean
  /** Messages of the underlying causes, outermost first (also chained under `cause`). */
  readonly causes: readonly string[]
}
export declare class ConfigError extends CortiAuthError {
  readonly code: 'CORTIAUTH_CONFIG'
  readonly kind: 'config'
}
export declare class OAuthError extends CortiAuthError {
  readonly code: 'CORTIAUTH_OAUTH'
  readonly kind: 'oauth'
  readonly oauthError: string
  readonly status: number
}
export declare class HttpError extends CortiAuthError {
  readonly code: 'CORTIAUTH_HTTP'
  readonly kind: 'http'
  readonly status: number
}
export declare class NetworkError extends CortiAuthError {
  readonly code: 'CORTIAUTH_NETWORK'
  readonly kind: 'network'
}
export declare class TimeoutError extends CortiAuthError {
  readonly code: 'CORTIAUTH_TIMEOUT'
  readonly kind: 'timeout'
}
export declare class InvalidResponseError extends CortiAuthError {
  readonly code: 'CORTIAUTH_INVALID_RESPONSE'
  readonly kind: 'invalid_response'
}
export declare class InternalError extends CortiAuthError {
  readonly code: 'CORTIAUTH_INTERNAL'
  readonly kind: 'internal'
}

/** The audit record of a token, in events: a fingerprint, never the token. */
export interface TokenAudit {
  /** The first 16 hex digits of the token's SHA-256 (`fingerprint()`; the same in every language). */
  fingerprint: string
  /** The JWT's `jti`, when the token is a JWT with one. */
  jti: string | null
  scope: string | null
  /** The JWT's `aud`. */
  audience: string[]
  /** The JWT's `iat` (Unix seconds). */
  issued_at: number | null
  /** Unix seconds. */
  expires_at: number
  client_id: string
  pid: number
  /** The surface holding it: `node`, `python`, `c`, `rust`, `cli`. */
  surface: string
}

/**
 * What a manager did, published on `diagnostics_channel` `cortiauth` (`CHANNEL`).
 * Only the fields an event has are present.
 */
export interface CortiAuthEvent {
  event:
    | 'token_fetched'
    | 'fetch_failed'
    | 'shared_cache_hit'
    | 'store_error'
    | 'credential_reloaded'
    | 'token_rejected'
  /** Unix milliseconds. */
  at: number
  client_id: string
  /** Who waited for the token request. */
  trigger?: 'caller' | 'background'
  duration_ms?: number
  /** HTTP requests sent. */
  attempts?: number
  error_kind?: string
  oauth_error?: string
  http_status?: number
  retry_after_ms?: number
  /** The error's message (never a secret). */
  message?: string
  store_error?: string
  credential_source?: 'file' | 'set_client_secret'
  token?: TokenAudit
}

/** The `diagnostics_channel` name the events are published on: `'cortiauth'`. */
export declare const CHANNEL: 'cortiauth'

/** The audit fingerprint of a token: the first 16 hex digits of its SHA-256. */
export declare function fingerprint(accessToken: string | Token): string

/** This package's version. */
export declare const version: string
/** The version of the Rust core inside the addon. */
export declare const coreVersion: string

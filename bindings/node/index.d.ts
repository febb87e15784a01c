// Public types of the `cortiauth` package (the JavaScript layer in index.js and lib/).
// The addon's own generated types are in native.d.ts (private, drift-checked).

/** How the client authenticates at the token endpoint. */
export type AuthMethod = 'client_secret_post' | 'client_secret_basic' | 'post' | 'basic'

/** How transient failures are retried (exponential backoff with full jitter). */
export interface RetryOptions {
  /** Attempts in all, the first included (4). 1 disables retries. */
  maxAttempts?: number
  /** First backoff (100 ms). */
  initialBackoffMs?: number
  /** Largest backoff (5000 ms). */
  maxBackoffMs?: number
  /** Time budget for one token acquisition, retries included (30000 ms). */
  deadlineMs?: number
  /** After a failure, callers with no valid token get that error at once for this long (1000 ms). */
  failureCooldownMs?: number
}

/** When a cached token is refreshed and when it stops being handed out. */
export interface RefreshOptions {
  /** Refresh at most this long before expiry (60000 ms). */
  maxMarginMs?: number
  /** ... and at most this fraction of the lifetime before it (0.2). */
  marginFraction?: number
  /** Stop handing a token out at most this long before it expires (10000 ms). */
  maxExpirySkewMs?: number
  /** Lifetime assumed when the server says nothing (300000 ms). */
  defaultLifetimeMs?: number
}

export interface TokenManagerOptions {
  /** Required (or CORTI_CLIENT_ID with `fromEnv`). */
  clientId?: string
  /** Required (or CORTI_CLIENT_SECRET with `fromEnv`). Never printed, kept in Rust only. */
  clientSecret?: string
  /**
   * A file holding the secret on its first line (Docker/Kubernetes secrets), instead
   * of `clientSecret` (or CORTI_CLIENT_SECRET_FILE with `fromEnv`).
   */
  clientSecretFile?: string
  /** `eu`, `us`, `beta-eu`, …: picks `https://auth.{environment}.corti.app`. */
  environment?: string
  /** Keycloak realm and `Tenant-Name` header (`base`). */
  tenantName?: string
  /** Extra scopes (`openid` is always sent first): an array or a space-separated string. */
  scopes?: string | readonly string[]
  /** The full token URL, instead of one built from environment and tenant (Tiro, Keycloak). */
  tokenUrl?: string
  /** Overrides the API base URL (`https://api.{environment}.corti.app/v2`). */
  apiBaseUrl?: string
  /** `client_secret_post` (default, Corti) or `client_secret_basic`. */
  authMethod?: AuthMethod
  /** Timeout of one HTTP request to the token endpoint (10000 ms). */
  timeoutMs?: number
  /** Refresh on a background thread ahead of expiry, so no caller ever waits (false). */
  backgroundRefresh?: boolean
  /** Extra trusted CA certificates (PEM), for private deployments. */
  caCertificates?: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /**
   * Extra form parameters sent with every token request (`audience`, `resource`):
   * an object, or `[name, value]` pairs (a name given twice keeps its last value).
   */
  extraParams?: Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>
  /**
   * A token cache shared between processes: `redis://…`, `rediss://…` or `file:///dir`
   * (or CORTIAUTH_SHARED_CACHE with `fromEnv`).
   */
  sharedCache?: string
  /** Shown in the User-Agent: `cortiauth/<version> (node; <suffix>)`. */
  userAgentSuffix?: string
  retry?: RetryOptions
  refresh?: RefreshOptions
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
  /** The scope the server granted, or null when it did not say. */
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
export interface Description {
  client_id: string
  /** Always `"[REDACTED]"`. */
  client_secret: string
  client_secret_file: string | null
  environment: string | null
  tenant: string
  scopes: string[]
  token_url: string
  api_base_url: string | null
  auth_method: 'client_secret_post' | 'client_secret_basic'
  /** `[name, value]` pairs, in the order sent. */
  extra_params: Array<[string, string]>
  timeout_ms: number
  max_attempts: number
  initial_backoff_ms: number
  max_backoff_ms: number
  retry_deadline_ms: number
  failure_cooldown_ms: number
  refresh_margin_ms: number
  refresh_margin_fraction: number
  expiry_skew_ms: number
  default_lifetime_ms: number
  background_refresh: boolean
  /** How many extra CA certificates are trusted. */
  ca_certificates: number
  /** With any password redacted. */
  shared_cache: string | null
  /** `cortiauth/<version> (node)`. */
  user_agent: string
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

  /** A valid access token: cached ones resolve at once, fetches run off the main thread. */
  getAccessToken(): Promise<string>
  /** Blocks the event loop while a token is fetched: for scripts. */
  getAccessTokenSync(): string
  getToken(): Promise<Token>
  getTokenSync(): Token
  /** `{ Authorization: 'Bearer …', 'Tenant-Name': … }`. */
  headers(): Promise<AuthHeaders>
  headersSync(): AuthHeaders
  /** The stream URL returned by the API with `token=Bearer%20…` appended. */
  websocketUrl(streamUrl: string): Promise<string>
  websocketUrlSync(streamUrl: string): string
  /**
   * Drops the cached token if it is still `rejected` (the API answered 401 to it).
   * Accepts the token, `Bearer <token>` or a Token. Returns whether it was dropped.
   */
  invalidate(rejected: string | Token): boolean
  stats(): Stats
  /**
   * The effective settings, as the core describes them (the same JSON as Python's
   * `describe()`, C's `cortiauth_manager_describe` and `cortiauth config --json`).
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
   * A relative API path (`/interactions`, `interactions/1?limit=5`) joined onto
   * `apiBaseUrl` by the core. Throws a ConfigError without an API base URL or when
   * `path` is an absolute URL.
   */
  apiUrl(path: string): string
  /** `https://api.{environment}.corti.app/v2`, or null without an environment. */
  readonly apiBaseUrl: string | null
  readonly clientId: string
  readonly tenantName: string
  readonly environment: string | null
  readonly tokenUrl: string
  /** The scopes sent, `openid` first. */
  readonly scopes: string[]
  readonly authMethod: 'client_secret_post' | 'client_secret_basic'
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

/** This package's version. */
export declare const version: string
/** The version of the Rust core inside the addon. */
export declare const coreVersion: string

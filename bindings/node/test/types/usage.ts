// Compiled by `tsc --noEmit` against the installed package (CommonJS resolution):
// the public typings must accept real usage and reject mistakes.
import {
  CortiAuthError,
  ErrorCode,
  OAuthError,
  Token,
  TokenManager,
  type AuthHeaders,
  type Description,
  type ErrorKind,
  type Stats,
  type TokenManagerOptions,
} from 'cortiauth'

export async function usage(): Promise<void> {
  const options: TokenManagerOptions = {
    clientId: 'id',
    clientSecret: 'secret',
    environment: 'eu',
    tenantName: 'base',
    scopes: ['transcribe'],
    authMethod: 'client_secret_basic',
    timeoutMs: 5000,
    retry: { maxAttempts: 2 },
    refresh: { marginFraction: 0.5 },
  }
  const manager = new TokenManager(options)
  const fromEnv = TokenManager.fromEnv({ scopes: 'streams' })
  console.log(await TokenManager.fromEnv().getAccessToken())

  const value: string = await manager.getAccessToken()
  const sync: string = fromEnv.getAccessTokenSync()
  const token: Token = await manager.getToken()
  const expires: Date = token.expiresAt
  const left: number = token.expiresIn
  const scope: string | null = token.scope
  const headers: AuthHeaders = await manager.headers()
  const authorization: string = headers.Authorization
  const tenant: string = headers['Tenant-Name']
  const base: string | null = manager.apiBaseUrl
  const apiUrl: string = manager.apiUrl('/interactions')
  const ws: string = await manager.websocketUrl('wss://example/stream?x=1')
  const dropped: boolean = manager.invalidate(value) || manager.invalidate(token)
  const stats: Stats = manager.stats()
  const requests: number = stats.tokenRequests
  const kind: ErrorKind | null = stats.lastErrorKind
  const described: Description = manager.describe()
  const timeoutMs: number = described.timeout_ms
  const pairs: Array<[string, string]> = described.extra_params
  const fromFile = new TokenManager({
    clientId: 'id',
    clientSecretFile: '/run/secrets/corti',
    environment: 'eu',
    sharedCache: 'redis://127.0.0.1:6379/0',
    extraParams: [
      ['audience', 'a'],
      ['audience', 'b'],
    ],
  })
  void [timeoutMs, pairs, fromFile]
  const response: Response = await manager.fetch('/interactions', { method: 'POST', body: '{}' })
  const again: Response = await manager.fetch(new Request('https://api.eu.corti.app/v2/x'))
  void [sync, expires, left, scope, authorization, tenant, base, ws, dropped, requests, kind, response, again]

  try {
    await manager.getAccessToken()
  } catch (e) {
    if (e instanceof OAuthError) {
      const code: 'CORTIAUTH_OAUTH' = e.code
      const oauth: string = e.oauthError
      const status: number = e.status
      void [code, oauth, status]
    } else if (e instanceof CortiAuthError && e.code === ErrorCode.NETWORK) {
      const transient: boolean = e.transient
      const causes: readonly string[] = e.causes
      void [transient, causes]
    }
  }

  // Flat names from the settings table; the old nested ones still type-check.
  new TokenManager({ tenant: 'base', retryDeadlineMs: 5000, expirySkewMs: 1000, caCertificatesPem: [] })
  new TokenManager({ tenantName: 'base', retry: { deadlineMs: 5000 }, refresh: { maxMarginMs: 1 } })
  // @ts-expect-error: durations are numbers of milliseconds
  new TokenManager({ retryDeadlineMs: '5s' })
  // @ts-expect-error: the token is a string
  const wrong: number = await manager.getAccessToken()
  // @ts-expect-error: Token has no public constructor
  new Token()
  // @ts-expect-error: unknown auth method
  new TokenManager({ authMethod: 'mtls' })
  // Secretless: private_key_jwt with a key file.
  new TokenManager({ clientId: 'c', environment: 'eu', authMethod: 'private_key_jwt', privateKeyFile: '/k.pem', signingAlg: 'ES256' })
  void wrong
}

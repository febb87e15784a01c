// The ESM entry point's typings: default and named imports, top-level await.
import cortiauth, { TokenManager, ErrorCode, type Token } from 'cortiauth'

const manager: TokenManager = cortiauth.TokenManager.fromEnv()
const token: Token = await manager.getToken()
const code: 'CORTIAUTH_CONFIG' = ErrorCode.CONFIG
console.log(await TokenManager.fromEnv().getAccessToken(), token.expiresAt.toISOString(), code, cortiauth.version)

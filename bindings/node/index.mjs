// ESM entry point: the same objects as the CommonJS one (one copy of the addon).
import cortiauth from './index.js'

export const {
  TokenManager,
  Token,
  fingerprint,
  CHANNEL,
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
  coreVersion,
} = cortiauth

export default cortiauth

'use strict'
// cortiauth for Node.js: the public API, re-exported from lib/ (see docs/design/node.md).
// lib/native.js loads the addon through the loader napi-rs generates (native.js).

const errors = require('./lib/errors.js')
const { TokenManager, Token, fingerprint, coreVersion } = require('./lib/manager.js')

module.exports = {
  TokenManager,
  Token,
  fingerprint,
  CHANNEL: 'cortiauth',
  CortiAuthError: errors.CortiAuthError,
  ConfigError: errors.ConfigError,
  OAuthError: errors.OAuthError,
  HttpError: errors.HttpError,
  NetworkError: errors.NetworkError,
  TimeoutError: errors.TimeoutError,
  InvalidResponseError: errors.InvalidResponseError,
  InternalError: errors.InternalError,
  ErrorCode: errors.ErrorCode,
  version: require('./package.json').version,
  coreVersion,
}

// The installed package: CommonJS and ESM entry points, no runtime dependencies,
// the addon inside the package, typings shipped.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const cortiauth = require('cortiauth')

const packageDir = path.dirname(require.resolve('cortiauth/package.json'))

test('CommonJS entry point exports the API', () => {
  const names = [
    'TokenManager',
    'Token',
    'CortiAuthError',
    'ConfigError',
    'OAuthError',
    'HttpError',
    'NetworkError',
    'TimeoutError',
    'InvalidResponseError',
    'InternalError',
  ]
  for (const n of names) assert.equal(typeof cortiauth[n], 'function', n)
  assert.deepEqual(Object.values(cortiauth.ErrorCode).sort(), [
    'CORTIAUTH_CONFIG',
    'CORTIAUTH_HTTP',
    'CORTIAUTH_INTERNAL',
    'CORTIAUTH_INVALID_RESPONSE',
    'CORTIAUTH_NETWORK',
    'CORTIAUTH_OAUTH',
    'CORTIAUTH_TIMEOUT',
  ])
  for (const n of names.slice(3)) assert.ok(cortiauth[n].prototype instanceof cortiauth.CortiAuthError, n)
  assert.ok(cortiauth.CortiAuthError.prototype instanceof Error)
  assert.equal(typeof cortiauth.TokenManager.fromEnv, 'function')
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'))
  assert.equal(cortiauth.version, pkg.version)
  assert.equal(cortiauth.coreVersion, pkg.version, 'addon and package are built together')
})

test('ESM entry point exports the same objects', async () => {
  const esm = await import('cortiauth')
  assert.equal(esm.TokenManager, cortiauth.TokenManager)
  assert.equal(esm.OAuthError, cortiauth.OAuthError)
  assert.equal(esm.default, cortiauth)
  assert.equal(esm.ErrorCode, cortiauth.ErrorCode)
})

test('the package is installed from the tarball, with no runtime dependencies', () => {
  assert.ok(packageDir.includes(`${path.sep}node_modules${path.sep}cortiauth`), packageDir)
  assert.ok(!fs.lstatSync(packageDir).isSymbolicLink(), 'a copy, not a link to the source tree')
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'))
  assert.deepEqual(pkg.dependencies ?? {}, {})
  assert.deepEqual(pkg.optionalDependencies ?? {}, {})
  const files = fs.readdirSync(packageDir).sort()
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts', 'native.d.ts', 'package.json']) {
    assert.ok(files.includes(f), `${f} in ${files}`)
  }
  assert.ok(files.some((f) => /^cortiauth\..+\.node$/.test(f)), `the addon in ${files}`)
  assert.ok(!files.includes('src') && !files.includes('Cargo.toml') && !files.includes('test'), `${files}`)
})

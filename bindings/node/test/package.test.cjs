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
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts', 'native.js', 'native.d.ts', 'lib', 'package.json', 'LICENSE-MIT', 'LICENSE-APACHE']) {
    assert.ok(files.includes(f), `${f} in ${files}`)
  }
  assert.ok(files.some((f) => /^cortiauth\..+\.node$/.test(f)), `the addon in ${files}`)
  assert.ok(!files.includes('src') && !files.includes('Cargo.toml') && !files.includes('test'), `${files}`)
})

test('with no binary for this platform, loading fails with an error naming the platform', () => {
  const { execFileSync } = require('node:child_process')
  const os = require('node:os')
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'cortiauth-nobinary-'))
  const copy = path.join(project, 'node_modules', 'cortiauth')
  fs.cpSync(packageDir, copy, { recursive: true, filter: (src) => !/\.node$/.test(src) })
  const script = "try { require('cortiauth') } catch (e) { console.log(JSON.stringify({ code: e.code, platform: e.platform, message: e.message })) }"
  const env = { ...process.env }
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: project, env, encoding: 'utf8' }))
  assert.equal(out.code, 'CORTIAUTH_NATIVE_MISSING')
  assert.match(out.platform, new RegExp(`^${process.platform}-${process.arch}`))
  assert.ok(out.message.includes(out.platform), out.message)
  assert.ok(out.message.includes(`cortiauth-${out.platform}`), 'names the per-platform package')
  fs.rmSync(project, { recursive: true, force: true })
})

test("the core error's causes become err.causes and a chain of err.cause", () => {
  // The core's Error has no source() on main yet (causes are flattened into the
  // message), so this drives lib/errors.js with a descriptor as the addon builds it.
  const { toError } = require(path.join(packageDir, 'lib', 'errors.js'))
  const e = toError({
    kind: 'network',
    message: 'network error: could not reach the token endpoint',
    transient: true,
    causes: ['error sending request', 'connection refused'],
  })
  assert.ok(e instanceof cortiauth.NetworkError)
  assert.equal(e.code, 'CORTIAUTH_NETWORK')
  assert.deepEqual(e.causes, ['error sending request', 'connection refused'])
  assert.equal(e.cause.message, 'error sending request')
  assert.equal(e.cause.cause.message, 'connection refused')
  assert.equal(e.cause.cause.cause, undefined)
  const plain = toError({ kind: 'oauth', message: 'm', transient: false, causes: [] })
  assert.deepEqual(plain.causes, [])
  assert.equal(plain.cause, undefined)
})

// Shared by the test files: the loopback servers' settings and small stub servers
// for the faults a real authorization server will not produce on demand.
import { createServer } from 'node:http'
import { once } from 'node:events'
import assert from 'node:assert/strict'

/** A variable exported by tests/servers/with-servers.sh; the suite needs them all. */
export function env(name) {
  const v = process.env[name]
  assert.ok(v, `${name} is not set: run the tests through bindings/node/test.sh (which starts the loopback servers)`)
  return v
}

/** The Keycloak client with 300 s tokens, as Corti issues them, in realm `base`. */
export function cortiClient(extra = {}) {
  return {
    clientId: env('CORTIAUTH_KC_CORTI_CLIENT_ID'),
    clientSecret: env('CORTIAUTH_KC_CORTI_CLIENT_SECRET'),
    tokenUrl: env('CORTIAUTH_KC_TOKEN_URL_BASE'),
    ...extra,
  }
}

/** The Keycloak client with 10 s tokens. */
export function shortClient(extra = {}) {
  return {
    clientId: env('CORTIAUTH_KC_CLIENT_ID'),
    clientSecret: env('CORTIAUTH_KC_CLIENT_SECRET'),
    tokenUrl: env('CORTIAUTH_KC_TOKEN_URL_BASE'),
    ...extra,
  }
}

/** The claims of a JWT access token (no signature check: the tests only read them). */
export function claims(token) {
  const parts = token.split('.')
  assert.equal(parts.length, 3, 'an access token from these servers is a JWT')
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
}

/** Starts an HTTP server on 127.0.0.1 with `handler`; returns it with its base URL. */
export async function stubServer(handler) {
  const sockets = new Set()
  const server = createServer(handler)
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}

/** A loopback port with nothing listening on it. */
export async function closedPort() {
  const s = await stubServer(() => {})
  const port = Number(new URL(s.url).port)
  await s.close()
  return port
}

/** A deferred: a promise with its resolve function, for signals between test parts. */
export function signal() {
  let resolve
  const promise = new Promise((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/**
 * A token endpoint that holds its answer until the test lets it go (a slow server is
 * a fault a real one does not produce on demand): `arrived` resolves when a request
 * came in, `release()` lets every held request answer with `accessToken`.
 */
export async function heldTokenServer(accessToken) {
  const arrived = signal()
  const release = signal()
  const stub = await stubServer(async (req, res) => {
    arrived.resolve()
    await release.promise
    res.setHeader('content-type', 'application/json')
    res.end(tokenBody(accessToken))
  })
  return {
    url: stub.url,
    arrived: arrived.promise,
    release: () => release.resolve(),
    async close() {
      release.resolve()
      await stub.close()
    },
  }
}

/** A valid token response, for stubs. */
export function tokenBody(accessToken, expiresIn = 300) {
  return JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, scope: 'openid' })
}

/** The exception `fn` throws (fails the test when it throws none). */
export function thrown(fn) {
  try {
    fn()
  } catch (e) {
    return e
  }
  assert.fail('expected an exception')
}

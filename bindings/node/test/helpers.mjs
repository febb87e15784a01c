// Shared by the test files: the loopback servers' settings, and the scriptable stub
// token server (tests/stub) for the faults a real authorization server will not
// produce on demand.
import { request } from 'node:http'
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

/** One call to the stub's control API (CORTIAUTH_STUB_URL): `{ status, body }`. */
function control(method, path, body) {
  const at = new URL(path, env('CORTIAUTH_STUB_URL'))
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    // No agent: each call closes its connection, so nothing keeps the event loop alive.
    const req = request(at, { method, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/**
 * A scenario of the scriptable stub token server (tests/stub/README.md): its own
 * loopback port answering by `steps` (`{}` is a token `tok-N`; `{ status: 503 }`,
 * `{ hold: true }`, `{ error: 'invalid_client' }`, `{ redirect: url }`, `{ api: {} }`, …),
 * with a log of what it received. `url` is its base URL, `tokenUrl` its `/token`.
 */
export async function stub(steps = [], options = {}) {
  const created = await control('POST', '/scenarios', { steps, ...options })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const at = `/scenarios/${created.body.id}`
  return {
    url: created.body.url,
    tokenUrl: created.body.token_url,
    /** Every request received so far: `{ method, path, headers, body, form }`. */
    async log() {
      return (await control('GET', at)).body.log
    },
    /** Waits until each counter (`requests`, `answered`, `abandoned`) reaches its value. */
    async wait(atLeast, timeoutMs = 10_000) {
      const query = new URLSearchParams({ ...atLeast, timeout_ms: String(timeoutMs) })
      return (await control('GET', `${at}/wait?${query}`)).status === 200
    },
    /** Lets held requests (and every later one) answer. */
    async release() {
      assert.equal((await control('POST', `${at}/release`)).status, 204)
    },
    /** Replaces the steps; the next request gets the first. */
    async setSteps(next) {
      assert.equal((await control('PUT', `${at}/steps`, { steps: next })).status, 204)
    },
    async close() {
      await control('DELETE', at)
    },
  }
}

/** A loopback port with nothing listening on it (a stub scenario, stopped). */
export async function closedPort() {
  const s = await stub()
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
  const s = await stub([{ access_token: accessToken, hold: true }])
  const arrived = s.wait({ requests: 1 }, 60_000).then((ok) => {
    if (!ok) throw new Error('no token request arrived')
  })
  arrived.catch(() => {}) // a test that never awaits it is not an unhandled rejection
  return { url: s.url, arrived, release: () => s.release(), close: () => s.close(), log: () => s.log() }
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

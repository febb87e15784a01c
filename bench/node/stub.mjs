// A token endpoint for the benches: a scenario of the scriptable stub token server
// (tests/stub, at CORTIAUTH_STUB_URL; run.sh runs under tests/servers/with-servers.sh,
// which starts it), through the test suite's own client of it. Another process, so it
// never shares the benchmark's event loop.
import { stub } from '../../bindings/node/test/helpers.mjs'

/** Tokens living `lifetime` s, each answered after `delayMs` ms: `{ url, count(), stop() }`. */
export async function tokenServer(lifetime, delayMs, accessToken = 'tok-{n}') {
  const s = await stub([{ access_token: accessToken, expires_in: lifetime, delay_ms: Math.round(delayMs) }])
  return {
    url: s.tokenUrl,
    count: async () => (await s.log()).length,
    stop: () => s.close(),
  }
}

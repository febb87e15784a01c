// A token endpoint for the benches: a scenario of the scriptable stub token server
// (tests/stub, at CORTIAUTH_STUB_URL; bench.sh runs under tests/servers/with-servers.sh,
// which starts it). Another process, so it never shares the benchmark's event loop.
import { request } from 'node:http'

function control(method, path, body) {
  const base = process.env.CORTIAUTH_STUB_URL
  if (!base) throw new Error('CORTIAUTH_STUB_URL is not set: run the bench through bench/node/run.sh')
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve(text ? JSON.parse(text) : null)
      })
    })
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

/** Tokens living `lifetime` s, each answered after `delayMs` ms: `{ url, count(), stop() }`. */
export async function tokenServer(lifetime, delayMs, accessToken = 'tok-{n}') {
  const step = { access_token: accessToken, expires_in: lifetime, delay_ms: Math.round(delayMs) }
  const created = await control('POST', '/scenarios', { steps: [step] })
  const at = `/scenarios/${created.id}`
  return {
    url: created.token_url,
    count: async () => (await control('GET', at)).requests,
    stop: () => control('DELETE', at),
  }
}

// One process of a fleet on a shared cache (shared-cache.test.mjs): its own
// manager. On 'go' it gets a token and reports it with its counters; on 'phase2'
// (after the token's refresh point) it asks again until the refresh, done on the
// manager's worker through the shared cache, hands it the new token.
import { TokenManager } from 'cortiauth'

const options = JSON.parse(process.env.CORTIAUTH_FLEET_OPTIONS)
const m = new TokenManager(options)
let first = null

process.on('message', async (msg) => {
  try {
    if (msg === 'go') {
      first = await m.getAccessToken()
      process.send({ phase: 1, token: first, at: Date.now(), stats: m.stats() })
    } else if (msg === 'phase2') {
      const deadline = Date.now() + 15_000
      let token = await m.getAccessToken()
      while (token === first && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20))
        token = await m.getAccessToken()
      }
      process.send({ phase: 2, token, stats: m.stats() }, () => process.exit(0))
    }
  } catch (e) {
    process.send({ error: String(e) }, () => process.exit(1))
  }
})
process.send({ ready: true })

// Runs in a worker thread (see workers.test.mjs): its own manager, its own addon instance.
import { parentPort, workerData } from 'node:worker_threads'
import { TokenManager } from 'cortiauth'

const m = new TokenManager(workerData.options)
if (workerData.mode === 'in-flight') {
  // Start a fetch and report; the main thread terminates this worker mid-request.
  m.getAccessToken().catch(() => {})
  parentPort.postMessage({ started: true })
} else {
  const tokens = await Promise.all(Array.from({ length: 200 }, () => m.getAccessToken()))
  const sync = m.getAccessTokenSync()
  const token = await m.getToken()
  parentPort.postMessage({
    distinct: new Set([...tokens, sync, token.accessToken]).size,
    token: sync,
    stats: m.stats(),
  })
}

// examples/node runs as a user runs it (test.sh copies it next to the installed
// package): the CORTI_* variables point at the loopback Keycloak, and the authenticated
// call is its userinfo endpoint (which checks the token).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

import { cortiClient } from './helpers.mjs'

const run = promisify(execFile)
const example = fileURLToPath(new URL('../examples/call_api.mjs', import.meta.url))

test('the Node example gets a token and calls an API', async () => {
  const client = cortiClient()
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CORTI_')))
  const userinfo = client.tokenUrl.replace(/\/token$/, '/userinfo')
  const { stdout, stderr } = await run(process.execPath, [example, userinfo], {
    env: { ...env, CORTI_CLIENT_ID: client.clientId, CORTI_CLIENT_SECRET: client.clientSecret, CORTI_TOKEN_URL: client.tokenUrl },
  })
  assert.match(stdout, /^token: Bearer, expires in \d+ s/)
  assert.match(stdout, /\n200 \{/)
  assert.ok(!(stdout + stderr).includes(client.clientSecret))
})

// Old and unknown option names in Node (tests/parity/run.sh): the Node half of
// tests/parity/run_names.py. For every old spelling of tests/parity/names.json
// (generated from the core's settings table), the old name gives the same
// describe() as the new one; the misspelled name is a CORTIAUTH_CONFIG error that
// suggests the right one. Usage: node run_names.mjs PACKAGE_DIR (from the repo root)
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

const require = createRequire(import.meta.url)
const { TokenManager } = require(resolve(process.argv[2]))
process.removeAllListeners('warning') // old names warn: expected here

const names = JSON.parse(readFileSync('tests/parity/names.json', 'utf8'))
const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
const base = Object.fromEntries(Object.entries(names.base).map(([k, v]) => [camel(k), v]))
const value = (v) => (typeof v === 'string' && v.startsWith('@') ? readFileSync(v.slice(1), 'utf8') : v)

/** `retry.deadlineMs` is the old nested option `{ retry: { deadlineMs } }`. */
function options(name, v) {
  const [group, inner] = name.split('.')
  return inner === undefined ? { ...base, [name]: v } : { ...base, [group]: { [inner]: v } }
}

function describe(name, v) {
  const d = new TokenManager(options(name, v)).describe()
  // The settings only: not the binding, nor when each manager loaded its secret.
  delete d.user_agent
  delete d.credential_loaded_at_ms
  return JSON.stringify(d)
}

let failed = 0
for (const alias of names.aliases.filter((a) => a.surface === 'node')) {
  const v = value(alias.value)
  const same = describe(alias.old, v) === describe(alias.new, v)
  if (!same) failed++
  console.log(`node\talias\t${alias.old} -> ${alias.new}\t${same ? 'same' : 'DIFFERENT'}`)
}
for (const c of names.unknown.filter((u) => u.surface === 'node')) {
  let e
  try {
    new TokenManager(options(c.name, 1))
  } catch (err) {
    e = err
  }
  const ok = e?.code === 'CORTIAUTH_CONFIG' && e.message.includes(`"${c.suggestion}"`)
  if (!ok) failed++
  console.log(`node\tunknown\t${c.name}\t${e?.code}\t${ok ? `suggests ${c.suggestion}` : `FAILED: ${e?.message}`}`)
}
if (failed) {
  console.error(`run_names.mjs: ${failed} check(s) failed`)
  process.exit(1)
}

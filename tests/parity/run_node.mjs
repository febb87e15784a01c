// The Node side of the settings parity test (tests/parity/run.sh): maps the canonical
// keys of cases.json onto the Node package's PUBLIC options (nested retry/refresh,
// milliseconds), builds a manager (no token fetch) and prints `name<TAB>describe-json`
// per case, the core's describe string unchanged.
//
//   node tests/parity/run_node.mjs [PACKAGE_DIR] [CASES.json]
// PACKAGE_DIR defaults to bindings/node (with its addon built); bindings/node/test.sh
// passes the package installed from the tarball.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const packageDir = resolve(process.argv[2] ?? join(root, 'bindings/node'))
const casesPath = resolve(process.argv[3] ?? join(root, 'tests/parity/cases.json'))
const require = createRequire(join(packageDir, 'package.json'))
const { TokenManager } = require(join(packageDir, 'index.js'))
// Private: the core's string as it is (JSON.parse + stringify would reformat numbers).
const { describeJson } = require(join(packageDir, 'lib/manager.js'))

// Paths in the cases (CA files, the secret file) are relative to the repository.
process.chdir(root)

/** Canonical setting → where it goes in the Node options. */
const TOP = {
  client_id: 'clientId',
  client_secret: 'clientSecret',
  client_secret_file: 'clientSecretFile',
  environment: 'environment',
  tenant: 'tenantName',
  scopes: 'scopes',
  token_url: 'tokenUrl',
  api_base_url: 'apiBaseUrl',
  auth_method: 'authMethod',
  extra_params: 'extraParams',
  timeout_ms: 'timeoutMs',
  background_refresh: 'backgroundRefresh',
  shared_cache: 'sharedCache',
}
const NESTED = {
  max_attempts: ['retry', 'maxAttempts'],
  initial_backoff_ms: ['retry', 'initialBackoffMs'],
  max_backoff_ms: ['retry', 'maxBackoffMs'],
  retry_deadline_ms: ['retry', 'deadlineMs'],
  failure_cooldown_ms: ['retry', 'failureCooldownMs'],
  refresh_margin_ms: ['refresh', 'maxMarginMs'],
  refresh_margin_fraction: ['refresh', 'marginFraction'],
  expiry_skew_ms: ['refresh', 'maxExpirySkewMs'],
  default_lifetime_ms: ['refresh', 'defaultLifetimeMs'],
}

function options(settings) {
  const o = {}
  for (const [key, value] of Object.entries(settings)) {
    if (key === 'ca_certificates') {
      o.caCertificates = value.map((file) => readFileSync(file, 'utf8'))
    } else if (key === 'extra_params') {
      // Pairs, a name possibly repeated: the public API takes them as they are.
      o.extraParams = value.map(([name, v]) => [name, v])
    } else if (key in TOP) {
      o[TOP[key]] = value
    } else if (key in NESTED) {
      const [group, name] = NESTED[key]
      o[group] = { ...o[group], [name]: value }
    } else {
      throw new Error(`unknown canonical setting ${key}`)
    }
  }
  return o
}

const out = []
for (const { name, settings } of JSON.parse(readFileSync(casesPath, 'utf8'))) {
  const manager = new TokenManager(options(settings))
  out.push(`${name}\t${describeJson(manager)}\n`)
}
process.stdout.write(out.join(''))

'use strict'
// Loads the addon through the loader `napi build --platform --js native.js` generates
// (../native.js): it picks `cortiauth.<platform>.node` next to the package, or the
// per-platform package `cortiauth-<platform>` (napi-rs layout). When nothing matches,
// the error names this platform and what to install instead of napi-rs's generic one.

function platformLabel() {
  const { platform, arch } = process
  if (platform !== 'linux') return `${platform}-${arch}`
  let musl = false
  try {
    const report = process.report?.getReport?.()
    musl = Boolean(report && !report.header?.glibcVersionRuntime)
  } catch {
    // Unknown: say gnu, the common case.
  }
  return `linux-${arch}-${musl ? 'musl' : 'gnu'}`
}

function load() {
  try {
    return require('../native.js')
  } catch (e) {
    const label = platformLabel()
    const error = new Error(
      `cortiauth: no native addon for this platform (${label}): install the package ` +
        `cortiauth-${label} (npm installs it as an optional dependency of cortiauth; ` +
        `reinstall without --no-optional / --omit=optional), or build it from source with ` +
        '`npm run build` in bindings/node',
      { cause: e },
    )
    error.code = 'CORTIAUTH_NATIVE_MISSING'
    error.platform = label
    throw error
  }
}

module.exports = load()

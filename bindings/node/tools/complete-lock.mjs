// Completes a package-lock.json written where the registry mirror serves only this
// platform's builds of packages that ship one package per platform (the napi CLI's
// @napi-rs/lzma, tar, wasm-tools): npm then leaves the other platforms' optional
// packages out of the lock, and `npm ci` refuses it ("Missing: … from lock file").
// This adds, for every optional dependency missing from the lock, the entry npm
// writes with full registry access (version, optional, os/cpu/libc), minus the
// integrity hash it could not fetch; `npm ci` skips them on other platforms.
//
//   node tools/complete-lock.mjs [package-lock.json]
import { readFileSync, writeFileSync } from 'node:fs'

const file = process.argv[2] ?? 'package-lock.json'
const lock = JSON.parse(readFileSync(file, 'utf8'))
const packages = lock.packages

function platformOf(name) {
  const tail = name.split('/').pop()
  const parts = tail.split('-')
  const OS = ['android', 'darwin', 'freebsd', 'linux', 'win32', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony']
  const i = parts.findIndex((p) => OS.includes(p))
  if (i === -1) {
    if (parts.includes('wasm32')) return { cpu: ['wasm32'] }
    return null
  }
  const os = parts[i]
  const cpu = parts[i + 1]
  const abi = parts[i + 2]
  const out = { os: [os], cpu: [cpu] }
  if (os === 'linux' && (abi === 'gnu' || abi === 'musl')) out.libc = [abi === 'gnu' ? 'glibc' : 'musl']
  return out
}

let added = 0
for (const [path, meta] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = path === '' ? '' : `${path}/`
    const nested = `${base}node_modules/${dep}`
    const hoisted = `node_modules/${dep}`
    if (packages[nested] || packages[hoisted]) continue
    const platform = platformOf(dep)
    if (platform === null) {
      console.error(`complete-lock: ${dep} is missing and is no per-platform package; run npm install where the registry serves it`)
      process.exitCode = 1
      continue
    }
    packages[hoisted] = {
      version,
      cpu: platform.cpu,
      ...(meta.dev ? { dev: true } : {}),
      ...(platform.libc ? { libc: platform.libc } : {}),
      optional: true,
      ...(platform.os ? { os: platform.os } : {}),
    }
    added++
  }
}
const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))))
lock.packages = sorted
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`complete-lock: added ${added} optional platform entries to ${file}`)

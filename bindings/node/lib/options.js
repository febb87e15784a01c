'use strict'
// The options object → the addon's list of named settings. Each value goes in
// the field of its JavaScript type; the names (with "did you mean …?"), units,
// type checks, old names and every rule are the core's (`Settings::apply`), so
// Node accepts and refuses exactly what Python, C and the CLI do. Values are
// never echoed in errors.

const { configError } = require('./errors.js')

/** Old nested groups (`retry: { deadlineMs }`): flattened to `retry.deadlineMs`, an old name the core knows. */
const NESTED = ['retry', 'refresh']

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
}

const given = (v) => v !== undefined && v !== null

function pemText(v) {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8') : v
}

const isPair = (p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string'

/** One setting for the addon: the value in the field of its type. */
function entry(name, v) {
  if (typeof v === 'string') return { name, text: v }
  if (typeof v === 'number') return { name, number: v }
  if (typeof v === 'boolean') return { name, flag: v }
  if (v instanceof Uint8Array) return { name, list: [pemText(v)] }
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string' || x instanceof Uint8Array)) return { name, list: v.map(pemText) }
    if (v.every(isPair)) return { name, pairs: v.map(([n, value]) => ({ name: n, value })) }
    return { name, other: true }
  }
  if (isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string')) {
    return { name, pairs: Object.entries(v).map(([n, value]) => ({ name: n, value })) }
  }
  return { name, other: true }
}

/**
 * The caller's options as the addon takes them: `{ settings, userAgentSuffix }`.
 * `userAgentSuffix` is Node's own (it extends the User-Agent's `node`).
 */
function nativeOptions(options) {
  if (!given(options)) return { settings: [], userAgentSuffix: undefined }
  if (!isPlainObject(options)) throw configError('options must be an object')
  const settings = []
  let userAgentSuffix
  for (const [key, v] of Object.entries(options)) {
    if (!given(v)) continue
    if (key === 'userAgentSuffix') {
      if (typeof v !== 'string') throw configError('userAgentSuffix must be a string')
      userAgentSuffix = v
    } else if (NESTED.includes(key) && isPlainObject(v)) {
      for (const [inner, value] of Object.entries(v)) {
        if (given(value)) settings.push(entry(`${key}.${inner}`, value))
      }
    } else {
      settings.push(entry(key, v))
    }
  }
  return { settings, userAgentSuffix }
}

module.exports = { nativeOptions }

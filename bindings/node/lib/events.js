'use strict'
// The core's events in Node's own channels: diagnostics_channel `cortiauth` (every
// event, as a plain object with the same keys as in every surface), and OpenTelemetry
// metrics when the optional peer `@opentelemetry/api` is installed (meter
// `cortiauth`). Called on the JavaScript thread, from the queue the core's worker
// fills; never on the cached path. No event carries a token or a secret: the token
// is named by its fingerprint.

const diagnostics = require('node:diagnostics_channel')

const channel = diagnostics.channel('cortiauth')

/** The token each client holds now: clientId -> expires_at (Unix seconds). */
const expiresAt = new Map()
let metrics // undefined: not tried yet; null: @opentelemetry/api not installed

function instruments() {
  if (metrics !== undefined) return metrics
  let api
  try {
    api = require('@opentelemetry/api')
  } catch {
    metrics = null
    return metrics
  }
  const meter = api.metrics.getMeter('cortiauth', require('../package.json').version)
  metrics = {
    requests: meter.createCounter('cortiauth.token.requests', {
      unit: '{request}',
      description: 'Token acquisitions, by outcome (and OAuth error) and by who waited',
    }),
    duration: meter.createHistogram('cortiauth.token.fetch.duration', {
      unit: 's',
      description: 'How long a token acquisition took, retries included',
    }),
    sharedHits: meter.createCounter('cortiauth.shared_cache.hits', { unit: '{token}' }),
    storeErrors: meter.createCounter('cortiauth.shared_cache.errors', { unit: '{error}' }),
    reloads: meter.createCounter('cortiauth.credential.reloads', { unit: '{reload}' }),
    rejected: meter.createCounter('cortiauth.token.rejected', { unit: '{token}' }),
  }
  meter
    .createObservableGauge('cortiauth.token.time_to_expiry', {
      unit: 's',
      description: 'Seconds until the token held now expires',
    })
    .addCallback((result) => {
      const now = Date.now() / 1000
      for (const [clientId, at] of expiresAt) result.observe(at - now, { client_id: clientId })
    })
  return metrics
}

function record(m, e) {
  const base = { client_id: e.client_id }
  switch (e.event) {
    case 'token_fetched':
    case 'fetch_failed': {
      const attrs = { ...base, trigger: e.trigger ?? 'caller' }
      const outcome = { outcome: e.event === 'token_fetched' ? 'success' : 'failure' }
      if (e.oauth_error) outcome.oauth_error = e.oauth_error
      else if (e.error_kind) outcome.error_kind = e.error_kind
      m.requests.add(1, { ...attrs, ...outcome })
      if (e.duration_ms !== undefined) m.duration.record(e.duration_ms / 1000, attrs)
      break
    }
    case 'shared_cache_hit':
      m.sharedHits.add(1, base)
      break
    case 'store_error':
      m.storeErrors.add(1, { ...base, store_error: e.store_error ?? 'unknown' })
      break
    case 'credential_reloaded':
      m.reloads.add(1, { ...base, source: e.credential_source ?? 'file' })
      break
    case 'token_rejected':
      m.rejected.add(1, base)
      break
  }
}

/** One event from the core, as its JSON string. */
function deliver(json) {
  let event
  try {
    event = JSON.parse(json)
  } catch {
    return
  }
  if ((event.event === 'token_fetched' || event.event === 'shared_cache_hit') && event.token) {
    expiresAt.set(event.client_id, event.token.expires_at)
  }
  const m = instruments()
  if (m) record(m, event)
  if (channel.hasSubscribers) channel.publish(event)
}

module.exports = { deliver, channel }

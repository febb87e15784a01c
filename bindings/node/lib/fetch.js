'use strict'
// `manager.fetch`: the global fetch with `Authorization` and `Tenant-Name` added, and
// one retry with a fresh token after a 401 from the origin the token was sent to
// (the decision is the core's `on_response`, as in every HTTP integration).

const { InternalError } = require('./errors.js')

function isStream(body) {
  return (
    body !== null &&
    typeof body === 'object' &&
    (typeof body.getReader === 'function' ||
      typeof body.pipe === 'function' ||
      typeof body[Symbol.asyncIterator] === 'function')
  )
}

/**
 * Where `response` came from: its final URL. fetch follows redirects itself (and
 * drops `Authorization` when one leaves the origin), so the core's 401 rule compares
 * it with where the token was sent. A Response made by hand has no URL: it counts as
 * from `sentTo` unless it says it was redirected.
 */
function answeredBy(response, sentTo) {
  if (typeof response.url === 'string' && response.url !== '') return response.url
  return response.redirected ? '' : sentTo
}

async function authorizedFetch(manager, input, init) {
  const fetchImpl = globalThis.fetch
  if (typeof fetchImpl !== 'function') {
    throw new InternalError('cortiauth: manager.fetch needs the global fetch (Node.js 18 or later)')
  }
  // A string that is no absolute URL is a path on the API: the core joins it.
  if (typeof input === 'string' && !URL.canParse(input)) input = manager.apiUrl(input)
  const isRequest = typeof Request === 'function' && input instanceof Request
  const sentTo = isRequest ? input.url : String(input)
  const body = init?.body
  const replayable = isRequest ? (body !== undefined ? !isStream(body) : true) : !isStream(body)
  // A Request's body can be read once: keep a copy for the retry.
  const spare = isRequest && body === undefined && input.body !== null ? input.clone() : null
  const baseHeaders = init?.headers ?? (isRequest ? input.headers : undefined)

  // The core's headers; their Authorization value names the token sent (the core's
  // 401 rule reads it with or without the scheme).
  const send = (target, auth) => {
    const headers = new Headers(baseHeaders)
    headers.set('Authorization', auth.Authorization)
    headers.set('Tenant-Name', auth['Tenant-Name'])
    return fetchImpl(target, { ...init, headers })
  }

  const auth = await manager.headers()
  const token = auth.Authorization
  const response = await send(input, auth)
  // The core's 401 rule; when it says rejected, the token is already dropped (even
  // when the request cannot be sent again).
  if (!manager.onResponse(token, sentTo, answeredBy(response, sentTo), response.status)) return response
  if (!replayable) return response
  try {
    await response.body?.cancel()
  } catch {
    // The first answer is dropped either way.
  }
  return send(spare ?? input, await manager.headers())
}

module.exports = { authorizedFetch }

'use strict'
// `manager.fetch`: the global fetch with `Authorization` and `Tenant-Name` added, and
// one retry with a fresh token after a 401 from the origin the token was sent to.

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
 * Whether `response` came from `origin`. fetch follows redirects itself (and drops
 * `Authorization` when one leaves the origin), so a 401 from elsewhere says nothing
 * about the token: it must neither invalidate it nor cause a retry.
 */
function fromOrigin(response, origin) {
  if (typeof response.url === 'string' && response.url !== '') {
    try {
      return new URL(response.url).origin === origin
    } catch {
      return false
    }
  }
  // No final URL (a Response made by hand): trust it only if no redirect happened.
  return !response.redirected
}

async function authorizedFetch(manager, input, init) {
  const fetchImpl = globalThis.fetch
  if (typeof fetchImpl !== 'function') {
    throw new InternalError('cortiauth: manager.fetch needs the global fetch (Node.js 18 or later)')
  }
  // A string that is no absolute URL is a path on the API: the core joins it.
  if (typeof input === 'string' && !URL.canParse(input)) input = manager.apiUrl(input)
  const isRequest = typeof Request === 'function' && input instanceof Request
  const origin = new URL(isRequest ? input.url : String(input)).origin
  const body = init?.body
  const replayable = isRequest ? (body !== undefined ? !isStream(body) : true) : !isStream(body)
  // A Request's body can be read once: keep a copy for the retry.
  const spare = isRequest && body === undefined && input.body !== null ? input.clone() : null
  const baseHeaders = init?.headers ?? (isRequest ? input.headers : undefined)
  const tenantName = manager.tenantName

  const send = (target, token) => {
    const headers = new Headers(baseHeaders)
    headers.set('Authorization', `Bearer ${token}`)
    headers.set('Tenant-Name', tenantName)
    return fetchImpl(target, { ...init, headers })
  }

  const token = await manager.getAccessToken()
  const response = await send(input, token)
  if (response.status !== 401 || !fromOrigin(response, origin)) return response
  // The API rejected this token: drop it even when the request cannot be sent again.
  manager.invalidate(token)
  if (!replayable) return response
  try {
    await response.body?.cancel()
  } catch {
    // The first answer is dropped either way.
  }
  return send(spare ?? input, await manager.getAccessToken())
}

module.exports = { authorizedFetch }

// A Tiro.health-shaped OAuth 2.0 authorization server for cortiauth's tests,
// built on oidc-provider (pinned in package.json). Loopback only.
//
//   POST /oauth/token   grant_type=client_credentials
//   client authentication: client_secret_basic or client_secret_post (per client)
//   200 -> {"access_token": "<opaque>", "expires_in": 3600, "token_type": "Bearer"}
//          (no "scope" member unless the request asked for one)
//
// Usage: node server.mjs [PORT]   (or PORT / CORTIAUTH_TIRO_PORT in the environment)
// Prints "tiro listening on http://127.0.0.1:PORT" once it accepts connections.

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.CORTIAUTH_TIRO_PORT || process.env.PORT || 0);
const host = '127.0.0.1';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('tiro: give the port as the first argument or in CORTIAUTH_TIRO_PORT');
  process.exit(2);
}
const issuer = `http://${host}:${port}`;

// Client-credentials-only clients: no redirect URIs, no response types, so no
// authorization endpoint flow applies to them at all.
const machineClient = (client_id, client_secret, token_endpoint_auth_method) => ({
  client_id,
  client_secret,
  token_endpoint_auth_method,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
});

const SHORT_TTL = 10; // seconds, for tiro-short
const TTL = 3600; // seconds, what Tiro.health issues

const provider = new Provider(issuer, {
  clients: [
    machineClient('tiro-client', 'tiro-secret', 'client_secret_basic'),
    machineClient('tiro-post', 'tiro-post-secret', 'client_secret_post'),
    machineClient('tiro-short', 'tiro-short-secret', 'client_secret_basic'),
  ],
  features: {
    clientCredentials: { enabled: true },
    // The login/consent pages oidc-provider ships for development: unused here.
    devInteractions: { enabled: false },
  },
  routes: { token: '/oauth/token' },
  ttl: {
    // oidc-provider calls this for every client_credentials token it issues.
    ClientCredentials: (ctx, token, client) => (client.clientId === 'tiro-short' ? SHORT_TTL : TTL),
  },
  // Scopes a client_credentials request may ask for (anything else -> 400 invalid_scope).
  scopes: ['transcribe', 'streams'],
  // No end users ever log in here; oidc-provider still wants the hook.
  findAccount: async () => undefined,
  // Signing keys and cookie keys are left to oidc-provider's development
  // defaults: access tokens are opaque and no cookie is ever set by /oauth/token.
});

// Never sit behind a proxy; loopback only.
provider.proxy = false;

// Log one line per token request: status, client and how it authenticated
// (never a secret). oidc-provider accepts client_secret_basic and
// client_secret_post for any client registered with either (see README.md),
// so this log is where a test can see which one a request used.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/oauth/token') {
    const auth = /^basic /i.test(ctx.get('authorization')) ? 'basic' : 'post';
    console.log(`${new Date().toISOString()} ${ctx.method} ${ctx.path} ${ctx.status} ${ctx.oidc?.client?.clientId ?? '-'} ${auth}`);
  }
});

const server = provider.listen(port, host, () => {
  console.log(`tiro listening on ${issuer}`);
});

const stop = (signal) => {
  console.log(`tiro: ${signal}, stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

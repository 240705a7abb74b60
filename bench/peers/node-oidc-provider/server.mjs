// node-oidc-provider, configured as close to Tessera's defaults as it allows, for bench/run.
//
// Settings, and where they differ from Tessera (BENCHMARKS.md repeats these):
// - RS256 everywhere; a fresh 2048-bit RSA key per start (Tessera's default key size too).
// - Access tokens: JWT (RFC 9068 via its resourceIndicators feature), 900 s, for the resource
//   https://api.example. ID tokens 900 s. Refresh tokens rotate on every use (rotateRefreshToken
//   true), 14 days. Codes 60 s.
// - Storage: its built-in in-memory adapter (an LRU cache). Nothing is persisted, unlike Tessera,
//   which writes every grant to SQLite or PostgreSQL. This favours the peer.
// - Introspection: it refuses to introspect JWT access tokens ("structured tokens"), so the
//   introspection workload introspects an opaque access token issued for a second resource,
//   urn:bench:opaque. Tessera introspects its JWT access token.
// - Sign-in: no password check of its own (its interactions are bring-your-own); the seeded
//   refresh tokens are created in-process from grants, as a finished sign-in would leave them.
//
// Environment: PORT (default 3000), SEED_REFRESH_TOKENS (how many to create at start) and
// SEED_FILE (where to write them, one per line). Prints "listening on http://127.0.0.1:PORT".
import { writeFileSync } from 'node:fs';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const issuer = `http://127.0.0.1:${port}`;
const API = 'https://api.example';
const OPAQUE_API = 'urn:bench:opaque';
export const CLIENTS = {
  service: { id: 'bench-service', secret: 'bench-service-secret-0123456789abcdef' },
  web: { id: 'bench-web', secret: 'bench-web-secret-0123456789abcdef0123' },
  api: { id: 'bench-api', secret: 'bench-api-secret-0123456789abcdef01234' },
};

const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'bench-rs256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENTS.service.id,
      client_secret: CLIENTS.service.secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read',
    },
    {
      client_id: CLIENTS.web.id,
      client_secret: CLIENTS.web.secret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://app.example/callback'],
      scope: 'openid offline_access api:read',
    },
    {
      client_id: CLIENTS.api.id,
      client_secret: CLIENTS.api.secret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'api:read'],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx) => (ctx.oidc.params?.resource ? undefined : API),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => ({
        scope: 'api:read',
        audience: resource,
        accessTokenTTL: 900,
        accessTokenFormat: resource === OPAQUE_API ? 'opaque' : 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  ttl: {
    AccessToken: 900,
    ClientCredentials: 900,
    IdToken: 900,
    AuthorizationCode: 60,
    RefreshToken: 14 * 86400,
    Grant: 30 * 86400,
    Session: 14 * 86400,
    Interaction: 900,
  },
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
});

/** Refresh tokens as a finished sign-in leaves them: one grant and one token per user. */
async function seedRefreshTokens(count) {
  const client = await provider.Client.find(CLIENTS.web.id);
  const tokens = [];
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i += 1) {
    const accountId = `user-${i}`;
    const grant = new provider.Grant({ accountId, clientId: client.clientId });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(API, 'api:read');
    const grantId = await grant.save();
    const token = new provider.RefreshToken({
      accountId,
      client,
      grantId,
      gty: 'authorization_code',
      scope: 'openid offline_access',
      resource: API,
      authTime: now,
    });
    tokens.push(await token.save());
  }
  return tokens;
}

const seed = Number(process.env.SEED_REFRESH_TOKENS || 0);
if (seed > 0) {
  const tokens = await seedRefreshTokens(seed);
  writeFileSync(process.env.SEED_FILE || 'refresh-tokens.txt', `${tokens.join('\n')}\n`);
}

provider.listen(port, '127.0.0.1');
console.log(`listening on ${issuer}`);

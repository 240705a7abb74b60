// node-oidc-provider, configured as close to Tessera's defaults as it allows, for bench/run.
//
// Settings, and where they differ from Tessera (BENCHMARKS.md repeats these):
// - RS256 everywhere; a fresh 2048-bit RSA key per start (Tessera's default key size too).
// - Access tokens: JWT (RFC 9068 via its resourceIndicators feature), 900 s, for the resource
//   https://api.example. ID tokens 900 s. Refresh tokens rotate on every use (rotateRefreshToken
//   true), 14 days. Codes 60 s.
// - Storage: in memory (unbounded_adapter.mjs; its own in-memory adapter is a 1000-entry LRU
//   that evicts seeded refresh tokens mid-run). Nothing is persisted, unlike Tessera, which
//   writes every grant to SQLite or PostgreSQL. This favours the peer.
// - Introspection: it refuses to introspect JWT access tokens ("structured tokens"), so the
//   introspection workload introspects an opaque access token issued for a second resource,
//   urn:bench:opaque. Tessera introspects its JWT access token.
// - Sign-in: its interactions are bring-your-own, so this file brings a minimal one, like
//   Tessera's hosted page: a login form whose password is checked with argon2id at Tessera's
//   parameters (m = 19 MiB, t = 2, p = 1, via @node-rs/argon2), an unknown user costing the same
//   verification, and consent taken as given (a first-party client). No CSRF token, no brute-force
//   limit: less work than Tessera does per sign-in.
// - The seeded refresh tokens are created in-process from grants, as a finished sign-in would
//   leave them. Seeded users share one password hash, as with `tessera seed`.
//
// Environment: PORT (default 3000); SEED_REFRESH_TOKENS (how many users to create at start, each
// with a refresh token) and SEED_FILE (where to write the tokens, one per line); SEED_PASSWORD
// (the seeded users' password; without it they cannot sign in). Users are named
// bench-user-<n>@bench.example, as `tessera seed` names them. Prints "listening on …".
import { writeFileSync } from 'node:fs';
import { hash as argon2Hash, verify as argon2Verify, Algorithm } from '@node-rs/argon2';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';
import UnboundedAdapter from './unbounded_adapter.mjs';

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
  adapter: UnboundedAdapter,
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

/** Tessera's argon2id parameters (OWASP): 19 MiB, two passes, one lane. */
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
/** Password hashes by account id (the email); one shared hash for seeded users. */
const accounts = new Map();
/** Verified when the account is unknown, so that costs the same. */
const dummyHash = await argon2Hash('not-a-real-password', ARGON2);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The interaction: a login form, the password check, and consent taken as given.
provider.use(async (ctx, next) => {
  const route = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!route) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET' && !route[2]) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><form method="post" action="/interaction/${escapeHtml(details.uid)}/login">`
      + '<input name="username" type="email"><input name="password" type="password">'
      + '<button>Sign in</button></form>';
    return undefined;
  }
  if (ctx.method === 'POST' && route[2]) {
    const form = await readForm(ctx.req);
    const stored = accounts.get(form.username);
    const matches = await argon2Verify(stored ?? dummyHash, form.password ?? '');
    if (!stored || !matches) {
      ctx.status = 401;
      ctx.body = 'Wrong email or password.';
      return undefined;
    }
    const grant = new provider.Grant({ accountId: form.username, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    grant.addResourceScope(API, 'api:read');
    const grantId = await grant.save();
    await provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: form.username }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
    return undefined;
  }
  return next();
});

/** Users as a finished sign-in leaves them: one grant and one refresh token each. */
async function seedRefreshTokens(count) {
  const client = await provider.Client.find(CLIENTS.web.id);
  const passwordHash = process.env.SEED_PASSWORD
    ? await argon2Hash(process.env.SEED_PASSWORD, ARGON2)
    : undefined;
  const tokens = [];
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i += 1) {
    const accountId = `bench-user-${i}@bench.example`;
    if (passwordHash) accounts.set(accountId, passwordHash);
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

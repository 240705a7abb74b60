// Tessera with an OpenID Certified relying party: panva's `openid-client` (Node) is the client and
// real headless Chromium (Debian's, driven by playwright-core) is the user.
//
// The client side uses nothing but openid-client's public API, configured from Tessera's discovery
// document: no Tessera-specific URLs, parameters or token parsing. Whatever the library checks
// (issuer of the discovery document, RFC 9207 `iss` in the authorization response because
// discovery advertises authorization_response_iss_parameter_supported, state, PKCE, the ID token's
// signature against the JWKS, iss/aud/exp/iat/nonce/auth_time, userinfo `sub`), a failure here
// means Tessera and a certified client disagree.
//
// Run by run.sh, which starts `tessera serve`, creates the user and passes:
//   TESSERA_BIN, TESSERA_DATA_DIR, TESSERA_ISSUER, TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD,
//   CHROMIUM_PATH, ARTIFACTS_DIR.
// This file starts its callback server on an ephemeral port, then registers its clients (a
// confidential one and a public one, both first-party, ids distinct from sign_in.test.mjs's) with
// the tessera CLI.
//
// The steps share one browser context and run in order: later ones rely on the session cookie and
// the tokens earlier ones left.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as client from 'openid-client';
import {
  ARTIFACTS_DIR,
  EMAIL,
  ISSUER,
  PASSWORD,
  launchChromium,
  registerClient,
  startCallbackServer,
} from './harness.mjs';

const CONFIDENTIAL_ID = 'certified-rp';
const PUBLIC_ID = 'certified-spa';
const SCOPE = 'openid profile email offline_access';

/** The JOSE header of a compact JWS (only to pick the at_hash digest; openid-client verified it). */
function jwsHeader(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
}

/**
 * OpenID Connect Core §3.1.3.8 / §3.2.2.9: at_hash is the base64url left half of the access token's
 * hash under the ID token's JWS algorithm. openid-client checks at_hash only where it is required
 * (implicit and hybrid flows); in the code flow it is optional, so the test checks it itself.
 */
function expectedAtHash(accessToken, alg) {
  const digest = alg === 'EdDSA' || alg === 'Ed25519' ? 'sha512' : { 256: 'sha256', 384: 'sha384', 512: 'sha512' }[alg.slice(-3)];
  assert.ok(digest, `no at_hash digest known for alg ${alg}`);
  const hash = createHash(digest).update(accessToken, 'ascii').digest();
  return hash.subarray(0, hash.length / 2).toString('base64url');
}

/** A fresh authorization request built by openid-client: PKCE (S256), state and nonce. */
async function newAuthorizationRequest(config, redirectUri, extra = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const code_challenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, pkceCodeVerifier, state, nonce };
}

/** Waits until the wall clock's whole second is past `epochSeconds` (plus a margin). */
async function waitForSecondAfter(epochSeconds) {
  const ms = (epochSeconds + 1) * 1000 + 100 - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

/** Asserts the refresh token was refused with invalid_grant, as openid-client reports it. */
async function assertInvalidGrant(promise, what) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof client.ResponseBodyError, `${what}: a ResponseBodyError, got ${err?.name}: ${err?.message}`);
    assert.equal(err.error, 'invalid_grant', `${what}: ${err.error}: ${err.error_description}`);
    assert.equal(err.status, 400, what);
    return true;
  });
}

describe('openid-client (certified RP) against Tessera, user in headless Chromium', { timeout: 90_000 }, () => {
  let rp; // { server, callbacks, origin }
  let redirectUri;
  let clientSecret;
  let config; // the confidential client's openid-client Configuration
  let publicConfig;
  let context;
  let page;
  let closeBrowser;
  let tokens; // the first code exchange
  let firstClaims;
  let refreshed;
  let reauthClaims;

  /** Follows `url` in Chromium, which must show Tessera's login page; signs in there. */
  async function signInThroughLoginPage(url, screenshot) {
    const response = await page.goto(url.href);
    assert.ok(response, 'a response');
    assert.equal(response.status(), 200);
    assert.ok(page.url().startsWith(`${ISSUER}/login?request=`), `Tessera's login page is shown, at ${page.url()}`);
    assert.equal(await page.locator('input[name="password"]').getAttribute('type'), 'password');
    if (screenshot) await page.screenshot({ path: path.join(ARTIFACTS_DIR, screenshot), fullPage: true });
    const before = rp.callbacks.length;
    await page.fill('input[name="username"]', EMAIL);
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`${redirectUri}?**`), page.click('button[type="submit"]')]);
    await page.locator('#done').waitFor();
    assert.equal(rp.callbacks.length, before + 1, 'one callback');
    return new URL(rp.callbacks.at(-1));
  }

  before(async () => {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    rp = await startCallbackServer();
    redirectUri = `${rp.origin}/callback`;
    clientSecret = registerClient(CONFIDENTIAL_ID, redirectUri, { name: 'openid-client confidential RP' });
    registerClient(PUBLIC_ID, redirectUri, { name: 'openid-client public RP', isPublic: true });
    ({ context, page, close: closeBrowser } = await launchChromium());
  });

  after(async () => {
    await closeBrowser?.();
    rp?.server.close();
  });

  it('discovers Tessera (openid-client checks the document\'s issuer)', async () => {
    // The test issuer is plain http://127.0.0.1; openid-client refuses non-HTTPS requests unless
    // told otherwise, and allowInsecureRequests is its documented switch for exactly that (testing
    // against non-TLS environments). Nothing else about the client is non-default.
    config = await client.discovery(new URL(ISSUER), CONFIDENTIAL_ID, clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, ISSUER);
    assert.equal(meta.authorization_response_iss_parameter_supported, true, 'RFC 9207 advertised, so openid-client requires iss');
    assert.ok(meta.supportsPKCE('S256'), 'S256 PKCE advertised');
  });

  it('signs in through Tessera\'s login page in Chromium and lands on the callback', async () => {
    const request = await newAuthorizationRequest(config, redirectUri);
    assert.equal(request.url.origin + request.url.pathname, config.serverMetadata().authorization_endpoint);
    const callbackUrl = await signInThroughLoginPage(request.url, 'certified-login.png');
    assert.equal(callbackUrl.searchParams.get('iss'), ISSUER, 'RFC 9207 iss in the authorization response');

    // The library really enforces RFC 9207 here: without iss, or with another one, it refuses the
    // response before it goes to the token endpoint (so the code below is still unspent).
    const checks = { pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.state, expectedNonce: request.nonce };
    for (const [what, iss] of [['missing iss', null], ['foreign iss', 'https://attacker.example']]) {
      const tampered = new URL(callbackUrl);
      if (iss === null) tampered.searchParams.delete('iss');
      else tampered.searchParams.set('iss', iss);
      await assert.rejects(client.authorizationCodeGrant(config, tampered, checks), (err) => {
        // openid-client wraps oauth4webapi's OperationProcessingError in a ClientError.
        assert.match(String(err.cause?.message ?? err.message), /"iss" \(issuer\)/, what);
        return true;
      });
    }

    // openid-client: iss (RFC 9207) and state in the response; PKCE at the token endpoint; the ID
    // token's signature (JWKS), iss, aud, exp, iat, nonce and auth_time.
    tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: request.pkceCodeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.access_token, 'an access token');
    assert.ok(tokens.refresh_token, 'a refresh token (offline_access, client registered for refresh_token)');
    assert.ok(tokens.expiresIn() > 0, `expires_in: ${tokens.expires_in}`);

    firstClaims = tokens.claims();
    assert.ok(firstClaims, 'validated ID token claims');
    assert.equal(firstClaims.iss, ISSUER);
    assert.deepEqual([firstClaims.aud].flat(), [CONFIDENTIAL_ID], 'aud');
    assert.equal(firstClaims.nonce, request.nonce);
    assert.equal(typeof firstClaims.sub, 'string');
    assert.ok(firstClaims.sub.length > 0, 'a subject');
    assert.equal(typeof firstClaims.auth_time, 'number');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(firstClaims.auth_time <= now && firstClaims.auth_time > now - 60, `auth_time ${firstClaims.auth_time} is just now (${now})`);
    assert.equal(firstClaims.email, EMAIL);
    assert.equal(firstClaims.at_hash, expectedAtHash(tokens.access_token, jwsHeader(tokens.id_token).alg), 'at_hash');
  });

  it('fetches userinfo with the access token (openid-client checks sub)', async () => {
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, firstClaims.sub);
    assert.equal(userinfo.sub, firstClaims.sub);
    assert.equal(userinfo.email, EMAIL);
  });

  it('refreshes: a new refresh token and ID token, same sub and auth_time', async () => {
    refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.access_token, 'a new access token');
    assert.ok(refreshed.refresh_token, 'a rotated refresh token');
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated');
    const claims = refreshed.claims();
    assert.ok(claims, 'a validated ID token on refresh');
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.sub, firstClaims.sub, 'same subject');
    assert.equal(claims.auth_time, firstClaims.auth_time, 'auth_time of the original authentication (OIDC Core §12.2)');
    assert.equal(claims.at_hash, expectedAtHash(refreshed.access_token, jwsHeader(refreshed.id_token).alg), 'at_hash');

    const userinfo = await client.fetchUserInfo(config, refreshed.access_token, firstClaims.sub);
    assert.equal(userinfo.sub, firstClaims.sub);
    assert.equal(userinfo.email, EMAIL);
  });

  it('refuses the spent refresh token with invalid_grant, and then the whole family', async () => {
    await assertInvalidGrant(client.refreshTokenGrant(config, tokens.refresh_token), 'the rotated-out refresh token');
    await assertInvalidGrant(client.refreshTokenGrant(config, refreshed.refresh_token), 'its successor, after the reuse');
  });

  it('reauthenticates on prompt=login: the login page again, and a later auth_time', async () => {
    await waitForSecondAfter(firstClaims.auth_time);
    const request = await newAuthorizationRequest(config, redirectUri, { prompt: 'login' });
    const callbackUrl = await signInThroughLoginPage(request.url);
    const again = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: request.pkceCodeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    reauthClaims = again.claims();
    assert.equal(reauthClaims.sub, firstClaims.sub, 'same user');
    assert.ok(
      reauthClaims.auth_time > firstClaims.auth_time,
      `auth_time moved on: ${reauthClaims.auth_time} > ${firstClaims.auth_time}`,
    );
  });

  describe('public client (token_endpoint_auth_method none)', () => {
    let publicTokens;
    let ssoClaims;

    it('discovers Tessera with client.None()', async () => {
      // allowInsecureRequests: the issuer is plain http://127.0.0.1 in tests (see above).
      publicConfig = await client.discovery(new URL(ISSUER), PUBLIC_ID, undefined, client.None(), {
        execute: [client.allowInsecureRequests],
      });
      assert.equal(publicConfig.serverMetadata().issuer, ISSUER);
    });

    it('reuses the browser session: straight to the callback, auth_time of the last sign-in', async () => {
      const request = await newAuthorizationRequest(publicConfig, redirectUri);
      const documents = [];
      const onRequest = (r) => {
        if (r.isNavigationRequest()) documents.push(new URL(r.url()).origin + new URL(r.url()).pathname);
      };
      page.on('request', onRequest);
      try {
        await page.goto(request.url.href);
        await page.locator('#done').waitFor();
      } finally {
        page.off('request', onRequest);
      }
      assert.deepEqual(documents, [config.serverMetadata().authorization_endpoint, redirectUri], 'no login page');
      publicTokens = await client.authorizationCodeGrant(publicConfig, new URL(rp.callbacks.at(-1)), {
        pkceCodeVerifier: request.pkceCodeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
        idTokenExpected: true,
      });
      ssoClaims = publicTokens.claims();
      assert.deepEqual([ssoClaims.aud].flat(), [PUBLIC_ID], 'aud');
      assert.equal(ssoClaims.sub, firstClaims.sub, 'same user (public subject type)');
      assert.equal(ssoClaims.auth_time, reauthClaims.auth_time, 'the session\'s authentication, not a new one');
      assert.ok(publicTokens.refresh_token, 'a refresh token for the public client');
    });

    it('refreshes without client authentication', async () => {
      const again = await client.refreshTokenGrant(publicConfig, publicTokens.refresh_token);
      assert.notEqual(again.refresh_token, publicTokens.refresh_token, 'rotated');
      assert.equal(again.claims().sub, ssoClaims.sub);
      assert.equal(again.claims().auth_time, ssoClaims.auth_time);
      await assertInvalidGrant(client.refreshTokenGrant(publicConfig, publicTokens.refresh_token), 'the public client\'s spent refresh token');
    });

    it('reauthenticates on max_age=0: the login page again, auth_time checked by openid-client', async () => {
      await waitForSecondAfter(ssoClaims.auth_time);
      const request = await newAuthorizationRequest(publicConfig, redirectUri, { max_age: '0' });
      const callbackUrl = await signInThroughLoginPage(request.url);
      const again = await client.authorizationCodeGrant(publicConfig, callbackUrl, {
        pkceCodeVerifier: request.pkceCodeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
        maxAge: 0, // openid-client then requires auth_time and checks it against max_age
      });
      const claims = again.claims();
      assert.equal(claims.sub, firstClaims.sub);
      assert.ok(claims.auth_time > ssoClaims.auth_time, `auth_time moved on: ${claims.auth_time} > ${ssoClaims.auth_time}`);
    });
  });
});

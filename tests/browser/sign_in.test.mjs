// The hosted sign-in, in a real browser: Debian's headless Chromium driven by playwright-core.
//
// Run by run.sh, which starts `tessera serve`, creates the user and passes:
//   TESSERA_BIN, TESSERA_DATA_DIR, TESSERA_ISSUER, TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD,
//   CHROMIUM_PATH, ARTIFACTS_DIR.
// This file starts the relying party's callback server on an ephemeral port and then registers the
// client with the tessera CLI, so the redirect URI carries the real port with no race.
//
// The steps share one browser context and run in order: each relies on the state the previous one
// left (the pending login request, then the session cookie).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS_DIR,
  EMAIL,
  ISSUER,
  PASSWORD,
  env,
  launchChromium,
  registerClient,
  startCallbackServer,
} from './harness.mjs';

env('TESSERA_DATA_DIR'); // read by the tessera CLI

const CLIENT_ID = 'web';
const CLIENT_NAME = 'Tessera Browser Test';
const SESSION_COOKIE = '__Host-tessera_session';
const CSRF_COOKIE = '__Host-tessera_csrf';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A fresh authorization request: its URL plus the state, nonce and PKCE verifier behind it. */
function authorizationRequest(redirectUri, extra = {}) {
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const url = new URL('/authorize', ISSUER);
  const params = {
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { url: url.toString(), state, nonce, verifier };
}

function decodeJwtPayload(jwt) {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, 'a JWS in compact form');
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

describe('hosted sign-in in headless Chromium', { timeout: 90_000 }, () => {
  let rp; // { server, callbacks, origin }
  let redirectUri;
  let clientSecret;
  let context;
  let page;
  let closeBrowser;
  let first; // the first authorization request
  let loginUrl; // Tessera's login page for it
  let callback; // what the callback received after signing in

  before(async () => {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    rp = await startCallbackServer();
    redirectUri = `${rp.origin}/callback`;
    clientSecret = registerClient(CLIENT_ID, redirectUri, { name: CLIENT_NAME });
    ({ context, page, close: closeBrowser } = await launchChromium());
  });

  after(async () => {
    await closeBrowser?.();
    rp?.server.close();
  });

  it('shows the hosted login page with strict security headers and no session yet', async () => {
    first = authorizationRequest(redirectUri);
    const response = await page.goto(first.url);
    assert.ok(response, 'a response');
    assert.equal(response.status(), 200);
    loginUrl = page.url();
    assert.ok(loginUrl.startsWith(`${ISSUER}/login?request=`), `redirected to the login page, got ${loginUrl}`);

    assert.equal(await page.title(), 'Sign in — Tessera');
    assert.equal(await page.locator('h1').textContent(), `Sign in to continue to ${CLIENT_NAME}`);
    assert.equal(await page.locator('input[name="username"]').count(), 1);
    assert.equal(await page.locator('input[name="password"]').getAttribute('type'), 'password');

    const headers = response.headers();
    const csp = headers['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['referrer-policy'], 'no-referrer');

    const cookies = await context.cookies(ISSUER);
    assert.equal(cookies.find((c) => c.name === SESSION_COOKIE), undefined, 'no session cookie before signing in');
    assert.ok(cookies.find((c) => c.name === CSRF_COOKIE), `the browser kept the CSRF cookie; it has: ${cookies.map((c) => c.name)}`);

    // The page's inline styles must apply under the CSP: the card is centred and white.
    const card = await page.locator('main').evaluate((el) => {
      const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return { bg: s.backgroundColor, left: r.left, right: window.innerWidth - r.right };
    });
    assert.equal(card.bg, 'rgb(255, 255, 255)', 'inline <style> applied (CSP style-src)');
    assert.ok(Math.abs(card.left - card.right) <= 2, `card centred: ${JSON.stringify(card)}`);

    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'login.png'), fullPage: true });
  });

  it('refuses to be framed by another page (frame-ancestors none)', async () => {
    const attacker = await context.newPage();
    const consoleLines = [];
    attacker.on('console', (m) => consoleLines.push(m.text()));
    try {
      await attacker.goto(`${rp.origin}/frame?target=${encodeURIComponent(loginUrl)}`);
      const control = attacker.frame({ name: 'control' });
      await control.waitForSelector('#hello');
      const victim = attacker.frame({ name: 'victim' });
      assert.ok(victim, 'the victim iframe exists');
      await victim.waitForLoadState('load').catch(() => {});
      // Chromium swaps a refused frame for its own error document.
      const framed = await victim.locator('input[name="password"]').count().catch(() => 0);
      assert.equal(framed, 0, `the login form must not render inside a frame (frame url ${victim.url()})`);
      assert.notEqual(victim.url(), loginUrl, 'the frame did not keep the login page');
      assert.ok(
        consoleLines.some((l) => /frame-ancestors 'none'|X-Frame-Options/i.test(l)),
        `Chromium reports the refusal; console said: ${JSON.stringify(consoleLines)}`,
      );
    } finally {
      await attacker.close();
    }
  });

  it('says "Wrong email or password." for a wrong password and stays on Tessera', async () => {
    await page.fill('input[name="username"]', EMAIL);
    await page.fill('input[name="password"]', `${PASSWORD}-wrong`);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/login`),
      page.click('button[type="submit"]'),
    ]);
    assert.equal(response.status(), 401);
    await page.waitForLoadState('load');
    const alert = page.locator('[role="alert"]');
    await alert.waitFor();
    assert.equal((await alert.textContent()).trim(), 'Wrong email or password.');
    assert.ok(page.url().startsWith(`${ISSUER}/`), `still on Tessera, at ${page.url()}`);
    assert.equal(await page.inputValue('input[name="username"]'), EMAIL, 'the email is kept');
    assert.equal(await page.inputValue('input[name="password"]'), '', 'the password is not echoed back');
    assert.equal(rp.callbacks.length, 0, 'nothing reached the client');
    const cookies = await context.cookies(ISSUER);
    assert.equal(cookies.find((c) => c.name === SESSION_COOKIE), undefined, 'still no session cookie');
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'login-wrong-password.png'), fullPage: true });
  });

  it('signs in with the right password and redirects to the client with code, state and iss', async () => {
    await page.fill('input[name="username"]', EMAIL);
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`${redirectUri}?**`), page.click('button[type="submit"]')]);
    await page.locator('#done').waitFor();
    assert.equal(rp.callbacks.length, 1, 'one callback');
    callback = Object.fromEntries(new URL(rp.callbacks[0]).searchParams);
    assert.ok(callback.code, `a code: ${JSON.stringify(callback)}`);
    assert.equal(callback.error, undefined);
    assert.equal(callback.state, first.state);
    assert.equal(callback.iss, ISSUER);
  });

  it('leaves the browser holding a __Host- session cookie: Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
    const cookies = await context.cookies(ISSUER);
    const session = cookies.find((c) => c.name === SESSION_COOKIE);
    assert.ok(session, `Chromium kept ${SESSION_COOKIE}; it has: ${cookies.map((c) => c.name)}`);
    assert.equal(session.secure, true);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');
    assert.equal(session.domain, new URL(ISSUER).hostname, 'host-only (no Domain attribute)');
    assert.ok(session.expires > Date.now() / 1000, 'a persistent cookie with a future expiry');
    // HttpOnly: invisible to the page's own script.
    const visible = await page.evaluate(() => document.cookie);
    assert.ok(!visible.includes(SESSION_COOKIE), 'not readable from JavaScript');
  });

  it('exchanges the code at the token endpoint (client_secret_basic + PKCE) for an id_token', async () => {
    const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const res = await fetch(new URL('/oauth/token', ISSUER), {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.code,
        redirect_uri: redirectUri,
        code_verifier: first.verifier,
      }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(body.access_token, 'an access token');
    assert.ok(body.id_token, 'an id_token');
    const claims = decodeJwtPayload(body.id_token);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, CLIENT_ID);
    assert.equal(claims.nonce, first.nonce);
    assert.ok(claims.sub, 'a subject');
  });

  it('reuses the session: prompt=none lands on the callback with a code and shows no page', async () => {
    const again = authorizationRequest(redirectUri, { prompt: 'none' });
    const silent = await context.newPage();
    const documents = [];
    silent.on('request', (r) => {
      if (r.isNavigationRequest()) documents.push(r.url());
    });
    try {
      const before = rp.callbacks.length;
      await silent.goto(again.url);
      await silent.locator('#done').waitFor();
      assert.ok(silent.url().startsWith(`${redirectUri}?`), `on the callback, at ${silent.url()}`);
      assert.equal(rp.callbacks.length, before + 1);
      const cb = Object.fromEntries(new URL(rp.callbacks.at(-1)).searchParams);
      assert.equal(cb.error, undefined, `no error: ${JSON.stringify(cb)}`);
      assert.ok(cb.code, 'a code');
      assert.equal(cb.state, again.state);
      assert.equal(cb.iss, ISSUER);
      assert.deepEqual(
        documents.map((u) => new URL(u).origin + new URL(u).pathname),
        [`${ISSUER}/authorize`, redirectUri],
        'straight from /authorize to the callback: no login or consent page',
      );
    } finally {
      await silent.close();
    }
  });
});

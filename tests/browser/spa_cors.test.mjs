// A single-page app on another origin signs in, in a real browser: Debian's headless Chromium
// driven by playwright-core. The app (spa/index.html + spa/app.js) has no back end: it fetches
// discovery, does the code flow with PKCE (S256 through crypto.subtle), POSTs the token endpoint
// and GETs UserInfo with a bearer token (a preflighted request), all across origins, and writes
// what it got into the page. Tessera must answer it with CORS headers because the public client
// lists the app's origin (`tessera client add … --public --origin`), and must not answer the same
// app served from an origin no client lists.
//
// Run by run.sh, which starts `tessera serve`, creates the user and passes:
//   TESSERA_BIN, TESSERA_DATA_DIR, TESSERA_ISSUER, TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD,
//   CHROMIUM_PATH, ARTIFACTS_DIR.
// This file starts two app servers on ephemeral loopback ports (the registered origin and an
// unregistered one), then registers the client with the tessera CLI.
//
// The steps share one browser context and run in order: the second relies on the session cookie
// the first left.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ARTIFACTS_DIR, EMAIL, ISSUER, PASSWORD, env, launchChromium, registerClient } from './harness.mjs';

env('TESSERA_DATA_DIR'); // read by the tessera CLI

const CLIENT_ID = 'spa-cors';
const SPA_DIR = path.join(import.meta.dirname, 'spa');

/**
 * Serves the app on 127.0.0.1 (a secure context, so crypto.subtle works). `config()` is read per
 * request, because the redirect URI names the registered server's port, known only once it
 * listens.
 */
function startSpaServer(config) {
  const files = {
    '/app.js': ['text/javascript', readFileSync(path.join(SPA_DIR, 'app.js'))],
  };
  const index = readFileSync(path.join(SPA_DIR, 'index.html'));
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://placeholder');
    if (pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(config()));
    } else if (files[pathname]) {
      res.writeHead(200, { 'content-type': files[pathname][0] });
      res.end(files[pathname][1]);
    } else if (['/', '/callback', '/exchange'].includes(pathname)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(index);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }),
    );
  });
}

/** What the app wrote into #result once it finished. */
async function result(page) {
  await page.locator('#status', { hasText: 'done' }).waitFor();
  return JSON.parse(await page.locator('#result').textContent());
}

function decodeJwtPayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

describe('a single-page app on another origin (CORS) in headless Chromium', { timeout: 90_000 }, () => {
  let app; // the registered origin
  let stranger; // the same app on an origin no client lists
  let redirectUri;
  let page;
  let closeBrowser;

  before(async () => {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const config = () => ({ issuer: ISSUER, clientId: CLIENT_ID, redirectUri });
    app = await startSpaServer(config);
    stranger = await startSpaServer(config);
    redirectUri = `${app.origin}/callback`;
    registerClient(CLIENT_ID, redirectUri, { isPublic: true, origins: [app.origin] });
    ({ page, close: closeBrowser } = await launchChromium());
  });

  after(async () => {
    await closeBrowser?.();
    app?.server.close();
    stranger?.server.close();
  });

  it('signs in through the hosted login and reads tokens and UserInfo across origins', async () => {
    await page.goto(`${app.origin}/`);
    await page.waitForURL(`${ISSUER}/login?**`);
    await page.fill('input[name="username"]', EMAIL);
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`${redirectUri}?**`), page.click('button[type="submit"]')]);
    const got = await result(page);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'spa-cors.png'), fullPage: true });

    assert.equal(got.ok, true, `the app finished: ${JSON.stringify(got)}`);
    assert.equal(got.discovery, ISSUER, 'the app read discovery across origins');
    assert.equal(got.tokens.status, 200, JSON.stringify(got.tokens));
    assert.ok(got.tokens.body.access_token, 'an access token');
    assert.ok(got.tokens.body.id_token, 'an ID token');
    const id = decodeJwtPayload(got.tokens.body.id_token);
    assert.equal(id.iss, ISSUER);
    assert.equal(id.aud, CLIENT_ID);
    assert.equal(id.nonce, got.nonce);
    assert.equal(got.userinfo.status, 200, JSON.stringify(got.userinfo));
    assert.equal(got.userinfo.body.sub, id.sub, 'UserInfo names the ID token subject');
    assert.equal(got.userinfo.body.email, EMAIL);
  });

  it('blocks the same app on an unregistered origin at the token endpoint, consuming nothing', async () => {
    // A fresh code, held unused by the registered app (the session signs in without a page).
    await page.goto(`${app.origin}/?hold=1`);
    await page.locator('#status', { hasText: 'held' }).waitFor();
    const held = JSON.parse(await page.locator('#held').textContent());
    assert.ok(held.code, `a code: ${JSON.stringify(held)}`);
    const exchange = (origin) =>
      `${origin}/exchange?${new URLSearchParams({ code: held.code, verifier: held.verifier })}`;

    // Discovery is public, so the stranger gets that far; the token endpoint's answer is blocked
    // (no Access-Control-Allow-Origin for this origin): fetch rejects with a TypeError.
    await page.goto(exchange(stranger.origin));
    const blocked = await result(page);
    assert.deepEqual(
      { ok: blocked.ok, stage: blocked.stage, error: blocked.error },
      { ok: false, stage: 'token', error: 'TypeError' },
      JSON.stringify(blocked),
    );

    // The browser did send that simple POST; Tessera refused it before consuming the code, so
    // the registered app can still redeem it.
    await page.goto(exchange(app.origin));
    const redeemed = await result(page);
    assert.equal(redeemed.ok, true, JSON.stringify(redeemed));
    assert.equal(redeemed.tokens.status, 200, JSON.stringify(redeemed.tokens));
    assert.equal(redeemed.userinfo.body.email, EMAIL);
  });
});

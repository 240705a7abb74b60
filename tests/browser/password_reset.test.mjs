// The forgotten-password reset in a real browser, with an OpenID Certified relying party
// (panva's `openid-client`) on the client side and Debian's headless Chromium (driven by
// playwright-core) as the user:
//
// 1. the user signs in with the password in browser context A (the session the reset must end),
//    and a second authorization request there goes straight to the callback (the session lives);
// 2. in context B, an authorization request's login page links to "Forgot your password?"; the
//    user's address is submitted there, and an unknown address in another page: both answers read
//    the same (no account enumeration). Tessera's outbox worker mails the link over SMTP to a real
//    SMTP server on loopback (smtp_sink.mjs, started by run.sh); the test reads it back from the
//    messages it stored (one "Choose a new password" message to the user, none to the unknown
//    address) and opens the link in context B;
// 3. a common password (`password1`) is refused (400, the link still works), then a good one
//    changes the password ("Password changed", and a mailed notice);
// 4. the link is used up (400, "This link no longer works"); context A's next authorization
//    request shows the login page again (the reset ended its session); the old password is refused
//    there and the new one signs in (callback, code exchange and ID token checked by openid-client).
//
// Run by run.sh, which starts the SMTP sink and `tessera serve` (with TESSERA_EMAIL__SMTP_URL
// pointing at it) and passes TESSERA_BIN, TESSERA_DATA_DIR, TESSERA_ISSUER, CHROMIUM_PATH,
// ARTIFACTS_DIR and SMTP_SINK_DIR (where the SMTP sink stores what it receives).
// This file adds a user of its own, with a password and no second factor (the reset would ask an
// authenticator app's code too), starts its callback server on an ephemeral port, then registers
// its client with the tessera CLI. The steps run in order and rely on what earlier ones left.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as client from 'openid-client';
import {
  ARTIFACTS_DIR,
  ISSUER,
  STEP_TIMEOUT_MS,
  addUser,
  env,
  launchBrowser,
  registerClient,
  startCallbackServer,
} from './harness.mjs';

env('TESSERA_DATA_DIR'); // read by the tessera CLI
const MAIL_DIR = env('SMTP_SINK_DIR');

const CLIENT_ID = 'password-reset-rp';
const CLIENT_NAME = 'Password Reset RP';
const USER_EMAIL = 'grace@reset.example.com';
const OLD_PASSWORD = 'grace forgot this one somewhere';
const NEW_PASSWORD = 'grace chose a new long passphrase';
const WEAK_PASSWORD = 'password1'; // 9 characters, but among the most common passwords
const UNKNOWN_EMAIL = 'nobody@reset.example.com'; // no account uses it
const MAIL_FROM = 'no-reply@tessera.test';
const RESET_SUBJECT = 'Choose a new password';
const NOTICE_SUBJECT = "Your account's security settings changed";
const SCOPE = 'openid profile email';
const FORGOT_URL = `${ISSUER}/account/forgot-password`;
const RESET_URL = `${ISSUER}/account/reset-password`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The messages the SMTP sink stored, oldest first. */
function storedMail() {
  if (!existsSync(MAIL_DIR)) return [];
  return readdirSync(MAIL_DIR)
    .filter((name) => /^\d{4}\.json$/.test(name))
    .sort()
    .map((name) => JSON.parse(readFileSync(path.join(MAIL_DIR, name), 'utf8')));
}

/** The stored messages with `subject` whose envelope is addressed to `to`. */
const mailTo = (to, subject) =>
  storedMail().filter((m) => m.envelope.to.includes(to) && (subject === undefined || m.subject === subject));

/** Waits (up to a step's timeout) until at least one message to `to` with `subject` is stored. */
async function waitForMail(to, subject) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let matching = mailTo(to, subject);
  while (matching.length === 0 && Date.now() < deadline) {
    await sleep(100);
    matching = mailTo(to, subject);
  }
  return matching;
}

describe('forgotten-password reset with openid-client (certified RP), user in headless Chromium', { timeout: 180_000 }, () => {
  let rp; // { server, callbacks, origin }
  let redirectUri;
  let config; // openid-client Configuration
  let browser; // { newContext, close }
  let contextA; // { context, page }: signed in with the old password
  let contextB; // { context, page }: asks for the link and uses it
  let firstClaims;
  let resetLink; // the mailed link, as a URL string
  let passwordChanged = false;
  const contexts = [];

  async function newContext() {
    const opened = await browser.newContext();
    contexts.push(opened.context);
    return opened;
  }

  /** A fresh authorization request built by openid-client: PKCE (S256), state and nonce. */
  async function newAuthorizationRequest() {
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
    });
    return { url, pkceCodeVerifier, state, nonce };
  }

  /** Opens `request` in `page` and asserts Tessera's login page is shown (no session). */
  async function openLoginPage(page, request) {
    const response = await page.goto(request.url.href);
    assert.equal(response?.status(), 200);
    assert.ok(page.url().startsWith(`${ISSUER}/login?request=`), `Tessera's login page is shown, at ${page.url()}`);
    await page.locator('h1', { hasText: `Sign in to continue to ${CLIENT_NAME}` }).waitFor();
    assert.equal(await page.locator('input[name="password"]').count(), 1, 'a password input');
  }

  /** Types the user's email and `password` on the login page and submits; returns the response. */
  async function submitLogin(page, password) {
    await page.fill('input[name="username"]', USER_EMAIL);
    await page.fill('input[name="password"]', password);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/login`),
      page.click('button[type="submit"]'),
    ]);
    return response;
  }

  /** Waits for `page` to land on the callback, then exchanges its code with openid-client. */
  async function exchangeAtCallback(page, request) {
    await page.waitForURL(`${redirectUri}?**`);
    await page.locator('#done').waitFor();
    const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: request.pkceCodeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    assert.ok(tokens.access_token, 'an access token');
    const claims = tokens.claims();
    assert.ok(claims, 'validated ID token claims');
    assert.equal(claims.email, USER_EMAIL);
    return claims;
  }

  /** Posts the reset form in `page` with `password`; returns the response. */
  async function submitNewPassword(page, password) {
    await page.fill('input[name="password"]', password);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === RESET_URL),
      page.getByRole('button', { name: 'Change password' }).click(),
    ]);
    await page.waitForLoadState('load');
    return response;
  }

  before(async () => {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    addUser(USER_EMAIL, OLD_PASSWORD, 'Grace (password reset)');
    rp = await startCallbackServer();
    redirectUri = `${rp.origin}/callback`;
    const secret = registerClient(CLIENT_ID, redirectUri, { name: CLIENT_NAME });
    // allowInsecureRequests: the test issuer is plain http://127.0.0.1 (see certified_client).
    config = await client.discovery(new URL(ISSUER), CLIENT_ID, secret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    rp?.server.close();
  });

  it('signs the user in with the old password in context A; its session signs in again without a login page', async () => {
    contextA = await newContext();
    const request = await newAuthorizationRequest();
    await openLoginPage(contextA.page, request);
    const before = rp.callbacks.length;
    await submitLogin(contextA.page, OLD_PASSWORD);
    firstClaims = await exchangeAtCallback(contextA.page, request);
    assert.equal(rp.callbacks.length, before + 1, 'one callback');
    assert.deepEqual(firstClaims.amr, ['pwd']);

    // The control for the check after the reset: while the session lives, a new authorization
    // request in context A goes straight to the callback, with no login page.
    const again = await newAuthorizationRequest();
    await contextA.page.goto(again.url.href);
    const claims = await exchangeAtCallback(contextA.page, again);
    assert.equal(claims.sub, firstClaims.sub, 'the same user, from the session');
    assert.equal(rp.callbacks.length, before + 2, 'a second callback, no login page');
  });

  it('asks for a link from the login page: the same answer for the user\'s address and an unknown one', async () => {
    contextB = await newContext();
    const { page } = contextB;
    await openLoginPage(page, await newAuthorizationRequest());
    const link = page.getByRole('link', { name: 'Forgot your password?' });
    assert.equal(await link.count(), 1, 'the login page links to "Forgot your password?"');
    assert.equal(new URL(await link.getAttribute('href'), page.url()).href, FORGOT_URL);
    await Promise.all([page.waitForURL(FORGOT_URL), link.click()]);
    assert.equal(await page.title(), 'Forgot your password — Tessera');

    /** Fills and sends the form in `p`; returns the answer's status and visible text. */
    const ask = async (p, email) => {
      await p.fill('input[name="email"]', email);
      const [response] = await Promise.all([
        p.waitForResponse((r) => r.request().method() === 'POST' && r.url() === FORGOT_URL),
        p.getByRole('button', { name: 'Send the link' }).click(),
      ]);
      await p.waitForLoadState('load');
      await p.locator('[role="status"]').waitFor();
      return { status: response.status(), text: await p.locator('body').innerText() };
    };

    const known = await ask(page, USER_EMAIL);
    assert.equal(known.status, 200);
    assert.match(known.text, /If an account uses that address, we sent it a link/);
    assert.ok(!known.text.includes(USER_EMAIL), 'the answer does not repeat the address');

    const other = await contextB.context.newPage();
    const response = await other.goto(FORGOT_URL);
    assert.equal(response?.status(), 200);
    const unknown = await ask(other, UNKNOWN_EMAIL);
    assert.equal(unknown.status, known.status, 'the same status');
    assert.equal(unknown.text, known.text, 'the same visible text');
    await other.close();

    const resets = await waitForMail(USER_EMAIL, RESET_SUBJECT);
    assert.equal(resets.length, 1, `one "${RESET_SUBJECT}" message to the user, the SMTP server has ${resets.length}`);
    const [mail] = resets;
    assert.deepEqual(mail.envelope.to, [USER_EMAIL], 'SMTP envelope recipient');
    assert.deepEqual(mail.to, [USER_EMAIL], 'To');
    assert.deepEqual(mail.from, [MAIL_FROM], 'From (email.from)');
    const match = new RegExp(`${escapeRegExp(RESET_URL)}\\?token=[A-Za-z0-9_-]+`).exec(mail.text);
    assert.ok(match, `the body gives the link: ${JSON.stringify(mail.text)}`);
    resetLink = match[0];
    assert.deepEqual(mailTo(UNKNOWN_EMAIL), [], 'nothing mailed to the unknown address');
  });

  it('opens the mailed link in context B: a new-password form, no code asked (no second factor)', async () => {
    assert.ok(resetLink, 'the link was mailed');
    const { page } = contextB;
    const response = await page.goto(resetLink);
    assert.equal(response?.status(), 200);
    assert.equal(await page.title(), 'Choose a new password — Tessera');
    assert.equal((await page.locator('h1').textContent()).trim(), 'Choose a new password');
    assert.match(await page.locator('main').textContent(), new RegExp(`For ${escapeRegExp(USER_EMAIL)}\\.`));
    assert.equal(await page.locator('input[name="password"]').count(), 1, 'a new-password input');
    assert.equal(await page.locator('input[name="code"]').count(), 0, 'no authenticator code asked');
    assert.equal(await page.locator('input[name="recovery_code"]').count(), 0, 'no recovery code asked');
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'password-reset.png'), fullPage: true });
  });

  it(`refuses a common password (${WEAK_PASSWORD}): 400, still on the form, the link still works`, async () => {
    const { page } = contextB;
    const response = await submitNewPassword(page, WEAK_PASSWORD);
    assert.equal(response.status(), 400);
    const alert = page.locator('[role="alert"]');
    await alert.waitFor();
    assert.match(await alert.textContent(), /common passwords/);
    assert.equal(new URL(page.url()).pathname, '/account/reset-password', `still on the reset page, at ${page.url()}`);
    assert.equal((await page.locator('h1').textContent()).trim(), 'Choose a new password');
    assert.equal(await page.inputValue('input[name="password"]'), '', 'the password is not echoed back');
    assert.equal(await page.getByRole('button', { name: 'Change password' }).count(), 1, 'it can be typed again');
    assert.equal(mailTo(USER_EMAIL, NOTICE_SUBJECT).length, 0, 'no change, no notice');
  });

  it('changes the password with a good one: "Password changed", and a notice is mailed', async () => {
    const { page } = contextB;
    const response = await submitNewPassword(page, NEW_PASSWORD);
    assert.equal(response.status(), 200);
    assert.equal((await page.locator('h1').textContent()).trim(), 'Password changed');
    passwordChanged = true;
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'password-reset-done.png'), fullPage: true });

    const notices = await waitForMail(USER_EMAIL, NOTICE_SUBJECT);
    assert.equal(notices.length, 1, `one "${NOTICE_SUBJECT}" message to the user, the SMTP server has ${notices.length}`);
    assert.equal(mailTo(USER_EMAIL, RESET_SUBJECT).length, 1, 'still only one reset link mailed');
  });

  it('the link works only once: 400 "This link no longer works"', async () => {
    assert.ok(passwordChanged, 'the password was changed');
    const { page } = contextB;
    const response = await page.goto(resetLink);
    assert.equal(response?.status(), 400);
    assert.equal((await page.locator('h1').textContent()).trim(), 'This link no longer works');
    assert.equal(await page.locator('input[name="password"]').count(), 0, 'no form');
  });

  it('ended context A\'s session: its next authorization request shows the login page', async () => {
    assert.ok(passwordChanged, 'the password was changed');
    const before = rp.callbacks.length;
    await openLoginPage(contextA.page, await newAuthorizationRequest());
    assert.equal(rp.callbacks.length, before, 'nothing reached the client');
  });

  it('refuses the old password there and signs in with the new one (openid-client checks the tokens)', async () => {
    assert.ok(passwordChanged, 'the password was changed');
    const { page } = contextA;
    const request = await newAuthorizationRequest();
    await openLoginPage(page, request);
    const before = rp.callbacks.length;

    const refused = await submitLogin(page, OLD_PASSWORD);
    assert.equal(refused.status(), 401);
    await page.waitForLoadState('load');
    const alert = page.locator('[role="alert"]');
    await alert.waitFor();
    assert.equal((await alert.textContent()).trim(), 'Wrong email or password.');
    assert.ok(page.url().startsWith(`${ISSUER}/`), `still on Tessera, at ${page.url()}`);
    assert.equal(rp.callbacks.length, before, 'nothing reached the client');

    await submitLogin(page, NEW_PASSWORD);
    const claims = await exchangeAtCallback(page, request);
    assert.equal(rp.callbacks.length, before + 1, 'one callback');
    assert.equal(claims.sub, firstClaims.sub, 'the same user');
    assert.deepEqual(claims.amr, ['pwd']);
  });

  it('mailed nothing to the unknown address (checked again after the later mail arrived)', () => {
    assert.deepEqual(mailTo(UNKNOWN_EMAIL), [], 'no message to the unknown address');
    assert.equal(mailTo(USER_EMAIL, RESET_SUBJECT).length, 1, 'one reset link to the user');
  });
});

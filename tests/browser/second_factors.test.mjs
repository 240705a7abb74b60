// Second factors in a real browser, with an OpenID Certified relying party: panva's
// `openid-client` asks for them (`acr_values=urn:tessera:acr:mfa`) and checks the ID tokens;
// Debian's headless Chromium (driven by playwright-core) is the user, who turns them on at
// Tessera's account pages and then signs in with each:
//
// 1. an authenticator app (TOTP): the enrolment page's key and otpauth URI feed `otplib`, an
//    implementation of RFC 6238 independent of Tessera's, which makes the codes typed in;
// 2. a sign-in with the app's code, and the same code refused in a second sign-in (one use per
//    30-second step);
// 3. recovery codes, one of which then replaces the app's code;
// 4. codes by email, sent by Tessera's outbox worker over SMTP to a real SMTP server on loopback
//    (smtp_sink.mjs, started by run.sh) and read back from the messages it stored;
// 5. codes by text message (SMS): a number confirmed at /account/phone (one without its country
//    code refused), then a sign-in with a texted code (amr pwd+sms+mfa). Tessera's outbox worker
//    posts each text, signed with HMAC-SHA-256, to an SMS provider's webhook on loopback
//    (sms_sink.mjs, started by run.sh), which checks every signature with node:crypto and stores
//    the texts it accepts; the codes are read back from those, and the test asserts the webhook
//    refused no request (no bad signature).
//
// Run by run.sh, which starts the SMTP sink, the SMS webhook sink and `tessera serve` (with
// TESSERA_EMAIL__SMTP_URL and TESSERA_SMS__WEBHOOK_URL/_SECRET pointing at them) and passes:
//   TESSERA_BIN, TESSERA_DATA_DIR, TESSERA_ISSUER, TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD,
//   CHROMIUM_PATH, ARTIFACTS_DIR, SMTP_SINK_DIR (where the SMTP sink stores what it receives) and
//   SMS_SINK_DIR (where the SMS sink stores the texts it accepted and the requests it refused).
// This file adds a user of its own (the shared one of the other files keeps a password only),
// starts its callback server on an ephemeral port, then registers its client with the tessera CLI.
//
// The steps run in order and rely on what earlier ones left: the first browser context's session
// (the account pages need a sign-in within the last 5 minutes; the server runs on the real clock,
// so on a slow machine the SMS step signs that context in again first), the factors turned on,
// and the TOTP step already spent. Every other sign-in is a new context, with no session.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as client from 'openid-client';
import { generate } from 'otplib';
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
import { verifySignature } from './sms_sink.mjs';

env('TESSERA_DATA_DIR'); // read by the tessera CLI
const MAIL_DIR = env('SMTP_SINK_DIR');
const SMS_DIR = env('SMS_SINK_DIR');

const CLIENT_ID = 'second-factors-rp';
const CLIENT_NAME = 'Second Factors RP';
const USER_EMAIL = 'ada@mfa.example.com';
const USER_PASSWORD = 'second factors are better than one';
const MAIL_FROM = 'no-reply@tessera.test';
const ACR_MFA = 'urn:tessera:acr:mfa';
const AMR_MFA = ['pwd', 'otp', 'mfa'];
const AMR_SMS = ['pwd', 'sms', 'mfa'];
// The user's mobile number as typed, as Tessera stores and texts it (E.164), and as its pages
// show it (the country code and the last two digits). 020 7946 0958 is an Ofcom drama number.
const PHONE_TYPED = '+44 20 7946 0958';
const PHONE = '+442079460958';
const PHONE_MASKED = `+44${'•'.repeat(8)}58`;
const PHONE_NATIONAL = '020 7946 0958'; // no country code: refused
// The account pages need a sign-in within the last 5 minutes; sign in again after 4.
const RECENT_SIGN_IN_MS = 4 * 60 * 1000;
const SCOPE = 'openid profile email';

// RFC 6238 as Tessera announces it (and as the otpauth URI must say): SHA-1, 6 digits, 30 s.
const TOTP = { algorithm: 'sha1', digits: 6, period: 30 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The TOTP code of `secret` (base32) at this instant, computed by otplib, and its time step. */
async function totpNow(secret) {
  const epoch = Math.floor(Date.now() / 1000);
  const code = await generate({ secret, epoch, ...TOTP });
  return { code, step: Math.floor(epoch / TOTP.period) };
}

/** Waits until the wall clock is in a time step after `step` (Tessera spends one per use). */
async function waitForStepAfter(step) {
  const ms = (step + 1) * TOTP.period * 1000 + 250 - Date.now();
  if (ms > 0) await sleep(ms);
}

/** The messages the SMTP sink stored, oldest first. */
function storedMail() {
  if (!existsSync(MAIL_DIR)) return [];
  return readdirSync(MAIL_DIR)
    .filter((name) => /^\d{4}\.json$/.test(name))
    .sort()
    .map((name) => JSON.parse(readFileSync(path.join(MAIL_DIR, name), 'utf8')));
}

/**
 * Waits for the message with `subject` among those after the first `before` ones, and asserts
 * it is the only such one. Other messages may arrive meanwhile: Tessera mails a notice whenever
 * a factor is added or the password changes.
 */
async function nextMail(before, what, subject) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let matching = [];
  while (Date.now() < deadline) {
    matching = storedMail().slice(before).filter((m) => m.subject === subject);
    if (matching.length > 0) break;
    await sleep(100);
  }
  assert.equal(matching.length, 1, `${what}: one new "${subject}" message at the SMTP server, it has ${matching.length}`);
  return matching[0];
}

/** The texts the SMS sink accepted (its signature checked), oldest first. */
function storedTexts() {
  if (!existsSync(SMS_DIR)) return [];
  return readdirSync(SMS_DIR)
    .filter((name) => /^\d{4}\.json$/.test(name))
    .sort()
    .map((name) => JSON.parse(readFileSync(path.join(SMS_DIR, name), 'utf8')));
}

/** The requests the SMS sink refused (bad or missing signature, or not a text), oldest first. */
function refusedTexts() {
  if (!existsSync(SMS_DIR)) return [];
  return readdirSync(SMS_DIR)
    .filter((name) => /^refused-\d{4}\.json$/.test(name))
    .sort()
    .map((name) => JSON.parse(readFileSync(path.join(SMS_DIR, name), 'utf8')));
}

/**
 * Waits for a text among those after the first `before` ones and asserts it is the only one (a
 * text is sent for nothing else), to the user's number; returns its 6-digit code.
 */
async function nextTextCode(before, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let texts = [];
  while (Date.now() < deadline) {
    texts = storedTexts().slice(before);
    if (texts.length > 0) break;
    await sleep(100);
  }
  assert.deepEqual(refusedTexts(), [], 'the SMS webhook refused no request (every signature held)');
  assert.equal(texts.length, 1, `${what}: one new text at the SMS webhook, it has ${texts.length}`);
  const [text] = texts;
  assert.equal(text.to, PHONE, 'to: the number in E.164 form');
  assert.equal(text.contentType, 'application/json');
  const match = /^(\d{6}) is your code\./.exec(text.body);
  assert.ok(match, `the text starts with the code: ${JSON.stringify(text.body)}`);
  return match[1];
}

/** The 6-digit code of a message Tessera sent, after checking who it is from and to. */
function codeOf(message, subject) {
  assert.equal(message.subject, subject);
  assert.deepEqual(message.envelope.to, [USER_EMAIL], 'SMTP envelope recipient');
  assert.deepEqual(message.to, [USER_EMAIL], 'To');
  assert.deepEqual(message.from, [MAIL_FROM], 'From (email.from)');
  const match = /Your code is (\d{6})\b/.exec(message.text);
  assert.ok(match, `the body gives the code: ${JSON.stringify(message.text)}`);
  return match[1];
}

describe('second factors with openid-client (certified RP), user in headless Chromium', { timeout: 240_000 }, () => {
  let rp; // { server, callbacks, origin }
  let redirectUri;
  let config; // openid-client Configuration
  let browser; // { newContext, close }
  let account; // { context, page }: the first context, signed in with the password
  let firstClaims;
  let totpKey; // base32, as the enrolment page shows it
  let enrolStep; // the time step of the code that confirmed the enrolment
  let signInCode; // the TOTP code the MFA sign-in used
  let recoveryCodes;
  let accountSignedInAt; // Date.now() before the account context's last password was typed
  let phoneConfirmed = false;
  const contexts = [];

  async function newContext() {
    const opened = await browser.newContext();
    contexts.push(opened.context);
    return opened;
  }

  /** A fresh authorization request built by openid-client: PKCE (S256), state and nonce. */
  async function newAuthorizationRequest(extra = {}) {
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

  /** Opens `request` in `page` (Tessera's login page) and types the user's email and password. */
  async function submitPassword(page, request) {
    const response = await page.goto(request.url.href);
    assert.equal(response?.status(), 200);
    assert.ok(page.url().startsWith(`${ISSUER}/login?request=`), `Tessera's login page is shown, at ${page.url()}`);
    await page.fill('input[name="username"]', USER_EMAIL);
    await page.fill('input[name="password"]', USER_PASSWORD);
    await page.click('button[type="submit"]');
  }

  /** Signs in with `acr_values` naming MFA; answers once the second-factor page is shown. */
  async function signInToSecondFactor(page) {
    const request = await newAuthorizationRequest({ acr_values: ACR_MFA });
    await submitPassword(page, request);
    await page.waitForURL(`${ISSUER}/login/second-factor?request=**`);
    await page.locator('h1', { hasText: "Verify it's you" }).waitFor();
    assert.match(await page.locator('main').textContent(), new RegExp(`continue to ${CLIENT_NAME}`));
    return request;
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
    const claims = tokens.claims();
    assert.ok(claims, 'validated ID token claims');
    assert.equal(claims.email, USER_EMAIL);
    return claims;
  }

  /** Clicks `button` (which finishes the sign-in), then exchanges the code with openid-client. */
  async function finishAtCallback(page, request, button) {
    const before = rp.callbacks.length;
    await button.click();
    const claims = await exchangeAtCallback(page, request);
    assert.equal(rp.callbacks.length, before + 1, 'one callback');
    return claims;
  }

  /** The sub-form of the second-factor page that holds the input `name`. */
  const formWith = (page, name) => page.locator('form', { has: page.locator(`input[name="${name}"]`) });

  /**
   * Signs the account context in again (prompt=login, the password only) when its last sign-in
   * is too old for the account pages; says so in the test's diagnostics.
   */
  async function ensureRecentSignIn(t) {
    const age = Date.now() - accountSignedInAt;
    if (age < RECENT_SIGN_IN_MS) return;
    t.diagnostic(`the account context signed in ${Math.round(age / 1000)} s ago: signing in again`);
    const request = await newAuthorizationRequest({ prompt: 'login' });
    const signedInAt = Date.now();
    await submitPassword(account.page, request);
    const claims = await exchangeAtCallback(account.page, request);
    assert.equal(claims.sub, firstClaims.sub, 'the same user');
    assert.deepEqual(claims.amr, ['pwd']);
    accountSignedInAt = signedInAt;
  }

  before(async () => {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    addUser(USER_EMAIL, USER_PASSWORD, 'Ada (second factors)');
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

  it('the SMS sink\'s signature check accepts Tessera\'s known answer and refuses tampering (the oracle is sound)', () => {
    // The known answer of tessera_core::webhook's unit test, computed there with Python's hmac.
    const body = '{"to":"+4420","body":"hi"}';
    const header = 't=1700000000,v1=ff78998ca68405febbb772dc569730b6d218cdd498ae901392cf01cea051a2f5';
    assert.equal(verifySignature('secret', header, body, 1_700_000_000), null);
    assert.notEqual(verifySignature('other', header, body, 1_700_000_000), null, 'another secret');
    assert.notEqual(verifySignature('secret', header, body.replace('hi', 'ho'), 1_700_000_000), null, 'another body');
    assert.notEqual(verifySignature('secret', header.replace('t=1700000000', 't=1700000001'), body, 1_700_000_000), null, 'another time');
    assert.notEqual(verifySignature('secret', header, body, 1_700_000_000 + 3600), null, 'an hour old');
    assert.notEqual(verifySignature('secret', undefined, body, 1_700_000_000), null, 'no header');
  });

  it('otplib reproduces RFC 6238\'s SHA-1 test vector (the oracle is sound)', async () => {
    // RFC 6238 Appendix B: key "12345678901234567890", T = 59 s → 94287082 (8 digits).
    const rfcKey = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    assert.equal(await generate({ secret: rfcKey, epoch: 59, ...TOTP, digits: 8 }), '94287082');
    assert.equal(await generate({ secret: rfcKey, epoch: 59, ...TOTP }), '287082');
  });

  it('advertises the MFA acr in discovery', () => {
    assert.ok(
      config.serverMetadata().acr_values_supported?.includes(ACR_MFA),
      `acr_values_supported: ${JSON.stringify(config.serverMetadata().acr_values_supported)}`,
    );
  });

  it('signs in with the password only: no acr asked, none given, amr ["pwd"]', async () => {
    account = await newContext();
    const request = await newAuthorizationRequest();
    accountSignedInAt = Date.now();
    await submitPassword(account.page, request);
    firstClaims = await exchangeAtCallback(account.page, request);
    assert.equal(firstClaims.acr, undefined, 'no acr without acr_values');
    assert.deepEqual(firstClaims.amr, ['pwd']);
    assert.equal(firstClaims.email_verified, false, 'a new user\'s address is not verified yet');
  });

  it('asks for no second factor yet: acr_values=MFA with none enrolled gives the password acr', async () => {
    // acr_values is voluntary (OpenID Connect Core §5.5.1.1): a user without a second factor
    // is signed in, and the acr says what was proven. The control for the MFA sign-ins below.
    const { page } = await newContext();
    const request = await newAuthorizationRequest({ acr_values: ACR_MFA });
    await submitPassword(page, request);
    const claims = await exchangeAtCallback(page, request);
    assert.equal(claims.acr, 'urn:tessera:acr:password');
    assert.deepEqual(claims.amr, ['pwd']);
  });

  it('turns on an authenticator app at /account/totp with a code otplib computes from the key shown', async () => {
    const { page } = account;
    const response = await page.goto(`${ISSUER}/account/totp`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.title(), 'Set up an authenticator app — Tessera');

    // An inline SVG QR code (the CSP allows no scripts and no remote images).
    const svg = page.locator('figure > svg');
    assert.equal(await svg.count(), 1, 'one inline <svg> QR code');
    assert.ok((await svg.innerHTML()).length > 500, 'the SVG draws something');
    const box = await svg.boundingBox();
    assert.ok(box && box.width >= 100 && box.height >= 100, `the QR code is shown at a scannable size: ${JSON.stringify(box)}`);

    totpKey = (await page.locator('code#totp-key').textContent()).trim();
    assert.match(totpKey, /^[A-Z2-7]{32}$/, 'a base32 key of 20 bytes (RFC 4226 §4 recommends 160 bits)');
    const uri = new URL((await page.locator('code#totp-uri').textContent()).trim());
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    const issuerLabel = new URL(ISSUER).host;
    assert.equal(decodeURIComponent(uri.pathname.slice(1)), `${issuerLabel}:${USER_EMAIL}`, 'label issuer:account');
    assert.equal(uri.searchParams.get('secret'), totpKey, 'the URI carries the key shown');
    assert.equal(uri.searchParams.get('issuer'), issuerLabel);
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');

    const form = formWith(page, 'code');
    assert.equal(await form.count(), 1, 'a form with an input named code');
    const submit = form.locator('button[type="submit"]');
    assert.equal(await submit.count(), 1, 'and a submit button');
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'totp-enrol.png'), fullPage: true });

    // A code of another time (ten minutes on) is refused, and the same key is shown again.
    const wrong = await generate({ secret: totpKey, epoch: Math.floor(Date.now() / 1000) + 600, ...TOTP });
    await page.fill('input[name="code"]', wrong);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/account/totp`),
      submit.click(),
    ]);
    assert.equal(refused.status(), 401);
    await page.locator('[role="alert"]').waitFor();
    assert.match(await page.locator('[role="alert"]').textContent(), /not accepted/);
    assert.equal((await page.locator('code#totp-key').textContent()).trim(), totpKey, 'the same key');

    const { code, step } = await totpNow(totpKey);
    await page.fill('input[name="code"]', code);
    const [accepted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/account/totp`),
      formWith(page, 'code').locator('button[type="submit"]').click(),
    ]);
    assert.equal(accepted.status(), 200);
    assert.equal((await page.locator('h1').textContent()).trim(), 'Authenticator app turned on');
    enrolStep = step;
  });

  it('signs in with acr_values=MFA: password, then a fresh code from the app → acr MFA, amr pwd+otp+mfa', async () => {
    assert.ok(totpKey, 'the app was turned on');
    const { page } = await newContext();
    const request = await signInToSecondFactor(page);
    // Only the app so far: no recovery codes, no codes by email.
    assert.equal(await formWith(page, 'code').count(), 1, 'the app\'s code form');
    assert.equal(await page.locator('input[name="recovery_code"]').count(), 0, 'no recovery codes yet');
    assert.equal(await page.getByRole('button', { name: 'Email me a code' }).count(), 0, 'no codes by email yet');
    assert.equal(await page.getByRole('button', { name: 'Text me a code' }).count(), 0, 'no codes by text message yet');
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'second-factor.png'), fullPage: true });

    // The enrolment spent its code's step: only a later step's code may sign in.
    await waitForStepAfter(enrolStep);
    const { code } = await totpNow(totpKey);
    await page.fill('input[name="code"]', code);
    const claims = await finishAtCallback(page, request, formWith(page, 'code').locator('button[type="submit"]'));
    signInCode = code;
    assert.equal(claims.sub, firstClaims.sub, 'the same user');
    assert.equal(claims.acr, ACR_MFA);
    assert.deepEqual(claims.amr, AMR_MFA);
  });

  it('refuses the same code in another sign-in (401, "not accepted", still on the second-factor page)', async () => {
    assert.ok(signInCode, 'a code was used');
    const { page } = await newContext();
    await signInToSecondFactor(page);
    const before = rp.callbacks.length;
    await page.fill('input[name="code"]', signInCode);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/login/second-factor`),
      formWith(page, 'code').locator('button[type="submit"]').click(),
    ]);
    assert.equal(response.status(), 401);
    await page.waitForLoadState('load');
    assert.equal(new URL(page.url()).pathname, '/login/second-factor', `still on the second-factor page, at ${page.url()}`);
    const alert = page.locator('[role="alert"]');
    await alert.waitFor();
    assert.match(await alert.textContent(), /not accepted/);
    assert.equal(await page.locator('input[name="code"]').count(), 1, 'the code can be typed again');
    assert.equal(rp.callbacks.length, before, 'nothing reached the client');
  });

  it('creates 10 recovery codes at /account/recovery-codes', async () => {
    const { page } = account;
    const response = await page.goto(`${ISSUER}/account/recovery-codes`);
    assert.equal(response?.status(), 200);
    assert.match(await page.locator('main').textContent(), /You have no recovery codes\./);
    const [created] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/account/recovery-codes`),
      page.getByRole('button', { name: 'Create new recovery codes' }).click(),
    ]);
    assert.equal(created.status(), 200);
    recoveryCodes = (await page.locator('ol#recovery-codes > li > code').allTextContents()).map((c) => c.trim());
    assert.equal(recoveryCodes.length, 10, `10 codes: ${JSON.stringify(recoveryCodes)}`);
    for (const code of recoveryCodes) assert.match(code, /^[a-z0-9]{5}-[a-z0-9]{5}$/);
    assert.equal(new Set(recoveryCodes).size, 10, 'all different');
  });

  it('signs in with acr_values=MFA and a recovery code → acr MFA, amr pwd+otp+mfa; one code fewer', async () => {
    assert.equal(recoveryCodes?.length, 10, 'codes were created');
    const { page } = await newContext();
    const request = await signInToSecondFactor(page);
    assert.equal(await formWith(page, 'code').count(), 1, 'the app\'s code form is still offered');
    const button = page.getByRole('button', { name: 'Use recovery code' });
    assert.equal(await button.count(), 1, 'and the recovery-code form');
    await page.fill('input[name="recovery_code"]', recoveryCodes[0]);
    const claims = await finishAtCallback(page, request, button);
    assert.equal(claims.sub, firstClaims.sub, 'the same user');
    assert.equal(claims.acr, ACR_MFA);
    assert.deepEqual(claims.amr, AMR_MFA);

    await account.page.goto(`${ISSUER}/account/recovery-codes`);
    assert.match(await account.page.locator('main').textContent(), /You have 9 unused recovery codes\./);
  });

  it('turns on codes by email at /account/email-codes with the code mailed over SMTP', async () => {
    const { page } = account;
    const response = await page.goto(`${ISSUER}/account/email-codes`);
    assert.equal(response?.status(), 200, 'offered: the server has an SMTP server');
    const send = page.getByRole('button', { name: `Send a code to ${USER_EMAIL}` });
    assert.equal(await send.count(), 1, 'the "Send a code" button');
    assert.equal(
      await page.locator('form', { has: send }).locator('input[type="hidden"][name="step"]').getAttribute('value'),
      'send',
    );
    const before = storedMail().length;
    await send.click();
    await page.locator('input[name="email_code"]').waitFor();
    const code = codeOf(await nextMail(before, 'the confirmation', 'Confirm your email address'), 'Confirm your email address');
    await page.fill('input[name="email_code"]', code);
    const [confirmed] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/account/email-codes`),
      page.locator('form', { has: page.locator('input[name="email_code"]') }).locator('button[type="submit"]').click(),
    ]);
    assert.equal(confirmed.status(), 200);
    assert.equal((await page.locator('h1').textContent()).trim(), 'Codes by email turned on');
  });

  it('signs in with acr_values=MFA and a code by email → acr MFA, amr pwd+otp+mfa, address verified', async () => {
    const { page } = await newContext();
    const request = await signInToSecondFactor(page);
    const emailMe = page.getByRole('button', { name: 'Email me a code' });
    assert.equal(await emailMe.count(), 1, 'the "Email me a code" button');
    assert.equal(
      await page.locator('form', { has: emailMe }).locator('input[type="hidden"][name="send_email_code"]').getAttribute('value'),
      '1',
    );
    assert.equal(await page.locator('input[name="email_code"]').count(), 0, 'no email code input before a code is sent');

    const before = storedMail().length;
    await emailMe.click();
    const masked = `${USER_EMAIL[0]}•••@${USER_EMAIL.split('@')[1]}`;
    await page.locator('[role="status"]', { hasText: `We sent a code to ${masked}` }).waitFor();
    assert.ok(!(await page.locator('main').textContent()).includes(USER_EMAIL), 'the full address is not shown');
    await page.locator('input[name="email_code"]').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'second-factor-email.png'), fullPage: true });

    const code = codeOf(await nextMail(before, 'the sign-in code', 'Your sign-in code'), 'Your sign-in code');
    await page.fill('input[name="email_code"]', code);
    const claims = await finishAtCallback(
      page,
      request,
      formWith(page, 'email_code').locator('button[type="submit"]'),
    );
    assert.equal(claims.sub, firstClaims.sub, 'the same user');
    assert.equal(claims.acr, ACR_MFA);
    assert.deepEqual(claims.amr, AMR_MFA);
    assert.equal(claims.email_verified, true, 'the confirmed address is verified');
  });

  it('turns on codes by text message at /account/phone with the code texted through the webhook', async (t) => {
    await ensureRecentSignIn(t);
    const { page } = account;
    const response = await page.goto(`${ISSUER}/account/phone`);
    assert.equal(response?.status(), 200, 'offered: the server has an SMS webhook');
    assert.equal(await page.title(), 'Codes by text message — Tessera');
    const send = page.getByRole('button', { name: 'Text me a code' });
    assert.equal(await send.count(), 1, 'the "Text me a code" button');
    const sendForm = page.locator('form', { has: send });
    assert.equal(await sendForm.locator('input[type="hidden"][name="step"]').getAttribute('value'), 'send');
    assert.equal(await sendForm.locator('input[name="phone"]').getAttribute('type'), 'tel');
    assert.equal(await page.locator('input[name="sms_code"]').count(), 0, 'no code input before a code is sent');

    // A number without its country code is refused: Tessera cannot guess the country.
    const before = storedTexts().length;
    await page.fill('input[name="phone"]', PHONE_NATIONAL);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/account/phone`),
      send.click(),
    ]);
    assert.equal(refused.status(), 400);
    const alert = page.locator('[role="alert"]');
    await alert.waitFor();
    assert.match(await alert.textContent(), /country code/);
    assert.equal(await page.locator('input[name="sms_code"]').count(), 0, 'no code was sent');
    assert.equal(await page.locator('input[name="phone"]').count(), 1, 'the number can be typed again');

    await page.fill('input[name="phone"]', PHONE_TYPED);
    const [sent] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/account/phone`),
      page.getByRole('button', { name: 'Text me a code' }).click(),
    ]);
    assert.equal(sent.status(), 200);
    await page.locator('[role="status"]', { hasText: `We texted a code to ${PHONE_MASKED}` }).waitFor();
    const confirmForm = formWith(page, 'sms_code');
    assert.equal(await confirmForm.locator('input[type="hidden"][name="step"]').getAttribute('value'), 'confirm');
    assert.equal(await confirmForm.locator('input[type="hidden"][name="phone"]').getAttribute('value'), PHONE);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'phone-confirm.png'), fullPage: true });

    // Only the number with its country code was texted (the refused one was not).
    const code = await nextTextCode(before, 'the confirmation');
    await page.fill('input[name="sms_code"]', code);
    const [confirmed] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${ISSUER}/account/phone`),
      confirmForm.getByRole('button', { name: 'Confirm' }).click(),
    ]);
    assert.equal(confirmed.status(), 200);
    assert.equal((await page.locator('h1').textContent()).trim(), 'Codes by text message turned on');
    phoneConfirmed = true;
  });

  it('signs in with acr_values=MFA and a code by text message → acr MFA, amr pwd+sms+mfa', async () => {
    assert.ok(phoneConfirmed, 'the number was confirmed');
    const { page } = await newContext();
    const request = await signInToSecondFactor(page);
    const textMe = page.getByRole('button', { name: 'Text me a code' });
    assert.equal(await textMe.count(), 1, 'the "Text me a code" button');
    assert.equal(
      await page.locator('form', { has: textMe }).locator('input[type="hidden"][name="send_sms_code"]').getAttribute('value'),
      '1',
    );
    assert.equal(await page.locator('input[name="sms_code"]').count(), 0, 'no text code input before a code is sent');

    const before = storedTexts().length;
    assert.equal(before, 1, 'one text so far: the confirmation');
    await textMe.click();
    await page.locator('[role="status"]', { hasText: `We texted a code to ${PHONE_MASKED}` }).waitFor();
    const shown = await page.locator('main').textContent();
    assert.ok(!shown.includes(PHONE) && !shown.includes('7946'), 'the full number is not shown');
    await page.locator('input[name="sms_code"]').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'second-factor-sms.png'), fullPage: true });

    // The second text to the number: the first was the confirmation.
    const code = await nextTextCode(before, 'the sign-in code');
    assert.equal(storedTexts().filter((text) => text.to === PHONE).length, 2, 'the second text to the number');
    await page.fill('input[name="sms_code"]', code);
    const claims = await finishAtCallback(
      page,
      request,
      formWith(page, 'sms_code').getByRole('button', { name: 'Verify' }),
    );
    assert.equal(claims.sub, firstClaims.sub, 'the same user');
    assert.equal(claims.acr, ACR_MFA);
    assert.deepEqual(claims.amr, AMR_SMS);
  });

  it('the SMS webhook saw only correctly signed requests', () => {
    assert.deepEqual(refusedTexts(), [], 'no request refused (no bad or missing signature)');
    assert.equal(storedTexts().length, 2, 'two texts: the confirmation and the sign-in code');
  });
});

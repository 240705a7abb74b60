// Passkeys (WebAuthn) in a real browser, with an OpenID Certified relying party: Debian's headless
// Chromium (driven by playwright-core) is the user, its DevTools virtual authenticator (the CDP
// WebAuthn domain: a CTAP2 platform authenticator with resident keys and user verification) is the
// device, and panva's `openid-client` is the app that asks for the sign-ins and checks the ID
// tokens. The test:
//
// 1. signs in with the password, registers a passkey at /account/passkeys and finds it listed;
// 2. in a new browser context (no cookies) whose authenticator holds the same credential (exported
//    with WebAuthn.getCredentials, imported with WebAuthn.addCredential), signs in by clicking
//    "Sign in with a passkey" alone, asking acr_values=urn:tessera:acr:phr: acr phr, amr
//    hwk+user+mfa (Chromium's virtual authenticator does not set the backup-eligible flag, so the
//    passkey is device-bound: hwk, not swk);
// 3. steps up before a sensitive operation: the sensitive-api example (started by run.sh with a
//    max age of SENSITIVE_API_MAX_AGE seconds, not 5 minutes) answers POST /sensitive with 200,
//    then, once the sign-in is older, with 401 insufficient_user_authentication and max_age
//    (RFC 9470); the app asks again with that max_age, the login page asks again, the passkey
//    answers (user verification in the authenticator), and the new token's POST /sensitive is 200;
// 4. signs in through the username field's autofill (conditional mediation, autocomplete
//    "username webauthn"), with no click at all;
// 5. with user verification failing in the authenticator (WebAuthn.setUserVerified false):
//    Chromium itself refuses the ceremony, since the server requires user verification (the
//    page's script says "The passkey did not work (NotAllowedError)" and posts nothing); then,
//    with the options rewritten in flight to userVerification "discouraged", Chromium signs
//    without the UV flag and the server refuses the assertion (401, "That passkey was not
//    accepted"). No code reaches the app either way;
// 6. has @simplewebauthn/server, a WebAuthn relying party independent of Tessera's, verify the
//    registration and the assertion the browser sent (recorded from the options answers and the
//    form posts), and confirm that the refused assertion fails on user verification alone;
// 7. registers a second passkey from an authenticator made backup-eligible
//    (defaultBackupEligibility, as a phone's synced passkeys are): listed as synced, and a sign-in
//    with it gives amr swk+user+mfa.
//
// Two behaviours of Chromium's virtual authenticator shape the test. It answers a conditional
// (autofill) request at once, as if the user had picked the passkey from the username field's
// suggestions, so the login page signs in by itself as soon as it loads: the contexts whose steps
// click a button first hide conditional mediation (an init script makes
// PublicKeyCredential.isConditionalMediationAvailable() answer false, as in a browser without
// it), and step 4 shows the autofill sign-in on its own. And it counts signatures: each copy of
// the credential is taken from the authenticator used last, so the server never sees the count
// go backwards (which it would refuse as a cloned authenticator).
//
// Passkeys need a domain name (browsers refuse WebAuthn on an IP address, and Tessera offers none
// on http://127.0.0.1), so run.sh starts a second `tessera serve` whose issuer is
// http://localhost:PORT (a secure context in Chromium without TLS), with its own data directory,
// and the sensitive-api example trusting it. It passes, besides the shared variables
// (TESSERA_BIN, TESSERA_ISSUER: the first server's, CHROMIUM_PATH, ARTIFACTS_DIR):
//   PASSKEY_ISSUER, PASSKEY_DATA_DIR (that server's issuer and data directory),
//   SENSITIVE_API_URL and SENSITIVE_API_MAX_AGE (the API, and its max age in seconds).
// This file adds a user of its own there, starts its callback server on an ephemeral port, then
// registers its client with the tessera CLI. The steps run in order and rely on what earlier ones
// left (the registered passkey, the recorded ceremonies, the signed-in context of step 2). When a
// step fails, every open page is saved as a screenshot in ARTIFACTS_DIR.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import * as client from 'openid-client';
import {
  ARTIFACTS_DIR,
  ISSUER as PASSWORD_ONLY_ISSUER,
  addUser,
  env,
  launchBrowser,
  registerClient,
  startCallbackServer,
} from './harness.mjs';

const ISSUER = env('PASSKEY_ISSUER');
const ISSUER_ORIGIN = new URL(ISSUER).origin;
const RP_ID = new URL(ISSUER).hostname; // localhost
// The tessera CLI (harness's addUser and registerClient) works on TESSERA_DATA_DIR: here, the
// passkey server's. Node's test runner runs each file in a process of its own.
process.env.TESSERA_DATA_DIR = env('PASSKEY_DATA_DIR');
const API_URL = env('SENSITIVE_API_URL');
const API_MAX_AGE = Number(env('SENSITIVE_API_MAX_AGE'));

const CLIENT_ID = 'passkeys-rp';
const CLIENT_NAME = 'Passkeys RP';
const USER_EMAIL = 'ada@passkeys.example.com';
const USER_PASSWORD = 'a passkey is better than a password';
const PASSKEY_NAME = 'Chromium virtual authenticator';
const SCOPE = 'openid profile email';
const ACR_PHR = 'urn:tessera:acr:phr';
// A passkey bound to one device (not backup-eligible), verified by the authenticator, two factors.
const AMR_DEVICE_PASSKEY = ['hwk', 'user', 'mfa'];
// A passkey that may be synced to other devices (backup-eligible): a software key.
const AMR_SYNCED_PASSKEY = ['swk', 'user', 'mfa'];
// Tessera's claims.namespace, as configured by default.
const CAN_REAUTHENTICATE = 'https://tessera.dev/claims/can_reauthenticate';
const REFUSED = 'That passkey was not accepted. Try again, or sign in another way.';

// A CTAP2 platform authenticator with discoverable credentials that verifies its user (as a
// phone or a laptop's fingerprint reader does) and whose user is always present.
const AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** base64 (as the DevTools protocol spells credential ids) to base64url (as WebAuthn does). */
const base64url = (base64) => Buffer.from(base64, 'base64').toString('base64url');

/** The flags byte of authenticator data (base64url): UP is bit 0, UV bit 2, BE bit 3, BS bit 4. */
function authenticatorFlags(authenticatorData) {
  const flags = Buffer.from(authenticatorData, 'base64url')[32];
  return { up: !!(flags & 0x01), uv: !!(flags & 0x04), be: !!(flags & 0x08), bs: !!(flags & 0x10) };
}

/**
 * A virtual authenticator in `page`'s tab holding `credentials`. The CDP session must be the
 * page's own (Playwright #32112): an authenticator added through another target's session is
 * not the one this page's ceremonies reach.
 */
async function addAuthenticator(context, page, credentials = [], extra = {}) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { ...AUTHENTICATOR, ...extra },
  });
  for (const credential of credentials) {
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
  }
  return {
    cdp,
    authenticatorId,
    /** The credentials it holds now (private keys and signature counts included). */
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

/** For a context whose steps click a button: a browser without conditional mediation. */
function hideConditionalMediation() {
  if (!window.PublicKeyCredential) return;
  Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', {
    value: () => Promise.resolve(false),
  });
}

/** For the autofill step: every navigator.credentials.get() says its mediation on the console. */
function reportMediation() {
  if (!navigator.credentials) return;
  const get = navigator.credentials.get.bind(navigator.credentials);
  navigator.credentials.get = (options) => {
    console.info(`webauthn get mediation=${options?.mediation ?? 'none'}`);
    return get(options);
  };
}

/**
 * Records the JSON options `page` is answered at `pathname` (the ceremony's challenge) through a
 * route: a response's body is gone once the page navigates, which a ceremony does at once. A
 * `rewrite` set on the recorder changes them on the way to the page.
 */
async function recordOptions(page, pathname) {
  const recorder = { answered: [], rewrite: null };
  await page.route(`${ISSUER}${pathname}`, async (route) => {
    const response = await route.fetch();
    const body = await response.text();
    let json;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined; // an error page: passed on as it is
    }
    if (json !== undefined && recorder.rewrite) json = recorder.rewrite(json);
    recorder.answered.push({ status: response.status(), json });
    await route.fulfill(json === undefined ? { response, body } : { response, json });
  });
  return recorder;
}

const isPost = (request, pathname) => request.method() === 'POST' && request.url() === `${ISSUER}${pathname}`;

/** The fields of a urlencoded form post. */
const formFields = (request) => new URLSearchParams(request.postData() ?? '');

describe('passkeys with openid-client (certified RP), user in headless Chromium with a virtual authenticator', { timeout: 180_000 }, () => {
  let rp; // { server, callbacks, origin }
  let redirectUri;
  let config; // openid-client Configuration
  let browser; // { newContext, close }
  const contexts = [];
  let account; // { context, page, authenticator }: step 1's context, signed in with the password
  let passwordClaims; // the password sign-in's ID token claims
  let credentialId; // base64url, as Tessera lists it
  let latest; // the authenticator that used the credential last: copies are taken from it
  let passkeyContext; // { context, page, recorder }: step 2's context, signed in with the passkey
  let passkeyTokens; // step 2's tokens
  let passkeyClaims;
  // The ceremonies as the browser saw them: { options (the JSON answered), credential (the
  // parsed `credential` field posted) }.
  let registration;
  let assertion;
  let unverifiedAssertion;

  async function newContext({ conditional = false } = {}) {
    const opened = await browser.newContext();
    contexts.push(opened.context);
    if (conditional) await opened.context.addInitScript(reportMediation);
    else await opened.context.addInitScript(hideConditionalMediation);
    return opened;
  }

  /**
   * `it`, saving a screenshot of every open page into ARTIFACTS_DIR when the step fails (the
   * pages are the evidence: which page, which message).
   */
  function step(name, fn) {
    it(name, async (t) => {
      try {
        await fn(t);
      } catch (err) {
        const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40).toLowerCase();
        let n = 0;
        for (const context of contexts) {
          for (const page of context.pages()) {
            n += 1;
            await page
              .screenshot({ path: path.join(ARTIFACTS_DIR, `passkeys-failed-${slug}-${n}.png`), fullPage: true })
              .catch(() => {});
          }
        }
        throw err;
      }
    });
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
    return { url, pkceCodeVerifier, state, nonce, maxAge: extra.max_age ? Number(extra.max_age) : undefined };
  }

  /** Opens `request` in `page` and asserts Tessera's login page is shown. */
  async function openLoginPage(page, request) {
    const response = await page.goto(request.url.href);
    assert.equal(response?.status(), 200);
    assert.ok(page.url().startsWith(`${ISSUER}/login?request=`), `Tessera's login page is shown, at ${page.url()}`);
  }

  /** Waits for `page` to land on the callback, then exchanges its code with openid-client. */
  async function exchangeAtCallback(page, request) {
    await page.waitForURL(`${redirectUri}?**`);
    await page.locator('#done').waitFor();
    const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: request.pkceCodeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      maxAge: request.maxAge,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.ok(claims, 'validated ID token claims');
    assert.equal(claims.email, USER_EMAIL);
    return { tokens, claims };
  }

  /**
   * Clicks "Sign in with a passkey" on the login page `page` shows (its options recorded by
   * `recorder`), and returns the options the page got, the `credential` it then posted, and the
   * post's response.
   */
  async function clickPasskeySignIn(page, recorder) {
    const button = page.locator('#passkey-sign-in');
    assert.equal((await button.textContent()).trim(), 'Sign in with a passkey');
    const asked = recorder.answered.length;
    const [posted] = await Promise.all([page.waitForRequest((r) => isPost(r, '/login/passkey')), button.click()]);
    assert.equal(recorder.answered.length, asked + 1, 'the page asked for options once');
    const options = recorder.answered.at(-1);
    assert.equal(options.status, 200);
    const fields = formFields(posted);
    assert.ok(!fields.has('username') && !fields.has('password'), 'no username or password was posted');
    return {
      options: options.json,
      credential: JSON.parse(fields.get('credential')),
      response: await posted.response(),
    };
  }

  /** POST /sensitive at the sensitive-api example with `accessToken`. */
  function postSensitive(accessToken) {
    return fetch(`${API_URL}/sensitive`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
  }

  before(async () => {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    addUser(USER_EMAIL, USER_PASSWORD, 'Ada (passkeys)');
    rp = await startCallbackServer();
    redirectUri = `${rp.origin}/callback`;
    const secret = registerClient(CLIENT_ID, redirectUri, { name: CLIENT_NAME });
    // allowInsecureRequests: the test issuer is plain http://localhost (see certified_client).
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

  step('offers passkeys at http://localhost (the phr acr, the script) and not at http://127.0.0.1', async () => {
    assert.ok(
      config.serverMetadata().acr_values_supported?.includes(ACR_PHR),
      `acr_values_supported: ${JSON.stringify(config.serverMetadata().acr_values_supported)}`,
    );
    const script = await fetch(`${ISSUER}/assets/passkeys.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    // The other servers of this run have an IP address for a host: no passkeys there.
    const elsewhere = await fetch(`${PASSWORD_ONLY_ISSUER}/account/passkeys`);
    assert.equal(elsewhere.status, 404, `${PASSWORD_ONLY_ISSUER} offers no passkeys`);
  });

  step('signs in with the password, then registers a passkey at /account/passkeys', async () => {
    const { context, page } = await newContext();
    const authenticator = await addAuthenticator(context, page);

    // The account pages want a sign-in within the last 5 minutes: the password, through the app.
    const request = await newAuthorizationRequest();
    await openLoginPage(page, request);
    await page.fill('#username', USER_EMAIL);
    await page.fill('#password', USER_PASSWORD);
    await page.click('button[type="submit"]');
    ({ claims: passwordClaims } = await exchangeAtCallback(page, request));
    assert.deepEqual(passwordClaims.amr, ['pwd']);

    const response = await page.goto(`${ISSUER}/account/passkeys`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.title(), 'Your passkeys — Tessera');
    assert.equal(await page.locator('li[id^="passkey-"]').count(), 0, 'no passkeys yet');
    await page.locator('#passkey-add').waitFor(); // shown by the script (hidden without it)
    await page.fill('#passkey_name', PASSKEY_NAME);
    const recorder = await recordOptions(page, '/account/passkeys/options');
    const [posted] = await Promise.all([
      page.waitForRequest((r) => isPost(r, '/account/passkeys')),
      page.locator('#passkey-add').click(),
    ]);
    assert.equal(recorder.answered.length, 1, 'the page asked for options once');
    assert.equal(recorder.answered[0].status, 200);
    const fields = formFields(posted);
    assert.equal(fields.get('step'), 'register');
    assert.equal(fields.get('name'), PASSKEY_NAME);
    registration = { options: recorder.answered[0].json, credential: JSON.parse(fields.get('credential')) };
    const added = await posted.response();
    assert.equal(added?.status(), 200, 'the passkey was added');

    const { options: created, credential } = registration;
    assert.deepEqual(created.rp, { id: RP_ID, name: RP_ID }, 'RP ID: the issuer\'s host');
    assert.equal(created.user.name, USER_EMAIL);
    assert.equal(created.authenticatorSelection.residentKey, 'required', 'a discoverable credential');
    assert.equal(created.authenticatorSelection.userVerification, 'required');
    assert.equal(created.attestation, 'none');
    assert.deepEqual(created.excludeCredentials, [], 'nothing to exclude yet');
    assert.equal(credential.type, 'public-key');
    assert.equal(credential.authenticatorAttachment, 'platform');
    assert.deepEqual(credential.response.transports, ['internal']);

    // The authenticator made one discoverable credential for this RP ID and user; the page lists
    // it under its id, as a device-bound passkey.
    const held = await authenticator.credentials();
    assert.equal(held.length, 1, 'one credential in the authenticator');
    assert.equal(held[0].rpId, RP_ID);
    assert.equal(held[0].isResidentCredential, true);
    assert.equal(held[0].userName, USER_EMAIL);
    assert.equal(held[0].backupEligibility, false, 'Chromium\'s default: not backup-eligible');
    credentialId = base64url(held[0].credentialId);
    assert.equal(credential.id, credentialId);
    const listed = page.locator('li[id^="passkey-"]');
    await listed.first().waitFor(); // the page the post answered
    assert.equal(await listed.count(), 1, 'one passkey listed');
    assert.equal(await listed.getAttribute('id'), `passkey-${credentialId}`);
    assert.equal((await listed.locator('.passkey-name').textContent()).trim(), PASSKEY_NAME);
    assert.match(await listed.textContent(), /\(this device only\)/);
    assert.match(await listed.textContent(), /Not used yet\./);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'passkeys-registered.png'), fullPage: true });
    latest = authenticator;
    account = { context, page, authenticator };
  });

  step('signs in with the passkey alone in a new context (acr_values=phr) → acr phr, amr hwk+user+mfa', async () => {
    assert.ok(latest, 'a passkey was registered');
    passkeyContext = await newContext();
    const { context, page } = passkeyContext;
    assert.deepEqual(await context.cookies(ISSUER), [], 'no cookies: no session');
    const authenticator = await addAuthenticator(context, page, await latest.credentials());

    const request = await newAuthorizationRequest({ acr_values: ACR_PHR });
    await openLoginPage(page, request);
    assert.equal(await page.locator('#username').getAttribute('autocomplete'), 'username webauthn');
    assert.equal(await page.inputValue('#username'), '', 'no username typed');
    assert.equal(await page.inputValue('#password'), '', 'no password typed');
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'passkeys-login.png'), fullPage: true });

    const before = rp.callbacks.length;
    passkeyContext.recorder = await recordOptions(page, '/login/passkey/options');
    assertion = await clickPasskeySignIn(page, passkeyContext.recorder);
    assert.equal(assertion.options.rpId, RP_ID);
    assert.deepEqual(assertion.options.allowCredentials, [], 'a discoverable sign-in: no username, no list');
    assert.equal(assertion.options.userVerification, 'required');
    assert.equal(assertion.credential.id, credentialId);
    assert.equal(assertion.response?.status(), 303, 'accepted, on to the app');
    const flags = authenticatorFlags(assertion.credential.response.authenticatorData);
    assert.deepEqual(flags, { up: true, uv: true, be: false, bs: false }, 'user present and verified, not backup-eligible');

    ({ tokens: passkeyTokens, claims: passkeyClaims } = await exchangeAtCallback(page, request));
    assert.equal(rp.callbacks.length, before + 1, 'one callback');
    assert.equal(passkeyClaims.sub, passwordClaims.sub, 'the same user');
    assert.equal(passkeyClaims.acr, ACR_PHR);
    assert.deepEqual(passkeyClaims.amr, AMR_DEVICE_PASSKEY);
    assert.equal(passkeyClaims[CAN_REAUTHENTICATE], true);
    latest = authenticator;
  });

  step('steps up before POST /sensitive: 401 insufficient_user_authentication, max_age, the passkey again → 200', async (t) => {
    assert.ok(passkeyTokens, 'signed in with the passkey');
    const { page } = passkeyContext;
    const fresh = await postSensitive(passkeyTokens.access_token);
    assert.equal(fresh.status, 200, 'a sign-in of just now is recent enough');
    assert.equal((await fresh.json()).sub, passkeyClaims.sub);

    const wait = (passkeyClaims.auth_time + API_MAX_AGE + 1) * 1000 + 250 - Date.now();
    t.diagnostic(`waiting ${wait} ms for the sign-in to be older than ${API_MAX_AGE} s`);
    if (wait > 0) await sleep(wait);
    const stale = await postSensitive(passkeyTokens.access_token);
    assert.equal(stale.status, 401);
    const challenge = stale.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer error="insufficient_user_authentication"/);
    const maxAge = /max_age="(\d+)"/.exec(challenge)?.[1];
    assert.equal(maxAge, String(API_MAX_AGE), `max_age in ${challenge}`);

    // RFC 9470 §4: the app asks again with the challenge's max_age; the session is older, so
    // the login page asks again, and the passkey answers.
    const request = await newAuthorizationRequest({ acr_values: ACR_PHR, max_age: maxAge });
    await openLoginPage(page, request);
    const again = await clickPasskeySignIn(page, passkeyContext.recorder);
    assert.equal(again.response?.status(), 303);
    assert.ok(authenticatorFlags(again.credential.response.authenticatorData).uv, 'the user was verified');
    const { tokens, claims } = await exchangeAtCallback(page, request);
    assert.equal(claims.sub, passkeyClaims.sub, 'the same user');
    assert.ok(claims.auth_time > passkeyClaims.auth_time, `a later auth_time: ${claims.auth_time} > ${passkeyClaims.auth_time}`);
    assert.ok(claims.amr.includes('user'), `amr ${JSON.stringify(claims.amr)} says the user was verified`);
    assert.deepEqual(claims.amr, AMR_DEVICE_PASSKEY);
    assert.equal(claims.acr, ACR_PHR);

    const done = await postSensitive(tokens.access_token);
    assert.equal(done.status, 200, 'the new token is recent enough');
    const body = await done.json();
    assert.equal(body.done, true);
    assert.equal(body.auth_time, claims.auth_time, 'the access token carries the new auth_time');
  });

  step('signs in through the username field\'s autofill (conditional mediation), with no click', async () => {
    const { context, page } = await newContext({ conditional: true });
    const mediations = [];
    page.on('console', (message) => {
      const match = /^webauthn get mediation=(\w+)$/.exec(message.text());
      if (match) mediations.push(match[1]);
    });
    const authenticator = await addAuthenticator(context, page, await latest.credentials());
    const request = await newAuthorizationRequest();
    const before = rp.callbacks.length;
    // Chromium's virtual authenticator answers the autofill request as soon as the page makes
    // it, as though the user had picked the passkey among the username field's suggestions.
    const [posted] = await Promise.all([
      page.waitForRequest((r) => isPost(r, '/login/passkey')),
      // Only the navigation's start: the page may leave the login page before its load event.
      page.goto(request.url.href, { waitUntil: 'commit' }),
    ]);
    assert.ok(formFields(posted).get('credential'), 'a credential was posted');
    const { claims } = await exchangeAtCallback(page, request);
    assert.deepEqual(mediations, ['conditional'], 'one navigator.credentials.get(), a conditional one');
    assert.equal(rp.callbacks.length, before + 1, 'one callback');
    assert.equal(claims.sub, passkeyClaims.sub, 'the same user');
    assert.deepEqual(claims.amr, AMR_DEVICE_PASSKEY);
    latest = authenticator;
  });

  step('refuses a passkey without user verification: Chromium fails the ceremony, the server refuses an unverified assertion', async () => {
    const { context, page } = await newContext();
    const authenticator = await addAuthenticator(context, page, await latest.credentials());
    await authenticator.cdp.send('WebAuthn.setUserVerified', {
      authenticatorId: authenticator.authenticatorId,
      isUserVerified: false,
    });
    const posts = [];
    page.on('request', (r) => {
      if (isPost(r, '/login/passkey')) posts.push(r);
    });
    const before = rp.callbacks.length;
    const recorder = await recordOptions(page, '/login/passkey/options');
    const request = await newAuthorizationRequest();
    await openLoginPage(page, request);

    // The server requires user verification; the authenticator cannot give it, so Chromium
    // refuses the ceremony itself (NotAllowedError) and the page posts nothing.
    await page.locator('#passkey-sign-in').click();
    const status = page.locator('[data-passkey-status]');
    await status.waitFor();
    assert.equal(recorder.answered.length, 1, 'the page asked for options once');
    assert.equal(recorder.answered[0].json.userVerification, 'required');
    assert.equal(
      (await status.textContent()).trim(),
      'The passkey did not work (NotAllowedError). Try again, or use another way.',
    );
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'passkeys-unverified-browser.png'), fullPage: true });
    assert.equal(posts.length, 0, 'nothing was posted to /login/passkey');
    assert.ok(page.url().startsWith(`${ISSUER}/login?request=`), `still on the login page, at ${page.url()}`);

    // The same, with the options rewritten in flight to userVerification "discouraged": Chromium
    // then signs with the user present but not verified, and the server must refuse that.
    recorder.rewrite = (json) => ({ ...json, userVerification: 'discouraged' });
    unverifiedAssertion = await clickPasskeySignIn(page, recorder);
    assert.equal(unverifiedAssertion.options.userVerification, 'discouraged', 'the page got the rewritten options');
    assert.equal(unverifiedAssertion.credential.id, credentialId);
    const flags = authenticatorFlags(unverifiedAssertion.credential.response.authenticatorData);
    assert.equal(flags.up, true, 'the user was present');
    assert.equal(flags.uv, false, 'but not verified');
    assert.equal(unverifiedAssertion.response?.status(), 401, 'refused by the server');
    await page.waitForLoadState('load');
    const alert = page.locator('[role="alert"]', { hasText: 'not accepted' });
    await alert.waitFor();
    assert.equal((await alert.textContent()).trim(), REFUSED);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'passkeys-unverified-refused.png'), fullPage: true });
    assert.equal(posts.length, 1, 'one assertion was posted');
    assert.ok(page.url().startsWith(`${ISSUER}/`), `still on Tessera, at ${page.url()}`);
    assert.equal(rp.callbacks.length, before, 'no code reached the app');
  });

  step('@simplewebauthn/server verifies the recorded registration and assertion, and refuses the unverified one', async () => {
    assert.ok(registration && assertion && unverifiedAssertion, 'the ceremonies were recorded');
    const registered = await verifyRegistrationResponse({
      response: registration.credential,
      expectedChallenge: registration.options.challenge,
      expectedOrigin: ISSUER_ORIGIN,
      expectedRPID: RP_ID,
      requireUserVerification: true,
    });
    assert.equal(registered.verified, true);
    const info = registered.registrationInfo;
    assert.equal(info.credential.id, credentialId);
    assert.equal(info.fmt, 'none');
    assert.equal(info.userVerified, true);
    assert.equal(info.credentialDeviceType, 'singleDevice', 'not backup-eligible: hwk');
    assert.equal(info.credentialBackedUp, false);
    assert.equal(info.origin, ISSUER_ORIGIN);

    const credential = { id: info.credential.id, publicKey: info.credential.publicKey, counter: info.credential.counter };
    const authenticated = await verifyAuthenticationResponse({
      response: assertion.credential,
      expectedChallenge: assertion.options.challenge,
      expectedOrigin: ISSUER_ORIGIN,
      expectedRPID: RP_ID,
      credential,
      requireUserVerification: true,
    });
    assert.equal(authenticated.verified, true);
    assert.equal(authenticated.authenticationInfo.userVerified, true);
    assert.ok(
      authenticated.authenticationInfo.newCounter > credential.counter,
      `the count went up: ${authenticated.authenticationInfo.newCounter} > ${credential.counter}`,
    );

    // The assertion Tessera refused is sound but for user verification: refused when it is
    // required, accepted when it is not.
    const unverified = {
      response: unverifiedAssertion.credential,
      expectedChallenge: unverifiedAssertion.options.challenge,
      expectedOrigin: ISSUER_ORIGIN,
      expectedRPID: RP_ID,
      credential,
    };
    await assert.rejects(verifyAuthenticationResponse({ ...unverified, requireUserVerification: true }), /user verification/i);
    const lenient = await verifyAuthenticationResponse({ ...unverified, requireUserVerification: false });
    assert.equal(lenient.verified, true, 'a valid signature otherwise');
    assert.equal(lenient.authenticationInfo.userVerified, false);
  });

  step('a backup-eligible passkey (defaultBackupEligibility) is listed as synced and signs in with amr swk+user+mfa', async () => {
    assert.ok(account, 'the account context signed in with the password');
    const { context, page } = account;
    // Another device: this tab's authenticator is replaced by one whose credentials are
    // backup-eligible and backed up (as a phone's synced passkeys are).
    await account.authenticator.cdp.send('WebAuthn.removeVirtualAuthenticator', {
      authenticatorId: account.authenticator.authenticatorId,
    });
    const synced = await addAuthenticator(context, page, [], { defaultBackupEligibility: true, defaultBackupState: true });
    const response = await page.goto(`${ISSUER}/account/passkeys`);
    assert.equal(response?.status(), 200, 'the password sign-in is still recent enough');
    await page.fill('#passkey_name', 'Synced passkey');
    const [posted] = await Promise.all([
      page.waitForRequest((r) => isPost(r, '/account/passkeys')),
      page.locator('#passkey-add').click(),
    ]);
    assert.equal((await posted.response())?.status(), 200, 'the passkey was added');
    const [held] = await synced.credentials();
    assert.equal(held.backupEligibility, true);
    const created = page.locator(`li[id="passkey-${base64url(held.credentialId)}"]`);
    await created.waitFor();
    assert.match(await created.textContent(), /Synced passkey\s*\(synced\)/);
    assert.equal(await page.locator('li[id^="passkey-"]').count(), 2, 'both passkeys listed');

    const other = await newContext();
    await addAuthenticator(other.context, other.page, [held]);
    const request = await newAuthorizationRequest({ acr_values: ACR_PHR });
    await openLoginPage(other.page, request);
    const used = await clickPasskeySignIn(other.page, await recordOptions(other.page, '/login/passkey/options'));
    assert.equal(used.credential.id, base64url(held.credentialId));
    const flags = authenticatorFlags(used.credential.response.authenticatorData);
    assert.equal(flags.be, true, 'backup-eligible');
    const { claims } = await exchangeAtCallback(other.page, request);
    assert.equal(claims.sub, passwordClaims.sub, 'the same user');
    assert.equal(claims.acr, ACR_PHR);
    assert.deepEqual(claims.amr, AMR_SYNCED_PASSKEY);
  });
});

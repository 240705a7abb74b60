// Shared pieces of the browser tests: the environment run.sh passes in, the relying party's
// callback server, client registration through the tessera CLI, and headless Chromium launched
// with the flags this machine needs.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

/** A required environment variable (set by run.sh). */
export function env(name) {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (run the tests through tests/browser/run.sh)`);
  return value;
}

export const TESSERA_BIN = env('TESSERA_BIN');
export const ISSUER = env('TESSERA_ISSUER');
export const EMAIL = env('TESSERA_USER_EMAIL');
export const PASSWORD = env('TESSERA_USER_PASSWORD');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARTIFACTS_DIR = process.env.ARTIFACTS_DIR || path.join(import.meta.dirname, 'artifacts');
export const STEP_TIMEOUT_MS = 15_000;

/**
 * The relying party: records every callback URL (query included) and serves two pages for the
 * clickjacking check — `/hello`, and `/frame?target=URL`, which frames `/hello` (the control) and
 * the target.
 */
export function startCallbackServer() {
  const callbacks = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    const html = (body) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>rp</title></head><body>${body}</body></html>`);
    };
    if (url.pathname === '/callback') {
      callbacks.push(url.href);
      html('<h1 id="done">callback received</h1>');
    } else if (url.pathname === '/hello') {
      html('<p id="hello">hello from the relying party</p>');
    } else if (url.pathname === '/frame') {
      const target = url.searchParams.get('target') ?? '';
      const esc = target.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      html(
        `<iframe name="control" src="/hello" width="400" height="200"></iframe>` +
          `<iframe name="victim" src="${esc}" width="400" height="400"></iframe>`,
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, callbacks, origin: `http://127.0.0.1:${server.address().port}` }),
    );
  });
}

/**
 * Registers a first-party client with `tessera client add` (openid, profile, email scopes) and,
 * for a public client, the browser `origins` whose scripts may call the token endpoint and
 * UserInfo (CORS); returns its secret, or undefined for a public client.
 */
export function registerClient(id, redirectUri, { name = id, isPublic = false, origins = [] } = {}) {
  const args = [
    'client', 'add', id,
    '--name', name,
    '--redirect-uri', redirectUri,
    '--scope', 'openid', '--scope', 'profile', '--scope', 'email',
    '--first-party',
  ];
  if (isPublic) args.push('--public');
  for (const origin of origins) args.push('--origin', origin);
  const out = spawnSync(TESSERA_BIN, args, { encoding: 'utf8', env: process.env });
  assert.equal(out.status, 0, `tessera client add ${id} failed:\n${out.stdout}\n${out.stderr}`);
  if (isPublic) return undefined;
  const line = out.stdout.split('\n').find((l) => l.startsWith('client_secret: '));
  assert.ok(line, `no client_secret line in:\n${out.stdout}`);
  return line.slice('client_secret: '.length).trim();
}

/** The flags Chromium runs with here: headless, and no calls out of this machine's closed network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Creates a user with a password through `tessera user add` (the password on standard input, as
 * run.sh does for the shared user): for a test that changes its user's account (second factors),
 * so that the other test files keep a user with a password only.
 */
export function addUser(email, password, name) {
  const out = spawnSync(TESSERA_BIN, ['user', 'add', email, '--password-stdin', '--name', name], {
    input: password,
    encoding: 'utf8',
    env: process.env,
  });
  assert.equal(out.status, 0, `tessera user add ${email} failed:\n${out.stdout}\n${out.stderr}`);
}

/**
 * Headless Debian Chromium with a fresh profile. The background-networking flags keep it from
 * calling out of this machine's closed network. Returns the context, its first page, and close().
 */
export async function launchChromium() {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'tessera-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 800, height: 600 },
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, page, close };
}

/**
 * One headless Debian Chromium for several independent users: `newContext()` gives a context
 * with its own cookies (no session), with its first page. Returns newContext() and close().
 */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const newContext = async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    return { context, page };
  };
  return { newContext, close: () => browser.close() };
}

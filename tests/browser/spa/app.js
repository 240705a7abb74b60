// A single-page app with no back end, as docs/sign-in.md describes one: a public client doing
// the authorization code flow with PKCE (S256) in the browser, then calling the token endpoint and
// UserInfo with fetch across origins. Served by spa_cors.test.mjs, which reads what this page
// writes into #held and #result.
//
// Paths (one script, dispatched on location.pathname):
//   /            fetch discovery, start an authorization request (?hold=1: keep the code unused)
//   /callback    check state; exchange the code and call UserInfo, or with hold show the code
//   /exchange    ?code=&verifier=: exchange a given code and call UserInfo (the negative case)

const config = await (await fetch('/config.json')).json();

const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const s256 = async (verifier) => b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));

const show = (id, value) => {
  document.getElementById(id).textContent = JSON.stringify(value);
};

/** Runs `step`; a failure is reported with the stage it happened in (a blocked fetch is a TypeError). */
async function stage(name, step) {
  try {
    return await step();
  } catch (err) {
    const failure = new Error(`${name}: ${err}`);
    failure.report = { stage: name, error: err.name, message: err.message };
    throw failure;
  }
}

async function discovery() {
  return stage('discovery', async () => {
    const res = await fetch(new URL('/.well-known/openid-configuration', config.issuer));
    return res.json();
  });
}

async function start(hold) {
  const meta = await discovery();
  const verifier = random(32);
  const state = random(16);
  const nonce = random(16);
  sessionStorage.setItem('pending', JSON.stringify({ verifier, state, nonce, hold }));
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: await s256(verifier),
    code_challenge_method: 'S256',
  });
  document.getElementById('status').textContent = 'redirecting';
  location.assign(url);
}

/** Exchanges `code` at the token endpoint, then reads UserInfo with the access token. */
async function exchange(code, verifier) {
  const meta = await discovery();
  const tokens = await stage('token', async () => {
    // A form POST without custom headers: a "simple" request, sent without a preflight.
    const res = await fetch(meta.token_endpoint, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: config.redirectUri,
        code_verifier: verifier,
        client_id: config.clientId,
      }),
    });
    return { status: res.status, body: await res.json() };
  });
  if (tokens.status !== 200) return { discovery: meta.issuer, tokens };
  const userinfo = await stage('userinfo', async () => {
    // The Authorization header makes this a preflighted request.
    const res = await fetch(meta.userinfo_endpoint, {
      headers: { authorization: `Bearer ${tokens.body.access_token}` },
    });
    return { status: res.status, body: await res.json() };
  });
  return { discovery: meta.issuer, tokens, userinfo };
}

async function main() {
  const query = new URLSearchParams(location.search);
  if (location.pathname === '/') {
    await start(query.get('hold') === '1');
  } else if (location.pathname === '/callback') {
    const pending = JSON.parse(sessionStorage.getItem('pending') ?? 'null');
    sessionStorage.removeItem('pending');
    if (!pending || query.get('state') !== pending.state) throw new Error('callback: state mismatch');
    if (query.get('error')) throw new Error(`callback: ${query.get('error')}`);
    if (pending.hold) {
      show('held', { code: query.get('code'), verifier: pending.verifier, nonce: pending.nonce });
      document.getElementById('status').textContent = 'held';
      return;
    }
    show('result', { ok: true, nonce: pending.nonce, ...(await exchange(query.get('code'), pending.verifier)) });
  } else if (location.pathname === '/exchange') {
    show('result', { ok: true, ...(await exchange(query.get('code'), query.get('verifier'))) });
  }
  document.getElementById('status').textContent = 'done';
}

main().catch((err) => {
  show('result', { ok: false, ...(err.report ?? { stage: 'app', error: err.name, message: err.message }) });
  document.getElementById('status').textContent = 'done';
});

// An SMS provider's webhook on loopback for the browser tests (Node's built-in `http` only), so
// Tessera's outbox worker sends codes by text message exactly as it would to a provider.
//
//   SMS_SINK_SECRET=... node sms_sink.mjs DIR
//
// Listens on an ephemeral port of 127.0.0.1 and prints `sms sink listening on 127.0.0.1:PORT`
// once it does (run.sh waits for that line and passes `http://127.0.0.1:PORT/sms` to `tessera
// serve` as TESSERA_SMS__WEBHOOK_URL, and the same secret as TESSERA_SMS__WEBHOOK_SECRET).
//
// Every request must be `POST /sms` with a JSON body `{"to", "body"}` and the header
// `Tessera-Signature: t=<unix seconds>,v1=<hex>`, where v1 is HMAC-SHA-256 (node:crypto) with the
// secret over `<t>.<raw body>` and t is within 5 minutes of this machine's clock. A text accepted
// is written to DIR as NNNN.json, numbered in the order they arrived, and answered 204. Anything
// else is refused (401 for a missing, stale or wrong signature; 400, 404, 405 or 413 otherwise)
// and recorded as DIR/refused-NNNN.json with the reason, so the tests can assert there was none.
// Files appear whole: written under a temporary name, then renamed.
// Exits on SIGTERM or SIGINT (run.sh stops it on exit).
//
// `verifySignature` is exported for the tests, which check it against a known answer; importing
// this module starts no server.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** How far a signature's timestamp may be from this machine's clock, in seconds. */
export const TOLERANCE_SECONDS = 300;
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Checks a `Tessera-Signature` header value against `rawBody` (a Buffer or string) and `secret`
 * at `nowSeconds`. Returns null when it holds, or why not.
 */
export function verifySignature(secret, header, rawBody, nowSeconds = Math.floor(Date.now() / 1000)) {
  if (typeof header !== 'string' || header === '') return 'no Tessera-Signature header';
  let t = null;
  const v1 = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return `malformed Tessera-Signature: ${JSON.stringify(header)}`;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') t = value;
    else if (key === 'v1') v1.push(value);
  }
  if (t === null || !/^\d{1,12}$/.test(t)) return `no valid t= in Tessera-Signature: ${JSON.stringify(header)}`;
  if (v1.length === 0) return `no v1= in Tessera-Signature: ${JSON.stringify(header)}`;
  if (Math.abs(nowSeconds - Number(t)) > TOLERANCE_SECONDS) {
    return `timestamp ${t} is more than ${TOLERANCE_SECONDS} s from now (${nowSeconds})`;
  }
  const expected = createHmac('sha256', secret)
    .update(`${t}.`)
    .update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody)
    .digest();
  const matches = v1.some((hex) => {
    if (!/^[0-9a-f]{64}$/.test(hex)) return false;
    return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
  });
  return matches ? null : 'v1 does not match HMAC-SHA256(secret, "<t>.<body>")';
}

function main() {
  const dir = process.argv[2];
  const secret = process.env.SMS_SINK_SECRET;
  if (!dir || !secret) {
    console.error('usage: SMS_SINK_SECRET=... node sms_sink.mjs DIR');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });

  let accepted = 0;
  let refused = 0;

  const writeWhole = (name, data) => {
    const tmp = path.join(dir, `.${name}.tmp`);
    writeFileSync(tmp, data);
    renameSync(tmp, path.join(dir, name));
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', (err) => console.error(`sms sink: request error: ${err.stack ?? err}`));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const signatureHeader = req.headers['tessera-signature'];
      const refuse = (status, reason) => {
        const number = String(++refused).padStart(4, '0');
        const record = {
          number: Number(number),
          status,
          reason,
          method: req.method,
          url: req.url,
          signature: signatureHeader ?? null,
          body: raw.toString('utf8'),
          receivedAt: new Date().toISOString(),
        };
        try {
          writeWhole(`refused-${number}.json`, JSON.stringify(record, null, 2));
        } catch (err) {
          console.error(`sms sink: refusal ${number} not stored: ${err.stack ?? err}`);
        }
        console.error(`sms sink: refused ${req.method} ${req.url} (${status}): ${reason}`);
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${reason}\n`);
      };

      if (req.url !== '/sms') return refuse(404, `no such path: ${req.url}`);
      if (req.method !== 'POST') return refuse(405, `method ${req.method} not allowed`);
      if (tooLarge) return refuse(413, `body over ${MAX_BODY_BYTES} bytes`);
      const why = verifySignature(secret, signatureHeader, raw);
      if (why) return refuse(401, why);
      let text;
      try {
        text = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        return refuse(400, `body is not JSON: ${err.message}`);
      }
      if (typeof text?.to !== 'string' || typeof text?.body !== 'string') {
        return refuse(400, 'body is not {"to": string, "body": string}');
      }
      const number = String(++accepted).padStart(4, '0');
      const record = {
        number: Number(number),
        to: text.to,
        body: text.body,
        contentType: req.headers['content-type'] ?? null,
        signedAt: Number(/(?:^|,)\s*t=(\d+)/.exec(signatureHeader)[1]),
        receivedAt: new Date().toISOString(),
      };
      try {
        writeWhole(`${number}.json`, JSON.stringify(record, null, 2));
      } catch (err) {
        console.error(`sms sink: text ${number} not stored: ${err.stack ?? err}`);
        res.writeHead(500).end();
        return;
      }
      console.log(`sms sink: text ${number} to ${record.to}`);
      res.writeHead(204).end();
    });
  });

  server.on('error', (err) => console.error(`sms sink: ${err.stack ?? err}`));

  server.listen(0, '127.0.0.1', () => {
    const { address, port } = server.address();
    console.log(`sms sink listening on ${address}:${port}`);
  });

  // Stop at once: Tessera's HTTP client may keep a pooled connection open, which a graceful
  // close would wait for.
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();

// A real SMTP server on loopback for the browser tests (nodemailer's `smtp-server`), so Tessera's
// outbox worker sends codes by email over SMTP exactly as it would to a relay.
//
//   node smtp_sink.mjs DIR
//
// Listens on an ephemeral port of 127.0.0.1 and prints `smtp sink listening on 127.0.0.1:PORT`
// once it does (run.sh waits for that line and passes the address to `tessera serve` as
// TESSERA_EMAIL__SMTP_URL). No STARTTLS and no AUTH: Tessera speaks plain SMTP to a loopback host.
// Every message accepted is parsed (mailparser) and written to DIR as NNNN.json, numbered in the
// order the messages arrived, with its envelope, From, To, Subject and text body (and the raw
// message as NNNN.eml). Files appear whole: written under a temporary name, then renamed.
// Exits on SIGTERM or SIGINT (run.sh stops it on exit).

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node smtp_sink.mjs DIR');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });

let received = 0;

function writeWhole(file, data) {
  const tmp = path.join(dir, `.${path.basename(file)}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

const server = new SMTPServer({
  name: 'smtp-sink.tessera.test',
  banner: 'Tessera browser-test SMTP sink',
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  size: 1024 * 1024,
  logger: false,
  onData(stream, session, callback) {
    const number = String(++received).padStart(4, '0');
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('error', callback);
    stream.on('end', async () => {
      if (stream.sizeExceeded) {
        const err = new Error('message too large');
        err.responseCode = 552;
        callback(err);
        return;
      }
      try {
        const raw = Buffer.concat(chunks);
        const parsed = await simpleParser(raw);
        writeWhole(path.join(dir, `${number}.eml`), raw);
        const message = {
          number: Number(number),
          envelope: {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            to: session.envelope.rcptTo.map((r) => r.address),
          },
          from: parsed.from?.value.map((a) => a.address) ?? [],
          to: parsed.to ? [parsed.to].flat().flatMap((t) => t.value.map((a) => a.address)) : [],
          subject: parsed.subject ?? null,
          text: parsed.text ?? '',
          receivedAt: new Date().toISOString(),
        };
        writeWhole(path.join(dir, `${number}.json`), JSON.stringify(message, null, 2));
        console.log(`smtp sink: message ${number} to ${message.envelope.to.join(', ')}: ${message.subject}`);
        callback();
      } catch (err) {
        console.error(`smtp sink: message ${number} not stored: ${err.stack ?? err}`);
        callback(err);
      }
    });
  },
});

server.on('error', (err) => console.error(`smtp sink: ${err.stack ?? err}`));

server.listen(0, '127.0.0.1', () => {
  const { address, port } = server.server.address();
  console.log(`smtp sink listening on ${address}:${port}`);
});

// Stop at once: Tessera's mailer may keep a pooled connection open, which a graceful close would
// wait for.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));

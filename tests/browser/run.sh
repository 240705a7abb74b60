#!/usr/bin/env bash
# Real-browser test of the hosted sign-in UI: headless Chromium (Debian's /usr/bin/chromium)
# driven by playwright-core through Node's built-in test runner. certified_client.test.mjs puts
# panva's OpenID Certified relying party library (openid-client) on the client side;
# spa_cors.test.mjs signs in from a single-page app served on another origin (CORS);
# second_factors.test.mjs turns on an authenticator app (codes from otplib), recovery codes, codes
# by email and codes by text message (SMS) on the account pages and signs in with each as a
# second factor (openid-client); password_reset.test.mjs asks for a forgotten-password link on the
# login page (the same answer for an unknown address), reads it from the SMTP sink, refuses a
# common password, sets a new one, and checks the link is used up, the other browser's session
# ended and only the new password signs in (openid-client); passkeys.test.mjs registers a passkey
# in Chromium's virtual authenticator (DevTools WebAuthn domain), signs in with it alone, steps up
# before the sensitive-api example's POST /sensitive, sees a passkey without user verification
# refused, and has @simplewebauthn/server verify what the browser sent (openid-client).
#
# Run from anywhere (CI: `bash tests/browser/run.sh` from the repo root, after `cargo test` built
# target/debug/tessera and target/debug/examples/sensitive-api). Installs what is missing, and
# says so:
#   - Debian's `chromium` package (apt-get) when /usr/bin/chromium is absent;
#   - `npm ci` in tests/browser (playwright-core, openid-client, otplib, smtp-server,
#     mailparser and @simplewebauthn/server, pinned; no browser download).
# Starts a real SMTP server on an ephemeral loopback port (smtp_sink.mjs, which writes every message
# it receives to a directory the tests read, SMTP_SINK_DIR) and an SMS provider's webhook on
# another (sms_sink.mjs, Node's http only: it checks each request's Tessera-Signature, HMAC-SHA-256
# with a secret made up for this run, answers 204 and writes every text to SMS_SINK_DIR, or
# answers 401 and records the refusal there); then `tessera serve` on an ephemeral port in a
# temporary directory, sending mail to that SMTP server (TESSERA_EMAIL__SMTP_URL,
# TESSERA_EMAIL__FROM) and texts to that webhook (TESSERA_SMS__WEBHOOK_URL,
# TESSERA_SMS__WEBHOOK_SECRET); creates a user. Passkeys need a domain name (browsers refuse
# WebAuthn on an IP address, so Tessera offers none on http://127.0.0.1), so a second `tessera
# serve`, with its own data directory, listens on a loopback port found free just before and has
# the issuer http://localhost:PORT (a secure context in Chromium without TLS); the sensitive-api
# example (target/debug/examples/sensitive-api, its resource-server client registered with `tessera
# client add --resource-server`) trusts that one, demanding for POST /sensitive a sign-in within
# the last few seconds (--sensitive-max-age-seconds, sensitive_max_age below) so that the step-up
# shows without waiting 5 minutes. Runs sign_in.test.mjs, certified_client.test.mjs,
# spa_cors.test.mjs, second_factors.test.mjs, password_reset.test.mjs and passkeys.test.mjs (each
# registers its own clients, once its callback server knows its port; second_factors.test.mjs,
# password_reset.test.mjs and passkeys.test.mjs also add a user of their own, whose account they
# change); and stops the servers, the API, the SMTP server and the webhook on exit, success or not.
# Exits non-zero when any test fails.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

chromium_bin=/usr/bin/chromium
tessera_bin="$root/target/debug/tessera"
api_bin="$root/target/debug/examples/sensitive-api"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

echo "== browser test: prerequisites"
if [ ! -x "$tessera_bin" ]; then
    echo "installing: target/debug/tessera is missing; building it (cargo build -p tessera)"
    cargo build -p tessera
fi
if [ ! -x "$api_bin" ]; then
    echo "installing: target/debug/examples/sensitive-api is missing; building it (cargo build -p sensitive-api --examples)"
    cargo build -p sensitive-api --examples
fi
if [ ! -x "$chromium_bin" ]; then
    echo "installing: Debian package chromium (apt-get install --no-install-recommends chromium)"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi
echo "chromium: $("$chromium_bin" --version 2>/dev/null || echo unknown)"

command -v node >/dev/null || { echo "node is required (Node.js 20 or later)" >&2; exit 1; }
# Every pinned devDependency, as name@version, and which of them node_modules lacks.
wanted="$(node -p "Object.entries(require('$here/package.json').devDependencies).map(([n, v]) => n + '@' + v).join(' ')")"
missing=""
for spec in $wanted; do
    name="${spec%@*}"
    have="$(node -p "try { require('$here/node_modules/$name/package.json').version } catch { '' }")"
    [ "$name@$have" = "$spec" ] || missing="$missing $spec"
done
if [ -n "$missing" ]; then
    echo "installing: npm packages$missing (npm ci in tests/browser; no browser download)"
    (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
echo "node: $(node --version), npm packages: $wanted"

work="$(mktemp -d "${TMPDIR:-/tmp}/tessera-browser.XXXXXX")"
server_pid=""
passkey_server_pid=""
api_pid=""
smtp_pid=""
sms_pid=""
cleanup() {
    status=$?
    for pid in "$api_pid" "$server_pid" "$passkey_server_pid" "$smtp_pid" "$sms_pid"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ "$status" -ne 0 ] && [ -f "$work/server.log" ]; then
        echo "== tessera server log (the run failed)"
        cat "$work/server.log"
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/passkey-server.log" ]; then
        echo "== passkey tessera server log (the run failed)"
        cat "$work/passkey-server.log"
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/api.log" ]; then
        echo "== sensitive-api output (the run failed)"
        cat "$work/api.log"
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/smtp.log" ]; then
        echo "== SMTP sink output (the run failed)"
        cat "$work/smtp.out" "$work/smtp.log" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/sms.log" ]; then
        echo "== SMS sink output (the run failed)"
        cat "$work/sms.out" "$work/sms.log" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

data_dir="$work/data"
export TESSERA_DATA_DIR="$data_dir"
# The output files exist before their processes start, so the loops below that read them never
# race the background shell that opens them (a busy machine may start it late).
: >"$work/smtp.out"; : >"$work/smtp.log"; : >"$work/sms.out"; : >"$work/sms.log"
: >"$work/server.out"; : >"$work/server.log"
: >"$work/passkey-server.out"; : >"$work/passkey-server.log"; : >"$work/api.log"

# Waits for a sink started in the background (pid $2) to print "$1 listening on ADDRESS:PORT" on
# $3 (its stdout; $4 is its stderr) and prints ADDRESS:PORT; fails if it exits or takes 30 s.
sink_address() {
    local name="$1" pid="$2" out="$3" log="$4" found=""
    for _ in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the $name exited before listening:" >&2
            cat "$out" "$log" >&2
            return 1
        fi
        found="$(sed -n "s/^$name listening on \([0-9.]*:[0-9]*\)\$/\1/p" "$out" | head -n 1)"
        [ -n "$found" ] && break
        sleep 0.1
    done
    if [ -z "$found" ]; then
        echo "the $name did not report 'listening on' within 30 s" >&2
        return 1
    fi
    printf '%s' "$found"
}

echo "== browser test: starting the SMTP sink (smtp_sink.mjs)"
mail_dir="$work/mail"
node "$here/smtp_sink.mjs" "$mail_dir" >"$work/smtp.out" 2>"$work/smtp.log" &
smtp_pid=$!
smtp_address="$(sink_address "smtp sink" "$smtp_pid" "$work/smtp.out" "$work/smtp.log")"
echo "smtp: smtp://$smtp_address (messages in $mail_dir)"

echo "== browser test: starting the SMS webhook sink (sms_sink.mjs)"
sms_dir="$work/sms"
# A secret for this run only (64 hex characters; Tessera wants at least 32), passed to the sink and
# to tessera serve in their environments, not on command lines.
sms_secret="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))')"
SMS_SINK_SECRET="$sms_secret" node "$here/sms_sink.mjs" "$sms_dir" >"$work/sms.out" 2>"$work/sms.log" &
sms_pid=$!
sms_address="$(sink_address "sms sink" "$sms_pid" "$work/sms.out" "$work/sms.log")"
sms_url="http://$sms_address/sms"
echo "sms: $sms_url (texts in $sms_dir)"

echo "== browser test: starting tessera serve"
(cd "$work" &&
    export TESSERA_EMAIL__SMTP_URL="smtp://$smtp_address" TESSERA_EMAIL__FROM="no-reply@tessera.test" \
        TESSERA_SMS__WEBHOOK_URL="$sms_url" TESSERA_SMS__WEBHOOK_SECRET="$sms_secret" &&
    exec "$tessera_bin" --data-dir "$data_dir" serve --listen 127.0.0.1:0) \
    >"$work/server.out" 2>"$work/server.log" &
server_pid=$!

address=""
for _ in $(seq 1 300); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "tessera serve exited before listening" >&2
        exit 1
    fi
    address="$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/server.log" | head -n 1)"
    [ -n "$address" ] && break
    sleep 0.1
done
if [ -z "$address" ]; then
    echo "tessera serve did not report 'listening on' within 30 s" >&2
    exit 1
fi
issuer="http://$address"
echo "issuer: $issuer"

user_email="ada@example.com"
user_password="correct horse battery staple"
printf '%s' "$user_password" |
    "$tessera_bin" --data-dir "$data_dir" user add "$user_email" --password-stdin --name Ada >/dev/null

echo "== browser test: starting tessera serve for passkeys (issuer http://localhost:PORT)"
# The issuer names the port, so the port is chosen before the server starts: one the kernel
# hands out as free, released at once (another process could take it in between: then the
# server fails to bind, and the run says so).
passkey_port="$(node -e '
const server = require("node:net").createServer();
server.listen(0, "127.0.0.1", () => { process.stdout.write(String(server.address().port)); server.close(); });')"
passkey_data_dir="$work/passkey-data"
passkey_issuer="http://localhost:$passkey_port"
(cd "$work" &&
    export TESSERA_DATA_DIR="$passkey_data_dir" TESSERA_ISSUER="$passkey_issuer" &&
    exec "$tessera_bin" --data-dir "$passkey_data_dir" serve --listen "127.0.0.1:$passkey_port") \
    >"$work/passkey-server.out" 2>"$work/passkey-server.log" &
passkey_server_pid=$!
passkey_address=""
for _ in $(seq 1 300); do
    if ! kill -0 "$passkey_server_pid" 2>/dev/null; then
        echo "tessera serve (passkeys) exited before listening:" >&2
        cat "$work/passkey-server.log" >&2
        exit 1
    fi
    passkey_address="$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/passkey-server.log" | head -n 1)"
    [ -n "$passkey_address" ] && break
    sleep 0.1
done
if [ "$passkey_address" != "127.0.0.1:$passkey_port" ]; then
    echo "tessera serve (passkeys) did not report 'listening on 127.0.0.1:$passkey_port' within 30 s" >&2
    exit 1
fi
echo "passkey issuer: $passkey_issuer (listening on $passkey_address)"

echo "== browser test: starting the sensitive-api example for the passkey issuer"
# Seconds since the last sign-in that POST /sensitive accepts (the example's default is 300).
sensitive_max_age=5
"$tessera_bin" --data-dir "$passkey_data_dir" client add sensitive-api --resource-server >"$work/api-client.out"
api_secret="$(sed -n 's/^client_secret: //p' "$work/api-client.out")"
if [ -z "$api_secret" ]; then
    echo "tessera client add sensitive-api --resource-server printed no client_secret" >&2
    exit 1
fi
rm -f "$work/api-client.out"
# The secret in the environment, not on the command line; no colours in the log read below.
SENSITIVE_API_CLIENT_SECRET="$api_secret" NO_COLOR=1 "$api_bin" --issuer "$passkey_issuer" \
    --audience "$passkey_issuer" --listen 127.0.0.1:0 --sensitive-max-age-seconds "$sensitive_max_age" \
    >"$work/api.log" 2>&1 &
api_pid=$!
api_address=""
for _ in $(seq 1 300); do
    if ! kill -0 "$api_pid" 2>/dev/null; then
        echo "the sensitive-api example exited before it was ready:" >&2
        cat "$work/api.log" >&2
        exit 1
    fi
    # tracing's line: "… sensitive API ready: GET /me, POST /sensitive listen=127.0.0.1:PORT"
    api_address="$(sed -e 's/\x1b\[[0-9;]*m//g' "$work/api.log" |
        sed -n 's/.*sensitive API ready.*listen=\([0-9.]*:[0-9]*\).*/\1/p' | head -n 1)"
    [ -n "$api_address" ] && break
    sleep 0.1
done
if [ -z "$api_address" ]; then
    echo "the sensitive-api example did not report 'sensitive API ready' within 30 s" >&2
    exit 1
fi
if grep -q "has not answered" "$work/api.log"; then
    echo "the sensitive-api example could not read the revocation feed:" >&2
    cat "$work/api.log" >&2
    exit 1
fi
echo "sensitive API: http://$api_address (POST /sensitive: a sign-in within $sensitive_max_age s)"

echo "== browser test: node --test sign_in.test.mjs certified_client.test.mjs spa_cors.test.mjs second_factors.test.mjs password_reset.test.mjs passkeys.test.mjs"
mkdir -p "$here/artifacts"
TESSERA_BIN="$tessera_bin" \
TESSERA_ISSUER="$issuer" \
TESSERA_USER_EMAIL="$user_email" \
TESSERA_USER_PASSWORD="$user_password" \
CHROMIUM_PATH="$chromium_bin" \
ARTIFACTS_DIR="$here/artifacts" \
SMTP_SINK_DIR="$mail_dir" \
SMS_SINK_DIR="$sms_dir" \
PASSKEY_ISSUER="$passkey_issuer" \
PASSKEY_DATA_DIR="$passkey_data_dir" \
SENSITIVE_API_URL="http://$api_address" \
SENSITIVE_API_MAX_AGE="$sensitive_max_age" \
    timeout 360 node --test --test-reporter=spec "$here/sign_in.test.mjs" "$here/certified_client.test.mjs" \
        "$here/spa_cors.test.mjs" "$here/second_factors.test.mjs" "$here/password_reset.test.mjs" \
        "$here/passkeys.test.mjs"

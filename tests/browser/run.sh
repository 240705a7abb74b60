#!/usr/bin/env bash
# Real-browser test of the hosted sign-in UI: headless Chromium (Debian's /usr/bin/chromium)
# driven by playwright-core through Node's built-in test runner. certified_client.test.mjs puts
# panva's OpenID Certified relying party library (openid-client) on the client side;
# spa_cors.test.mjs signs in from a single-page app served on another origin (CORS).
#
# Run from anywhere (CI: `bash tests/browser/run.sh` from the repo root, after `cargo test` built
# target/debug/tessera). Installs what is missing, and says so:
#   - Debian's `chromium` package (apt-get) when /usr/bin/chromium is absent;
#   - `npm ci` in tests/browser (playwright-core and openid-client, pinned; no browser download).
# Starts `tessera serve` on an ephemeral port in a temporary directory, creates a user, runs
# sign_in.test.mjs, certified_client.test.mjs and spa_cors.test.mjs (each registers its own clients,
# once its callback server knows its port), and stops the server on exit, success or not. Exits non-zero when any
# test fails.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

chromium_bin=/usr/bin/chromium
tessera_bin="$root/target/debug/tessera"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

echo "== browser test: prerequisites"
if [ ! -x "$tessera_bin" ]; then
    echo "installing: target/debug/tessera is missing; building it (cargo build -p tessera)"
    cargo build -p tessera
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
cleanup() {
    status=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/server.log" ]; then
        echo "== tessera server log (the run failed)"
        cat "$work/server.log"
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

data_dir="$work/data"
export TESSERA_DATA_DIR="$data_dir"

echo "== browser test: starting tessera serve"
(cd "$work" && exec "$tessera_bin" --data-dir "$data_dir" serve --listen 127.0.0.1:0) \
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

echo "== browser test: node --test sign_in.test.mjs certified_client.test.mjs spa_cors.test.mjs"
mkdir -p "$here/artifacts"
TESSERA_BIN="$tessera_bin" \
TESSERA_ISSUER="$issuer" \
TESSERA_USER_EMAIL="$user_email" \
TESSERA_USER_PASSWORD="$user_password" \
CHROMIUM_PATH="$chromium_bin" \
ARTIFACTS_DIR="$here/artifacts" \
    timeout 180 node --test --test-reporter=spec "$here/sign_in.test.mjs" "$here/certified_client.test.mjs" \
        "$here/spa_cors.test.mjs"

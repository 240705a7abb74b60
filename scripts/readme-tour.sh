#!/usr/bin/env bash
# Runs the README's five-minute tour as written, against a fresh data directory, and fails if any
# step does. TESSERA names the binary (default: the debug build); the tour itself uses
# `cargo run --release --`, which runs the same code.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tessera="${TESSERA:-$root/target/debug/tessera}"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

# The README uses port 8080; a test must not depend on a free fixed port, so listen on 0 and read
# the bound address from the log.
"$tessera" serve --listen 127.0.0.1:0 2> server.log &
server_pid=$!
for _ in $(seq 1 200); do
  grep -q "listening on" server.log 2>/dev/null && break
  sleep 0.05
done
issuer="http://$(grep -o 'listening on [0-9.:]*' server.log | head -1 | cut -d' ' -f3)"
echo "server at $issuer"

secret=$("$tessera" client add my-service --scope api:read 2>/dev/null | sed -n 's/^client_secret: //p')
[ -n "$secret" ] || { echo "no client secret printed"; exit 1; }

token=$(curl -s -u "my-service:$secret" -d grant_type=client_credentials -d scope=api:read \
  "$issuer/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

venv="$root/target/tour-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q 'pyjwt[crypto]'
verify() {
  "$venv/bin/python" - "$1" "$issuer" <<'PY'
import json, sys, urllib.request, jwt
token, issuer = sys.argv[1], sys.argv[2]
meta = json.load(urllib.request.urlopen(issuer + "/.well-known/openid-configuration"))
key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(token)
header = jwt.get_unverified_header(token)
claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=issuer, issuer=issuer)
assert header["typ"] == "at+jwt", header
assert claims["sub"] == "my-service" and claims["scope"] == "api:read", claims
assert claims["exp"] - claims["iat"] == 900, claims
print("verified by PyJWT:", header["kid"], claims["sub"], claims["scope"])
PY
}
verify "$token"

# Rotation: the running server picks the new key up within keys.refresh_interval_seconds (10 s
# by default); the old token keeps verifying because its key stays published.
"$tessera" keys rotate
"$tessera" keys list
verify "$token"
echo "README tour: ok"

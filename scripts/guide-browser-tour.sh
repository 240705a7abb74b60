#!/usr/bin/env bash
# Runs the README's "Sign a person in through the browser" and the "Run it" steps of
# docs/sensitive-api.md as written, against a fresh data directory, and fails if any step fails
# or any answer differs from what the documents say. Where they say "open it in a browser", a
# scripted browser (Python's urllib with a cookie jar) follows the redirects and fills in
# Tessera's login form as a person would.
#
# TESSERA, SAMPLE_CLIENT and SENSITIVE_API name the binaries (default: the debug builds, from
# `cargo build -p tessera -p sample-client -p sensitive-api --bins --examples`); the documents use
# `cargo run --release`, which runs the same code. The documents use fixed ports (8080, 8081,
# 8090); a test must not depend on them being free, so Tessera listens on port 0 and the sample
# and the API on ports found free just before.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tessera="${TESSERA:-$root/target/debug/tessera}"
sample="${SAMPLE_CLIENT:-$root/target/debug/sample-client}"
api="${SENSITIVE_API:-$root/target/debug/examples/sensitive-api}"
for bin in "$tessera" "$sample" "$api"; do
  [ -x "$bin" ] || {
    echo "$bin is missing: cargo build -p tessera -p sample-client -p sensitive-api --bins --examples" >&2
    exit 1
  }
done
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() {
  echo "FAILED: $*" >&2
  for f in server.log sample.out sample.err api.log; do
    [ -s "$f" ] && { echo "--- last lines of $f:" >&2; tail -n 30 "$f" >&2; }
  done
  exit 1
}
# wait_for FILE PATTERN: up to 20 s for a line matching PATTERN (a grep regex) in FILE.
wait_for() {
  for _ in $(seq 1 400); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "$1 never said: $2"
}

"$tessera" serve --listen 127.0.0.1:0 2> server.log &
pids+=($!)
wait_for server.log "listening on"
issuer="http://$(grep -o 'listening on [0-9.:]*' server.log | head -1 | cut -d' ' -f3)"
echo "server at $issuer"
read -r sample_port api_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

# The scripted browser. `browser.py URL login|silent` opens URL and follows redirects, keeping
# cookies in ./cookies; with `login` it expects Tessera's login page, posts the form (its hidden
# fields, Ada's email and password) and follows on; with `silent` it expects no login page. Both
# must end on the sample's "Signed in as ada@example.com" page. Tessera's cookies are `Secure`;
# browsers send them to http://127.0.0.1 (loopback is a secure context), and so does this one.
cat > browser.py <<'PY'
import html.parser, http.cookiejar, sys, urllib.parse, urllib.request

url, expect, issuer = sys.argv[1], sys.argv[2], sys.argv[3]

class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    def return_ok_secure(self, cookie, request):
        host = urllib.parse.urlsplit(request.full_url).hostname
        return host in ("127.0.0.1", "localhost", "::1") or super().return_ok_secure(cookie, request)

jar = http.cookiejar.LWPCookieJar("cookies", policy=LoopbackIsSecure())
try:
    jar.load(ignore_discard=True)
except FileNotFoundError:
    pass
browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

class Form(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields, self.has_password = None, {}, False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method", "").lower() == "post":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "password":
            self.has_password = True

def get(response):
    return response.geturl(), response.read().decode()

where, page = get(browser.open(url))
form = Form()
form.feed(page)
on_login_page = where.startswith(issuer + "/login") and form.has_password
if expect == "login":
    if not on_login_page:
        sys.exit(f"expected Tessera's login page, got {where}:\n{page[:500]}")
    fields = dict(form.fields, username="ada@example.com", password="correct horse battery staple")
    data = urllib.parse.urlencode(fields).encode()
    where, page = get(browser.open(urllib.parse.urljoin(where, form.action), data))
elif on_login_page:
    sys.exit(f"expected a silent sign-in, but Tessera asked for the password at {where}")
jar.save(ignore_discard=True)
if "/callback?" not in where or "Signed in as ada@example.com." not in page:
    sys.exit(f"expected the sample's 'Signed in as' page, got {where}:\n{page[:500]}")
print(f"  {'password asked, then' if expect == 'login' else 'no password asked,'} back at the sample: {where.split('?')[0]}")
PY
browse() { python3 browser.py "$1" "$2" "$issuer" || fail "browsing $1"; }
# field N NAME: the value the sample printed for NAME in sign-in N (e.g. `auth_time: 1795329272`).
field() {
  awk -v n="Sign-in $1:" -v f="$2" '
    $0 == n { on = 1; next }
    on && /^Sign-in [0-9]+:$/ { exit }
    on && $1 == f ":" { print $2; exit }' sample.out
}
# signed_in N: the sample printed sign-in N, for Ada, with a password sign-in method.
signed_in() {
  wait_for sample.out "^Sign-in $1:$"
  wait_for sample.out "^Signed in as ada@example.com.$"
  [ "$(field "$1" email)" = "ada@example.com" ] || fail "sign-in $1: no email"
  [ "$(field "$1" amr)" = '["pwd"]' ] || fail "sign-in $1: amr is not [\"pwd\"]"
  [ -n "$(field "$1" access_token)" ] || fail "sign-in $1: no access_token line"
}

echo "== README: Sign a person in through the browser"
"$tessera" client add web --name "Sample client" --first-party \
  --redirect-uri "http://127.0.0.1:$sample_port/callback" --scope openid --scope profile --scope email \
  > web-client.out 2>/dev/null
SECRET=$(sed -n 's/^client_secret: //p' web-client.out)
[ -n "$SECRET" ] || fail "client add web printed no client_secret"
printf 'correct horse battery staple\n' | \
  "$tessera" user add ada@example.com --password-stdin --name "Ada Lovelace" > /dev/null 2>&1
"$sample" \
  --issuer "$issuer" --client-id web --client-secret "$SECRET" --listen "127.0.0.1:$sample_port" \
  > sample.out 2> sample.err &
sample_pid=$!
pids+=("$sample_pid")
wait_for sample.out "^Serving until Ctrl-C.$"
url=$(grep -m1 "^http://127.0.0.1:$sample_port/$" sample.out) || fail "the sample printed no URL to open"

echo "open $url: the login page, then the sample prints the sign-in"
browse "$url" login
signed_in 1
first_auth_time=$(field 1 auth_time)

echo "open it again: signed in silently, same auth_time"
browse "$url" silent
signed_in 2
[ "$(field 2 auth_time)" = "$first_auth_time" ] || fail "the silent sign-in changed auth_time"

# auth_time counts whole seconds: wait for the next one so that a new sign-in shows.
sleep 1.1
echo "open it with ?prompt=login: the password again, a later auth_time"
browse "${url}?prompt=login" login
signed_in 3
[ "$(field 3 auth_time)" -gt "$first_auth_time" ] || fail "prompt=login did not give a later auth_time"

sleep 1.1
echo "open it with ?max_age=0: the password again, a later auth_time"
browse "${url}?max_age=0" login
signed_in 4
[ "$(field 4 auth_time)" -gt "$(field 3 auth_time)" ] || fail "max_age=0 did not give a later auth_time"

echo "== docs/sensitive-api.md: Run it"
"$tessera" client add sensitive-api --resource-server > api-client.out 2>/dev/null
SENSITIVE_API_CLIENT_SECRET=$(sed -n 's/^client_secret: //p' api-client.out)
[ -n "$SENSITIVE_API_CLIENT_SECRET" ] || fail "client add sensitive-api printed no client_secret"
export SENSITIVE_API_CLIENT_SECRET
"$api" --issuer "$issuer" --audience "$issuer" --listen "127.0.0.1:$api_port" > api.log 2>&1 &
pids+=($!)
wait_for api.log "sensitive API ready"
if grep -q "has not answered" api.log; then fail "the API could not read the revocation feed"; fi
api_url="http://127.0.0.1:$api_port"

echo "sign in with ?prompt=login and take the access_token the sample prints"
browse "${url}?prompt=login" login
signed_in 5
ACCESS_TOKEN=$(field 5 access_token)

me=$(curl -s -H "Authorization: Bearer $ACCESS_TOKEN" "$api_url/me")
[ "$me" = "{\"sub\":\"$(field 5 sub)\"}" ] || fail "GET /me answered $me"
echo "GET /me: $me"
status=$(curl -s -o sensitive.json -w '%{http_code}' -X POST -H "Authorization: Bearer $ACCESS_TOKEN" "$api_url/sensitive")
[ "$status" = 200 ] && grep -q '"done":true' sensitive.json || fail "POST /sensitive answered $status $(cat sensitive.json)"
echo "POST /sensitive: $status $(cat sensitive.json)"

echo "revoke the session: the same token gets 401 invalid_token"
"$tessera" session list ada@example.com > sessions.out 2>/dev/null
[ "$(wc -l < sessions.out)" = 2 ] || fail "expected one session: $(cat sessions.out)"
sid=$(sed -n 2p sessions.out | cut -f1)
"$tessera" session revoke "$sid" 2>/dev/null
# A revocation written by another process reaches the API through Tessera's store poll and
# the feed; the guide says "typically within milliseconds", a quarter of a second more for
# the CLI. Allow 5 s on a busy CI machine.
refused=
for _ in $(seq 1 100); do
  curl -si -H "Authorization: Bearer $ACCESS_TOKEN" "$api_url/me" > me-after.txt
  if head -1 me-after.txt | grep -q " 401 "; then refused=1; break; fi
  sleep 0.05
done
[ -n "$refused" ] || fail "the token still works after session revoke: $(head -1 me-after.txt)"
grep -qi '^www-authenticate: Bearer error="invalid_token"' me-after.txt ||
  fail "no invalid_token challenge: $(cat me-after.txt)"
curl -si -X POST -H "Authorization: Bearer $ACCESS_TOKEN" "$api_url/sensitive" > sensitive-after.txt
head -1 sensitive-after.txt | grep -q " 401 " || fail "POST /sensitive after revoke: $(head -1 sensitive-after.txt)"
echo "GET /me and POST /sensitive after the revoke: $(head -1 me-after.txt | tr -d '\r')"

# The sample serves until Ctrl-C, then exits cleanly.
kill -INT "$sample_pid"
wait "$sample_pid" || fail "the sample exited with status $? on Ctrl-C"
echo "browser and sensitive-API guides: ok"

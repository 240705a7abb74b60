#!/usr/bin/env bash
# Runs the walkthrough at the end of docs/second-factors.md ("## Walkthrough: an authenticator app
# from a terminal") as written, against a fresh data directory: a password sign-in, turning on an
# authenticator app at /account/totp, then a sign-in with acr_values=urn:tessera:acr:mfa and a
# code from pyotp (from PyPI). It fails if any step does, or if the ID token of the last sign-in
# does not say "acr": "urn:tessera:acr:mfa" and "amr": ["pwd", "otp", "mfa"].
#
# The section's `sh` blocks are read from the document itself, in order, and sourced in this
# script's shell (so that SECRET, which one sets, reaches the next, as in a reader's terminal).
# A change to the document that breaks them fails here; so does a block added or removed without
# this script knowing. The other blocks of the document (the operator commands) are not run.
#
# The only changes made to the document's text, because a test machine is not a reader's laptop:
#   127.0.0.1:8080 -> 127.0.0.1:0 in the block that starts the server (a test must not depend on
#                     a free fixed port), and in the blocks after it the address the server logs
#                     ("listening on ADDR") in server.log
#   /tmp/mfa-tour  -> target/tour-venv, the virtual environment scripts/readme-tour.sh uses too
#                     (pyotp is installed into it from PyPI)
# `tessera` is put first on PATH from TESSERA (default: the debug build, `cargo build -p tessera`);
# the document suggests a release build, which runs the same code. The server is stopped when
# the script ends, whatever happens. A run takes up to 30 s more than its work: the walkthrough
# waits for the authenticator's next 30-second step before its second sign-in.
#
#   bash scripts/second-factors-tour.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tessera="${TESSERA:-$root/target/debug/tessera}"
[ -x "$tessera" ] || { echo "no tessera binary at $tessera (cargo build -p tessera first)" >&2; exit 1; }
doc="$root/docs/second-factors.md"
heading="## Walkthrough: an authenticator app from a terminal"
venv="$root/target/tour-venv"
work="$(mktemp -d)"
mkdir -p "$work/bin" "$work/blocks" "$work/run"
ln -s "$tessera" "$work/bin/tessera"
export PATH="$work/bin:$PATH"

server_pid=
server_log=
cleanup() {
  status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" != 0 ] && [ -n "$server_log" ] && [ -s "$server_log" ]; then
    echo "--- last lines of the server's log:" >&2
    tail -n 30 "$server_log" >&2
  fi
  cd /
  rm -rf "$work"
  [ "$status" = 0 ] || echo "docs/second-factors.md walkthrough: FAILED" >&2
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

# --- the section's sh blocks, in order, each into blocks/N.sh
python3 - "$doc" "$heading" "$work/blocks" <<'PY'
import os, re, sys
doc, heading, out = sys.argv[1:]
text = open(doc).read()
start = text.find("\n" + heading + "\n")
if start < 0:
    sys.exit(f"{doc} has no section {heading!r}")
section = text[start + 1:]
following = re.search(r"^## ", section[len(heading):], flags=re.M)
if following:
    section = section[:len(heading) + following.start()]
blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)
for i, body in enumerate(blocks):
    with open(os.path.join(out, f"{i}.sh"), "w") as f:
        f.write(body)
PY
expect_block() { # expect_block N TEXT: the section's block N is the step this script expects
  grep -qF -- "$2" "$work/blocks/$1.sh" 2>/dev/null ||
    fail "docs/second-factors.md changed: the walkthrough's block $1 should contain: $2"
}
expect_block 0 'tessera init'
expect_block 1 'tessera serve --listen 127.0.0.1:8080 2> server.log &'
expect_block 2 '/tmp/mfa-tour/bin/pip install -q pyotp'
expect_block 3 'cat > browser.py'
expect_block 4 '/account/totp'
expect_block 5 'acr_values="urn:tessera:acr:mfa"'
expect_block 6 'kill $SERVER_PID'
[ "$(ls "$work/blocks" | wc -l)" -eq 7 ] ||
  fail "the walkthrough in docs/second-factors.md has $(ls "$work/blocks" | wc -l) sh blocks, this script runs 7"

address=127.0.0.1:0 # until the server has said where it listens
block() { # block N: the section's block N with this machine's substitutions, as a file to source
  sed -e "s#127\.0\.0\.1:8080#$address#g" -e "s#/tmp/mfa-tour#$venv#g" \
    "$work/blocks/$1.sh" > "$work/run/$1.sh"
  echo "$work/run/$1.sh"
}
show() { echo; echo "== docs/second-factors.md, walkthrough block $1: $2"; }

cd "$work"
show 0 "a fresh store, the client and the user"
. "$(block 0)" > "$work/setup.out" 2>&1
grep '^client_id: \|^redirect_uris: \|^first_party: ' "$work/setup.out"
[ -n "${SECRET:-}" ] || fail "block 0 set no SECRET"
grep -q '^email: ada@example.com$' "$work/setup.out" || fail "block 0 added no user: $(cat "$work/setup.out")"
echo "client secret read from web-client.txt; user ada@example.com added"

show 1 "the server, in the background"
. "$(block 1)"
server_pid=$!
server_log="$PWD/server.log"
for _ in $(seq 1 400); do
  grep -q "listening on" "$server_log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited"
  sleep 0.05
done
address="$(grep -o 'listening on [0-9.:]*' "$server_log" | head -1 | cut -d' ' -f3)"
[ -n "$address" ] || fail "the server never said where it listens"
echo "server (pid $server_pid) listening on $address"

show 2 "pyotp from PyPI, in $venv"
. "$(block 2)"
"$venv/bin/python" -c 'import importlib.metadata as m, pyotp; print("pyotp", m.version("pyotp"), "installed")'

show 3 "browser.py, the scripted browser"
. "$(block 3)"
grep -qF "ISSUER = \"http://$address\"" browser.py || fail "browser.py does not point at the server"
echo "browser.py written, ISSUER = http://$address"

show 4 "a password sign-in, then /account/totp"
. "$(block 4)" | tee "$work/enrol.out"
grep -q "Authenticator app turned on" "$work/enrol.out" || fail "the app was not turned on"
tessera user mfa list ada@example.com | tee "$work/mfa-list.out"
grep -qi totp "$work/mfa-list.out" || fail "tessera user mfa list shows no authenticator app"

show 5 "a sign-in with acr_values=urn:tessera:acr:mfa and the app's code"
. "$(block 5)" | tee "$work/mfa.out"
grep -qxF '  "acr": "urn:tessera:acr:mfa"' "$work/mfa.out" || fail 'the ID token does not say "acr": "urn:tessera:acr:mfa"'
grep -qxF '  "amr": ["pwd", "otp", "mfa"]' "$work/mfa.out" || fail 'the ID token does not say "amr": ["pwd", "otp", "mfa"]'

show 6 "stop the server"
. "$(block 6)"
wait "$server_pid" 2>/dev/null || true
! kill -0 "$server_pid" 2>/dev/null || fail "the server is still running after the walkthrough's kill"
server_pid=
echo "server stopped"
echo
echo "docs/second-factors.md walkthrough: ok"

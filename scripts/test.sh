#!/usr/bin/env bash
# Every test, on both store backends: the README's test command.
#
#   bash scripts/test.sh [extra cargo test flags, e.g. --locked]
#
# 1. `cargo test --workspace`: unit tests, the store contract suite on SQLite files and on
#    PostgreSQL (a fresh schema per test), and the flow tests on SQLite.
# 2. Again with `TESSERA_TEST_STORE=postgres`, only what that switch changes: the test binaries
#    that start test servers (`tessera_testkit::spawn_app`), each of which then gets a fresh
#    PostgreSQL schema instead of a SQLite file. Those are the server's flow tests
#    (crates/tessera-server/tests/flows), the sensitive-api example's tests and the testkit's own
#    check of the switch. Everything else (unit tests, the store contract, which already ran on
#    both backends, the CLI tests) would only repeat itself. The binaries step 1 built are run
#    as they are: asking cargo for these targets alone would lay out the build differently and
#    compile part of it a second time.
#
# PostgreSQL comes from TESSERA_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
# If it is not reachable this fails at once, saying how to start it; it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

url="${TESSERA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! python3 - "$url" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
try:
    socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=5).close()
except OSError as e:
    print(f"PostgreSQL is not reachable at {u.hostname}:{u.port or 5432}: {e}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "The tests need PostgreSQL. Start the local server with:" >&2
  echo "    pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
  echo "or point TESSERA_TEST_POSTGRES_URL at another server (the role must create schemas)." >&2
  exit 1
fi

# A test file that starts a test server outside the binaries step 2 runs would silently be
# tested on SQLite only.
stray="$(grep -rl 'spawn_app' crates/*/tests examples/*/tests \
  | grep -v -e '^crates/tessera-server/tests/flows/' -e '^examples/sensitive-api/tests/' || true)"
if [ -n "$stray" ]; then
  echo "These tests start test servers but are not in the PostgreSQL pass of scripts/test.sh:" >&2
  echo "$stray" >&2
  echo "Make them modules of crates/tessera-server/tests/flows, or add their binary below." >&2
  exit 1
fi

echo "== every test (flow tests on SQLite; store contract on SQLite and PostgreSQL)"
cargo test --workspace "$@"

echo "== the tests that start test servers again, every test server on PostgreSQL"
# The same cargo command with --no-run builds nothing more and names the executables.
artifacts="$(mktemp)"
trap 'rm -f "$artifacts"' EXIT
cargo test --workspace "$@" --no-run --message-format=json-render-diagnostics >"$artifacts"
TESSERA_TEST_STORE=postgres python3 - "$artifacts" <<'PY'
import json, os, subprocess, sys

# (package, target kind, target name) of every test binary whose tests start test servers.
WANTED = [
    ("tessera-server", "test", "flows"),
    ("sensitive-api", "test", "sensitive_api"),
    ("tessera-testkit", "lib", "tessera_testkit"),
]


def package_name(package_id, manifest_path):
    """The package's name from cargo's package id, old (`name 0.1.0 (path+file://...)`) or new
    (`path+file:///.../dir#0.1.0`, or `...#name@0.1.0` when the directory is named otherwise)."""
    if " " in package_id:
        return package_id.split(" ")[0]
    fragment = package_id.rpartition("#")[2]
    if "@" in fragment:
        return fragment.partition("@")[0]
    return os.path.basename(os.path.dirname(manifest_path))


found = {}
with open(sys.argv[1]) as lines:
    for line in lines:
        msg = json.loads(line)
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        target = msg["target"]
        key = (package_name(msg["package_id"], msg["manifest_path"]), target["kind"][0], target["name"])
        found[key] = (msg["executable"], os.path.dirname(msg["manifest_path"]))
missing = [w for w in WANTED if w not in found]
if missing:
    sys.exit(f"scripts/test.sh: no test binary was built for {missing}")
for wanted in WANTED:
    executable, package_dir = found[wanted]
    print(f"     Running {wanted[0]} {wanted[1]} {wanted[2]} ({executable})", flush=True)
    # As cargo runs test binaries: from the package's directory, with CARGO_MANIFEST_DIR set.
    env = dict(os.environ, CARGO_MANIFEST_DIR=package_dir)
    if subprocess.run([executable], cwd=package_dir, env=env).returncode != 0:
        sys.exit(f"scripts/test.sh: {wanted[0]} {wanted[2]} failed with every test server on PostgreSQL")
PY

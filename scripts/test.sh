#!/usr/bin/env bash
# Every test, on both store backends: the README's test command.
#
#   bash scripts/test.sh [extra cargo test flags, e.g. --locked]
#
# 1. `cargo test --workspace`: unit tests, the store contract suite on SQLite files and on
#    PostgreSQL (a fresh schema per test), and the flow tests on SQLite.
# 2. The whole suite again with `TESSERA_TEST_STORE=postgres`: every test server (the flow
#    tests of tessera-server and the sensitive-api example) gets a fresh
#    PostgreSQL schema instead of a SQLite file. (The rest runs again too: selecting only
#    the flow crates would resolve features differently and rebuild dependencies.)
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

echo "== every test (flow tests on SQLite; store contract on SQLite and PostgreSQL)"
cargo test --workspace "$@"

echo "== the flow tests again, every test server on PostgreSQL"
TESSERA_TEST_STORE=postgres cargo test --workspace "$@"

#!/usr/bin/env bash
# Runs the commands of docs/deployment.md as written, on this machine, and checks that they do
# what the guide says. The `sh` and `toml` blocks are read from the guide itself, so a change
# there that breaks them fails here.
#
# The only changes made to the guide's text, because one test machine is not a data centre:
#   db.internal       -> 127.0.0.1          (the database host)
#   /etc/tessera      -> a scratch directory (the KEK file and the configuration)
#   /var/lib/tessera  -> a scratch directory (the data directory)
#   10.0.0.11:8080    -> 127.0.0.1:<a free port>, one per node
# The guide's role and databases (`tessera`, `tessera_restored`) are created on the local
# PostgreSQL (as `postgres`, over its socket) and dropped at the end. The script refuses to run
# if they exist and were not made by an earlier run of it (it marks them with a comment).
#
#   bash scripts/deployment-guide.sh        TESSERA names the binary (default: the debug build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tessera="${TESSERA:-$root/target/debug/tessera}"
[ -x "$tessera" ] || { echo "no tessera binary at $tessera (cargo build first)" >&2; exit 1; }
guide="$root/docs/deployment.md"
work="$(mktemp -d)"
mkdir -p "$work/bin" "$work/etc" "$work/var" "$work/logs"
ln -s "$tessera" "$work/bin/tessera"
export PATH="$work/bin:$PATH"
marker="made by tessera scripts/deployment-guide.sh"

psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql -U postgres -X -q -v ON_ERROR_STOP=1 -tA "$@"; }

drop_everything() {
  for db in tessera tessera_restored; do
    psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  done
  psql_admin -c "DROP ROLE IF EXISTS tessera" >/dev/null
}

cleanup() {
  # The nodes were started by the guide's own command lines, which name this run's config.
  pkill -f -- "--config $work/etc/tessera.toml" 2>/dev/null || true
  wait 2>/dev/null || true
  drop_everything || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- refuse to touch what is not ours, clear what an interrupted run left
for db in tessera tessera_restored; do
  note="$(psql_admin -c "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$db'")"
  if [ -n "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ] && [ "$note" != "$marker" ]; then
    echo "database $db exists and was not made by this script; not touching it" >&2
    trap - EXIT; rm -rf "$work"; exit 1
  fi
done
if [ -n "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'tessera'")" ] &&
   [ "$(psql_admin -c "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = 'tessera'")" != "$marker" ]; then
  echo "role tessera exists and was not made by this script; not touching it" >&2
  trap - EXIT; rm -rf "$work"; exit 1
fi
drop_everything

# --- the guide's blocks, in order
python3 - "$guide" "$work/blocks" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"^ *```(sh|toml)\n(.*?)^ *```", text, flags=re.S | re.M)
os.makedirs(sys.argv[2])
for i, (kind, body) in enumerate(blocks):
    lines = body.splitlines()
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    with open(os.path.join(sys.argv[2], f"{i}.{kind}"), "w") as f:
        f.write("\n".join(l[indent:] for l in lines) + "\n")
PY
block() { # block N [port]: the guide's block N with this machine's substitutions
  sed -e "s#db\.internal#127.0.0.1#g" \
      -e "s#/etc/tessera#$work/etc#g" \
      -e "s#/var/lib/tessera#$work/var#g" \
      -e "s#10\.0\.0\.11:8080#127.0.0.1:${2:-0}#g" \
      "$(ls "$work"/blocks/"$1".* )"
}
expect_block() { # expect_block N KIND TEXT: the guide's block N is what this script expects
  file="$work/blocks/$1.$2"
  [ -f "$file" ] && grep -qF -- "$3" "$file" || {
    echo "docs/deployment.md changed: block $1 ($2) should contain: $3" >&2; exit 1; }
}
expect_block 0 sh 'CREATE DATABASE tessera OWNER tessera'
expect_block 1 sh 'openssl rand -base64 32 > key-encryption-key'
expect_block 2 toml 'key_encryption_key_file'
expect_block 3 sh 'tessera --config /etc/tessera/tessera.toml serve'
expect_block 4 toml 'trusted_proxies'
expect_block 5 sh 'tessera keys rotate'
expect_block 6 sh 'pg_dump'
expect_block 7 sh 'pg_restore'
[ "$(ls "$work/blocks" | wc -l)" -eq 8 ] || { echo "docs/deployment.md has a block this script does not run" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # wait_ready PORT LOG
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "node on port $1 did not become ready:" >&2; cat "$2" >&2; exit 1
}
# start_node PORT NAME COMMAND: runs the guide's start COMMAND for a node listening on PORT, with
# the guide's configuration file and the proxy settings of section 3 (a node refuses to start
# on a setting it cannot parse). Each node reads the file when it starts, so the next node can
# get its own listen address once this one is ready.
start_node() {
  { block 2 "$1"; block 4; } > "$work/etc/tessera.toml"
  (cd "$work" && bash -c "$3" > "$work/logs/$2.log" 2>&1) &
  wait_ready "$1" "$work/logs/$2.log"
}
jwks_kids() { curl -sf "http://127.0.0.1:$1/.well-known/jwks.json" | python3 -c 'import json,sys; print(" ".join(sorted(k["kid"] for k in json.load(sys.stdin)["keys"])))'; }

echo "== 1. the database"
(cd "$work" && bash -e -c "$(block 0)")
psql_admin -c "COMMENT ON DATABASE tessera IS '$marker'" -c "COMMENT ON ROLE tessera IS '$marker'"

echo "== 2. the shared settings: the KEK, then three nodes"
(cd "$work/etc" && bash -e -c "$(block 1)")
[ "$(stat -c %a "$work/etc/key-encryption-key")" = 600 ] || { echo "the KEK file is not mode 600" >&2; exit 1; }
ports=()
for node in a b c; do
  port="$(free_port)"
  start_node "$port" "node-$node" "$(block 3)"
  ports+=("$port")
done
for port in "${ports[@]}"; do
  issuer="$(curl -sf "http://127.0.0.1:$port/.well-known/openid-configuration" | python3 -c 'import json,sys; print(json.load(sys.stdin)["issuer"])')"
  [ "$issuer" = "https://id.example.com" ] || { echo "node on $port has issuer $issuer" >&2; exit 1; }
done
before="$(jwks_kids "${ports[0]}")"
for port in "${ports[@]}"; do
  [ "$(jwks_kids "$port")" = "$before" ] || { echo "nodes publish different keys" >&2; exit 1; }
done
grep -q "generated a signing key" "$work/logs/node-a.log" || { echo "node a did not create the keys" >&2; exit 1; }
! grep -q "generated a signing key" "$work/logs/node-b.log" || { echo "node b created keys of its own" >&2; exit 1; }
! grep -q "change-me" "$work"/logs/*.log || { echo "a node logged the database password" >&2; exit 1; }
echo "three nodes ready, one issuer, one key set: $before"

echo "== 5. operating it: the CLI against the shared database"
(cd "$work" && bash -e -c "$(block 5)") > "$work/logs/cli.log"
grep -q "^client_secret: " "$work/logs/cli.log" || { echo "client add printed no secret" >&2; cat "$work/logs/cli.log" >&2; exit 1; }
for port in "${ports[@]}"; do
  for _ in $(seq 1 50); do
    [ "$(jwks_kids "$port")" != "$before" ] && break
    sleep 0.1
  done
  after="$(jwks_kids "$port")"
  [ "$after" != "$before" ] || { echo "node on $port did not publish the rotated key" >&2; exit 1; }
done
echo "every node publishes the rotated key: $after"

echo "== backup and restore"
(cd "$work" && bash -e -c "$(block 6)")
[ -s "$work/tessera.dump" ] || { echo "no dump written" >&2; exit 1; }
restore="$(block 7)"
# The restore block ends by starting a node on the restored copy: run its first lines, then
# start that node like the others.
(cd "$work" && bash -e -c "$(printf '%s\n' "$restore" | sed '/^TESSERA_DATABASE_URL/,$d')")
psql_admin -c "COMMENT ON DATABASE tessera_restored IS '$marker'"
restored_port="$(free_port)"
start_node "$restored_port" node-restored "$(printf '%s\n' "$restore" | sed -n '/^TESSERA_DATABASE_URL/,$p')"
[ "$(jwks_kids "$restored_port")" = "$after" ] || { echo "the restored node publishes other keys" >&2; exit 1; }
echo "the restored copy serves the same keys"
echo "deployment guide: ok"

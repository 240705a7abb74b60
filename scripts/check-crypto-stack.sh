#!/usr/bin/env bash
# The project has one crypto stack, aws-lc-rs: no crate may pull ring or OpenSSL. Fails, naming
# the path, if any of them is in the workspace's dependency graph (normal, build and dev
# dependencies, for every target platform).
#
#   bash scripts/check-crypto-stack.sh [extra cargo tree flags, e.g. --locked]
#
# The usual way in is a TLS feature: reqwest's `rustls-tls`, lettre's `rustls-tls`, rcgen's
# defaults and hyper-rustls' `ring` all choose ring; `native-tls` and most crates' defaults
# choose OpenSSL. Pick the aws-lc-rs (or "no provider") feature instead; reqwest's clients get
# their rustls configuration from tessera-server's http_client.rs or tessera-verify's http.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

banned=(ring openssl-sys openssl)
err="$(mktemp)"
trap 'rm -f "$err"' EXIT
found=0
for crate in "${banned[@]}"; do
  # Exit 0 with nothing on stdout: in Cargo.lock, but no feature selects it. An error naming
  # no match: not even in Cargo.lock. Any other error fails the check.
  if tree="$(cargo tree --workspace --target all -e normal,build,dev "$@" -i "$crate" 2>"$err")"; then
    if [ -n "$tree" ]; then
      echo "$crate is in the dependency graph (the project's one crypto stack is aws-lc-rs):" >&2
      echo "$tree" >&2
      found=1
    fi
  elif ! grep -q "did not match any packages" "$err"; then
    cat "$err" >&2
    exit 1
  fi
done
[ "$found" = 0 ] || exit 1
echo "no ${banned[*]} in the dependency graph"

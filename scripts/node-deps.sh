#!/usr/bin/env bash
# Installs the npm packages of the end-to-end Node clients (e2e/node: graphql-ws,
# ws, graphql) from the committed package-lock.json.
#
# Idempotent: `npm ci` runs only when e2e/node/node_modules is missing or older
# than package-lock.json (npm ci writes node_modules/.package-lock.json last, so
# that file is the stamp). e2e/clients calls this once per test process.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
DIR="$ROOT/e2e/node"

say() { printf '[node-deps] %s\n' "$*"; }
die() { printf '[node-deps] ERROR: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (Node.js 20+ is needed for e2e/node)"
command -v npm >/dev/null || die "npm is not installed"

stamp="$DIR/node_modules/.package-lock.json"
if [[ -f "$stamp" && ! "$DIR/package-lock.json" -nt "$stamp" && ! "$DIR/package.json" -nt "$stamp" ]]; then
  say "e2e/node dependencies are up to date"
  exit 0
fi
say "installing e2e/node dependencies (npm ci: $(cd "$DIR" && node -p 'Object.entries(require("./package.json").dependencies).map(([n, v]) => n + "@" + v).join(", ")'))"
(cd "$DIR" && npm ci --no-audit --no-fund)
say "installed into e2e/node/node_modules"

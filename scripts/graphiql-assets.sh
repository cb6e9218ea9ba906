#!/usr/bin/env bash
# Builds the GraphiQL assets that the gateway binary embeds:
#   gateway/graphiql/web/  (package.json, package-lock.json, src/main.jsx)
#     -> gateway/graphiql/dist/graphiql.js + graphiql.css  (git-ignored)
#
# Idempotent:
#   - dist/graphiql.js newer than package.json, package-lock.json, src/ and this
#     script: nothing to do;
#   - node_modules missing or older than package-lock.json: `npm ci` (npm registry
#     only, versions pinned by the committed lock file);
#   - then one esbuild run (minified, NODE_ENV=production) into a temporary
#     folder that replaces dist/ only when the bundle passed the offline check.
#
# Offline check: the page must fetch nothing from outside the gateway. The CSS
# may reference no http(s) url() and no @import (GraphiQL 4 inlines its fonts as
# data: URLs; any font or image esbuild meets is inlined too). The JS is listed
# for the hosts it mentions (documentation links, React error pages) for a person
# to read; the browser check in e2e/clients proves at run time that every
# request goes to the gateway.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
PKG="$ROOT/gateway/graphiql"
WEB="$PKG/web"
DIST="$PKG/dist"

say() { printf '[graphiql] %s\n' "$*"; }
die() { printf '[graphiql] ERROR: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (Node.js 20+ with npm is needed to build GraphiQL)"
command -v npm >/dev/null || die "npm is not installed"

# ------------------------------------------------------------ up to date? --
inputs=("$WEB/package.json" "$WEB/package-lock.json" "$WEB/src" "${BASH_SOURCE[0]}")
if [[ -f "$DIST/graphiql.js" && -f "$DIST/graphiql.css" ]] &&
  [[ -z "$(find "${inputs[@]}" -newer "$DIST/graphiql.js" -print -quit)" ]]; then
  say "assets are up to date: gateway/graphiql/dist/graphiql.{js,css} (nothing to do)"
  exit 0
fi

# ----------------------------------------------------------- dependencies --
# npm ci writes node_modules/.package-lock.json last; it is the stamp.
stamp="$WEB/node_modules/.package-lock.json"
if [[ ! -f "$stamp" || "$WEB/package-lock.json" -nt "$stamp" || ! -x "$WEB/node_modules/.bin/esbuild" ]]; then
  say "installing npm dependencies (npm ci in gateway/graphiql/web)"
  (cd "$WEB" && npm ci --no-audit --no-fund)
else
  say "npm dependencies are up to date (gateway/graphiql/web/node_modules)"
fi

# ----------------------------------------------------------------- bundle --
tmp="$(mktemp -d "$PKG/.dist.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

say "bundling src/main.jsx with esbuild $("$WEB/node_modules/.bin/esbuild" --version)"
(cd "$WEB" && ./node_modules/.bin/esbuild src/main.jsx \
  --bundle \
  --minify \
  --format=iife \
  --target=es2020 \
  --jsx=automatic \
  --legal-comments=none \
  --log-level=warning \
  --define:process.env.NODE_ENV='"production"' \
  --loader:.woff=dataurl --loader:.woff2=dataurl --loader:.ttf=dataurl \
  --loader:.eot=dataurl --loader:.svg=dataurl --loader:.png=dataurl \
  --loader:.gif=dataurl --loader:.jpg=dataurl \
  --outfile="$tmp/graphiql.js")

[[ -s "$tmp/graphiql.js" && -s "$tmp/graphiql.css" ]] ||
  die "esbuild did not produce graphiql.js and graphiql.css"

# ---------------------------------------------------------- offline check --
external="$(grep -oE "url\\(['\"]?(https?:)?//[^)]*\\)|@import[^;]*;" "$tmp/graphiql.css" || true)"
if [[ -n "$external" ]]; then
  printf '%s\n' "$external" | head -n 20 >&2
  die "graphiql.css would load the above from outside the gateway"
fi
# fetch("http…") / importScripts / <link href="http…"> with a literal address
loads="$(grep -oE "(fetch|importScripts|import)\\(['\"]https?://[^'\"]*|(href|src)=['\"]https?://[^'\"]*" "$tmp/graphiql.js" || true)"
if [[ -n "$loads" ]]; then
  printf '%s\n' "$loads" | head -n 20 >&2
  die "graphiql.js would load the above from outside the gateway"
fi
hosts="$(grep -oE 'https?://[a-zA-Z0-9.-]+' "$tmp/graphiql.js" | sort -u | tr '\n' ' ')"
say "offline check passed: no external url() or @import in the CSS, no literal remote load in the JS"
say "hosts merely mentioned in graphiql.js (links and messages, not fetched): ${hosts:-none}"

rm -rf "$DIST/graphiql.js" "$DIST/graphiql.css"
mkdir -p "$DIST"
mv "$tmp/graphiql.js" "$tmp/graphiql.css" "$DIST/"
say "built gateway/graphiql/dist: graphiql.js $(wc -c <"$DIST/graphiql.js") bytes, graphiql.css $(wc -c <"$DIST/graphiql.css") bytes"

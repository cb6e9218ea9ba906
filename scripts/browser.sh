#!/usr/bin/env bash
# Installs Debian's Chromium (package `chromium`, /usr/bin/chromium) for the
# headless browser checks in e2e/clients. Browsers downloaded by test tools
# (puppeteer, `playwright install`) cannot be fetched here; Debian's can.
#
# Idempotent: does nothing when /usr/bin/chromium exists. Runs apt-get as root,
# or through sudo when that is available.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

say() { printf '[browser] %s\n' "$*"; }
die() { printf '[browser] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -x "$CHROMIUM" ]]; then
  say "chromium is installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  die "$CHROMIUM is missing and this user cannot run apt-get: install the Debian package chromium"
fi
command -v apt-get >/dev/null || die "$CHROMIUM is missing and apt-get is not available: install Chromium"

export DEBIAN_FRONTEND=noninteractive
say "installing Debian's chromium (apt-get install -y chromium)"
# A fresh machine may have no package lists yet; an install that fails for
# want of them is retried once after an update.
if ! "${as_root[@]}" apt-get install -y --no-install-recommends chromium; then
  say "apt-get install failed; updating the package lists and retrying"
  "${as_root[@]}" apt-get update
  "${as_root[@]}" apt-get install -y --no-install-recommends chromium
fi
[[ -x "$CHROMIUM" ]] || die "apt-get finished but $CHROMIUM is still missing"
say "installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

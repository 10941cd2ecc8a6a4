#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through playwright-core (no downloaded browser).
# Installs it when missing: as root with apt-get, else says what to run.
set -euo pipefail
CHROMIUM="${DPL_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium for the browser tests (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
    { apt-get update -qq && apt-get install -y --no-install-recommends chromium >/dev/null; }
  exit 0
fi
if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get install -y --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "The browser tests need Chromium at $CHROMIUM: run 'sudo apt-get install -y chromium'" \
     "(or set DPL_CHROMIUM to a Chromium binary)." >&2
exit 1

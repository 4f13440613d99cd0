#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it; no browser is ever
# downloaded by a test tool). Installs the package only when it is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq chromium >/dev/null || {
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq chromium >/dev/null
}
/usr/bin/chromium --version

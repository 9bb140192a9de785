#!/usr/bin/env bash
# Installs the browser the browser tests drive (tests/browser/): Debian's chromium and
# chromium-driver, when /usr/bin/chromium is missing. Playwright launches it by path
# (executable_path); nothing downloads a browser of its own. Idempotent: with chromium in
# place it only checks that it starts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

browser=/usr/bin/chromium
if [ ! -x "$browser" ]; then
  apt_install chromium chromium-driver
  [ -x "$browser" ] || die "apt-get installed chromium but $browser is missing; the browser tests need it there"
fi
version=$("$browser" --headless --no-sandbox --disable-gpu --version 2>/dev/null) \
  || die "$browser is installed but does not start (try: $browser --headless --no-sandbox --version)"
say "browser: $version"

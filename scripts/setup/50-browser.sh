#!/usr/bin/env bash
# Browser end-to-end tests (crates/idkiosk/tests/e2e, docs/testing.md): Debian's Chromium and its
# ChromeDriver drive the kiosk touchscreen over WebDriver, headless. The CJK fonts make the
# Chinese prompts render in the screenshots (docs/img/kiosk-*.png); pdftotext reads the printed
# documents back. axe-core (npm, pinned) is the accessibility gate the browser tests inject into
# every page they check. Idempotent: does nothing when the packages are installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ensure_packages chromium chromium-driver fonts-noto-cjk poppler-utils

# The two must come from the same Chromium build, or sessions fail at start with a version error.
chromium_version=$(chromium --version 2>/dev/null | awk '{print $2}')
driver_version=$(chromedriver --version 2>/dev/null | awk '{print $2}')
if [ "$chromium_version" != "$driver_version" ]; then
    log "chromium $chromium_version and chromedriver $driver_version differ; upgrading both"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends \
        --only-upgrade chromium chromium-driver >/dev/null
fi

# axe-core for the accessibility gate (docs/testing.md): the version is pinned here and in
# crates/idkiosk/tests/e2e/harness.rs (AXE_VERSION), installed under the checkout's .idkiosk/npm
# (ignored by git). A re-run with the right version installed touches neither npm nor the network.
axe_version=4.10.3
axe_prefix="$IDKIOSK_ROOT/.idkiosk/npm"
axe_installed=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' \
    "$axe_prefix/node_modules/axe-core/package.json" 2>/dev/null | head -n 1 || true)
if [ "$axe_installed" != "$axe_version" ]; then
    command -v npm >/dev/null || ensure_packages nodejs npm
    log "installing axe-core $axe_version (npm) in $axe_prefix"
    mkdir -p "$axe_prefix"
    npm install --prefix "$axe_prefix" --no-audit --no-fund --no-save --save-exact \
        --loglevel=error "axe-core@$axe_version" >/dev/null
fi

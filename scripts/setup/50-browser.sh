#!/usr/bin/env bash
# Browser end-to-end tests (crates/idkiosk/tests/e2e, docs/testing.md): Debian's Chromium and its
# ChromeDriver drive the kiosk touchscreen over WebDriver, headless. The CJK fonts make the
# Chinese prompts render in the screenshots (docs/img/kiosk-*.png); pdftotext reads the printed
# documents back. Idempotent: does nothing when the packages are installed.
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

#!/usr/bin/env bash
# The kiosk session (packaging/systemd/idkiosk-session.service, docs/packaging.md): Debian's cage
# (the Wayland compositor showing Chromium alone), Xwayland (which Debian's cage 0.1.4 will not
# start without, though it does not depend on it) and grim, which takes the screenshot of the
# compositor in crates/idkiosk/tests/cli/session.rs. Chromium comes from 50-browser.sh, CUPS
# (the agent's printer in that test) from 40-cups.sh.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

ensure_packages cage xwayland grim

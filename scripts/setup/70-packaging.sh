#!/usr/bin/env bash
# Packaging: systemd's systemd-analyze, which crates/idkiosk/tests/cli/units.rs runs on the units
# of packaging/systemd (`verify`). Debian's systemd package; installing it in a container starts
# nothing. scripts/package-deb.sh installs its own needs (cargo-deb, dpkg-dev).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

ensure_packages systemd

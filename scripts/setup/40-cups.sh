#!/usr/bin/env bash
# Printing tests (crates/devices, tests/devices/printer.rs) run a private CUPS server with the
# cups-pdf queue and read the printed PDF back with pdftotext; the video recorder uses ffmpeg.
# Idempotent: does nothing when the packages are installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ensure_packages cups printer-driver-cups-pdf poppler-utils ffmpeg
# The package's own start is blocked in a container and tests start their own cupsd; a system
# cupsd started by the package (where it could start) does not interfere: ours listen elsewhere.

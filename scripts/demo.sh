#!/usr/bin/env bash
# The README's demo command: installs what the demo needs, builds idkiosk, starts a private CUPS
# server with a cups-pdf queue (the kiosk's printer; PDFs land in its out/ folder), then runs
# `idkiosk demo` (popsys, center, paysim, device simulators, the kiosk agent and the simulator
# control panel) on embedded SQLite with demo data seeded on first start. It prints the kiosk
# screen's and the control panel's URLs. Ctrl-C stops everything. Arguments go to `idkiosk demo`
# (e.g. --kiosk to open the kiosk screen in Chromium's kiosk mode). See docs/demo.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IDKIOSK_ROOT"
ensure_packages pkg-config
for setup in scripts/setup/*.sh; do
    [ -e "$setup" ] || continue
    bash "$setup"
done
cargo build --quiet -p idkiosk

printer_args=()
cups_dir=""
cleanup() {
    if [ -n "$cups_dir" ]; then
        stop_private_cups
    fi
}
trap cleanup EXIT
if [ -n "${IDKIOSK_PRINTER:-}" ]; then
    log "printing to IDKIOSK_PRINTER=$IDKIOSK_PRINTER"
elif [ "$(id -u)" -eq 0 ] && command -v cupsd >/dev/null; then
    # start_private_cups writes the cups-pdf backend's config into /etc/cups: root only.
    cups_dir=$(mktemp -d /tmp/idkiosk-demo-cups.XXXXXX)
    if start_private_cups "$cups_dir"; then
        printer_args=(--printer "$IDKIOSK_TEST_PRINTER")
        log "printed PDFs land in $cups_dir/out"
    else
        log "no private CUPS (see above): the demo runs without a printer"
        cups_dir=""
    fi
else
    log "not root: no private CUPS; the demo runs without a printer (set IDKIOSK_PRINTER=ipp://… to use a queue)"
fi

# In the background so that Ctrl-C and SIGTERM reach the trap, which stops the demo (and with it
# the kiosk agent) before CUPS goes.
target/debug/idkiosk demo "${printer_args[@]}" "$@" &
demo_pid=$!
trap 'kill -TERM "$demo_pid" 2>/dev/null || true' INT TERM
status=0
while kill -0 "$demo_pid" 2>/dev/null; do
    wait "$demo_pid" || status=$?
done
exit "$status"

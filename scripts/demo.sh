#!/usr/bin/env bash
# The README's demo command: builds idkiosk and starts the demo on an embedded SQLite database with
# demo data (seeded on first start), printing the URLs. Ctrl-C stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IDKIOSK_ROOT"
ensure_packages pkg-config
for setup in scripts/setup/*.sh; do
    [ -e "$setup" ] || continue
    bash "$setup"
done
cargo build --quiet -p idkiosk
exec target/debug/idkiosk demo "$@"

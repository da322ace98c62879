#!/usr/bin/env bash
# Starts a private PostgreSQL for development and prints the export line for IDKIOSK_TEST_PG_URL.
# Usage: eval "$(scripts/dev-pg.sh)"   (stop: scripts/dev-pg.sh stop)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir=/tmp/idkiosk-dev-pg
if [ "${1:-}" = stop ]; then PG_PRIVATE_DIR=$dir stop_private_pg; exit 0; fi
ensure_packages postgresql
if [ -f "$dir/port" ] && pg_isready -h 127.0.0.1 -p "$(cat "$dir/port")" >/dev/null 2>&1; then
    echo "export IDKIOSK_TEST_PG_URL=postgres://idkiosk@127.0.0.1:$(cat "$dir/port")/idkiosk"; exit 0
fi
rm -rf "$dir"
start_private_pg "$dir" >&2
echo "$PG_PRIVATE_PORT" > "$dir/port"
echo "export IDKIOSK_TEST_PG_URL=$IDKIOSK_TEST_PG_URL"

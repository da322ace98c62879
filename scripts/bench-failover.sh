#!/usr/bin/env bash
# The failover benchmark (issue 18 item 3): starts the PostgreSQL HA rig of scripts/pg-ha.sh
# (etcd, two Patroni nodes with a synchronous replica, HAProxy on Patroni's /primary), runs the
# center under kiosk load against HAProxy's port and kills the primary during the run
# (crates/center/benches/failover.rs says what it drives and counts), then prints the failover
# seconds and the lost and duplicated applications, payments and completions.
#
# Usage: scripts/bench-failover.sh [--keep]   (--keep leaves the cluster running afterwards)
# Settings (environment): IDKIOSK_FAILOVER_KIOSKS (20), IDKIOSK_FAILOVER_RATE sessions/s (10),
# IDKIOSK_FAILOVER_SECONDS (60), IDKIOSK_FAILOVER_KILL_AT seconds into the run (20).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IDKIOSK_ROOT"

keep=false
[ "${1:-}" = --keep ] && keep=true

ha_dir=${IDKIOSK_PG_HA_DIR:-/tmp/idkiosk-pg-ha}
# On failure the nodes' logs are kept in $ha_dir-logs before the cluster goes.
finish() {
    local rc=$?
    if [ $rc -ne 0 ] && [ -d "$ha_dir" ]; then
        mkdir -p "$ha_dir-logs"
        for f in "$ha_dir"/pg*/patroni.log "$ha_dir"/haproxy.log "$ha_dir"/etcd/etcd.log; do
            [ -f "$f" ] && cp "$f" "$ha_dir-logs/$(basename "$(dirname "$f")")-$(basename "$f")"
        done
        log "failed ($rc): logs kept in $ha_dir-logs"
    fi
    $keep || scripts/pg-ha.sh down
}
trap finish EXIT

# A fresh cluster, so the run starts with both nodes up and a synchronous replica.
scripts/pg-ha.sh down
export_line=$(scripts/pg-ha.sh up)
eval "$export_line"
log "cluster before the run:"
scripts/pg-ha.sh status >&2

log "building the benchmark (release)"
cargo bench -p center --bench failover --no-run >&2
IDKIOSK_PG_HA_URL=$IDKIOSK_PG_HA_URL cargo bench -p center --bench failover

log "cluster after the run:"
scripts/pg-ha.sh status >&2

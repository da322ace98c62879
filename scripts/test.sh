#!/usr/bin/env bash
# The README's test command: installs what the tests need, starts a private PostgreSQL so the store
# runs its contract suite on both backends and a private S3 server (SeaweedFS) for the blob store,
# then checks formatting and lints and runs every test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IDKIOSK_ROOT"

ensure_packages postgresql pkg-config python3

# Each part of the system that needs more (model weights, CUPS, fonts, Chromium) has its own setup
# script here; each installs by package name and is safe to run again.
for setup in scripts/setup/*.sh; do
    [ -e "$setup" ] || continue
    log "setup: $setup"
    bash "$setup"
done

pg_dir=$(mktemp -d /tmp/idkiosk-test-pg.XXXXXX)
trap 'stop_private_pg; stop_private_s3' EXIT
start_private_pg "$pg_dir"
# The S3 blob tests (crates/center/tests/s3_blobs.rs, and `idkiosk center blobs migrate` in
# crates/idkiosk/tests/cli/center_blobs_cli.rs) run against SeaweedFS, installed from PyPI
# by scripts/setup/60-s3.sh; it exports IDKIOSK_TEST_S3_*.
s3_dir=$(mktemp -d /tmp/idkiosk-test-s3.XXXXXX)
start_private_s3 "$s3_dir"

# A fresh CI clone builds everything once: incremental caches would only cost time to write.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The binary a kiosk or center deploys: no simulator and no demo (devices without `sim`).
log "cargo clippy -p idkiosk --no-default-features --bins -- -D warnings"
cargo clippy -p idkiosk --no-default-features --bins --quiet -- -D warnings
log "cargo test (SQLite and PostgreSQL at $IDKIOSK_TEST_PG_URL)"
cargo test --workspace --no-fail-fast "$@"
log "package: build the .deb, install it, run it, remove and purge it (scripts/package-deb.sh --test)"
if [ "$(id -u)" = 0 ]; then
    bash scripts/package-deb.sh --test
elif [ "${CI:-}" = true ]; then
    echo "the package test installs a .deb: CI must run as root" >&2
    exit 1
else
    echo "SKIPPED: the package test (not root; run scripts/package-deb.sh --test as root)"
fi
log "fuzz: every target of fuzz/ for ${IDKIOSK_FUZZ_SECONDS:-5} s (scripts/fuzz.sh; longer: scripts/fuzz.sh 600)"
bash scripts/fuzz.sh "${IDKIOSK_FUZZ_SECONDS:-5}"
log "all passed"

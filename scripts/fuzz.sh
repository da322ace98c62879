#!/usr/bin/env bash
# Fuzzes the four device protocols and the session JSON (fuzz/, docs/testing.md): builds every
# target of fuzz/ with cargo-fuzz, then runs each for SECONDS (default 5, what scripts/test.sh
# runs in CI). Fails on the first target that crashes, panics or hangs, leaving the input in
# fuzz/artifacts/TARGET/; reproduce with the command it prints, then make it a regression test.
#
#   scripts/fuzz.sh            # a few seconds per target
#   scripts/fuzz.sh 600        # ten minutes per target
#   FUZZ_TARGETS="pos barcode" scripts/fuzz.sh 60
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IDKIOSK_ROOT/fuzz"

seconds="${1:-5}"
cargo_fuzz_version=0.13.2

if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

# cargo-fuzz passes -Z flags to rustc; there is only a stable toolchain here.
export RUSTC_BOOTSTRAP=1
# The fuzz crate is a workspace of its own; its instrumented builds never touch ../target.
export CARGO_TARGET_DIR="$PWD/target"
# No AddressSanitizer (the decoders are safe Rust; a panic is the bug we look for), with debug
# assertions and overflow checks on.
flags=(--sanitizer none --debug-assertions)

log "cargo fuzz build"
cargo fuzz build "${flags[@]}"

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
mkdir -p target/fuzz-logs
for target in $targets; do
    log "fuzz $target for ${seconds} s"
    log_file="target/fuzz-logs/$target.log"
    if ! cargo fuzz run "${flags[@]}" "$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log_file" 2>&1; then
        tail -n 60 "$log_file" >&2
        log "fuzz target $target FAILED; input saved under fuzz/artifacts/$target/"
        log "reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${flags[*]} $target artifacts/$target/<file>)"
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log_file")
    corpus=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).* corp: \([0-9]*\).*/coverage \1 edges, corpus \2 inputs/p' "$log_file")
    log "fuzz $target: ${runs:-?} runs, no crash (${corpus:-?})"
done

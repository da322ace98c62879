#!/usr/bin/env bash
# Face engine benchmark: step 7 per session (live and certified photos against the historical one,
# its embedding kept, fast detection; issue 18) as ratios against Python's face_recognition on the
# same photos and against the engine's path before issue 18 (full frame, historical photo described
# every time), all in one run; then per-pair verification latency and throughput, crop time per frame,
# for the Rust engine and Python's face_recognition on the same pairs in the same run
# (crates/face/benches/verify.rs); and the liveness check (MiniFASNet) per live photo on one core,
# as a ratio to the comparison in the same run. Not part of scripts/test.sh: it installs the baselines.
#
# Baselines, each in its own virtualenv under .idkiosk/ (kept between runs):
#   dlib-bin   the unofficial dlib wheel (installs in seconds; built without BLAS, so its
#              embedding step is ~10x slower than with OpenBLAS: a ratio against it mostly
#              measures BLAS, not the language)
#   openblas   dlib built from source by pip against Debian's OpenBLAS, like the Rust engine
#              (~7 minutes once on 2 cores); the like-for-like comparison. Skip with --quick.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IDKIOSK_ROOT"

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
    esac
done

bash scripts/setup/20-face.sh
ensure_packages python3-venv cmake build-essential

venv() { # venv DIR DLIB_PACKAGE...
    local dir="$1"; shift
    if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c 'import face_recognition' 2>/dev/null; then
        log "bench: installing the Python baseline into $dir ($*)"
        python3 -m venv "$dir"
        "$dir/bin/pip" install -q --disable-pip-version-check "setuptools<81" numpy pillow click "$@"
        "$dir/bin/pip" install -q --disable-pip-version-check --no-deps face_recognition face_recognition_models
    fi
}

pythons="dlib-bin=$IDKIOSK_ROOT/.idkiosk/venv-face-bench/bin/python"
venv .idkiosk/venv-face-bench dlib-bin
if [ "$quick" -eq 0 ]; then
    venv .idkiosk/venv-face-bench-openblas dlib
    pythons="openblas=$IDKIOSK_ROOT/.idkiosk/venv-face-bench-openblas/bin/python,$pythons"
fi

# One OpenBLAS thread, for the Rust engine and the Python built against OpenBLAS alike: each
# figure is then one thread's work (latency = CPU time), and the throughput runs (one worker per
# core) do not start a second BLAS thread per worker on a 2-core machine. OpenBLAS reads it when
# the library loads, so it is set here, not in the benchmark.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

log "bench: cargo bench -p face --bench verify (OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS)"
FACE_BENCH_PYTHONS="$pythons" cargo bench -p face --bench verify

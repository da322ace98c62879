#!/usr/bin/env bash
# Face engine: Debian's dlib (with OpenBLAS, which makes embeddings ~15x faster than the reference
# BLAS), the dlib model weights from the PyPI sdist `face_recognition_models` 0.3.0, and the real
# test faces from the PyPI sdist `face_recognition` 1.3.0 (`tests/test_images/`), and the liveness
# models from ../shared/models/liveness. Everything
# fetched lands under `.idkiosk/` (ignored by git). Safe to run again: quick when all is there.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

ensure_packages libdlib-dev libopenblas-dev liblapack-dev libjpeg-dev libpng-dev pkg-config python3 python3-pip

models_dir="${IDKIOSK_MODELS_DIR:-$IDKIOSK_ROOT/.idkiosk/models}"
faces_dir="${IDKIOSK_FACES_DIR:-$IDKIOSK_ROOT/.idkiosk/faces}"
models=(dlib_face_recognition_resnet_model_v1.dat shape_predictor_5_face_landmarks.dat mmod_human_face_detector.dat)

# pip of the python3 on PATH (pyenv or Debian's); Debian's refuses installs but downloads fine.
pip_download() { python3 -m pip download --quiet --disable-pip-version-check --no-deps "$@"; }

tmp=""
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT

need_models=0
for m in "${models[@]}" face_recognition_models-LICENSE; do [ -s "$models_dir/$m" ] || need_models=1; done
if [ "$need_models" -eq 1 ]; then
    log "face: fetching the dlib model weights (PyPI face_recognition_models==0.3.0) into $models_dir"
    tmp=$(mktemp -d /tmp/idkiosk-face.XXXXXX)
    pip_download --no-binary :all: -d "$tmp" face_recognition_models==0.3.0
    tar -xzf "$tmp"/face_recognition_models-0.3.0.tar.gz -C "$tmp"
    mkdir -p "$models_dir"
    for m in "${models[@]}"; do
        # Copy then rename so an interrupted run never leaves a half-written weights file.
        cp "$tmp/face_recognition_models-0.3.0/face_recognition_models/models/$m" "$models_dir/$m.part"
        mv "$models_dir/$m.part" "$models_dir/$m"
    done
    # The licence (CC0 1.0) and metadata travel with the weights.
    cp "$tmp/face_recognition_models-0.3.0/LICENSE" "$models_dir/face_recognition_models-LICENSE"
    cp "$tmp/face_recognition_models-0.3.0/PKG-INFO" "$models_dir/face_recognition_models-PKG-INFO"
    cleanup; tmp=""
fi

if [ ! -s "$faces_dir/obama.jpg" ] || [ ! -s "$faces_dir/biden.jpg" ]; then
    log "face: fetching the test faces (PyPI face_recognition==1.3.0 sdist, tests/test_images) into $faces_dir"
    tmp=$(mktemp -d /tmp/idkiosk-face.XXXXXX)
    pip_download --no-binary :all: -d "$tmp" face_recognition==1.3.0
    tar -xzf "$tmp"/face_recognition-1.3.0.tar.gz -C "$tmp"
    mkdir -p "$faces_dir"
    cp "$tmp"/face_recognition-1.3.0/tests/test_images/* "$faces_dir/"
    cleanup; tmp=""
fi

# The passive liveness models (MiniFASNet, Apache-2.0, from minivision-ai/Silent-Face-Anti-Spoofing)
# as safetensors, their licence and two sample frames, from the shared folder beside the checkout.
# The samples go in a sub-folder of the models, not among the test faces: the demo seeds citizens
# from every JPEG there.
liveness_src="${IDKIOSK_LIVENESS_SRC:-$IDKIOSK_ROOT/../shared/models/liveness}"
liveness_files=(MiniFASNetV2_2.7_80x80.safetensors MiniFASNetV1SE_4.0_80x80.safetensors)
need_liveness=0
for m in "${liveness_files[@]}" MiniFASNet-LICENSE MiniFASNet-samples/live_sample.jpg MiniFASNet-samples/spoof_sample.jpg; do
    [ -s "$models_dir/$m" ] || need_liveness=1
done
if [ "$need_liveness" -eq 1 ]; then
    if [ ! -d "$liveness_src" ]; then
        log "face: the liveness models are not in $liveness_src (set IDKIOSK_LIVENESS_SRC)"
        exit 1
    fi
    log "face: copying the liveness models (MiniFASNet) from $liveness_src into $models_dir"
    mkdir -p "$models_dir/MiniFASNet-samples"
    for m in "${liveness_files[@]}"; do
        cp "$liveness_src/$m" "$models_dir/$m.part"
        mv "$models_dir/$m.part" "$models_dir/$m"
    done
    cp "$liveness_src/LICENSE" "$models_dir/MiniFASNet-LICENSE"
    cp "$liveness_src/README.md" "$models_dir/MiniFASNet-README.md"
    cp "$liveness_src/live_sample.jpg" "$liveness_src/spoof_sample.jpg" "$models_dir/MiniFASNet-samples/"
fi

log "face: models in $models_dir, test faces in $faces_dir"

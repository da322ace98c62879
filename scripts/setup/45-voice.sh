#!/usr/bin/env bash
# Voice prompts (crates/kiosk/src/voice.rs, issue 15 item 6): the kiosk speaks each screen in
# Mandarin with espeak-ng's `cmn` voice, offline. The browser suite measures the spoken WAVs with
# ffprobe (ffmpeg, installed by 40-cups.sh). Idempotent: does nothing when the packages are there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ensure_packages espeak-ng ffmpeg
if ! espeak-ng --voices=cmn | grep -qw cmn; then
    log "espeak-ng has no cmn (Mandarin) voice: voice prompts will say they are unavailable"
    exit 1
fi

#!/usr/bin/env bash
# Documents (crates/documents): the Noto CJK fonts embedded (subset) in every PDF, and poppler's
# pdftotext / pdffonts / pdfinfo / pdftoppm used by the documents tests and docs/img.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

ensure_packages fonts-noto-cjk poppler-utils

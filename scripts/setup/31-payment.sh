#!/usr/bin/env bash
# Payment (crates/payment): the independent WeChat Pay v3 client the interoperability test runs
# against `idkiosk paysim` — PyPI's wechatpayv3 with its dependencies, pinned.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

ensure_packages python3 python3-pip

WECHATPAYV3=2.0.4
REQUESTS=2.34.2
CRYPTOGRAPHY=48.0.0

installed() {
    python3 - "$WECHATPAYV3" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("wechatpayv3") == sys.argv[1] else 1)
PY
}

if installed; then
    exit 0
fi
log "installing wechatpayv3==$WECHATPAYV3 (PyPI) for the payment interoperability test"
pip_args=(--quiet --disable-pip-version-check)
# Debian's own python3 refuses system-wide pip installs (PEP 668) unless told otherwise.
if python3 -c 'import sys; sys.exit(0 if sys.prefix == sys.base_prefix and sys.prefix.startswith("/usr") else 1)'; then
    pip_args+=(--break-system-packages)
fi
python3 -m pip install "${pip_args[@]}" \
    "wechatpayv3==$WECHATPAYV3" "requests==$REQUESTS" "cryptography==$CRYPTOGRAPHY"
installed || { echo "wechatpayv3 $WECHATPAYV3 is not importable after pip install" >&2; exit 1; }

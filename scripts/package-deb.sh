#!/usr/bin/env bash
# Builds the idkiosk Debian package (docs/packaging.md) from the debug binary, and with --test
# installs it, runs `idkiosk --version`, verifies the installed systemd units, removes and purges
# it, and checks that nothing of it is left.
#
# scripts/test.sh (so CI) runs it with --test as root: it installs cargo-deb when missing
# (`cargo install cargo-deb --locked`) and installs the package on the machine, then removes and
# purges it. With --test the .deb is compressed fast (a larger file, seconds instead of a minute:
# it is thrown away). The units alone are also verified by crates/idkiosk/tests/cli/units.rs.
#
# Usage: scripts/package-deb.sh [--test]     (the .deb goes to target/debian/)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$IDKIOSK_ROOT"

test_install=false
case "${1:-}" in
    --test) test_install=true ;;
    "") ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

if ! cargo deb --version >/dev/null 2>&1; then
    log "installing cargo-deb"
    cargo install cargo-deb --locked
fi
ensure_packages dpkg-dev systemd

log "cargo build -p idkiosk (debug)"
cargo build -p idkiosk
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
manual="$target_dir/debug/idkiosk-manual"
rm -rf "$manual"
log "man pages and completions into $manual"
"$target_dir/debug/idkiosk" manual --out "$manual" >/dev/null
gzip -9n "$manual"/man/*.1

compression=()
$test_install && compression=(--fast)
log "cargo deb -p idkiosk --no-build --profile dev ${compression[*]}"
deb=$(cargo deb -p idkiosk --no-build --profile dev "${compression[@]}" | tail -n 1)
[ -f "$deb" ] || { echo "cargo deb did not say which file it wrote: $deb" >&2; exit 1; }
log "built $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'

$test_install || exit 0

[ "$(id -u)" = 0 ] || { echo "--test installs the package: run it as root" >&2; exit 2; }
if dpkg -s idkiosk >/dev/null 2>&1; then
    echo "idkiosk is already installed here; --test would remove it" >&2
    exit 2
fi

# Whatever fails below, the package does not stay installed: its Chromium policy would block
# every later browser test on this machine, and the next --test would refuse to start.
trap 'dpkg -P idkiosk >/dev/null 2>&1 || true' EXIT
log "dpkg -i"
dpkg -i "$deb"
files=$(mktemp)
trap 'rm -f "$files"; dpkg -P idkiosk >/dev/null 2>&1 || true' EXIT
dpkg -L idkiosk >"$files"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' idkiosk | awk 'NF {print $1}')

log "idkiosk --version"
/usr/bin/idkiosk --version
getent passwd idkiosk
stat -c '%a %U:%G %n' /var/lib/idkiosk /etc/idkiosk /etc/idkiosk/*
# The service user reads the configuration the package installed.
for kind in center kiosk popsys; do
    runuser -u idkiosk -- /usr/bin/idkiosk config check "/etc/idkiosk/$kind.toml"
done

log "systemd-analyze verify (installed units, with their man pages)"
out=$(systemd-analyze verify /lib/systemd/system/idkiosk-center.service \
    /lib/systemd/system/idkiosk-kiosk.service /lib/systemd/system/idkiosk-popsys.service \
    /lib/systemd/system/idkiosk-session.service 2>&1)
if [ -n "$out" ]; then
    echo "$out" >&2
    echo "systemd-analyze verify complained about the installed units" >&2
    exit 1
fi
echo "verify: no warnings"

log "dpkg -r"
dpkg -r idkiosk
left=0
while read -r path; do
    [ -d "$path" ] && continue # shared folders (/usr/bin, /lib/systemd/system) stay
    if grep -qxF "$path" <<<"$conffiles"; then continue; fi # kept until purge, as dpkg does
    if [ -e "$path" ]; then echo "left after dpkg -r: $path" >&2; left=1; fi
done <"$files"

log "dpkg -P (purge)"
dpkg -P idkiosk
for path in $conffiles /etc/idkiosk /usr/share/doc/idkiosk; do
    if [ -e "$path" ]; then echo "left after purge: $path" >&2; left=1; fi
done
if getent passwd idkiosk >/dev/null; then echo "the idkiosk user is left" >&2; left=1; fi
if [ -e /var/lib/idkiosk ]; then echo "/var/lib/idkiosk is left" >&2; left=1; fi
[ "$left" = 0 ] || exit 1
echo "removed cleanly: none of the package's $(wc -l <"$files") paths (files and folders) is left"

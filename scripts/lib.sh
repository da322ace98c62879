# Shared helpers for the project's scripts: sourced, not run.
# Everything the project needs from Debian is installed here by package name, so a fresh machine
# needs nothing done by hand.

IDKIOSK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '==> %s\n' "$*" >&2; }

# ensure_packages PKG... : installs the Debian packages that are missing (as root, or with sudo).
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pg_bin_dir : prints the folder of the installed PostgreSQL server binaries.
pg_bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || { echo "no PostgreSQL server found under /usr/lib/postgresql" >&2; return 1; }
    echo "$dir"
}

# free_port : prints a free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_private_pg DIR : initialises and starts a throwaway PostgreSQL cluster in DIR on a free
# port, owned by the `postgres` user (the server refuses to run as root). Exports PG_PRIVATE_DIR,
# PG_PRIVATE_PORT and IDKIOSK_TEST_PG_URL. Stop it with stop_private_pg.
start_private_pg() {
    local dir="$1" bin port runas=()
    bin=$(pg_bin_dir) || return 1
    port=$(free_port)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$dir"
        runas=(runuser -u postgres --)
    fi
    "${runas[@]}" "$bin/initdb" -D "$dir/data" -U idkiosk --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    "${runas[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U idkiosk idkiosk
    export PG_PRIVATE_DIR="$dir" PG_PRIVATE_PORT="$port"
    export IDKIOSK_TEST_PG_URL="postgres://idkiosk@127.0.0.1:$port/idkiosk"
    log "PostgreSQL running at $IDKIOSK_TEST_PG_URL"
}

stop_private_pg() {
    [ -n "${PG_PRIVATE_DIR:-}" ] || return 0
    local bin runas=()
    bin=$(pg_bin_dir) || return 0
    [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
    "${runas[@]}" "$bin/pg_ctl" -D "$PG_PRIVATE_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_PRIVATE_DIR"
}

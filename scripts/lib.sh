# Shared helpers for the project's scripts: sourced, not run.
# Everything the project needs from Debian is installed here by package name, so a fresh machine
# needs nothing done by hand.

IDKIOSK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '==> [%4ss] %s\n' "$SECONDS" "$*" >&2; }

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

# start_private_cups DIR : starts a throwaway cupsd (not root's system one) in DIR on a free
# loopback port with one cups-pdf queue `PDF` whose files land in DIR/out (device URI
# cups-pdf:/NAME reads /etc/cups/cups-pdf-NAME.conf, which this writes). Exports CUPS_PRIVATE_DIR,
# CUPS_PRIVATE_PORT, CUPS_PRIVATE_PID, CUPS_PRIVATE_NAME and IDKIOSK_TEST_PRINTER
# (ipp://127.0.0.1:PORT/printers/PDF). Stop it with stop_private_cups.
start_private_cups() {
    local dir="$1" port name
    port=$(free_port)
    name="idkiosk-$port"
    mkdir -p "$dir"/{spool,tmp,cache,state,ssl,log,out,ppd}
    chmod 1777 "$dir/out" "$dir/tmp"
    cat >"$dir/cups-files.conf" <<CONF
ServerRoot $dir
RequestRoot $dir/spool
TempDir $dir/tmp
CacheDir $dir/cache
StateDir $dir/state
ServerKeychain $dir/ssl
AccessLog $dir/log/access_log
ErrorLog $dir/log/error_log
PageLog $dir/log/page_log
SystemGroup root
CONF
    cat >"$dir/cupsd.conf" <<CONF
Listen 127.0.0.1:$port
Browsing No
LogLevel warn
WebInterface No
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
    Allow all
  </Limit>
</Policy>
CONF
    cat >"/etc/cups/cups-pdf-$name.conf" <<CONF
Out $dir/out
AnonDirName $dir/out
Label 1
CONF
    cupsd -f -c "$dir/cupsd.conf" -s "$dir/cups-files.conf" &
    CUPS_PRIVATE_PID=$!
    local i
    for i in $(seq 1 50); do
        lpstat -h "127.0.0.1:$port" -r >/dev/null 2>&1 && break
        sleep 0.1
    done
    lpadmin -h "127.0.0.1:$port" -p PDF -v "cups-pdf:/$name" -m lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd -E \
        || { cat "$dir/log/error_log" >&2; return 1; }
    export CUPS_PRIVATE_DIR="$dir" CUPS_PRIVATE_PORT="$port" CUPS_PRIVATE_PID CUPS_PRIVATE_NAME="$name"
    export IDKIOSK_TEST_PRINTER="ipp://127.0.0.1:$port/printers/PDF"
    log "CUPS running at $IDKIOSK_TEST_PRINTER (PDFs land in $dir/out)"
}

stop_private_cups() {
    [ -n "${CUPS_PRIVATE_PID:-}" ] || return 0
    kill "$CUPS_PRIVATE_PID" 2>/dev/null || true
    wait "$CUPS_PRIVATE_PID" 2>/dev/null || true
    rm -f "/etc/cups/cups-pdf-$CUPS_PRIVATE_NAME.conf"
    rm -rf "$CUPS_PRIVATE_DIR"
    unset CUPS_PRIVATE_PID
}

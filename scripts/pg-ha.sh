#!/usr/bin/env bash
# A PostgreSQL that fails over, on loopback, the way docs/center.md ("PostgreSQL high
# availability") deploys it for a province: one etcd, two PostgreSQL nodes managed by Patroni
# (a primary and a synchronous streaming replica, synchronous_mode on, so a commit the center
# was told about is on both), and HAProxy sending one port to whichever node answers 200 on
# Patroni's REST `GET /primary`. The center's database URL is HAProxy's port.
#
# Usage: scripts/pg-ha.sh up            installs what is missing, starts what is not running,
#                                       prints `export IDKIOSK_PG_HA_URL=postgres://…`
#        scripts/pg-ha.sh status        the nodes' roles (patronictl list) and HAProxy's choice
#        scripts/pg-ha.sh kill-primary  kill -9 of the primary node (its Patroni and its
#                                       PostgreSQL, as if the machine died); prints its name
#        scripts/pg-ha.sh down          stops everything and removes the state
# State: $IDKIOSK_PG_HA_DIR (default /tmp/idkiosk-pg-ha). PostgreSQL refuses to run as root, so
# Patroni and its PostgreSQL run as the `postgres` user when this runs as root.
# Trust authentication on 127.0.0.1: a loopback rig for tests and the failover benchmark, not a
# production configuration (docs/center.md says what a province sets instead).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dir=${IDKIOSK_PG_HA_DIR:-/tmp/idkiosk-pg-ha}
nodes=(pg1 pg2)
runas=()
[ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)

# pid_alive FILE : whether the process whose id FILE holds is running.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# allocate_ports : picks the ports once and keeps them in $dir/ports.
allocate_ports() {
    if [ ! -f "$dir/ports" ]; then
        {
            echo "ETCD_PORT=$(free_port)"
            echo "ETCD_PEER_PORT=$(free_port)"
            echo "HAPROXY_PORT=$(free_port)"
            echo "PG1_PORT=$(free_port)"
            echo "PG2_PORT=$(free_port)"
            echo "REST1_PORT=$(free_port)"
            echo "REST2_PORT=$(free_port)"
        } >"$dir/ports"
    fi
    # shellcheck disable=SC1091
    source "$dir/ports"
}

url() { echo "postgres://idkiosk@127.0.0.1:$HAPROXY_PORT/idkiosk"; }

start_etcd() {
    pid_alive "$dir/etcd.pid" && return 0
    mkdir -p "$dir/etcd"
    setsid nohup etcd --name idkiosk-ha --data-dir "$dir/etcd/data" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "idkiosk-ha=http://127.0.0.1:$ETCD_PEER_PORT" \
        >"$dir/etcd/etcd.log" 2>&1 </dev/null &
    echo $! >"$dir/etcd.pid"
    local i
    for i in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q true && return 0
        sleep 0.1
    done
    cat "$dir/etcd/etcd.log" >&2
    return 1
}

# node_config NAME PG_PORT REST_PORT : Patroni's file for one node.
node_config() {
    local name=$1 pg_port=$2 rest_port=$3 bin
    bin=$(pg_bin_dir)
    cat >"$dir/$name/patroni.yml" <<YAML
scope: idkiosk
namespace: /idkiosk-pg-ha/
name: $name
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$rest_port
  connect_address: 127.0.0.1:$rest_port
etcd3:
  host: 127.0.0.1:$ETCD_PORT
bootstrap:
  dcs:
    # The leader key lives 10 s: a dead primary is replaced 10-15 s after it stops renewing.
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    # A commit returns only once the replica has it: a failover loses no acknowledged write.
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: 200
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        synchronous_commit: "on"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pg_port
  connect_address: 127.0.0.1:$pg_port
  data_dir: $dir/$name/data
  bin_dir: $bin
  pgpass: $dir/$name/pgpass
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
    rewind:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: $dir/$name
tags:
  nofailover: false
  noloadbalance: false
YAML
}

start_node() {
    local name=$1 pg_port=$2 rest_port=$3
    pid_alive "$dir/$name/patroni.pid" && return 0
    mkdir -p "$dir/$name"
    node_config "$name" "$pg_port" "$rest_port"
    [ ${#runas[@]} -gt 0 ] && chown -R postgres:postgres "$dir/$name"
    # Its own process group, so kill-primary can take Patroni and its PostgreSQL down together.
    setsid nohup "${runas[@]}" patroni "$dir/$name/patroni.yml" >>"$dir/$name/patroni.log" 2>&1 </dev/null &
    echo $! >"$dir/$name/patroni.pid"
}

start_haproxy() {
    pid_alive "$dir/haproxy.pid" && return 0
    cat >"$dir/haproxy.cfg" <<CFG
global
    maxconn 1000
defaults
    mode tcp
    log global
    retries 2
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 2s
listen primary
    bind 127.0.0.1:$HAPROXY_PORT
    option httpchk GET /primary
    http-check expect status 200
    # Checked every second; a node is out after 2 failed checks and its open connections are cut,
    # so nothing keeps talking to a demoted or dead primary.
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
    server pg1 127.0.0.1:$PG1_PORT maxconn 200 check port $REST1_PORT
    server pg2 127.0.0.1:$PG2_PORT maxconn 200 check port $REST2_PORT
CFG
    setsid nohup haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 </dev/null &
    echo $! >"$dir/haproxy.pid"
}

# primary_name : the node whose REST API answers 200 on /primary (none: empty).
primary_name() {
    local name port
    for name in "${nodes[@]}"; do
        port=$(rest_port "$name")
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/primary" 2>/dev/null; then
            echo "$name"
            return 0
        fi
    done
}

rest_port() { if [ "$1" = pg1 ]; then echo "$REST1_PORT"; else echo "$REST2_PORT"; fi; }
pg_port() { if [ "$1" = pg1 ]; then echo "$PG1_PORT"; else echo "$PG2_PORT"; fi; }

wait_ready() {
    local i primary="" bin
    bin=$(pg_bin_dir)
    for i in $(seq 1 120); do
        primary=$(primary_name)
        if [ -n "$primary" ] && "$bin/pg_isready" -q -h 127.0.0.1 -p "$HAPROXY_PORT"; then
            break
        fi
        sleep 0.5
    done
    [ -n "$primary" ] || { log "no primary after 60 s"; tail -n 30 "$dir"/pg*/patroni.log >&2; return 1; }
    local psql=("$bin/psql" -h 127.0.0.1 -p "$HAPROXY_PORT" -U postgres -d postgres -qtAX)
    # HAProxy counts a node up until its first check fails: wait until three connections in a row
    # land on a primary, so none goes to a replica still cloning.
    local ok=0
    for i in $(seq 1 120); do
        if [ "$("${psql[@]}" -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; then
            ok=$((ok + 1))
            [ $ok -ge 3 ] && break
        else
            ok=0
        fi
        sleep 0.5
    done
    [ $ok -ge 3 ] || { log "HAProxy does not reach the primary"; tail -n 30 "$dir/haproxy.log" >&2; return 1; }
    # The role and database the center uses (once, on the primary, through HAProxy).
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'idkiosk'")" != 1 ]; then
        "${psql[@]}" -c "CREATE ROLE idkiosk LOGIN SUPERUSER"
    fi
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'idkiosk'")" != 1 ]; then
        "${psql[@]}" -c "CREATE DATABASE idkiosk OWNER idkiosk"
    fi
    # Until the replica streams synchronously, a failover could lose a commit: wait for it.
    for i in $(seq 1 240); do
        if curl -fsS "http://127.0.0.1:$(rest_port "$primary")/cluster" 2>/dev/null \
            | python3 -c 'import json,sys; m=json.load(sys.stdin)["members"]; sys.exit(0 if any(x["role"]=="sync_standby" and x["state"] in ("running","streaming") for x in m) else 1)'; then
            return 0
        fi
        sleep 0.5
    done
    log "the replica is not a synchronous standby after 120 s"
    tail -n 40 "$dir"/pg*/patroni.log >&2
    return 1
}

status() {
    allocate_ports
    local name port
    for name in "${nodes[@]}"; do
        port=$(rest_port "$name")
        printf '%s (postgres 127.0.0.1:%s, patroni 127.0.0.1:%s): ' "$name" "$(pg_port "$name")" "$port"
        local answer
        answer=$(curl -fsS "http://127.0.0.1:$port/patroni" 2>/dev/null || true)
        if [ -n "$answer" ]; then
            python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get("role"), d.get("state"), "timeline", d.get("timeline"))' "$answer"
        else
            echo "down"
        fi
    done
    echo "primary by /primary: $(primary_name)"
    echo "haproxy: 127.0.0.1:$HAPROXY_PORT ($(pid_alive "$dir/haproxy.pid" && echo running || echo down))"
    echo "url: $(url)"
}

case "${1:-}" in
up)
    ensure_packages postgresql patroni etcd-server haproxy curl
    mkdir -p "$dir"
    allocate_ports
    start_etcd
    start_node pg1 "$PG1_PORT" "$REST1_PORT"
    # The first node bootstraps the cluster; the second clones it once it is up.
    for _ in $(seq 1 120); do [ -n "$(primary_name)" ] && break; sleep 0.5; done
    start_node pg2 "$PG2_PORT" "$REST2_PORT"
    start_haproxy
    wait_ready
    log "PostgreSQL HA running: primary $(primary_name), HAProxy at 127.0.0.1:$HAPROXY_PORT"
    echo "export IDKIOSK_PG_HA_URL=$(url)"
    ;;
status)
    status
    ;;
kill-primary)
    allocate_ports
    primary=$(primary_name)
    [ -n "$primary" ] || { echo "no primary to kill" >&2; exit 1; }
    pid=$(cat "$dir/$primary/patroni.pid")
    # The whole process group: Patroni, the postmaster and its backends, without warning.
    kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid"
    postmaster=$(head -n 1 "$dir/$primary/data/postmaster.pid" 2>/dev/null || true)
    [ -n "$postmaster" ] && kill -9 "$postmaster" 2>/dev/null || true
    echo "$primary"
    ;;
down)
    if [ -d "$dir" ]; then
        for name in "${nodes[@]}"; do
            if pid_alive "$dir/$name/patroni.pid"; then
                kill -TERM "$(cat "$dir/$name/patroni.pid")" 2>/dev/null || true
            fi
        done
        for name in "${nodes[@]}"; do
            for _ in $(seq 1 100); do pid_alive "$dir/$name/patroni.pid" || break; sleep 0.1; done
            if pid_alive "$dir/$name/patroni.pid"; then kill -9 -- "-$(cat "$dir/$name/patroni.pid")" 2>/dev/null || true; fi
            postmaster=$(head -n 1 "$dir/$name/data/postmaster.pid" 2>/dev/null || true)
            [ -n "$postmaster" ] && kill -9 "$postmaster" 2>/dev/null || true
        done
        for service in haproxy etcd; do
            pid_alive "$dir/$service.pid" && kill -TERM "$(cat "$dir/$service.pid")" 2>/dev/null || true
        done
        sleep 0.5
        rm -rf "$dir"
    fi
    ;;
*)
    echo "usage: $0 up|down|status|kill-primary" >&2
    exit 2
    ;;
esac

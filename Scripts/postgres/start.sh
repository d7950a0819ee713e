#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for tests and benchmarks.
#
# usage: Scripts/postgres/start.sh [--fast] [DIR]
#   DIR     data directory (default: $SHADOWGATE_TEST_PG_DIR or /tmp/shadowgate-test-pg);
#           initdb runs when it holds no cluster yet; an already running cluster is reused.
#   --fast  fsync=off, synchronous_commit=off (quicker tests; not for benchmarks)
#   env PORT  TCP port on 127.0.0.1 (default: a free one, remembered in DIR/port)
#   env PGBIN directory of initdb/pg_ctl (default: newest /usr/lib/postgresql/*/bin)
#
# stdout: exactly one line, the connection URL (postgresql://postgres@127.0.0.1:PORT/postgres);
#         it is also written to DIR/url. Everything else goes to stderr. Typical use:
#   export SHADOWGATE_TEST_DATABASE_URL=$(Scripts/postgres/start.sh)
# Runs initdb/pg_ctl as the `postgres` user when started as root (PostgreSQL refuses root).
# Needs the PostgreSQL server binaries (Debian/Ubuntu: apt-get install -y postgresql).
set -euo pipefail
FAST=0
if [[ ${1:-} == --fast ]]; then FAST=1; shift; fi
DIR=${1:-${SHADOWGATE_TEST_PG_DIR:-/tmp/shadowgate-test-pg}}
DIR=$(realpath -m "$DIR")

if [[ -z ${PGBIN:-} ]]; then
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [[ -z $PGBIN && -x "$(command -v pg_ctl || true)" ]]; then PGBIN=$(dirname "$(realpath "$(command -v pg_ctl)")"); fi
fi
if [[ -z ${PGBIN:-} || ! -x $PGBIN/initdb || ! -x $PGBIN/pg_ctl ]]; then
    echo "start.sh: PostgreSQL server binaries not found; install them: apt-get install -y postgresql" >&2
    exit 1
fi

as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

mkdir -p "$DIR"
[[ $(id -u) == 0 ]] && chown postgres:postgres "$DIR"
chmod 700 "$DIR"
if [[ ! -f $DIR/PG_VERSION ]]; then
    as_pg "$PGBIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    echo "include_if_exists = 'shadowgate_test.conf'" >> "$DIR/postgresql.conf"
fi

if as_pg "$PGBIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    PORT=$(cat "$DIR/port")
    echo "start.sh: reusing the cluster already running in $DIR on port $PORT" >&2
else
    if [[ -z ${PORT:-} ]]; then
        if [[ -f $DIR/port ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$DIR/port")") 2>/dev/null; then
            PORT=$(cat "$DIR/port")
        else
            # Below the kernel's ephemeral range: a port that is some connection's local end (after a
            # benchmark, hundreds of thousands in TIME_WAIT) does not answer the probe, yet fails the bind.
            low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
            ((low > 12000)) || low=32768
            for _ in $(seq 50); do
                PORT=$(( 10000 + RANDOM % (low - 10000) ))
                (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
            done
        fi
    fi
    {
        echo "port = $PORT"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$DIR'"
        echo "max_connections = 200"
        if [[ $FAST == 1 ]]; then echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"; fi
    } > "$DIR/shadowgate_test.conf"
    echo "$PORT" > "$DIR/port"
    [[ $(id -u) == 0 ]] && chown postgres:postgres "$DIR/shadowgate_test.conf" "$DIR/port"
    as_pg "$PGBIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 start >/dev/null
    echo "start.sh: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') running in $DIR on 127.0.0.1:$PORT" >&2
fi
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
echo "$URL" > "$DIR/url"
echo "$URL"

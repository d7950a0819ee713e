#!/usr/bin/env bash
# Stop the throwaway cluster started by start.sh (pg_ctl stop -m fast).
# usage: Scripts/postgres/stop.sh [--rm] [DIR]   (--rm also deletes the data directory)
set -euo pipefail
RM=0
if [[ ${1:-} == --rm ]]; then RM=1; shift; fi
DIR=${1:-${SHADOWGATE_TEST_PG_DIR:-/tmp/shadowgate-test-pg}}
DIR=$(realpath -m "$DIR")
if [[ -z ${PGBIN:-} ]]; then PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true); fi
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ -f $DIR/PG_VERSION && -n ${PGBIN:-} ]]; then
    as_pg "$PGBIN/pg_ctl" -D "$DIR" -m fast -w -t 60 stop >/dev/null 2>&1 || true
fi
if [[ $RM == 1 ]]; then rm -rf "$DIR"; fi
exit 0

#!/usr/bin/env bash
# Apply migrations/ to a throwaway database with psql, in the runner's order: the numbered files
# (each in its own transaction), then every file of migrations/functions/ in name order in one
# transaction with check_function_bodies off. Records nothing in shadowgate.schema_migrations:
# for benchmarks on a database of their own; everything else uses `shadowgate migrate`.
#
# usage: Scripts/postgres/apply-migrations.sh URL [MIGRATIONS_DIR]
set -euo pipefail
URL=$1
DIR=${2:-$(cd "$(dirname "$0")/../.." && pwd)/migrations}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$URL")
"${PSQL[@]}" -c "CREATE SCHEMA IF NOT EXISTS shadowgate" >/dev/null
for f in "$DIR"/[0-9]*.sql; do "${PSQL[@]}" -1 -f "$f" >/dev/null; done
{
    echo "SET check_function_bodies = off;"
    for f in $(LC_ALL=C ls "$DIR"/functions/*.sql); do echo "\\i $f"; done
} | "${PSQL[@]}" -1 >/dev/null

#!/usr/bin/env bash
# Start PostgreSQL + PostGIS for the PostGIS tests and print the connection URL.
#
#   export GIS_TEST_DB=$(scripts/start_postgis.sh)
#   .venv/bin/pytest tests/test_postgis.py
#
# Debian/Ubuntu.  Installs postgresql-15-postgis-3 with apt-get only when the
# PostGIS extension is missing (about 20 s with a local mirror); reuses the
# Debian cluster 15/main (created if absent) on 127.0.0.1, port 5432 or the
# next free port; creates the role gis (password gis) and the database
# gis_test with the postgis extension.  Idempotent: run it as often as you
# like.  Progress goes to stderr, the URL alone to stdout.
# Settings: PGVER (15), GIS_PG_PORT (5432), GIS_PG_DB (gis_test),
# GIS_PG_USER (gis), GIS_PG_PASSWORD (gis), GIS_PG_CLUSTER (main).
set -euo pipefail

PGVER=${PGVER:-15}
PORT=${GIS_PG_PORT:-5432}
DB=${GIS_PG_DB:-gis_test}
ROLE=${GIS_PG_USER:-gis}
PASS=${GIS_PG_PASSWORD:-gis}
CLUSTER=${GIS_PG_CLUSTER:-main}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
log() { echo "start_postgis: $*" >&2; }
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
port_busy() { (echo > "/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1; }

if [ ! -f "/usr/share/postgresql/$PGVER/extension/postgis.control" ]; then
  log "installing postgresql-$PGVER-postgis-3 (apt-get)"
  start=$(date +%s)
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "postgresql-$PGVER-postgis-3" >&2
  log "installed in $(( $(date +%s) - start )) s"
fi

if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$PGVER $CLUSTER"; then
  while port_busy "$PORT"; do PORT=$((PORT + 1)); done
  log "creating cluster $PGVER/$CLUSTER on port $PORT"
  $SUDO pg_createcluster "$PGVER" "$CLUSTER" -p "$PORT" >&2
fi

status=$(pg_lsclusters -h | awk -v v="$PGVER" -v c="$CLUSTER" '$1==v && $2==c {print $4}')
PORT=$(pg_lsclusters -h | awk -v v="$PGVER" -v c="$CLUSTER" '$1==v && $2==c {print $3}')
if [ "$status" != "online" ]; then
  if port_busy "$PORT"; then  # something else holds the port: move the cluster
    while port_busy "$PORT"; do PORT=$((PORT + 1)); done
    log "port busy, moving cluster $PGVER/$CLUSTER to port $PORT"
    $SUDO pg_conftool "$PGVER" "$CLUSTER" set port "$PORT"
  fi
  log "starting cluster $PGVER/$CLUSTER on port $PORT"
  $SUDO pg_ctlcluster "$PGVER" "$CLUSTER" start >&2
fi

for _ in $(seq 1 30); do
  if as_postgres pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
  sleep 1
done

psql_su() { as_postgres psql -v ON_ERROR_STOP=1 -q -h /var/run/postgresql -p "$PORT" "$@"; }
psql_su -d postgres -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASS';
  END IF; END \$\$;" >&2
if ! psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  log "creating database $DB"
  psql_su -d postgres -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi
psql_su -d "$DB" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis" >&2
psql_su -d "$DB" -c "GRANT ALL ON SCHEMA public TO $ROLE" >&2

echo "postgresql://$ROLE:$PASS@127.0.0.1:$PORT/$DB"

#!/usr/bin/env bash
# Provisions PostgreSQL from Debian's packages on 127.0.0.1:5432 with role crm / password crm /
# database crm (the role may create databases, which the tests do).
#
#   scripts/postgres.sh up      install if missing, create and start the cluster, create role and database
#   scripts/postgres.sh down    stop the cluster
#   scripts/postgres.sh status  say whether PostgreSQL answers as crm
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

answers_as_crm() {
  command -v psql >/dev/null 2>&1 &&
    PGPASSWORD=crm PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -p 5432 -U crm -d crm -Atqc 'select 1' >/dev/null 2>&1
}

# The newest installed server version, e.g. 15.
server_version() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1; }

cluster_log() {
  local v; v=$(server_version)
  local log="/var/log/postgresql/postgresql-$v-main.log"
  [ -f "$log" ] && tail -n 40 "$log" >&2
}

up() {
  if answers_as_crm; then say "PostgreSQL already answering on 127.0.0.1:5432 as crm"; return; fi
  if ! port_open 5432; then
    if [ -z "$(server_version)" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
      apt_install postgresql
    fi
    local v; v=$(server_version)
    [ -n "$v" ] || die "no PostgreSQL server found under /usr/lib/postgresql after installing"
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$v main"; then
      say "creating PostgreSQL $v cluster 'main'"
      as_root pg_createcluster "$v" main -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    fi
    say "starting PostgreSQL $v"
    as_root pg_ctlcluster "$v" main start || { cluster_log; die "PostgreSQL did not start"; }
    for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
    port_open 5432 || { cluster_log; die "PostgreSQL is not listening on 127.0.0.1:5432"; }
  fi
  say "ensuring role crm and database crm"
  as_postgres psql -v ON_ERROR_STOP=1 -qAt -p 5432 <<'SQL' || { cluster_log; die "could not create role/database crm"; }
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm') THEN
    ALTER ROLE crm WITH LOGIN CREATEDB PASSWORD 'crm';
  ELSE
    CREATE ROLE crm WITH LOGIN CREATEDB PASSWORD 'crm';
  END IF;
END $$;
SELECT 'CREATE DATABASE crm OWNER crm' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'crm') \gexec
SQL
  answers_as_crm || { cluster_log; die "PostgreSQL runs but does not accept crm/crm on 127.0.0.1:5432 (check pg_hba.conf)"; }
  say "PostgreSQL ready on 127.0.0.1:5432 (crm/crm, database crm)"
}

down() {
  local v; v=$(server_version)
  if [ -z "$v" ]; then say "PostgreSQL is not installed"; return; fi
  say "stopping PostgreSQL $v"
  as_root pg_ctlcluster "$v" main stop 2>/dev/null || say "PostgreSQL $v was not running"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if answers_as_crm; then echo "PostgreSQL: answering on 127.0.0.1:5432 as crm"; else echo "PostgreSQL: not answering as crm"; exit 1; fi ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac

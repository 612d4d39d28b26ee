#!/bin/bash
# Runs once, when the postgres container initialises an empty data directory
# (/docker-entrypoint-initdb.d). Creates Jixiao's two roles and its database:
#
#   jixiao_owner  owns the database and the tables; `jixiao db upgrade` (and other operator commands)
#                 connect as it. BYPASSRLS adds nothing an owner could not already do (it may ALTER its
#                 tables' row-level security), and lets migrations and pg_dump see every row.
#   jixiao_app    the web and worker processes. It owns nothing and cannot bypass row-level security,
#                 so the FORCE ROW LEVEL SECURITY policies written by the migrations apply to it.
#                 `jixiao db upgrade` grants it table access (including default privileges for tables
#                 created later); it must exist before the first upgrade.
#
# Passwords come from the container's environment (see docker/compose.yaml). Changing them later does not
# re-run this script: use ALTER ROLE ... PASSWORD (docs/operations.md).
# The entrypoint executes this file (or sources it if it lost its executable bit): no `set -u` here.
set -eo pipefail

: "${JIXIAO_OWNER_PASSWORD:?set JIXIAO_OWNER_PASSWORD}"
: "${JIXIAO_APP_PASSWORD:?set JIXIAO_APP_PASSWORD}"

# psql variables (:'name') quote the passwords as SQL literals, whatever characters they contain.
psql -v ON_ERROR_STOP=1 --no-psqlrc \
     --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
     -v owner_password="$JIXIAO_OWNER_PASSWORD" \
     -v app_password="$JIXIAO_APP_PASSWORD" <<'SQL'
CREATE ROLE jixiao_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS PASSWORD :'owner_password';
CREATE ROLE jixiao_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
CREATE DATABASE jixiao OWNER jixiao_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE jixiao FROM PUBLIC;
GRANT CONNECT ON DATABASE jixiao TO jixiao_app;
\connect jixiao
-- PostgreSQL 15 already keeps PUBLIC from creating objects in schema public; say so explicitly.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL

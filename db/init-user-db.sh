#!/bin/bash
# Creates the service's role and database in the postgres image, from api_database.env:
# API_DB_USER (LOGIN, password API_DB_PASSWORD, no other privilege) owning database API_DB.
#
# The postgres image runs it once, on the first start of an empty data directory
# (/docker-entrypoint-initdb.d, mounted from db/ by dc-canon.yaml), as the superuser
# POSTGRES_USER over the unix socket. The values reach SQL only as psql variables, quoted by psql
# itself (:"name" an identifier, :'name' a literal), never spliced into the SQL text. Running it
# again on an initialised database is harmless: what exists is left as it is.
set -euo pipefail

for v in API_DB API_DB_USER API_DB_PASSWORD; do
    if [[ -z ${!v:-} ]]; then
        echo "init-user-db.sh: $v is not set (see api_database.env)" >&2
        exit 1
    fi
done

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    --set api_db="$API_DB" --set api_user="$API_DB_USER" --set api_password="$API_DB_PASSWORD" \
    <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'api_user') AS create_role,
       NOT EXISTS (SELECT FROM pg_database WHERE datname = :'api_db') AS create_db
\gset
\if :create_role
CREATE ROLE :"api_user" LOGIN PASSWORD :'api_password';
\else
\echo init-user-db.sh: role :"api_user" exists, left as it is
\endif
\if :create_db
CREATE DATABASE :"api_db" OWNER :"api_user";
\else
\echo init-user-db.sh: database :"api_db" exists, left as it is
\endif
SQL
echo "init-user-db.sh: role $API_DB_USER and database $API_DB are ready" >&2

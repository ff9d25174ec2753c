#!/bin/sh
# Runs once, when the postgres container creates its database: adds tulay_app, the role
# tulayd connects as. It owns nothing, is no superuser and cannot bypass row-level
# security; migrations (run as the owner, POSTGRES_USER) grant it what it needs.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-v app_password="$TULAY_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE tulay_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
    PASSWORD :'app_password';
SQL

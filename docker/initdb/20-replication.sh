#!/bin/sh
# Runs once, when the postgres container creates its database: adds tulay_replicator, the
# role a standby streams with (docker/postgres-node.sh: pg_basebackup -R, then streaming
# replication through a replication slot), and lets it connect for replication from the
# compose network only. It owns nothing and reads no table: REPLICATION lets it copy the
# whole cluster (so its password is as secret as the data), and pg_is_in_recovery() is
# all it asks over a normal connection. pg_basebackup copies pg_hba.conf to the standby,
# so a promoted standby takes its replicas with the same rule.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-v replication_password="$TULAY_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE tulay_replicator LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE
    PASSWORD :'replication_password';
SQL
# The image's pg_hba.conf ends with "host all all all scram-sha-256", which does not match
# replication connections ("all" never does): they need a line of their own.
printf '%s\n' "# tulay: streaming replication to a standby on the compose network" \
	"host replication tulay_replicator ${TULAY_REPLICATION_NETWORK:?} scram-sha-256" \
	>>"$PGDATA/pg_hba.conf"

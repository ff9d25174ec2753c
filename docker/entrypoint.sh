#!/bin/sh
# Container entrypoint of tulayd: bring the schema up to date as the database owner, make
# sure the data key exists, then become the server (as tulay_app, bound by row-level
# security). Configuration comes from the environment: TULAY_DB (tulayd's own connection
# string, role tulay_app), TULAY_MIGRATE_DB (the owner's, for migrations only),
# TULAY_DATA_KEY_FILE, TULAY_LISTEN, TULAY_PORT, TULAY_MIGRATIONS, ... Extra arguments are
# passed on to `tulayd serve`.
#
# Migrations run under an advisory lock (pg_advisory_lock, server/migrate.c), so several
# containers starting at once are safe: one applies them, the others wait and find them
# applied. Several containers also share the key volume (docker-compose.yml runs two
# tulayd): a file lock there lets one at a time make the data key and the development
# certificate, so that all of them use the same.
# `exec` makes tulayd PID 1, so `docker stop` (SIGTERM) reaches it and it drains cleanly.
set -eu

tulayd migrate up --db "$TULAY_MIGRATE_DB"
exec 9>>/var/lib/tulay/.setup.lock
flock 9
if [ ! -f "$TULAY_DATA_KEY_FILE" ]; then
	# First start: the key that encrypts workers' personal data, kept in its own volume.
	# Back it up: without it those details cannot be read.
	tulayd keygen "$TULAY_DATA_KEY_FILE"
fi
if [ -z "${TULAY_TLS_CERT:-}" ]; then
	# tulayd listens beyond loopback here, so it must speak TLS. Without a certificate of
	# your own (TULAY_TLS_CERT / TULAY_TLS_KEY), a development CA and server certificate
	# for localhost and 127.0.0.1 are made once in the key volume; clients trust
	# /var/lib/tulay/tls/ca.pem (docker-compose exec -T tulayd-a cat /var/lib/tulay/tls/ca.pem).
	tulay-dev-certs /var/lib/tulay/tls >/dev/null
	export TULAY_TLS_CERT=/var/lib/tulay/tls/server.pem TULAY_TLS_KEY=/var/lib/tulay/tls/server.key
fi
exec 9>&- # closing it releases the lock; tulayd does not inherit it
exec tulayd serve "$@"

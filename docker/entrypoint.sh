#!/bin/sh
# Container entrypoint of tulayd: bring the schema up to date as the database owner, make
# sure the data key exists, then become the server (as tulay_app, bound by row-level
# security). Configuration comes from the environment: TULAY_DB (tulayd's own connection
# string, role tulay_app), TULAY_MIGRATE_DB (the owner's, for migrations only),
# TULAY_DATA_KEY_FILE, TULAY_LISTEN, TULAY_PORT, TULAY_MIGRATIONS, ... Extra arguments are
# passed on to `tulayd serve`.
#
# Migrations run under an advisory lock, so several containers starting at once are safe.
# `exec` makes tulayd PID 1, so `docker stop` (SIGTERM) reaches it and it drains cleanly.
set -eu

tulayd migrate up --db "$TULAY_MIGRATE_DB"
if [ ! -f "$TULAY_DATA_KEY_FILE" ]; then
	# First start: the key that encrypts workers' personal data, kept in its own volume.
	# Back it up: without it those details cannot be read.
	tulayd keygen "$TULAY_DATA_KEY_FILE"
fi
exec tulayd serve "$@"

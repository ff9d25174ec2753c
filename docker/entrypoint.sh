#!/bin/sh
# Container entrypoint of tulayd: bring the schema up to date, then become the server.
# Configuration comes from the environment (TULAY_DB, TULAY_LISTEN, TULAY_PORT,
# TULAY_MIGRATIONS, ...); extra arguments are passed on to `tulayd serve`.
#
# Migrations run under an advisory lock, so several containers starting at once are safe.
# `exec` makes tulayd PID 1, so `docker stop` (SIGTERM) reaches it and it drains cleanly.
set -eu

tulayd migrate up
exec tulayd serve "$@"

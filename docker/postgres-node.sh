#!/bin/bash
# Entrypoint of both PostgreSQL services of docker-compose.yml (postgres, postgres-standby),
# in front of the official image's docker-entrypoint.sh. One script for both, as their roles
# can swap: once the standby has been promoted, the old primary comes back as its standby.
# Replication is PostgreSQL's own: a base backup, then streaming through a replication slot.
#
#   TULAY_PG_NODE               this server's name: its replication slot on the primary
#                               (letters, digits, _), and the command's cluster_name should
#                               be the same: it is the name synchronous_standby_names sees
#   TULAY_PG_PEER               the other server's host name
#   TULAY_PG_EMPTY              what an empty volume becomes while no primary answers at the
#                               peer: primary (the image's initdb, then docker/initdb) or
#                               standby (wait for one)
#   TULAY_REPLICATION_PASSWORD  tulay_replicator's (docker/initdb/20-replication.sh)
#
# At each start:
#   - an empty volume, a primary answering at the peer: becomes its hot standby, a copy made
#     with `pg_basebackup -R` (it writes standby.signal and primary_conninfo) through a
#     replication slot named TULAY_PG_NODE, created on the primary for it;
#   - an empty volume, no primary at the peer: initdb (TULAY_PG_EMPTY=primary), or waits;
#   - a standby's data directory (standby.signal): streams again from where it stopped;
#   - a primary's data directory while the peer answers as a primary (the peer was promoted
#     while this one was down): refuses to start, as two primaries would split the data.
#     Make it the new primary's standby: remove this service's volume and start it again.
#     This is a check at start, not fencing: two servers started at the same moment after a
#     promotion do not see each other. A failover manager (pg_auto_failover) fences.
set -euo pipefail

node=${TULAY_PG_NODE:?}
peer=${TULAY_PG_PEER:?}
empty=${TULAY_PG_EMPTY:?}
: "${TULAY_REPLICATION_PASSWORD:?}" "${PGDATA:?}"
user=tulay_replicator

say() { echo "postgres-node ($node): $*" >&2; }

# peer_sql SQL: runs SQL on the peer as tulay_replicator; prints the answer, or nothing when
# the peer does not answer.
peer_sql() {
	PGPASSWORD=$TULAY_REPLICATION_PASSWORD PGCONNECT_TIMEOUT=3 \
		psql -h "$peer" -U "$user" -d postgres -X -q -t -A -c "$1" 2>/dev/null || true
}
peer_is_primary() { [[ "$(peer_sql 'SELECT NOT pg_is_in_recovery()')" == t ]]; }

# The image starts as root and hands over to the postgres user itself; so does this.
as_postgres() {
	if ((EUID == 0)); then gosu postgres "$@"; else "$@"; fi
}

clone() {
	say "copying $peer (pg_basebackup -R, replication slot $node) into $PGDATA"
	# A slot left by an earlier copy of this server (its volume removed) would make
	# --create-slot fail, and keeps WAL on the primary while it exists. An active one, in
	# use by another server of this name, stays, and pg_basebackup says so.
	peer_sql "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
	          WHERE slot_name = '$node' AND NOT active" >/dev/null
	as_postgres env PGPASSWORD="$TULAY_REPLICATION_PASSWORD" pg_basebackup \
		--pgdata="$PGDATA" --host="$peer" --username="$user" --no-password \
		--write-recovery-conf --wal-method=stream --checkpoint=fast \
		--slot="$node" --create-slot
	say "copied; starting as a hot standby of $peer"
}

[[ "$node" =~ ^[a-z0-9_]+$ ]] || {
	say "TULAY_PG_NODE must be lower-case letters, digits and _ (a slot name)"
	exit 64
}
if ((EUID == 0)); then
	mkdir -p "$PGDATA"
	chown postgres:postgres "$PGDATA"
	chmod 0700 "$PGDATA"
fi

if [[ -s "$PGDATA/PG_VERSION" ]]; then
	# The server sends global/pg_control last: without it, a copy was cut short.
	if [[ ! -s "$PGDATA/global/pg_control" ]]; then
		say "$PGDATA has no global/pg_control: an interrupted copy? Remove this volume to copy again"
		exit 1
	fi
	if [[ ! -e "$PGDATA/standby.signal" ]] && peer_is_primary; then
		say "$peer answers as a primary (promoted?) and this is a primary's data directory:" \
			"not starting a second primary. To make this server its standby, remove this" \
			"service's volume and start it again (README.md, Beyond one machine)."
		exit 1
	fi
else
	waited=0
	while ! peer_is_primary; do
		if [[ "$empty" == primary ]]; then
			say "no primary at $peer: a new primary (the image's initdb, then docker/initdb)"
			exec docker-entrypoint.sh "$@"
		fi
		if ((waited % 30 == 0)); then
			say "waiting for a primary at $peer to copy"
		fi
		sleep 2
		waited=$((waited + 2))
	done
	clone
fi
exec docker-entrypoint.sh "$@"

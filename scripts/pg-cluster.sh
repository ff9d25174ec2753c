#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory of our own: no system service, no TCP port,
# only a Unix socket inside the directory.
#
#   scripts/pg-cluster.sh start DIR [--fast]   create (first time) and start; --fast turns
#                                              off fsync, for throwaway test clusters
#   scripts/pg-cluster.sh stop DIR             stop (fast shutdown)
#   scripts/pg-cluster.sh status DIR           running or not; for a standby, also what it
#                                              streams from and how far it has replayed
#   scripts/pg-cluster.sh conninfo DIR [app|owner]
#                                              print the libpq connection string of the
#                                              tulay database for tulayd (app, the default)
#                                              or for migrations and bootstrap (owner)
#   scripts/pg-cluster.sh standby PRIMARY_DIR DIR [--sync]
#                                              make DIR a hot standby of the running cluster
#                                              in PRIMARY_DIR (PostgreSQL's streaming
#                                              replication: pg_basebackup -R), start it and
#                                              wait until it streams; see "Standbys" below
#   scripts/pg-cluster.sh promote DIR          turn the standby in DIR into a primary that
#                                              takes writes (pg_ctl promote), e.g. once its
#                                              primary is lost for good
#   scripts/pg-cluster.sh bindir               print the directory of PostgreSQL's programs
#                                              (psql there, not Debian's Perl wrapper in
#                                              /usr/bin, which costs 50 ms a call)
#
# Standbys. The standby is named after DIR's last component (lower case, other characters
# than a-z, 0-9 and _ made _): that name is its application_name in primary_conninfo and
# the replication slot it holds on the primary, which keeps the WAL the standby has not
# received yet (standby makes the primary keep at most 4 GB for its slots,
# max_slot_wal_keep_size, if nothing limited it). The standby has its own socket in
# DIR/run (conninfo DIR works as for any cluster) and is read-only until promoted; stop,
# start and status work on it as on a primary. With --sync the primary gets
# synchronous_standby_names = 'FIRST 1 ("NAME")': a commit returns only once the standby
# has it, so a promotion loses no acknowledged write, but writes on the primary wait while
# the standby is down (ALTER SYSTEM RESET synchronous_standby_names on the primary, then
# SELECT pg_reload_conf(), undoes it). A standby removed for good leaves its slot on the
# primary: drop it there with SELECT pg_drop_replication_slot('NAME').
#
# PostgreSQL refuses to run as root. When run as root, the cluster belongs to the
# unprivileged system user "tulay-pg" (created if missing) and every PostgreSQL program
# runs as that user.
set -euo pipefail

usage() {
	sed -n '2,/^[^#]/{/^#/p}' "$0" >&2
	exit 64
}
cmd=${1:-}
dir=${2:-}
if [[ "$cmd" == standby ]]; then
	primary=${2:-}
	dir=${3:-}
	[[ -n "$primary" ]] || usage
fi
[[ -n "$cmd" && ( -n "$dir" || "$cmd" == bindir ) ]] || usage
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$bindir/pg_ctl" ]] || {
	echo "pg-cluster: PostgreSQL server binaries not found: run scripts/install-deps.sh" >&2
	exit 1
}
if [[ "$cmd" == bindir ]]; then
	echo "$bindir"
	exit 0
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
sock="$dir/run"
log="$dir/postgres.log"

run_as=()
if ((EUID == 0)); then
	# ctest starts several clusters at once: one useradd at a time, and the others find the
	# user made (a second useradd fails "already exists" or cannot lock /etc/passwd).
	(
		flock 9
		if ! id tulay-pg >/dev/null 2>&1; then
			useradd --system --user-group --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin tulay-pg
		fi
	) 9>/run/lock/tulay-pg-useradd.lock
	run_as=(runuser -u tulay-pg --)
fi
pg() { "${run_as[@]}" "$@"; }
running() { [[ -f "$1/PG_VERSION" ]] && pg "$bindir/pg_ctl" --pgdata="$1" status >/dev/null 2>&1; }
# psql SOCKET_DIR ARGS...: as the superuser, unaligned and quiet, stopping at an error
sql() {
	local at=$1
	shift
	pg "$bindir/psql" -X -qAt -h "$at" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}
pg_start() {
	if ! running "$data"; then
		pg "$bindir/pg_ctl" --pgdata="$data" --log="$log" --wait --timeout=60 start >/dev/null || {
			tail -n 20 "$log" >&2
			exit 1
		}
	fi
}
# shellcheck source=scripts/wait.sh
source "$(dirname "$0")/wait.sh" # wait_for SECONDS COMMAND...

case "$cmd" in
start)
	if [[ ! -f "$data/PG_VERSION" ]]; then
		mkdir -p "$data" "$sock"
		chmod 0700 "$dir" "$data" "$sock"
		((EUID == 0)) && chown -R tulay-pg:tulay-pg "$dir"
		pg "$bindir/initdb" --pgdata="$data" --username=postgres --auth-local=trust \
			--auth-host=reject --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
		{
			echo "listen_addresses = ''"
			echo "unix_socket_directories = '$sock'"
			echo "timezone = 'UTC'"
			echo "log_timezone = 'UTC'"
			echo "max_connections = 100"
			if [[ "${3:-}" == "--fast" ]]; then
				echo "fsync = off"
				echo "synchronous_commit = off"
				echo "full_page_writes = off"
			fi
		} >>"$data/postgresql.conf"
		fresh=1
	fi
	pg_start
	# A standby is read-only, and has the roles of its primary already.
	[[ -f "$data/standby.signal" ]] && exit 0
	# Two roles (created on first start, and on later starts of clusters made before they
	# existed): "tulay" owns the database and every object in it and runs the migrations
	# (BYPASSRLS: the only role that may); "tulay_app" is what tulayd connects as: it owns
	# nothing, is no superuser and cannot bypass row-level security.
	pg "$bindir/psql" -X -q -h "$sock" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tulay') THEN
        CREATE ROLE tulay LOGIN BYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tulay_app') THEN
        CREATE ROLE tulay_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
ALTER ROLE tulay BYPASSRLS;
SQL
	if [[ -n "${fresh:-}" ]]; then
		pg "$bindir/psql" -X -q -h "$sock" -U postgres -d postgres -v ON_ERROR_STOP=1 \
			-c "CREATE DATABASE tulay OWNER tulay"
	fi
	;;
stop)
	if [[ -f "$data/PG_VERSION" ]] && pg "$bindir/pg_ctl" --pgdata="$data" status >/dev/null 2>&1; then
		pg "$bindir/pg_ctl" --pgdata="$data" --mode=fast --wait stop >/dev/null
	fi
	;;
status)
	pg "$bindir/pg_ctl" --pgdata="$data" status
	if [[ -f "$data/standby.signal" ]]; then
		sql "$sock" -c "SELECT 'standby: WAL receiver ' || coalesce(
			(SELECT status || ' from ' || sender_host FROM pg_stat_wal_receiver), 'not running')
			|| ', replayed up to ' || coalesce(pg_last_wal_replay_lsn()::text, 'nothing')
			|| coalesce(' (its last commit made ' || round(extract(epoch FROM now() -
			pg_last_xact_replay_timestamp()))::text || ' s ago)', '')"
	fi
	;;
conninfo)
	case "${3:-app}" in
	app) echo "host=$sock dbname=tulay user=tulay_app" ;;
	owner) echo "host=$sock dbname=tulay user=tulay" ;;
	*)
		echo "pg-cluster: conninfo takes app or owner" >&2
		exit 64
		;;
	esac
	;;
standby)
	sync=false
	case "${4:-}" in
	'') ;;
	--sync) sync=true ;;
	*)
		echo "pg-cluster: standby takes PRIMARY_DIR DIR [--sync], not '$4'" >&2
		exit 64
		;;
	esac
	fail() {
		echo "pg-cluster: standby: $*" >&2
		exit 1
	}
	[[ -f "$primary/data/PG_VERSION" ]] ||
		fail "no cluster in $primary (scripts/pg-cluster.sh start $primary makes one)"
	primary=$(cd "$primary" && pwd)
	psock="$primary/run"
	[[ "$primary" != "$dir" ]] || fail "the standby needs a directory of its own, not $primary"
	running "$primary/data" ||
		fail "the primary in $primary is not running: scripts/pg-cluster.sh start $primary"
	[[ $(sql "$psock" -c "SELECT pg_is_in_recovery()") == f ]] ||
		fail "$primary is a standby itself: give the primary's directory"
	# [a-z0-9_] only: safe inside the SQL below, and a valid slot name.
	name=$(basename "$dir" | tr '[:upper:]' '[:lower:]' | sed 's/[^a-z0-9_]/_/g' | cut -c 1-63)
	if [[ -f "$data/PG_VERSION" ]]; then
		# Made before: start it again if need be (and set --sync below).
		[[ -f "$data/standby.signal" ]] ||
			fail "$dir already holds a cluster that is no standby: give an empty directory"
	else
		# PostgreSQL's own checks, named, rather than pg_basebackup's errors.
		[[ $(sql "$psock" -c "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'local'
			AND database && ARRAY['replication'] AND auth_method = 'trust'
			AND error IS NULL") != 0 ]] ||
			fail "the primary's pg_hba.conf has no 'local replication all trust' line: add" \
				"it to $primary/data/pg_hba.conf and reload (pg_ctl reload)"
		active=$(sql "$psock" \
			-c "SELECT active FROM pg_replication_slots WHERE slot_name = '$name'")
		if [[ "$active" == t ]]; then
			fail "a standby named $name streams from $primary already: give DIR another" \
				"last component"
		elif [[ "$active" == f ]]; then
			fail "the primary keeps a replication slot named $name for a standby that is" \
				"not connected. If that standby is gone for good, drop its slot and run" \
				"this again:"$'\n'"  $bindir/psql -h $psock -U postgres -c" \
				"\"SELECT pg_drop_replication_slot('$name')\""$'\n'"else give DIR another" \
				"last component"
		fi
		mkdir -p "$sock"
		chmod 0700 "$dir" "$sock"
		((EUID == 0)) && chown -R tulay-pg:tulay-pg "$dir"
		# A slot that keeps WAL for a standby that never comes back would fill the
		# primary's disk: cap it, unless someone has set a cap already.
		if [[ $(sql "$psock" -c "SHOW max_slot_wal_keep_size") == -1 ]]; then
			sql "$psock" -c "ALTER SYSTEM SET max_slot_wal_keep_size = '4GB'" \
				-c "SELECT pg_reload_conf()" >/dev/null
		fi
		# A fast checkpoint: the default spreads it over minutes. -R writes
		# primary_conninfo (with the application_name) and primary_slot_name into
		# postgresql.auto.conf and creates standby.signal.
		pg "$bindir/pg_basebackup" --pgdata="$data" --write-recovery-conf \
			--dbname="host=$psock user=postgres application_name=$name" \
			--wal-method=stream --create-slot --slot="$name" --checkpoint=fast \
			--no-password >"$dir/basebackup.log" 2>&1 || {
			cat "$dir/basebackup.log" >&2
			fail "pg_basebackup failed (its output above)"
		}
		# The copy names the primary's socket directory: the standby gets its own. And
		# no synchronous standby of its own: promoted, it would wait for ever for one.
		{
			echo "# scripts/pg-cluster.sh standby: a socket of its own, no synchronous standby"
			echo "unix_socket_directories = '$sock'"
			echo "synchronous_standby_names = ''"
		} >>"$data/postgresql.auto.conf"
	fi
	pg_start
	streaming() {
		[[ $(sql "$psock" -c "SELECT count(*) FROM pg_stat_replication
			WHERE application_name = '$name' AND state = 'streaming'") == 1 ]]
	}
	wait_for 60 streaming || {
		tail -n 20 "$log" >&2
		fail "the standby in $dir started but does not stream from $primary within 60 s" \
			"(its log above, all of it in $log)"
	}
	what="asynchronous"
	if $sync; then
		sql "$psock" -c "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (\"$name\")'" \
			-c "SELECT pg_reload_conf()" >/dev/null
		synchronous() {
			[[ $(sql "$psock" -c "SELECT sync_state FROM pg_stat_replication
				WHERE application_name = '$name'") == sync ]]
		}
		wait_for 60 synchronous ||
			fail "the primary does not list $name as its synchronous standby within 60 s"
		what="synchronous"
		if [[ $(sql "$psock" -c "SHOW synchronous_commit") == off ]]; then
			echo "pg-cluster: note: the primary has synchronous_commit = off (a --fast" \
				"cluster): its commits do not wait for the standby" >&2
		fi
	fi
	echo "pg-cluster: $dir is a hot standby of $primary, streaming ($what; name $name)"
	waits_for=$(sql "$psock" -c "SHOW synchronous_standby_names")
	if ! $sync && [[ -n "$waits_for" ]]; then
		echo "pg-cluster: note: the primary's commits wait for the synchronous standby" \
			"$waits_for (synchronous_standby_names)" >&2
	fi
	;;
promote)
	[[ -f "$data/PG_VERSION" ]] || {
		echo "pg-cluster: promote: no cluster in $dir" >&2
		exit 1
	}
	[[ -f "$data/standby.signal" ]] || {
		echo "pg-cluster: promote: $dir is no standby (no standby.signal): nothing to promote" >&2
		exit 1
	}
	running "$data" || {
		echo "pg-cluster: promote: the standby in $dir is not running: start it first" \
			"(scripts/pg-cluster.sh start $dir)" >&2
		exit 1
	}
	pg "$bindir/pg_ctl" --pgdata="$data" --wait --timeout=60 promote >/dev/null || {
		tail -n 20 "$log" >&2
		echo "pg-cluster: promote: pg_ctl promote failed (the log above)" >&2
		exit 1
	}
	[[ $(sql "$sock" -c "SELECT pg_is_in_recovery()") == f ]] || {
		echo "pg-cluster: promote: $dir is still in recovery after pg_ctl promote" >&2
		exit 1
	}
	echo "pg-cluster: $dir is a primary now, taking writes"
	;;
*)
	echo "pg-cluster: unknown command '$cmd'" >&2
	exit 64
	;;
esac

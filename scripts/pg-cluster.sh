#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory of our own: no system service, no TCP port,
# only a Unix socket inside the directory.
#
#   scripts/pg-cluster.sh start DIR [--fast]   create (first time) and start; --fast turns
#                                              off fsync, for throwaway test clusters
#   scripts/pg-cluster.sh stop DIR             stop (fast shutdown)
#   scripts/pg-cluster.sh status DIR
#   scripts/pg-cluster.sh conninfo DIR [app|owner]
#                                              print the libpq connection string of the
#                                              tulay database for tulayd (app, the default)
#                                              or for migrations and bootstrap (owner)
#   scripts/pg-cluster.sh bindir               print the directory of PostgreSQL's programs
#                                              (psql there, not Debian's Perl wrapper in
#                                              /usr/bin, which costs 50 ms a call)
#
# PostgreSQL refuses to run as root. When run as root, the cluster belongs to the
# unprivileged system user "tulay-pg" (created if missing) and every PostgreSQL program
# runs as that user.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n "$cmd" && ( -n "$dir" || "$cmd" == bindir ) ]] || {
	sed -n '2,17p' "$0" >&2
	exit 64
}
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
	if ! id tulay-pg >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin tulay-pg
	fi
	run_as=(runuser -u tulay-pg --)
fi
pg() { "${run_as[@]}" "$@"; }

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
	if ! pg "$bindir/pg_ctl" --pgdata="$data" status >/dev/null 2>&1; then
		pg "$bindir/pg_ctl" --pgdata="$data" --log="$log" --wait --timeout=60 start >/dev/null || {
			tail -n 20 "$log" >&2
			exit 1
		}
	fi
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
*)
	echo "pg-cluster: unknown command '$cmd'" >&2
	exit 64
	;;
esac

# Sourced by the benchmark scripts (bulk_bench.sh, outbox_bench.sh): the build, a throwaway
# PostgreSQL cluster with fsync and synchronous_commit on, tulayd, pgbench's peer database,
# and their removal on exit. Before sourcing, set bench_name (for messages) and repo; the
# options build (a directory), do_build and keep (true or false) are read when called.
#
#   bench_build TARGET...       builds the targets in $build (configures it if needed)
#   bench_cluster PREFIX        $tmp, $pgdir, the cluster started (TULAY_BENCH_PG_SETTINGS:
#                               "name = value; ..." set on it) and migrated, $owner_db,
#                               $app_db, $password (for bench_org's users); cleanup on
#                               exit (kept with keep=true)
#   bench_org ACRONYM NAME COUNTRY USERNAME
#   bench_tulayd [ARG...]       tulayd on 127.0.0.1 (a data key of its own): $tulayd_pid,
#                               $port, the log in $tmp/tulayd.log
#   bench_peer                  the database "peer" with ../shared/bench's schema
#                               (TULAY_BENCH_PEER overrides it): $peer_dir
#   since T0                    seconds since $EPOCHREALTIME T0, to two decimals
#   psql_super ARG...           psql as the superuser, stopping at the first error

say() { echo "$bench_name: $*"; }
die() {
	echo "$bench_name: $*" >&2
	exit 1
}
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
psql_super() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir/run" -U postgres "$@"; }

bench_build() {
	mkdir -p "$build"
	build=$(cd "$build" && pwd)
	tulayd="$build/server/tulayd"
	tulay="$build/client/tulay"
	local target missing=false
	for target in "$@"; do
		[[ -x "$build/server/$target" || -x "$build/client/$target" || -x "$build/bench/$target" ]] ||
			missing=true
	done
	if $do_build || $missing; then
		[[ -f "$build/CMakeCache.txt" ]] ||
			cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
		cmake --build "$build" -j"$(nproc)" --target "$@" >/dev/null
	fi
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[[ -x "$bindir/psql" ]] || die "PostgreSQL not found: run scripts/install-deps.sh"
}

bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "${tulayd_pid:-}" ]]; then
		kill -TERM "$tulayd_pid" 2>/dev/null || true
		wait "$tulayd_pid" 2>/dev/null || true
	fi
	if $keep; then
		say "kept: $pgdir (stop: $repo/scripts/pg-cluster.sh stop $pgdir && rm -rf $tmp)"
	else
		"$repo/scripts/pg-cluster.sh" stop "$pgdir" >/dev/null 2>&1 || true
		rm -rf "$tmp"
	fi
	exit "$rc"
}

bench_cluster() {
	# Under /tmp: the socket path must stay short. As root the cluster belongs to an
	# unprivileged user (scripts/pg-cluster.sh), who must be let into the directory.
	tmp=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 0711 "$tmp"
	pgdir="$tmp/pg"
	tulayd_pid=
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	"$repo/scripts/pg-cluster.sh" start "$pgdir" >/dev/null
	local s
	for s in fsync synchronous_commit; do
		[[ "$(psql_super -d postgres -At -c "SHOW $s")" == on ]] || die "$s is not on"
	done
	# TULAY_BENCH_PG_SETTINGS: settings for a look inside, e.g. "session_preload_libraries =
	# 'auto_explain'; auto_explain.log_min_duration = '20ms'" (the log: $pgdir/postgres.log).
	if [[ -n "${TULAY_BENCH_PG_SETTINGS:-}" ]]; then
		local setting sql=
		# A module's settings are known once it is loaded (auto_explain.*).
		[[ $TULAY_BENCH_PG_SETTINGS != *auto_explain.* ]] || sql="LOAD 'auto_explain';"
		IFS=';' read -ra settings <<<"$TULAY_BENCH_PG_SETTINGS"
		for setting in "${settings[@]}"; do
			sql+=" ALTER SYSTEM SET $setting;"
		done
		psql_super -d postgres <<<"$sql SELECT pg_reload_conf();" >/dev/null
		say "with $TULAY_BENCH_PG_SETTINGS"
	fi
	owner_db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" owner)
	app_db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" app)
	export TULAY_MIGRATIONS="$repo/migrations"
	"$tulayd" migrate up --db "$owner_db" >"$tmp/migrate.log" 2>&1 || die "migrating failed"
	password="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
	"$tulayd" keygen "$tmp/data.key" >/dev/null
}

bench_org() {
	"$tulayd" org add --db "$owner_db" --acronym "$1" --kind ngo --country "$3" \
		--name "$2" >/dev/null
	TULAY_NEW_PASSWORD=$password "$tulayd" user add --db "$owner_db" --org "$1" \
		--username "$4" --role field_officer >/dev/null
}

bench_tulayd() {
	TULAY_DB="$app_db" TULAY_DATA_KEY_FILE="$tmp/data.key" "$tulayd" --listen 127.0.0.1 \
		--port 0 "$@" </dev/null >"$tmp/tulayd.log" 2>&1 &
	tulayd_pid=$!
	local _
	for _ in $(seq 300); do
		grep -q 'event=listening' "$tmp/tulayd.log" &&
			grep -q 'event=db_conn_ready' "$tmp/tulayd.log" && break
		kill -0 "$tulayd_pid" 2>/dev/null || { cat "$tmp/tulayd.log" >&2; die "tulayd stopped"; }
		sleep 0.1
	done
	port=$(grep -m1 'event=listening' "$tmp/tulayd.log" | sed -E 's/.* port=([0-9]+).*/\1/')
	[[ -n "$port" ]] || die "tulayd did not start listening (log: $tmp/tulayd.log)"
}

bench_peer() {
	peer_dir="${TULAY_BENCH_PEER:-$repo/../shared/bench}"
	psql_super -d postgres -c "CREATE DATABASE peer OWNER tulay"
	"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir/run" -U tulay -d peer \
		-f "$peer_dir/pgbench_claim_schema.sql" >/dev/null
}

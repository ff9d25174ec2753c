#!/usr/bin/env bash
# The report benchmark (issue 5): how fast tulayd answers a network coordinator's claims
# reports from its rollups, beside the same aggregation computed from the raw tables.
#
#   bench/report_bench.sh [--claims N] [--orgs N] [--iterations N] [--raw-iterations N]
#                         [--writers N] [--build DIR] [--no-build] [--raw-only] [--keep]
#
#   --claims N          wage-theft claims to seed (default 1000000)
#   --orgs N            organisations, the top network included (default 200, at least 3)
#   --iterations N      timed GetReports per grouping, after one warm-up (default 30)
#   --raw-iterations N  timed raw queries per grouping, after one warm-up (default: as
#                       --iterations, at most 10: at a million claims each takes seconds)
#   --writers N         while the reports are timed, N clients keep creating claims
#                       through the same tulayd (bench/claim_bench), in an organisation
#                       outside the network's scope so that every report can still be
#                       checked exactly against the raw tables; their rate is printed
#                       (default 0: no writers)
#   --build DIR         the build directory with server/tulayd and bench/report_bench
#                       (default: build in the repository); configured and built there if
#                       they are missing, else brought up to date (incrementally) unless
#                       --no-build
#   --raw-only          seed and time the raw queries only: no report_rebuild(), no tulayd
#   --keep              leave the cluster running afterwards, seeded and rebuilt (tulayd and
#                       the writers are stopped), and say how to reach and remove it: to
#                       look into one report's plan without seeding again
#
# Run it from anywhere, e.g. `bench/report_bench.sh` (a million claims: a minute of
# seeding, 5-8 minutes of report_rebuild(), then about 3 minutes of timing on 2 cores,
# nearly all of it the raw queries) or
# `bench/report_bench.sh --claims 2000 --orgs 30 --iterations 3` (a few seconds: the
# ctest bench_report_smoke, label bench). It needs what scripts/install-deps.sh installs,
# and the reports migration (report_scope, report_rebuild, report_cells) and GetReport
# handler of issue 5; --raw-only needs only report_scope. It:
#
#   1. starts a throwaway PostgreSQL cluster in /tmp/tulay-bench.XXXXXX (scripts/pg-cluster.sh
#      --fast: no fsync during the load, turned on with synchronous_commit and
#      full_page_writes, and a CHECKPOINT, before anything is timed; plus shared_buffers
#      1GB, work_mem 64MB and no checkpoints during the load), migrates it as the owner (tulayd migrate up; TULAY_MIGRATIONS overrides
#      the directory), and registers the top network REGNET with a coordinator,
#      regnet.coord (tulayd org add, tulayd user add, a random password);
#   2. seeds, as the PostgreSQL superuser with triggers off, the rest of the network and
#      the claims (bench/report_seed.sql: national networks of MY, TH, SG, HK and origin
#      countries under REGNET, NGOs and unions under them, claims over 2017-2026 with
#      skewed corridors, sectors, employers, agencies, statuses and amounts), then
#      VACUUM (ANALYZE) and SELECT report_rebuild(), and prints how long each took and
#      the rows and sizes of the tables;
#   3. starts tulayd (plaintext on 127.0.0.1, a free port, as tulay_app) and runs
#      report_bench as regnet.coord: per grouping of its mix (corridor x quarter, sector x
#      year, status, ..., with date ranges and filters) the GetReport latency p50 and p95,
#      the rollup that served it and its cells, beside p50 and p95 of the same SELECT on
#      cases and wage_theft_claims over report_scope(REGNET) through libpq as the owner;
#      then both over the whole mix, whether the report p95 met the 50 ms target, and the
#      check that every report total and unsuppressed cell equals the raw tables';
#   4. stops tulayd and PostgreSQL and removes the temporary directory, also on failure
#      or Ctrl-C.
#
# Exit status: 0 when everything ran and every report agreed with the raw tables; 1
# otherwise (the log of whatever failed is shown); 2 for bad options. Missing the latency
# target is reported, not a failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

claims=1000000
orgs=200
iterations=30
raw_iterations=
build="$repo/build"
writers=0
do_build=true
raw_only=false
keep=false
top=REGNET
coordinator=regnet.coord

say() { echo "report_bench: $*"; }
die() {
	echo "report_bench: $*" >&2
	exit 2
}
number() { # number OPTION VALUE MIN MAX
	if ! [[ "$2" =~ ^[0-9]{1,9}$ ]] || ((10#$2 < $3 || 10#$2 > $4)); then
		die "$1: give a number from $3 to $4"
	fi
}
while (($# > 0)); do
	case "$1" in
	--claims | --orgs | --iterations | --raw-iterations | --writers | --build)
		(($# >= 2)) || die "$1 needs a value"
		case "$1" in
		--claims) number "$1" "$2" 1 100000000 && claims=$2 ;;
		--orgs) number "$1" "$2" 3 100000 && orgs=$2 ;;
		--iterations) number "$1" "$2" 1 100000 && iterations=$2 ;;
		--raw-iterations) number "$1" "$2" 1 100000 && raw_iterations=$2 ;;
		--writers) number "$1" "$2" 0 64 && writers=$2 ;;
		--build) build=$2 ;;
		esac
		shift 2
		;;
	--no-build) do_build=false && shift ;;
	--raw-only) raw_only=true && shift ;;
	--keep) keep=true && shift ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done

# --- build --------------------------------------------------------------------------------
mkdir -p "$build"
build=$(cd "$build" && pwd)
if [[ -n "${TULAY_MIGRATIONS:-}" ]]; then
	TULAY_MIGRATIONS=$(cd "$TULAY_MIGRATIONS" && pwd) || die "TULAY_MIGRATIONS: no such directory"
fi
cd "$repo"
tulayd="$build/server/tulayd"
bench="$build/bench/report_bench"
claim_bench="$build/bench/claim_bench"
if [[ ! -x "$tulayd" || ! -x "$bench" || ! -x "$claim_bench" ]] || $do_build; then
	if [[ ! -f "$build/CMakeCache.txt" ]]; then
		say "configuring $build"
		cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/bench-build.log" 2>&1 || {
			cat "$build/bench-build.log" >&2
			exit 1
		}
	fi
	cmake --build "$build" -j"$(nproc)" --target tulayd report_bench claim_bench \
		>"$build/bench-build.log" 2>&1 || {
		cat "$build/bench-build.log" >&2
		echo "report_bench: the build in $build failed (log above)" >&2
		exit 1
	}
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$bindir/psql" ]] || die "PostgreSQL not found: run scripts/install-deps.sh"

# --- a throwaway cluster, removed on exit ---------------------------------------------------
# The socket path must stay short (108 bytes), so everything lives under /tmp. The cluster
# directory belongs to an unprivileged user when we run as root: the parent must let it in.
tmp=$(mktemp -d /tmp/tulay-bench.XXXXXX)
chmod 0711 "$tmp"
pgdir="$tmp/pg"
tulayd_pid=
writers_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$writers_pid" ]]; then
		kill -TERM "$writers_pid" 2>/dev/null || true
		wait "$writers_pid" 2>/dev/null || true
	fi
	if [[ -n "$tulayd_pid" ]] && kill -0 "$tulayd_pid" 2>/dev/null; then
		kill -TERM "$tulayd_pid" 2>/dev/null || true
		for _ in $(seq 200); do
			kill -0 "$tulayd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$tulayd_pid" 2>/dev/null || true
		wait "$tulayd_pid" 2>/dev/null || true
	fi
	if $keep && [[ -f "$pgdir/data/PG_VERSION" ]]; then
		echo "report_bench: the cluster is still running in $pgdir:"
		echo "  $bindir/psql -h $pgdir/run -U postgres tulay"
		echo "  $coordinator's password is in $tmp/coordinator.password"
		echo "  stop it: $repo/scripts/pg-cluster.sh stop $pgdir && rm -rf $tmp"
	else
		"$repo/scripts/pg-cluster.sh" stop "$pgdir" >/dev/null 2>&1 || true
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Seconds since $1 (an $EPOCHREALTIME), to one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
# psql as the superuser on the tulay database, quiet, stopping at the first error.
psql_super() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir/run" -U postgres -d tulay "$@"; }
fail_with_log() { # fail_with_log FILE MESSAGE
	cat "$1" >&2
	echo "report_bench: $2" >&2
	exit 1
}

say "PostgreSQL cluster in $pgdir"
"$repo/scripts/pg-cluster.sh" start "$pgdir" --fast
for setting in "shared_buffers = '1GB'" "work_mem = '64MB'" "maintenance_work_mem = '512MB'" \
	"max_wal_size = '16GB'" "checkpoint_timeout = '1h'"; do
	psql_super -d postgres -c "ALTER SYSTEM SET $setting"
done
"$repo/scripts/pg-cluster.sh" stop "$pgdir"
"$repo/scripts/pg-cluster.sh" start "$pgdir"
owner_db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" owner)
app_db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" app)

export TULAY_MIGRATIONS="${TULAY_MIGRATIONS:-$repo/migrations}"
"$tulayd" migrate up --db "$owner_db" >"$tmp/migrate.log" 2>&1 ||
	fail_with_log "$tmp/migrate.log" "migrating failed"
say "migrated: $(tail -n 1 "$tmp/migrate.log")"
password="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
if $keep; then
	(umask 077 && echo "$password" >"$tmp/coordinator.password")
fi
{
	"$tulayd" org add --db "$owner_db" --acronym "$top" --kind network --country TH \
		--name "Regional Migrant Rights Network (benchmark)" &&
		TULAY_NEW_PASSWORD="$password" "$tulayd" user add --db "$owner_db" --org "$top" \
			--username "$coordinator" --role coordinator
} >"$tmp/bootstrap.log" 2>&1 || fail_with_log "$tmp/bootstrap.log" "bootstrap failed"

# --- seed -------------------------------------------------------------------------------------
say "seeding $claims claims over $orgs organisations (bench/report_seed.sql)"
t0=$EPOCHREALTIME
psql_super -v claims="$claims" -v orgs="$orgs" -v top="$top" -v coordinator="$coordinator" \
	-f "$repo/bench/report_seed.sql" >"$tmp/seed.log" 2>&1 ||
	fail_with_log "$tmp/seed.log" "seeding failed"
seed_s=$(since "$t0")
t0=$EPOCHREALTIME
psql_super -c "VACUUM (ANALYZE)" >"$tmp/analyze.log" 2>&1 ||
	fail_with_log "$tmp/analyze.log" "VACUUM (ANALYZE) failed"
analyze_s=$(since "$t0")
rebuild_s=-
if ! $raw_only; then
	t0=$EPOCHREALTIME
	psql_super -c "SELECT report_rebuild()" >"$tmp/rebuild.log" 2>&1 ||
		fail_with_log "$tmp/rebuild.log" \
			"SELECT report_rebuild() failed (is migration 0011_reports.sql there?)"
	rebuild_s=$(since "$t0")
	psql_super -c "ANALYZE report_cells" >/dev/null
fi
say "seeded the raw tables in $seed_s s, VACUUM (ANALYZE) in $analyze_s s," \
	"report_rebuild() in $rebuild_s s"
# Loaded without fsync; timed durably, as every benchmark is: writers (--writers) then
# wait for their commits to reach the disk, as they would in service. The CHECKPOINT
# writes what the load left in memory, so none of it lands in the measurement.
for setting in "fsync = on" "synchronous_commit = on" "full_page_writes = on"; do
	psql_super -d postgres -c "ALTER SYSTEM SET $setting" >/dev/null
done
psql_super -d postgres -c "SELECT pg_reload_conf()" >/dev/null
psql_super -d postgres -c "CHECKPOINT" >/dev/null
say "timed with $(psql_super -d postgres -At -c "SELECT string_agg(name || '=' || setting, ', '
	ORDER BY name) FROM pg_settings
	WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')")"

tables="organisations memberships users cases wage_theft_claims"
$raw_only || tables="$tables report_cells"
counts=
i=0
for t in $tables; do
	counts+="${counts:+ UNION ALL }SELECT $((i++)) AS i, '$t' AS t, count(*) AS n,
	         pg_size_pretty(pg_total_relation_size('$t')) AS size FROM $t"
done
psql_super -P footer=off -c "SELECT t AS \"table\", n AS \"rows\",
                                   size AS \"size, indexes included\"
                              FROM ($counts) counts ORDER BY i" | sed -e '/^$/d' -e 's/^/  /'
echo

# --- tulayd and the benchmark ---------------------------------------------------------------
bench_args=(--db "$owner_db" --network "$top" --iterations "$iterations")
[[ -n "$raw_iterations" ]] && bench_args+=(--raw-iterations "$raw_iterations")
if $raw_only; then
	bench_args+=(--raw-only)
else
	"$tulayd" keygen "$tmp/data.key" >/dev/null
	# Exact figures (a setting for tests only), as every report is checked against SQL.
	TULAY_DB="$app_db" TULAY_DATA_KEY_FILE="$tmp/data.key" TULAY_TESTING=1 \
		TULAY_REPORT_PERTURBATION=0 "$tulayd" --listen 127.0.0.1 --port 0 \
		--db-connections $((2 + (writers < 14 ? writers : 14))) </dev/null >"$tmp/tulayd.log" 2>&1 &
	tulayd_pid=$!
	for _ in $(seq 200); do
		grep -q 'event=listening' "$tmp/tulayd.log" && grep -q 'event=db_conn_ready' "$tmp/tulayd.log" &&
			break
		kill -0 "$tulayd_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'event=db_conn_ready' "$tmp/tulayd.log" ||
		fail_with_log "$tmp/tulayd.log" "tulayd did not start"
	port=$(grep -m1 'event=listening' "$tmp/tulayd.log" | sed -E 's/.* port=([0-9]+).*/\1/')
	bench_args+=(--server "127.0.0.1:$port" --username "$coordinator")
	say "tulayd on 127.0.0.1:$port"
	if ((writers > 0)); then
		# Writers outside the network's scope: the reports' figures stay fixed, so they
		# are still checked exactly, while tulayd and PostgreSQL carry the write load
		# (appends, the sealer, the folder) and the reports read past its deltas.
		{
			"$tulayd" org add --db "$owner_db" --acronym WRITERS --kind ngo --country MY \
				--name "Benchmark writers (outside the network)" &&
				TULAY_NEW_PASSWORD="$password" "$tulayd" user add --db "$owner_db" \
					--org WRITERS --username bench.writer --role field_officer
		} >>"$tmp/bootstrap.log" 2>&1 || fail_with_log "$tmp/bootstrap.log" "adding the writers failed"
		TULAY_BENCH_PASSWORD="$password" "$claim_bench" --server "127.0.0.1:$port" \
			--user WRITERS:bench.writer --op create --clients "$writers" --seconds 86400 \
			--allow-errors </dev/null >"$tmp/writers.log" 2>&1 &
		writers_pid=$!
		sleep 2
		kill -0 "$writers_pid" 2>/dev/null || fail_with_log "$tmp/writers.log" "the writers did not start"
		say "$writers writers creating claims in WRITERS meanwhile"
	fi
fi
rc=0
TULAY_BENCH_PASSWORD="$password" "$bench" "${bench_args[@]}" </dev/null || rc=$?
if [[ -n "$writers_pid" ]]; then
	kill -TERM "$writers_pid" 2>/dev/null || true
	wait "$writers_pid" 2>/dev/null || true
	writers_pid=
	say "writers during the reports: $(grep -m1 '^op=create' "$tmp/writers.log" || tail -n 3 "$tmp/writers.log")"
fi
if ((rc != 0)) && [[ -n "$tulayd_pid" ]]; then
	echo "report_bench: the last lines of tulayd's log:" >&2
	tail -n 15 "$tmp/tulayd.log" >&2
fi
exit "$rc"

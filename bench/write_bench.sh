#!/usr/bin/env bash
# The write benchmark (issue 11): how many claims tulayd writes per second, with fsync and
# synchronous_commit on, beside PostgreSQL's own limit for the same row measured by
# pgbench on the same cluster in the same run.
#
#   bench/write_bench.sh [--seconds S] [--rounds R] [--quick] [--prefill N] [--orgs N]
#                        [--depth D] [--db-connections N] [--commit-delay US]
#                        [--commit-siblings N] [--tulayd-args "ARGS"] [--build DIR]
#                        [--no-build] [--keep]
#
#   --seconds S          seconds per measurement (default 8; --quick: 1)
#   --rounds R           rounds per measurement (default 2; --quick: 1): round 1 runs
#                        tulay then pgbench, round 2 pgbench then tulay, and so on, so
#                        two rounds are tulay, pgbench, pgbench, tulay
#   --quick              a few seconds of measuring, for ctest (bench_write_smoke):
#                        CreateClaim at 4 clients for one organisation and at 16 for all,
#                        GetClaim and ListClaims at 4, the prefill comparison at 4
#   --prefill N          also compare CreateClaim at 16 clients into an organisation
#                        holding N claims with one holding none (default 0: no comparison)
#   --orgs N             organisations with one field officer each (default 16)
#   --depth D            requests in flight per tulay connection (default 1)
#   --db-connections N   tulayd's PostgreSQL connections (default: tulayd's own, this
#                        machine's processors, 2 to 8: requests that wait for a connection
#                        are sent together, merged where they can be)
#   --commit-delay US    PostgreSQL's commit_delay, in microseconds (group commit
#                        experiments; default: PostgreSQL's 0); commit_siblings is then
#                        --commit-siblings (default: PostgreSQL's 5)
#   --tulayd-args "ARGS" more tulayd flags, split on spaces (e.g.
#                        "--db-queue-timeout-ms 10000")
#   --build DIR          the build directory with server/tulayd and bench/claim_bench
#                        (default: build in the repository); configured and built there if
#                        missing, else brought up to date unless --no-build
#   --keep               leave the cluster running afterwards (tulayd is stopped), and say
#                        where it is and how to stop it
#
# Run it from anywhere, as root or not (as root PostgreSQL runs as the user tulay-pg, see
# scripts/pg-cluster.sh; tulayd, claim_bench and pgbench run as root and reach PostgreSQL
# through its socket). It needs what scripts/install-deps.sh installs (pgbench comes with
# Debian's postgresql-15) and ../shared/bench beside the repository (pgbench_claim.sql and
# its schema; TULAY_BENCH_PEER overrides the directory). It:
#
#   1. starts a throwaway PostgreSQL cluster in /tmp/tulay-bench.XXXXXX WITHOUT --fast:
#      fsync, synchronous_commit and full_page_writes stay on (checked and printed, with
#      the other settings that matter), max_connections raised to fit tulayd and the
#      largest pgbench, commit_delay set if asked;
#   2. migrates (tulayd migrate up; TULAY_MIGRATIONS overrides the directory), registers
#      BENCH01..BENCHnn with one field officer each (bench01..; random passwords through
#      TULAY_NEW_PASSWORD), and with --prefill BENCH-EMPTY and BENCH-FULL (bench-empty,
#      bench-full); a data key (tulayd keygen); loads the peer schema into a database
#      "peer" of the same cluster;
#   3. with --prefill N, creates N claims for BENCH-FULL through create_wage_theft_claim,
#      the function CreateClaim calls (bench/claim_prefill.sql, one transaction per
#      claim), then VACUUM (ANALYZE);
#   4. starts tulayd (plaintext on 127.0.0.1, a free port, as tulay_app); with --prefill,
#      waits until its chores have sealed the prefill's audit rows and folded its report
#      deltas, then VACUUM (ANALYZE), so that the rows measure the steady state and not
#      that backlog and the autovacuum after it; and measures, in interleaved rounds: CreateClaim (bench/claim_bench) at 1, 4, 16 and 64 clients for
#      one organisation (BENCH01) and at 16 and 64 clients spread over all of them, each
#      beside pgbench -n -M prepared -c C -j 2 -T S -f pgbench_claim.sql peer at the same
#      C; GetClaim and ListClaims at 16 clients over all organisations (no pgbench
#      counterpart); with --prefill, CreateClaim at 16 clients into BENCH-EMPTY and into
#      BENCH-FULL, alternating (empty, full, full, empty); an ANALYZE of the tulay
#      database before each group, as autovacuum keeps a database in service (here the
#      tables grow faster than it follows, and plans made on the empty tables would stay);
#      and a CHECKPOINT before every measurement, tulay's and pgbench's alike, so that a
#      checkpoint set off by the WAL of earlier rounds never lands in one side's
#      measurement only (one did, in the middle of a 16-organisation round);
#   5. prints the table (bench/README.md explains the columns) and stops tulayd and
#      PostgreSQL and removes the temporary directory, also on failure or Ctrl-C.
#
# A run of C clients spans at most C organisations (each connection is one user's
# session), so the spread-out CreateClaim rows start at 16 clients.
#
# Exit status: 0 when everything ran and every request succeeded; 1 when something failed
# or any tulay request or pgbench transaction failed (the table is printed first, with
# the errors by code); 2 for bad options. Rates are reported, never judged.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

seconds=
rounds=
quick=false
prefill=0
orgs=16
depth=1
processors=$(nproc)
db_connections=$((processors < 2 ? 2 : processors > 8 ? 8 : processors))
commit_delay=
commit_siblings=
tulayd_args=
build="$repo/build"
do_build=true
keep=false
peer_dir=${TULAY_BENCH_PEER:-$repo/../shared/bench}

say() { echo "write_bench: $*"; }
die() {
	echo "write_bench: $*" >&2
	exit 2
}
number() { # number OPTION VALUE MIN MAX
	if ! [[ "$2" =~ ^[0-9]{1,9}$ ]] || ((10#$2 < $3 || 10#$2 > $4)); then
		die "$1: give a number from $3 to $4"
	fi
}
while (($# > 0)); do
	case "$1" in
	--seconds | --rounds | --prefill | --orgs | --depth | --db-connections | --commit-delay | \
		--commit-siblings | --tulayd-args | --build)
		(($# >= 2)) || die "$1 needs a value"
		case "$1" in
		--seconds) number "$1" "$2" 1 3600 && seconds=$((10#$2)) ;;
		--rounds) number "$1" "$2" 1 100 && rounds=$((10#$2)) ;;
		--prefill) number "$1" "$2" 0 10000000 && prefill=$((10#$2)) ;;
		--orgs) number "$1" "$2" 1 64 && orgs=$((10#$2)) ;;
		--depth) number "$1" "$2" 1 32 && depth=$((10#$2)) ;;
		--db-connections) number "$1" "$2" 1 64 && db_connections=$((10#$2)) ;;
		--commit-delay) number "$1" "$2" 0 100000 && commit_delay=$((10#$2)) ;;
		--commit-siblings) number "$1" "$2" 0 1000 && commit_siblings=$((10#$2)) ;;
		--tulayd-args) tulayd_args=$2 ;;
		--build) build=$2 ;;
		esac
		shift 2
		;;
	--quick) quick=true && shift ;;
	--no-build) do_build=false && shift ;;
	--keep) keep=true && shift ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
[[ -n "$commit_siblings" && -z "$commit_delay" ]] && die "--commit-siblings goes with --commit-delay"
if $quick; then
	seconds=${seconds:-1}
	rounds=${rounds:-1}
else
	seconds=${seconds:-8}
	rounds=${rounds:-2}
fi
[[ -f "$peer_dir/pgbench_claim.sql" && -f "$peer_dir/pgbench_claim_schema.sql" ]] ||
	die "no pgbench_claim.sql and pgbench_claim_schema.sql in $peer_dir (set TULAY_BENCH_PEER)"
peer_dir=$(cd "$peer_dir" && pwd)

# What is measured: "label|op|clients|orgs|users file|pgbench?" (the users files are
# written below). The spread-out rows need as many clients as organisations.
if $quick; then
	create_clients=(4)
	spread_clients=(16)
	read_clients=4
	prefill_clients=4
else
	create_clients=(1 4 16 64)
	spread_clients=(16 64)
	read_clients=16
	prefill_clients=16
fi
max_clients=64
((orgs <= max_clients)) || die "--orgs: at most $max_clients"

# --- build --------------------------------------------------------------------------------
mkdir -p "$build"
build=$(cd "$build" && pwd)
if [[ -n "${TULAY_MIGRATIONS:-}" ]]; then
	TULAY_MIGRATIONS=$(cd "$TULAY_MIGRATIONS" && pwd) || die "TULAY_MIGRATIONS: no such directory"
fi
cd "$repo"
tulayd="$build/server/tulayd"
bench="$build/bench/claim_bench"
if [[ ! -x "$tulayd" || ! -x "$bench" ]] || $do_build; then
	if [[ ! -f "$build/CMakeCache.txt" ]]; then
		say "configuring $build"
		cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/bench-build.log" 2>&1 || {
			cat "$build/bench-build.log" >&2
			exit 1
		}
	fi
	cmake --build "$build" -j"$(nproc)" --target tulayd claim_bench \
		>"$build/bench-build.log" 2>&1 || {
		cat "$build/bench-build.log" >&2
		echo "write_bench: the build in $build failed (log above)" >&2
		exit 1
	}
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$bindir/psql" && -x "$bindir/pgbench" ]] ||
	die "PostgreSQL (psql, pgbench) not found: run scripts/install-deps.sh"

# --- a throwaway cluster, removed on exit ---------------------------------------------------
# The socket path must stay short (108 bytes), so everything lives under /tmp. The cluster
# directory belongs to an unprivileged user when we run as root: the parent must let it in.
tmp=$(mktemp -d /tmp/tulay-bench.XXXXXX)
chmod 0711 "$tmp"
pgdir="$tmp/pg"
tulayd_pid=
child= # the claim_bench, pgbench or psql running now
stop_tulayd() {
	[[ -n "$tulayd_pid" ]] || return 0
	if kill -0 "$tulayd_pid" 2>/dev/null; then
		kill -TERM "$tulayd_pid" 2>/dev/null || true
		for _ in $(seq 200); do
			kill -0 "$tulayd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$tulayd_pid" 2>/dev/null || true
	fi
	wait "$tulayd_pid" 2>/dev/null || true
	tulayd_pid=
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	stop_tulayd
	if $keep && [[ -f "$pgdir/data/PG_VERSION" ]]; then
		echo "write_bench: the cluster is still running in $pgdir:"
		echo "  $bindir/psql -h $pgdir/run -U tulay tulay   (and the database peer)"
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

# Runs a command in the background and waits for it, so that a signal reaches our trap at
# once and cleanup can stop the command (a background command ignores the terminal's
# SIGINT, so it is stopped only by us).
run_child() {
	local rc=0
	"$@" &
	child=$!
	wait "$child" || rc=$?
	child=
	return "$rc"
}
# Seconds since $1 (an $EPOCHREALTIME), to one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
# psql as the superuser, quiet, stopping at the first error.
psql_super() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir/run" -U postgres "$@"; }
fail_with_log() { # fail_with_log FILE MESSAGE
	cat "$1" >&2
	echo "write_bench: $2" >&2
	exit 1
}

say "PostgreSQL cluster in $pgdir (fsync on)"
"$repo/scripts/pg-cluster.sh" start "$pgdir"
max_connections=$((db_connections + max_clients + 30))
((max_connections > 100)) || max_connections=100
settings=("max_connections = $max_connections")
if [[ -n "$commit_delay" ]]; then
	settings+=("commit_delay = $commit_delay")
	[[ -n "$commit_siblings" ]] && settings+=("commit_siblings = $commit_siblings")
fi
for setting in "${settings[@]}"; do
	psql_super -d postgres -c "ALTER SYSTEM SET $setting"
done
"$repo/scripts/pg-cluster.sh" stop "$pgdir"
"$repo/scripts/pg-cluster.sh" start "$pgdir"
show() { psql_super -d postgres -At -c "SHOW $1"; }
for s in fsync synchronous_commit; do
	[[ "$(show "$s")" == on ]] || {
		echo "write_bench: $s is $(show "$s"), not on: these figures would mean nothing" >&2
		exit 1
	}
done
pg_settings=
for s in fsync synchronous_commit full_page_writes wal_sync_method commit_delay commit_siblings \
	max_connections shared_buffers max_wal_size; do
	pg_settings+="${pg_settings:+, }$s=$(show "$s")"
done
say "$(psql_super -d postgres -At -c "SELECT 'PostgreSQL ' || current_setting('server_version')"): $pg_settings"
say "data directory on $(df -PT "$pgdir" | awk 'NR == 2 { print $2 " (" $1 ")" }')"
owner_db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" owner)
app_db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" app)

# --- organisations, users, the peer database, the prefill ------------------------------------
t0=$EPOCHREALTIME
export TULAY_MIGRATIONS="${TULAY_MIGRATIONS:-$repo/migrations}"
"$tulayd" migrate up --db "$owner_db" >"$tmp/migrate.log" 2>&1 ||
	fail_with_log "$tmp/migrate.log" "migrating failed"
say "migrated: $(tail -n 1 "$tmp/migrate.log")"

# add_org ACRONYM USERNAME USERS_FILE...: the organisation, its field officer with a random
# password, and a line 'ACRONYM USERNAME PASSWORD' in each users file.
add_org() {
	local acronym=$1 username=$2 password
	shift 2
	password="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
	{
		"$tulayd" org add --db "$owner_db" --acronym "$acronym" --kind ngo --country TH \
			--name "Benchmark organisation $acronym" &&
			TULAY_NEW_PASSWORD="$password" "$tulayd" user add --db "$owner_db" \
				--org "$acronym" --username "$username" --role field_officer
	} >>"$tmp/bootstrap.log" 2>&1 || fail_with_log "$tmp/bootstrap.log" "registering $acronym failed"
	for f in "$@"; do
		echo "$acronym $username $password" >>"$f"
	done
}
(
	umask 077
	: >"$tmp/all.users"
	: >"$tmp/empty.users"
	: >"$tmp/full.users"
)
for i in $(seq 1 "$orgs"); do
	n=$(printf '%02d' "$i")
	add_org "BENCH$n" "bench$n" "$tmp/all.users"
done
if ((prefill > 0)); then
	add_org BENCH-EMPTY bench-empty "$tmp/empty.users"
	add_org BENCH-FULL bench-full "$tmp/full.users"
fi
"$tulayd" keygen "$tmp/data.key" >/dev/null
psql_super -d postgres -c "CREATE DATABASE peer OWNER tulay"
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir/run" -U tulay -d peer \
	-f "$peer_dir/pgbench_claim_schema.sql" >"$tmp/peer.log" 2>&1 ||
	fail_with_log "$tmp/peer.log" "loading $peer_dir/pgbench_claim_schema.sql failed"
say "$orgs organisations with a field officer each$( ((prefill > 0)) && echo ", BENCH-EMPTY and BENCH-FULL"), the peer database: $(since "$t0") s"

if ((prefill > 0)); then
	say "prefill: $prefill claims for BENCH-FULL through create_wage_theft_claim (bench/claim_prefill.sql)"
	t0=$EPOCHREALTIME
	run_child "$bindir/psql" -X -q -h "$pgdir/run" -U tulay -d tulay -v claims="$prefill" \
		-v org=BENCH-FULL -v username=bench-full -f "$repo/bench/claim_prefill.sql" \
		>"$tmp/prefill.log" 2>&1 </dev/null || fail_with_log "$tmp/prefill.log" "the prefill failed"
	psql_super -d tulay -c "VACUUM (ANALYZE)" >"$tmp/vacuum.log" 2>&1 ||
		fail_with_log "$tmp/vacuum.log" "VACUUM (ANALYZE) failed"
	held=$("$bindir/psql" -X -At -h "$pgdir/run" -U tulay -d tulay -c \
		"SELECT count(*) FROM cases c JOIN organisations o USING (org_id) WHERE o.acronym = 'BENCH-FULL'")
	say "prefill: BENCH-FULL holds $held claims, made in $(since "$t0") s (VACUUM (ANALYZE) included)"
fi

# --- tulayd -------------------------------------------------------------------------------------
# shellcheck disable=SC2086 # --tulayd-args is split on spaces on purpose
TULAY_DB="$app_db" TULAY_DATA_KEY_FILE="$tmp/data.key" "$tulayd" --listen 127.0.0.1 --port 0 \
	--db-connections "$db_connections" $tulayd_args </dev/null >"$tmp/tulayd.log" 2>&1 &
tulayd_pid=$!
for _ in $(seq 300); do
	(($(grep -c 'event=db_conn_ready' "$tmp/tulayd.log" || true) >= db_connections)) &&
		grep -q 'event=listening' "$tmp/tulayd.log" && break
	kill -0 "$tulayd_pid" 2>/dev/null || break
	sleep 0.1
done
grep -q 'event=listening' "$tmp/tulayd.log" && grep -q 'event=db_conn_ready' "$tmp/tulayd.log" ||
	fail_with_log "$tmp/tulayd.log" "tulayd did not start"
port=$(grep -m1 'event=listening' "$tmp/tulayd.log" | sed -E 's/.* port=([0-9]+).*/\1/')
say "tulayd on 127.0.0.1:$port, --db-connections $db_connections${tulayd_args:+ $tulayd_args}" \
	"($(git -C "$repo" describe --always --dirty 2>/dev/null || echo "unknown revision"))"

# The prefill's backlog, worked off before anything is measured: tulayd's chores seal its
# audit rows and fold its report deltas (a burst of claims no office makes in half a
# minute), and the sealer's updates and the folder's deletes leave dead rows that
# autovacuum would otherwise clean up in the middle of the first measurements. The rows
# measure the steady state; the chores' share of the work the measured claims set off
# stays in them.
if ((prefill > 0)); then
	t0=$EPOCHREALTIME
	for _ in $(seq 1200); do
		backlog=$(psql_super -d tulay -At -c "SELECT (SELECT count(*) FROM audit_log
			WHERE seq IS NULL) + (SELECT count(*) FROM report_deltas)") ||
			fail_with_log "$tmp/tulayd.log" "reading the chores' backlog failed"
		((backlog == 0)) && break
		kill -0 "$tulayd_pid" 2>/dev/null || fail_with_log "$tmp/tulayd.log" "tulayd died"
		sleep 0.5
	done
	((backlog == 0)) || fail_with_log "$tmp/tulayd.log" "the chores left $backlog rows after 10 minutes"
	psql_super -d tulay -c "VACUUM (ANALYZE)" >"$tmp/vacuum.log" 2>&1 ||
		fail_with_log "$tmp/vacuum.log" "VACUUM (ANALYZE) failed"
	say "the prefill's audit rows sealed and report deltas folded, then VACUUM (ANALYZE): $(since "$t0") s"
fi

# --- measuring ---------------------------------------------------------------------------------
# Each measurement sets m_rate, m_p99, m_errors and m_codes (CODE:N,... or -).
run_no=0
field() { sed -nE "s/^(.* )?$1=([^ ]*).*/\2/p" <<<"$2"; }

# Every measurement starts just after a checkpoint, so none pays for one that the WAL of
# earlier measurements set off (a checkpoint in progress, then a full-page image in the WAL
# for each page first written after it: tulay's claims touch more pages than pgbench's row,
# and sixteen organisations more than one). Nothing else is written in between, and one
# measurement writes far less WAL than max_wal_size, so no other checkpoint starts within.
checkpoint_now() {
	psql_super -d postgres -c "CHECKPOINT" >"$tmp/checkpoint.log" 2>&1 ||
		fail_with_log "$tmp/checkpoint.log" "CHECKPOINT failed"
}

measure_tulay() { # measure_tulay OP CLIENTS ORGS USERS_FILE
	local out="$tmp/run.$((++run_no)).out" line
	checkpoint_now
	run_child "$bench" --server "127.0.0.1:$port" --users "$4" --orgs "$3" --op "$1" \
		--clients "$2" --depth "$depth" --seconds "$seconds" --timeout-ms 60000 \
		--allow-errors </dev/null >"$out" 2>&1 || {
		tail -n 15 "$tmp/tulayd.log" >&2
		fail_with_log "$out" "claim_bench failed (its output above, after the end of tulayd's log)"
	}
	line=$(grep -m1 '^op=' "$out") || fail_with_log "$out" "claim_bench printed no result"
	m_rate=$(field rate "$line")
	m_p99=$(field p99_ms "$line")
	m_errors=$(field errors "$line")
	m_codes=$(field error_codes "$line")
	echo "$line" >>"$tmp/results.log"
	if ((m_errors > 0)); then
		sed -n '/^claim_bench: client/p' "$out" | sort | uniq -c | sort -rn | head -n 3 |
			sed 's/^/  /' >&2
	fi
	return 0
}

measure_pgbench() { # measure_pgbench CLIENTS
	local n=$((++run_no)) threads=$(($1 < 2 ? $1 : 2)) rc=0
	local out="$tmp/run.$n.out" logs="$tmp/pgbench.$n"
	mkdir -p "$logs"
	checkpoint_now
	run_child "$bindir/pgbench" -n -M prepared -c "$1" -j "$threads" -T "$seconds" \
		-f "$peer_dir/pgbench_claim.sql" -l --log-prefix "$logs/tx" -h "$pgdir/run" -U tulay \
		peer </dev/null >"$out" 2>&1 || rc=$?
	m_rate=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$out")
	[[ -n "$m_rate" ]] || fail_with_log "$out" "pgbench failed (exit $rc)"
	m_rate=$(printf '%.1f' "$m_rate")
	m_errors=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$out")
	m_errors=${m_errors:-0}
	if grep -q 'aborted' "$out"; then
		m_errors=$((m_errors + $(grep -c 'aborted' "$out")))
	fi
	m_codes=-
	((m_errors == 0)) || m_codes="pgbench:$m_errors"
	((rc == 0 || m_errors > 0)) || fail_with_log "$out" "pgbench exited $rc"
	# p99 of the logged transactions' latencies (third field, microseconds).
	m_p99=$(cat "$logs"/tx.* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n |
		awk '{ a[NR] = $1 } END {
			if (NR == 0) { print "-"; exit }
			r = int(0.99 * NR + 0.999999); if (r < 1) r = 1
			printf "%.2f", a[r] / 1000 }')
	rm -rf "$logs"
	echo "pgbench clients=$1 $(grep -E '^(tps|number of (transactions actually|failed))' "$out" |
		tr '\n' ' ')" >>"$tmp/results.log"
	return 0
}

# Per row: rounds' rates and p99s (space-separated), errors, codes, per side.
declare -A t_rates t_p99s t_errors t_codes p_rates p_p99s p_errors p_codes
rows=()
add_result() { # add_result ROW SIDE(t|p)
	local -n rates=${2}_rates p99s=${2}_p99s errors=${2}_errors codes=${2}_codes
	rates[$1]+="${rates[$1]:+ }$m_rate"
	p99s[$1]+="${p99s[$1]:+ }$m_p99"
	errors[$1]=$((${errors[$1]:-0} + m_errors))
	[[ "$m_codes" == - ]] || codes[$1]+="${codes[$1]:+,}$m_codes"
}

total_measurements=0
count_measurements() { total_measurements=$((total_measurements + rounds * $1)); }
for c in "${create_clients[@]}" "${spread_clients[@]}"; do
	count_measurements 2
done
count_measurements 2 # get and list: tulay only
if ((prefill > 0)); then
	count_measurements 2
fi
done_measurements=0
progress() { # progress WHAT
	done_measurements=$((done_measurements + 1))
	printf 'write_bench: [%d/%d] %-48s %9s/s  p99 %8s ms  errors %s\n' "$done_measurements" \
		"$total_measurements" "$1" "$m_rate" "$m_p99" "$m_errors"
}

# A tulay row, beside pgbench when PEER is yes: R rounds alternating which goes first.
measure_row() { # measure_row LABEL OP CLIENTS ORGS USERS_FILE PEER
	local row="$1|$2|$3|$4|$6"
	rows+=("$row")
	for r in $(seq 1 "$rounds"); do
		if [[ "$6" == yes ]] && ((r % 2 == 0)); then
			measure_pgbench "$3"
			add_result "$row" p
			progress "pgbench, $3 clients (round $r)"
		fi
		measure_tulay "$2" "$3" "$4" "$5"
		add_result "$row" t
		progress "$1, $3 clients, $4 org$( (($4 > 1)) && echo s) (round $r)"
		if [[ "$6" == yes ]] && ((r % 2 == 1)); then
			measure_pgbench "$3"
			add_result "$row" p
			progress "pgbench, $3 clients (round $r)"
		fi
	done
}

# Statistics as autovacuum keeps them on a database in service: the tables grow from empty to
# hundreds of thousands of rows within minutes here, faster than autovacuum's ANALYZE
# follows, and tulayd's sessions keep the plans they made while the tables were small
# (GetClaim's timeline read ran at a tenth of its speed on such a plan). ANALYZE before each
# group of rows replaces them, as it would in service.
analyze_now() {
	psql_super -d tulay -c "ANALYZE" >"$tmp/analyze.log" 2>&1 ||
		fail_with_log "$tmp/analyze.log" "ANALYZE failed"
}

say "measuring: $seconds s each, $rounds round$( ((rounds > 1)) && echo s), depth $depth"
for c in "${create_clients[@]}"; do
	analyze_now
	measure_row create create "$c" 1 "$tmp/all.users" yes
done
# Client i acts for organisation i mod K: C clients reach min(C, K) of them.
spread() { echo $(($1 < orgs ? $1 : orgs)); }
for c in "${spread_clients[@]}"; do
	analyze_now
	measure_row create create "$c" "$(spread "$c")" "$tmp/all.users" yes
done
analyze_now
measure_row get get "$read_clients" "$(spread "$read_clients")" "$tmp/all.users" no
analyze_now
measure_row list list "$read_clients" "$(spread "$read_clients")" "$tmp/all.users" no
if ((prefill > 0)); then
	analyze_now
	# Alternating like the rest: empty, full, full, empty.
	for r in $(seq 1 "$rounds"); do
		for which in $( ((r % 2 == 1)) && echo "empty full" || echo "full empty"); do
			measure_tulay create "$prefill_clients" 1 "$tmp/$which.users"
			add_result "prefill|$which" t
			progress "create into BENCH-${which^^}, $prefill_clients clients (round $r)"
		done
	done
fi

# --- the table ---------------------------------------------------------------------------------
mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; if (NF) printf "%.1f", s / NF; else printf "-" }' <<<"$1"; }
mean2() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; if (NF) printf "%.2f", s / NF; else printf "-" }' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.3f", a / b; else printf "-" }'; }
# Errors by code over the rounds: "UNAVAILABLE:3,E_TIMEOUT:1" summed per code.
sum_codes() { tr ',' '\n' <<<"$1" | awk -F: 'NF == 2 { n[$1] += $2 } END { s = ""; for (k in n) s = s (s == "" ? "" : ",") k ":" n[k]; print s }'; }

all_errors=0
all_codes=
echo
echo "CreateClaim, GetClaim and ListClaims through tulayd beside pgbench's INSERT of the same row;"
echo "$seconds s per measurement, $rounds round$( ((rounds > 1)) && echo s) (rates per round, then their mean; p99: mean of the rounds')"
echo
printf '%-8s %7s %4s | %-47s | %-47s |\n' "" "" "" "tulay: claim_bench" "pgbench: pgbench_claim.sql"
printf '%-8s %7s %4s | %-22s %8s %8s %6s | %-22s %8s %8s %6s | %8s\n' "request" "clients" \
	"orgs" "per round /s" "mean /s" "p99 ms" "errors" "per round /s" "mean /s" "p99 ms" "fails" \
	"tulay/pg"
for row in "${rows[@]}"; do
	IFS="|" read -r label _ clients row_orgs peer <<<"$row"
	t_mean=$(mean "${t_rates[$row]}")
	t_err=${t_errors[$row]:-0}
	all_errors=$((all_errors + t_err))
	[[ -n "${t_codes[$row]:-}" ]] && all_codes+="${all_codes:+,}${t_codes[$row]}"
	if [[ "$peer" == yes ]]; then
		p_mean=$(mean "${p_rates[$row]}")
		p_err=${p_errors[$row]:-0}
		all_errors=$((all_errors + p_err))
		[[ -n "${p_codes[$row]:-}" ]] && all_codes+="${all_codes:+,}${p_codes[$row]}"
		printf '%-8s %7s %4s | %-22s %8s %8s %6s | %-22s %8s %8s %6s | %8s\n' "$label" \
			"$clients" "$row_orgs" "${t_rates[$row]}" "$t_mean" "$(mean2 "${t_p99s[$row]}")" \
			"$t_err" "${p_rates[$row]}" "$p_mean" "$(mean2 "${p_p99s[$row]}")" "$p_err" \
			"$(ratio "$t_mean" "$p_mean")"
	else
		printf '%-8s %7s %4s | %-22s %8s %8s %6s | %-22s %8s %8s %6s | %8s\n' "$label" \
			"$clients" "$row_orgs" "${t_rates[$row]}" "$t_mean" "$(mean2 "${t_p99s[$row]}")" \
			"$t_err" "-" "-" "-" "-" "-"
	fi
done
echo "(columns: clients = connections; orgs = organisations they act for; fails = pgbench's failed"
echo " transactions; tulay/pg = the ratio of the mean rates)"

if ((prefill > 0)); then
	echo
	echo "CreateClaim at $prefill_clients clients into one organisation: empty, and holding $prefill claims"
	printf '%-34s | %-22s %8s %8s %6s\n' "" "per round /s" "mean /s" "p99 ms" "errors"
	for which in empty full; do
		row="prefill|$which"
		label="BENCH-EMPTY (no claims before)"
		[[ "$which" == full ]] && label="BENCH-FULL ($prefill claims before)"
		printf '%-34s | %-22s %8s %8s %6s\n' "$label" "${t_rates[$row]}" \
			"$(mean "${t_rates[$row]}")" "$(mean2 "${t_p99s[$row]}")" "${t_errors[$row]:-0}"
		all_errors=$((all_errors + ${t_errors[$row]:-0}))
		[[ -n "${t_codes[$row]:-}" ]] && all_codes+="${all_codes:+,}${t_codes[$row]}"
	done
	full_over_empty=$(ratio "$(mean "${t_rates[prefill|full]}")" "$(mean "${t_rates[prefill|empty]}")")
	verdict=$(awk -v r="$full_over_empty" 'BEGIN { print (r != "-" && r + 0 >= 0.9) ? "met" : "not met" }')
	echo "full/empty: $full_over_empty (issue 11 asks at least 0.9: $verdict)"
fi

echo
if ((all_errors == 0)); then
	echo "errors: 0"
else
	echo "errors: $all_errors ($(sum_codes "$all_codes"))"
	echo "write_bench: some requests failed; the end of tulayd's log:" >&2
	grep -E 'level=(warn|error)|event=.*(fail|unavailable|timeout)' "$tmp/tulayd.log" | tail -n 10 >&2 || true
	exit 1
fi

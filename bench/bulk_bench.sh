#!/usr/bin/env bash
# The bulk benchmark (issue 15): whole exports and bulk imports through a real tulayd,
# each beside PostgreSQL's own limit for the same work.
#
# Export: `tulay export claims` of N claims of one organisation (--claims, default
# 1,000,000) beside psql COPY of the same columns of the same view, in the same order, as
# CSV; both times, their ratio, the rate, tulayd's peak resident memory (VmHWM from the
# export's start: the login's password hash before it is not the export's) against the
# 64 MB the issue allows, and the CPU seconds tulayd and the CLI spent. Each CSV's lines
# are counted: N + 1 (the header) for both.
#
# Import: the first M rows of that export (--import, default 100,000; 0: none), one in a
# hundred made bad (worker_nationality XX), imported into a second organisation with
# `tulay import claims`, beside pgbench inserting M claims (../shared/bench/
# pgbench_claim.sql, 16 clients) into the peer database of the same cluster. Checks that
# every bad row was reported with its line and column, and the rest stored.
#
#   bench/bulk_bench.sh [--claims N] [--import M] [--build DIR] [--no-build] [--keep]
#
# TULAYD_ARGS adds settings to its tulayd (e.g. "--max-requests-in-flight 256").
#
# A cluster of its own under /tmp (fsync and synchronous_commit on, as every benchmark
# here), the claims seeded set-based (bench/export_seed.sql), tulayd on 127.0.0.1, the CLI
# logged in as each organisation's field officer.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench_name=bulk_bench
source "$repo/bench/lib.sh"
claims=1000000
imports=100000
build="$repo/build"
do_build=true
keep=false
while (($#)); do
	case $1 in
	--claims) claims=${2:?}; shift 2 ;;
	--import) imports=${2:?}; shift 2 ;;
	--build) build=${2:?}; shift 2 ;;
	--no-build) do_build=false; shift ;;
	--keep) keep=true; shift ;;
	-h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
[[ "$claims" =~ ^[0-9]+$ ]] && ((claims > 0)) || die "--claims: a whole number above 0"
[[ "$imports" =~ ^[0-9]+$ ]] && ((imports <= claims)) || die "--import: 0 to --claims"
bench_build tulayd tulay
bench_cluster tulay-export
bench_org EXPORT "Export benchmark" TH exporter
t0=$EPOCHREALTIME
psql_super -d tulay -v claims="$claims" -v org=EXPORT -v username=exporter \
	-f "$repo/bench/export_seed.sql" >"$tmp/seed.log"
say "$(psql_super -d postgres -At -c "SELECT 'PostgreSQL ' || current_setting('server_version')"), fsync on; seeded $claims claims in $(since "$t0") s"

# shellcheck disable=SC2086 # TULAYD_ARGS is a list of arguments
bench_tulayd ${TULAYD_ARGS:-}
export TULAY_SERVER="127.0.0.1:$port" TULAY_CONFIG_DIR="$tmp/cli" TULAY_TIMEOUT=120
echo "$password" | "$tulay" login --username exporter --password-stdin >/dev/null
rss_before=$(awk '/^VmRSS/ { print $2 }' "/proc/$tulayd_pid/status")
# The peak from here on: the login hashed a password (argon2id, 64 MiB at the default
# cost) on tulayd's thread pool, which is not the export's.
echo 5 >"/proc/$tulayd_pid/clear_refs"
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system, in clock ticks
# PostgreSQL's: its running processes' and those ended (the postmaster's children's), in ticks.
pg_cpu() {
	local pm
	pm=$(head -n 1 "$pgdir/data/postmaster.pid")
	{
		awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
		for p in $(cat "/proc/$pm/task/$pm/children"); do
			awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null
		done
	} | awk '{ s += $1 } END { print s }'
}

# PostgreSQL's own limit: the export's columns, from the same view, in the same order.
org_id=$(psql_super -d tulay -At -c "SELECT org_id FROM organisations WHERE acronym = 'EXPORT'")
copy="COPY (SELECT reference, organisation, status, worker_nationality, country_of_work, sector,
	employer, work_started_on, work_ended_on, recruitment_agency, recruitment_fee_minor,
	recruitment_fee_currency, contract_wage_minor, contract_wage_currency, actual_wage_minor,
	actual_wage_currency, exploitation_means, amount_claimed_minor, amount_claimed_currency,
	amount_awarded_minor, amount_awarded_currency, amount_recovered_minor,
	amount_recovered_currency, workers, forum, filing_deadline, opened_on, closed_on, version,
	created_by, created_at, office FROM wage_theft_claim_view WHERE org_id = $org_id
	ORDER BY case_id) TO STDOUT WITH (FORMAT csv, HEADER)"
t0=$EPOCHREALTIME
pg_lines=$("$bindir/psql" -X -h "$pgdir/run" -U tulay -d tulay -c "$copy" | wc -l)
pg_s=$(since "$t0")
t0=$EPOCHREALTIME
tulayd_cpu=$(cpu "$tulayd_pid")
TIMEFORMAT=%U+%S
cli_cpu=$({ time "$tulay" export claims 2>"$tmp/export.err" >"$tmp/export.csv"; } 2>&1)
tulay_s=$(since "$t0")
tulayd_cpu=$(($(cpu "$tulayd_pid") - tulayd_cpu))
tulay_lines=$(wc -l <"$tmp/export.csv")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$tulayd_pid/status")
((pg_lines == claims + 1)) || die "COPY wrote $pg_lines lines, not $((claims + 1))"
((tulay_lines == claims + 1)) || {
	cat "$tmp/export.err" >&2
	die "tulay export wrote $tulay_lines lines, not $((claims + 1))"
}
awk -v tcpu="$tulayd_cpu" -v ticks="$(getconf CLK_TCK)" -v cli="$cli_cpu" -v n="$claims" -v pg="$pg_s" -v t="$tulay_s" -v before="$rss_before" -v hwm="$hwm" 'BEGIN {
	printf "bulk_bench: %d claims: tulay export %.2f s (%.0f claims/s), psql COPY %.2f s (%.0f rows/s); tulay/COPY time %.2f\n",
		n, t, n / t, pg, n / pg, t / pg
	printf "bulk_bench: tulayd resident memory: %.1f MB before the export, at most %.1f MB ever (limit 64 MB): %s\n",
		before / 1024, hwm / 1024, hwm < 65536 ? "within" : "OVER"
	printf "bulk_bench: CPU seconds during the export: tulayd %.2f, the tulay CLI %s (user+system)\n",
		tcpu / ticks, cli
}'
memory_ok=true
((hwm < 65536)) || memory_ok=false
((imports > 0)) || { $memory_ok; exit; }

# --- import ------------------------------------------------------------------------------------
# The first M rows of the export, one in a hundred with worker_nationality XX (the 4th column:
# the three before it never hold a comma or a quote).
head -n $((imports + 1)) "$tmp/export.csv" | sed -E '101~100 s/^([^,]*,[^,]*,[^,]*,)KH,/\1XX,/' \
	>"$tmp/import.csv"
bad=$(grep -c '^[^,]*,[^,]*,[^,]*,XX,' "$tmp/import.csv" || true)
bench_org IMPORT "Import benchmark" TH importer
export TULAY_CONFIG_DIR="$tmp/cli-import"
echo "$password" | "$tulay" login --username importer --password-stdin >/dev/null
# Each side starts from a checkpoint: else the one timed second writes out the first's
# dirty pages (pgbench's 100,000 inserts took 5.8 s or 11.2 s after the same import).
psql_super -d postgres -c CHECKPOINT
t0=$EPOCHREALTIME
tulayd_cpu=$(cpu "$tulayd_pid")
pg_cpu0=$(pg_cpu)
cli_cpu=$({ time "$tulay" import claims "$tmp/import.csv" >/dev/null 2>"$tmp/import.err"; } 2>&1 || true)
import_s=$(since "$t0")
tulayd_cpu=$(($(cpu "$tulayd_pid") - tulayd_cpu))
pg_cpu1=$(pg_cpu)
stored=$(psql_super -d tulay -At -c "SELECT count(*) FROM cases c JOIN organisations o USING (org_id) WHERE o.acronym = 'IMPORT'")
reported=$(grep -cE 'line [0-9]+, column worker_nationality \(4\): .XX. is not' "$tmp/import.err" || true)
((stored == imports - bad)) || { tail -n 5 "$tmp/import.err" >&2; die "the import stored $stored claims, not $((imports - bad))"; }
((reported == bad)) || die "the import reported $reported bad rows, not $bad"

# PostgreSQL's own limit: pgbench inserting as many claims (16 clients).
bench_peer
per_client=$(((imports + 15) / 16))
psql_super -d postgres -c CHECKPOINT
t0=$EPOCHREALTIME
"$bindir/pgbench" -n -M prepared -c 16 -j 2 -t "$per_client" -h "$pgdir/run" -U tulay \
	-f "$peer_dir/pgbench_claim.sql" peer >"$tmp/pgbench.log" 2>&1 || die "pgbench failed"
pgbench_s=$(since "$t0")
awk -v n="$imports" -v bad="$bad" -v t="$import_s" -v pg="$pgbench_s" -v pgn="$((per_client * 16))" 'BEGIN {
	printf "bulk_bench: %d rows imported (%d bad, each reported with its line and column; %d stored): tulay import %.2f s (%.0f rows/s); pgbench %d inserts at 16 clients %.2f s (%.0f/s); tulay/pgbench time %.2f\n",
		n, bad, n - bad, t, n / t, pgn, pg, pgn / pg, t / (pg * n / pgn)
}'
awk -v tcpu="$tulayd_cpu" -v pcpu="$((pg_cpu1 - pg_cpu0))" -v ticks="$(getconf CLK_TCK)" -v cli="$cli_cpu" 'BEGIN {
	printf "bulk_bench: CPU seconds during the import: tulayd %.2f, PostgreSQL %.2f, the tulay CLI %s (user+system)\n",
		tcpu / ticks, pcpu / ticks, cli
}'
$memory_ok

#!/usr/bin/env bash
# The outbox benchmark (issue 15): N claims queued in a field office's outbox while the
# server cannot be reached (`tulay claim add` with nothing listening), then `tulay sync`
# over loopback TLS, timed, beside pgbench inserting as many claims (../shared/bench/
# pgbench_claim.sql, 16 clients) into the peer database of the same cluster. Checks that
# every claim was stored once and the outbox left empty.
#
#   bench/outbox_bench.sh [--claims N] [--build DIR] [--no-build] [--keep]
#
# A cluster of its own under /tmp (fsync and synchronous_commit on), tulayd on 127.0.0.1
# with TLS (scripts/dev-certs.sh), the CLI logged in as the organisation's field officer
# with the CA file, so that queuing pinned the server's sealing key as a user's would.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench_name=outbox_bench
source "$repo/bench/lib.sh"
claims=5000
build="$repo/build"
do_build=true
keep=false
while (($#)); do
	case $1 in
	--claims) claims=${2:?}; shift 2 ;;
	--build) build=${2:?}; shift 2 ;;
	--no-build) do_build=false; shift ;;
	--keep) keep=true; shift ;;
	-h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
[[ "$claims" =~ ^[0-9]+$ ]] && ((claims > 0)) || die "--claims: a whole number above 0"
bench_build tulayd tulay
bench_cluster tulay-outbox
bench_org OUTBOX "Outbox benchmark" TH fieldofficer
"$repo/scripts/dev-certs.sh" "$tmp/tls" >/dev/null
bench_tulayd --tls-cert "$tmp/tls/server.pem" --tls-key "$tmp/tls/server.key"
export TULAY_CONFIG_DIR="$tmp/cli" TULAY_CA_FILE="$tmp/tls/ca.pem" TULAY_TIMEOUT=120
echo "$password" | "$tulay" --server "127.0.0.1:$port" login --username fieldofficer \
	--password-stdin >/dev/null

# --- queue: the link is down (nothing listens on port 1) ------------------------------------
t0=$EPOCHREALTIME
queue_one() {
	"$tulay" --server 127.0.0.1:1 claim add --nationality MM --country-of-work TH \
		--sector fisheries --employer "Outbox Boat $1" --work-start 2025-01-01 \
		--work-end 2025-06-30 --amount 31000.00 --currency THB --worker-name "Worker $1" \
		--agency "Agency $(($1 % 7))" --format csv >/dev/null 2>&1
}
export -f queue_one
export tulay
seq "$claims" | xargs -P 2 -I{} bash -c 'queue_one {}' || die "queuing failed"
queued=$("$tulay" outbox list --format csv | tail -n +2 | grep -c ',queued,' || true)
((queued == claims)) || die "$queued claims queued, not $claims"
say "$(psql_super -d postgres -At -c "SELECT 'PostgreSQL ' || current_setting('server_version')"), fsync on; queued $claims claims in $(since "$t0") s (one tulay process each)"

# --- sync over loopback TLS ----------------------------------------------------------------------
t0=$EPOCHREALTIME
TIMEFORMAT=%U+%S
cli_cpu=$({ time "$tulay" --server "127.0.0.1:$port" sync >/dev/null 2>"$tmp/sync.err"; } 2>&1) ||
	{ cat "$tmp/sync.err" >&2; die "tulay sync failed"; }
sync_s=$(since "$t0")
stored=$(psql_super -d tulay -At -c "SELECT count(*) FROM cases c JOIN organisations o USING (org_id) WHERE o.acronym = 'OUTBOX'")
left=$("$tulay" outbox list --format csv | tail -n +2 | wc -l)
((stored == claims)) || die "the sync stored $stored claims, not $claims"
((left == 0)) || die "$left entries left in the outbox"

# --- PostgreSQL's own limit: pgbench inserting as many claims (16 clients) --------------------------
bench_peer
per_client=$(((claims + 15) / 16))
t0=$EPOCHREALTIME
"$bindir/pgbench" -n -M prepared -c 16 -j 2 -t "$per_client" -h "$pgdir/run" -U tulay \
	-f "$peer_dir/pgbench_claim.sql" peer >"$tmp/pgbench.log" 2>&1 || die "pgbench failed"
pgbench_s=$(since "$t0")
awk -v n="$claims" -v t="$sync_s" -v pg="$pgbench_s" -v pgn="$((per_client * 16))" -v cli="$cli_cpu" 'BEGIN {
	printf "outbox_bench: %d queued claims synced over loopback TLS: tulay sync %.2f s (%.0f/s), each stored once, the outbox empty; pgbench %d inserts at 16 clients %.2f s (%.0f/s); tulay/pgbench time %.2f\n",
		n, t, n / t, pgn, pg, pgn / pg, t / (pg * n / pgn)
	printf "outbox_bench: CPU seconds of the tulay sync process: %s (user+system)\n", cli
}'

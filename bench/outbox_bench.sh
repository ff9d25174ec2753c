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
claims=5000
build="$repo/build"
do_build=true
keep=false
die() { echo "outbox_bench: $*" >&2; exit 1; }
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
say() { echo "outbox_bench: $*"; }
mkdir -p "$build"
build=$(cd "$build" && pwd)
tulayd="$build/server/tulayd"
tulay="$build/client/tulay"
if $do_build || [[ ! -x "$tulayd" || ! -x "$tulay" ]]; then
	[[ -f "$build/CMakeCache.txt" ]] ||
		cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build" -j"$(nproc)" --target tulayd tulay >/dev/null
fi
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$bindir/psql" ]] || die "PostgreSQL not found: run scripts/install-deps.sh"

tmp=$(mktemp -d /tmp/tulay-outbox.XXXXXX)
chmod 0711 "$tmp"
pgdir="$tmp/pg"
tulayd_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -z "$tulayd_pid" ]] || { kill -TERM "$tulayd_pid" 2>/dev/null; wait "$tulayd_pid" 2>/dev/null; } || true
	if $keep; then
		say "kept: $pgdir (stop: $repo/scripts/pg-cluster.sh stop $pgdir && rm -rf $tmp)"
	else
		"$repo/scripts/pg-cluster.sh" stop "$pgdir" >/dev/null 2>&1 || true
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
psql_super() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir/run" -U postgres "$@"; }

"$repo/scripts/pg-cluster.sh" start "$pgdir" >/dev/null
for s in fsync synchronous_commit; do
	[[ "$(psql_super -d postgres -At -c "SHOW $s")" == on ]] || die "$s is not on"
done
owner_db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" owner)
app_db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" app)
export TULAY_MIGRATIONS="$repo/migrations"
"$tulayd" migrate up --db "$owner_db" >"$tmp/migrate.log" 2>&1 || die "migrating failed"
password="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
"$tulayd" org add --db "$owner_db" --acronym OUTBOX --kind ngo --country TH \
	--name "Outbox benchmark" >/dev/null
TULAY_NEW_PASSWORD=$password "$tulayd" user add --db "$owner_db" --org OUTBOX \
	--username fieldofficer --role field_officer >/dev/null
"$tulayd" keygen "$tmp/data.key" >/dev/null
"$repo/scripts/dev-certs.sh" "$tmp/tls" >/dev/null
TULAY_DB="$app_db" TULAY_DATA_KEY_FILE="$tmp/data.key" "$tulayd" --listen 127.0.0.1 --port 0 \
	--tls-cert "$tmp/tls/server.pem" --tls-key "$tmp/tls/server.key" </dev/null \
	>"$tmp/tulayd.log" 2>&1 &
tulayd_pid=$!
for _ in $(seq 300); do
	grep -q 'event=listening' "$tmp/tulayd.log" && grep -q 'event=db_conn_ready' "$tmp/tulayd.log" &&
		break
	sleep 0.1
done
port=$(grep -m1 'event=listening' "$tmp/tulayd.log" | sed -E 's/.* port=([0-9]+).*/\1/')
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
peer_dir="${TULAY_BENCH_PEER:-$repo/../shared/bench}"
psql_super -d postgres -c "CREATE DATABASE peer OWNER tulay"
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgdir/run" -U tulay -d peer \
	-f "$peer_dir/pgbench_claim_schema.sql" >/dev/null
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

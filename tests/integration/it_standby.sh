#!/usr/bin/env bash
# A hot standby, failover and reports off the primary (issue 14, point 4), on PostgreSQL's
# own streaming replication. Two clusters of the test's own: a primary and a synchronous
# standby of it (scripts/pg-cluster.sh standby --sync). One tulayd is given both as a
# multi-host connection string with target_session_attrs=read-write, and the standby as
# --db-replica. Reports and lists are read on the standby (the Report says so), writes go to
# the primary. Then, with two CLI writers running, the primary is killed (immediate stop:
# no shutdown checkpoint, as in a crash) and the standby promoted: tulayd finds the new
# primary by itself and serves writes again within 10 s, and every claim the CLI was told
# was saved is on the promoted standby, once.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
T=$TULAY_CLI
PGC=$TULAY_TEST_REPO/scripts/pg-cluster.sh
# Socket paths must stay short (108 bytes): the clusters live under /tmp.
work=$(mktemp -d /tmp/tulay-sb.XXXXXX)
chmod 0755 "$work"
cleanup() {
	touch "$work/stop"
	stop_tulayds
	"$PGC" stop "$work/standby" >/dev/null 2>&1
	"$PGC" stop "$work/primary" >/dev/null 2>&1
	[[ -n ${IT_KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
home=$work/home
export TULAY_CONFIG_DIR="$home/officer" TULAY_DATA_KEY_FILE

# --- a primary with the schema, an organisation and an officer; a synchronous standby ----
# Not --fast: its synchronous_commit = off would let a commit return before the standby has
# it, which is exactly what this test must not allow.
"$PGC" start "$work/primary" >/dev/null || { not_ok "the primary starts"; finish; exit 1; }
owner=$("$PGC" conninfo "$work/primary" owner)
"$TULAYD" migrate up --db "$owner" >/dev/null &&
	"$TULAYD" org add --db "$owner" --acronym SBY --name "Standby Workers Centre" --kind ngo \
		--country TH >/dev/null &&
	TULAY_NEW_PASSWORD=$TULAY_TEST_PASSWORD "$TULAYD" user add --db "$owner" --org SBY \
		--username sby.officer --role field_officer >/dev/null &&
	TULAY_NEW_PASSWORD=$TULAY_TEST_PASSWORD "$TULAYD" user add --db "$owner" --org SBY \
		--username sby.coord --role coordinator >/dev/null ||
	{ not_ok "the primary gets the schema and a user"; finish; exit 1; }
expect "scripts/pg-cluster.sh makes a synchronous standby" 0 '' -- \
	"$PGC" standby "$work/primary" "$work/standby" --sync
p_sock=$work/primary/run
s_sock=$work/standby/run
psql_on() { local s=$1; shift; psql -X -qAt -h "$s" -U postgres -d tulay "$@" 2>&1; }
match "the primary lists the standby as synchronous" '^sync$' \
	"$(psql_on "$p_sock" -c "SELECT sync_state FROM pg_stat_replication")"
match "the standby is in recovery" '^t$' "$(psql_on "$s_sock" -c "SELECT pg_is_in_recovery()")"

db="host=$p_sock,$s_sock dbname=tulay user=tulay_app target_session_attrs=read-write"
replica="host=$s_sock dbname=tulay user=tulay_app target_session_attrs=standby"
# A free port for the metrics endpoint (one that nothing answers on).
for ((i = 0; i < 50; i++)); do
	metrics_port=$((20000 + RANDOM % 12000)) # below Linux's ephemeral ports (32768-)
	(exec 3<>"/dev/tcp/127.0.0.1/$metrics_port") 2>/dev/null || break
done
start_tulayd S "$work/tulayd.log" --db "$db" --db-replica "$replica" --db-connections 2 \
	--db-query-timeout-ms 5000 --db-queue-timeout-ms 5000 --metrics-port "$metrics_port" ||
	{ not_ok "tulayd starts on the pair"; finish; exit 1; }
export TULAY_SERVER=$S
# Each logs in on the primary; the standby may not have replayed the new session yet when
# the first read comes, and tulayd then reads on the primary instead.
{ login officer sby.officer && login coord sby.coord; } ||
	{ not_ok "the officer and the coordinator log in"; finish; exit 1; }

add_claim() { # add_claim EMPLOYER [CLI OPTIONS]: prints the CLI's output
	local employer=$1
	shift
	"$T" claim add "$@" --nationality MM --country-of-work TH --sector fisheries \
		--employer "$employer" --work-start 2025-01-01 --work-end 2025-06-30 \
		--amount 1500 --currency THB 2>&1
}
out=$(add_claim "Before Failover Co")
match "a write goes to the primary" 'WT-[0-9]{4}-[0-9]{6}' "$out"
# Synchronous replication waits for the standby to have the commit on disk, not to have
# applied it: that follows within moments.
on_standby() { [[ $(psql_on "$s_sock" -c "SELECT count(*) FROM wage_theft_claims WHERE employer = '$1'") == 1 ]]; }
wait_for 30 on_standby "Before Failover Co"
match "and reaches the standby" '^1$' \
	"$(psql_on "$s_sock" -c "SELECT count(*) FROM wage_theft_claims WHERE employer = 'Before Failover Co'")"

# --- reads on the standby --------------------------------------------------------------
report=$(as coord report claims --by destination --format json 2>&1)
match "a report is read on the standby, and says so" '"from_standby": ?true' "$report"
match "with how far behind its data may be" '"staleness_ms": ?[0-9]+' "$report"
match "a list is read on the standby" 'Before Failover Co' "$(as coord claim list 2>&1)"
match "tulayd says it read them on the standby" "type=list_claims code=0 .* read_on=standby" \
	"$(grep 'type=list_claims' "$work/tulayd.log")"
audits=$(psql_on "$p_sock" -c "SELECT count(*) FROM audit_log WHERE action IN ('report', 'list_claims')")
match "and audited both reads on the primary" '^2$' "$audits"

# --- the counters: tulayd stats, and GET /metrics -----------------------------------------
expect "tulayd stats prints the running tulayd's counters" 0 \
	'^tulay_requests_total\{type="create_claim",code="OK"\} 1$' -- \
	"$TULAYD" stats --metrics-port "$metrics_port"
stats=$LAST
match "with the reads the standby served" '^tulay_standby_reads_total\{served_by="standby"\} [1-9]' "$stats"
match "the pools' connections" '^tulay_db_connections_ready\{pool="standby"\} [1-9]' "$stats"
match "the database waits" '^tulay_db_wait_seconds_total [0-9.]+$' "$stats"
match "connections by state" '^tulay_connections\{state="logged_in"\} [0-9]+$' "$stats"
match "and the latency of every request" '^tulay_request_duration_seconds_count [1-9][0-9]*$' "$stats"
match "requests count by type and code" '^tulay_requests_total\{type="login",code="OK"\} 2$' "$stats"
http() { # http REQUEST: the endpoint's whole answer
	exec 3<>"/dev/tcp/127.0.0.1/$metrics_port" && printf '%s\r\n\r\n' "$1" >&3 && timeout 10 cat <&3
	exec 3<&-
}
match "GET /metrics answers in Prometheus' text format" '^Content-Type: text/plain; version=0.0.4' \
	"$(http 'GET /metrics HTTP/1.1' | tr -d '\r')"
match "any other path is 404" '^HTTP/1.0 404' "$(http 'GET /admin HTTP/1.1')"
expect "tulayd stats exits 69 when no tulayd answers" 69 'no tulayd answers' -- \
	"$TULAYD" stats --metrics-port 1

# --- the primary is lost while two writers run -----------------------------------------
writer() { # writer N: adds claims until $work/stop exists; "ok REF" or "failed ..." per call
	local n=$1 i=0 out
	while [[ ! -e $work/stop ]]; do
		i=$((i + 1))
		if out=$(add_claim "Standby W$n-$i Co"); then
			echo "ok W$n-$i $(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$out" | head -n 1)"
		else
			echo "failed W$n-$i: $out"
		fi
	done >"$work/w$n.out"
}
writer 1 &
w1=$!
writer 2 &
w2=$!
wait_for 60 bash -c "[[ \$(grep -c '^ok' '$work/w1.out' '$work/w2.out' | awk -F: '{ s += \$2 } END { print s }') -ge 6 ]]"

pm=$(head -n 1 "$work/primary/data/postmaster.pid")
killed_at=$(date +%s.%N)
kill -QUIT "$pm" # PostgreSQL's immediate shutdown: every backend quits at once, no checkpoint
wait_for 30 bash -c "! kill -0 $pm 2>/dev/null"
expect "the standby is promoted" 0 '' -- "$PGC" promote "$work/standby"
promoted_at=$(date +%s.%N)
# The first write that succeeds after the loss, with one attempt each.
served_at=
for ((i = 0; i < 300; i++)); do
	if add_claim "Probe $i Co" --retries 0 | grep -qE 'WT-[0-9]{4}-[0-9]{6}'; then
		served_at=$(date +%s.%N)
		break
	fi
	sleep 0.1
done
[[ -n $served_at ]] || served_at=$(date +%s.%N)
seconds=$(awk -v a="$killed_at" -v b="$served_at" 'BEGIN { printf "%.1f", b - a }')
after=$(awk -v a="$promoted_at" -v b="$served_at" 'BEGIN { printf "%.1f", b - a }')
echo "# writes served again $seconds s after the primary was killed, $after s after the" \
	"promotion completed"
# tulayd's part, which does not depend on how fast this machine promotes a standby.
match "tulayd serves writes again within 10 s of the promotion" '^yes$' \
	"$(awk -v s="$after" 'BEGIN { print (s <= 10 ? "yes" : "no") }')"
match "tulayd found the new primary by itself" 'event=db_conn_ready' \
	"$(awk -v t="$(date -u -d "@${killed_at%.*}" +%Y-%m-%dT%H:%M:%S)" 'substr($1, 4) >= t' "$work/tulayd.log")"

sleep 1 # the writers write on the new primary for a moment
touch "$work/stop"
wait "$w1" "$w2"
cat "$work"/w*.out >"$work/all.out"
oks=$(grep -c '^ok' "$work/all.out")
echo "# $(grep -c . "$work/all.out") claim adds by 2 writers, $oks acknowledged, $(grep -c '^failed' "$work/all.out") failed"
grep -m 3 '^failed' "$work/all.out" | sed 's/^/#   /'
stored=$(psql_on "$s_sock" -c "SELECT count(*) || ' ' || count(DISTINCT employer) FROM wage_theft_claims
	WHERE employer LIKE 'Standby W%'")
# At least those acknowledged: a write whose answer was lost with the primary and whose
# retries ran out may be stored without the CLI having said so.
match "every acknowledged write is on the promoted standby" '^yes$' \
	"$(awk -v s="${stored%% *}" -v o="$oks" 'BEGIN { print (s >= o ? "yes" : "no") }')"
match "and none is stored twice" '^([0-9]+) \1$' "$stored"
missing=0
while read -r _ name ref; do
	[[ $(psql_on "$s_sock" -c "SELECT count(*) FROM cases WHERE reference = '$ref'") == 1 ]] ||
		{ missing=$((missing + 1)) && echo "# missing: $name $ref"; }
done < <(grep '^ok' "$work/all.out")
match "each under the reference the CLI printed" '^0$' "$missing"

# --- a first host that accepts and never answers ---------------------------------------
# libpq gives up on a host only when it refuses; one whose machine hangs holds each attempt
# until tulayd's connect deadline. Each attempt starts one host further on, so the next
# host is reached all the same.
coproc SILENT { exec "$(dirname "$TULAY_CLI")/../tests/integration/it_silent_listener"; }
read -r silent_port <&"${SILENT[0]}"
hung="host=127.0.0.1,$s_sock hostaddr=127.0.0.1, port=$silent_port,5432 dbname=tulay"
hung+=" user=tulay_app target_session_attrs=read-write connect_timeout=2"
# Its --db-replica names a standby that is not there: reads go to the primary.
start_tulayd H "$work/hung.log" --db "$hung" --db-connections 2 \
	--db-replica "host=$work/nowhere dbname=tulay user=tulay_app" ||
	not_ok "tulayd starts when the first database host never answers"
match "and writes through the next host" 'WT-[0-9]{4}-[0-9]{6}' \
	"$(TULAY_SERVER=$H add_claim "Past A Hung Host Co")"
report=$(TULAY_SERVER=$H as coord report claims --by destination --format json 2>&1)
match "with no standby up, the primary serves reports" '"from_standby": ?false' "$report"
match "... and lists" 'Past A Hung Host Co' "$(TULAY_SERVER=$H as coord claim list 2>&1)"
match "... and tulayd read none on a standby" '^0$' "$(grep -c 'read_on=standby' "$work/hung.log")"
stop_tulayd H
kill "$SILENT_PID" 2>/dev/null

report=$(as coord report claims --by destination --format json 2>&1)
match "with no standby left, reports are read on the (new) primary" '"from_standby": ?false' "$report"
finish

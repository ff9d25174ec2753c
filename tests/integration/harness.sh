#!/usr/bin/env bash
# The integration-test stack: a throwaway PostgreSQL cluster and a real tulayd on a free
# port, started once for the suite (ctest fixture) and stopped at the end.
#
#   harness.sh start STATE_DIR BUILD_DIR   writes STATE_DIR/env (KEY=value lines) for tests
#   harness.sh stop STATE_DIR              SIGTERM tulayd; fails unless it drained and exited
#                                          0 with every handle closed; stops PostgreSQL
set -euo pipefail

cmd=$1
state=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)

source "$repo/scripts/wait.sh"

case "$cmd" in
start)
	build=$(cd "$3" && pwd)
	if [[ -f "$state/env" ]]; then "$0" stop "$state" || true; fi
	rm -rf "$state"
	mkdir -p "$state"
	# The socket path must stay short (108 bytes), so the cluster lives under /tmp.
	pgdir=$(mktemp -d /tmp/tulay-it.XXXXXX)
	"$repo/scripts/pg-cluster.sh" start "$pgdir" --fast
	db=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" app)
	db_owner=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" owner)
	tulayd="$build/server/tulayd"
	# The shared tulayd below talks plaintext on loopback; tests that want TLS (it_tls) start
	# their own with these development certificates.
	"$repo/scripts/dev-certs.sh" "$state/tls" >/dev/null
	# Migrations and bootstrap run as the owner; the server below as tulay_app.
	export TULAY_DB="$db_owner" TULAY_MIGRATIONS="$repo/migrations"
	"$tulayd" migrate up >"$state/migrate.log"
	"$tulayd" org add --acronym DEMO --name "Demo Migrant Support Centre" --kind ngo --country PH >/dev/null
	"$tulayd" org add --acronym MYNGO --name "Kuala Lumpur Workers Aid" --kind ngo --country MY >/dev/null
	# Password hashes at the minimal cost: a setting for tests only (the suite logs in a few
	# hundred times, and at the real cost each login and new user is most of a second of
	# CPU). Tests' own tulayds inherit it; it_security checks a real server's cost.
	export TULAY_TESTING=1 TULAY_PASSWORD_COST=0
	password="it-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	for u in admin:DEMO:admin officer:DEMO:field_officer coord:DEMO:coordinator klofficer:MYNGO:field_officer; do
		IFS=: read -r name org role <<<"$u"
		TULAY_NEW_PASSWORD="$password" "$tulayd" user add --org "$org" --username "$name" --role "$role" >/dev/null
	done

	# The key that encrypts personal data; tests' own tulayds inherit it from the env file.
	"$tulayd" keygen "$state/data.key" >/dev/null
	export TULAY_DATA_KEY_FILE="$state/data.key"

	# Reports with exact figures, so that tests can compare them with SQL over the raw
	# tables: a setting for tests only (it_report_perturbation starts its own tulayd with
	# the perturbation every real server has). Tests' own tulayds inherit both.
	export TULAY_TESTING=1 TULAY_REPORT_PERTURBATION=0
	# Detached from ctest: its own session, no inherited pipes (ctest would wait on them).
	# A request may wait 30 s for a connection, and a query take 30 s: a loaded machine
	# (CI's) can be ten times slower than a quiet one, and a slow report must not be
	# answered busy. Tests that wait out a timeout start a tulayd of their own with a
	# short one (it_audit, it_outage, it_retry).
	export TULAY_DB="$db"
	setsid bash -c '"$1" --port 0 --db-connections 3 --db-queue-timeout-ms 30000 \
		--db-query-timeout-ms 30000 --drain-timeout-ms 5000 \
		--max-output-bytes 262144 >"$2/tulayd.log" 2>&1 &
		pid=$!; echo $pid >"$2/tulayd.pid"; wait $pid; echo $? >"$2/tulayd.exit"' \
		_ "$tulayd" "$state" </dev/null >/dev/null 2>&1 &
	listening() { grep -q 'event=listening' "$state/tulayd.log" 2>/dev/null; }
	ready() { grep -q 'event=db_conn_ready' "$state/tulayd.log" 2>/dev/null; }
	if ! wait_for 60 listening || ! wait_for 60 ready; then
		echo "harness: tulayd did not start:" >&2
		cat "$state/tulayd.log" >&2
		exit 1
	fi
	port=$(grep -m1 'event=listening' "$state/tulayd.log" | sed -E 's/.* port=([0-9]+).*/\1/')
	# KEY='value' lines: sourced by shell tests, read by it_support.c.
	{
		echo "TULAY_SERVER='127.0.0.1:$port'"
		echo "TULAY_TEST_DB='$db'"
		echo "TULAY_TEST_DB_OWNER='$db_owner'"
		echo "TULAY_DATA_KEY_FILE='$state/data.key'"
		echo "TULAY_TESTING='1'"
		echo "TULAY_REPORT_PERTURBATION='0'"
		echo "TULAY_PASSWORD_COST='0'"
		echo "TULAY_TEST_PGDIR='$pgdir'"
		echo "TULAY_TEST_PG_BIN='$("$repo/scripts/pg-cluster.sh" bindir)'"
		echo "TULAY_TEST_PASSWORD='$password'"
		echo "TULAY_TEST_STATE='$state'"
		echo "TULAY_TEST_REPO='$repo'"
		echo "TULAYD='$tulayd'"
		echo "TULAY_CLI='$build/client/tulay'"
		echo "TULAY_TEST_TLS_DIR='$state/tls'"
		echo "TULAYD_PID='$(cat "$state/tulayd.pid")'"
	} >"$state/env"
	echo "harness: tulayd on 127.0.0.1:$port, PostgreSQL in $pgdir"
	;;
stop)
	[[ -f "$state/env" ]] || exit 0
	# shellcheck disable=SC1091
	source "$state/env"
	rc=0
	# CPU seconds the stack used (the suite is CPU-bound on small machines): tulayd's own,
	# and PostgreSQL's ended backends' (the postmaster's children).
	ticks=$(getconf CLK_TCK)
	cpu() { awk -v t="$ticks" -v f="$2" '{ split(f, i, ","); s = 0; for (k in i) s += $(i[k]); printf "%.1f", s / t }' "/proc/$1/stat" 2>/dev/null; }
	pm=$(head -n 1 "$TULAY_TEST_PGDIR/data/postmaster.pid" 2>/dev/null || true)
	echo "harness: cpu seconds: tulayd $(cpu "$TULAYD_PID" 14,15), postgres backends $(cpu "$pm" 16,17)"
	if kill -0 "$TULAYD_PID" 2>/dev/null; then
		kill -TERM "$TULAYD_PID"
		exited() { [[ -f "$state/tulayd.exit" ]]; }
		if ! wait_for 20 exited; then
			echo "harness: tulayd did not exit within 20 s of SIGTERM" >&2
			kill -KILL "$TULAYD_PID" 2>/dev/null || true
			rc=1
		fi
	fi
	if [[ -f "$state/tulayd.exit" ]]; then
		code=$(cat "$state/tulayd.exit")
		if [[ "$code" != 0 ]] || ! grep -q 'event=stopped clean=1' "$state/tulayd.log"; then
			echo "harness: tulayd exited with $code, not a clean shutdown:" >&2
			tail -n 30 "$state/tulayd.log" >&2
			rc=1
		else
			echo "harness: tulayd drained and exited 0 (uv_loop_close succeeded)"
		fi
	fi
	"$TULAY_TEST_REPO/scripts/pg-cluster.sh" stop "$TULAY_TEST_PGDIR" || rc=1
	rm -rf "$TULAY_TEST_PGDIR"
	rm -f "$state/env"
	exit $rc
	;;
*)
	echo "harness: unknown command $cmd" >&2
	exit 64
	;;
esac

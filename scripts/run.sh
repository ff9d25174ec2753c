#!/usr/bin/env bash
# The run command: installs what is missing, builds, starts a local PostgreSQL cluster in
# var/pg, applies the migrations, creates a demo organisation and its admin (first run
# only), and runs tulayd in the foreground on 127.0.0.1 until Ctrl-C, with TLS 1.3 and the
# development certificates of scripts/dev-certs.sh in var/tls. tulayd's log goes to
# var/tulayd.log; the terminal shows a short banner once it listens, then only its warnings
# and errors. Running it again reuses the cluster, its data and the certificates.
#
# With --demo it also loads the synthetic demo data set (build/client/tulay-demo: networks,
# organisations, offices, users and a few hundred cases of each kind) in the background once
# tulayd listens, and prints one summary line; the full report goes to var/demo.log and the
# demo users' shared password to var/demo-password (mode 0600). Loading again adds nothing.
#
#   scripts/run.sh [--demo] [TULAYD SETTINGS...]     e.g. scripts/run.sh --demo --port 7500
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

demo=false
args=()
for arg in "$@"; do
	if [[ "$arg" == --demo ]]; then demo=true; else args+=("$arg"); fi
done
set -- ${args[@]+"${args[@]}"}

scripts/install-deps.sh
mkdir -p build
if ! { cmake -S . -B build -DTULAY_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
	cmake --build build -j"$(nproc)"; } >build/build.log 2>&1; then
	cat build/build.log >&2
	echo "run: the build failed (log above)" >&2
	exit 1
fi
echo "run: built build/server/tulayd, build/client/tulay and build/client/tulay-demo"

mkdir -p var
scripts/pg-cluster.sh start var/pg
# Migrations and bootstrap run as the database owner; tulayd itself as tulay_app, a role
# that owns nothing and is bound by row-level security.
owner_db="$(scripts/pg-cluster.sh conninfo var/pg owner)"
export TULAY_DB="$(scripts/pg-cluster.sh conninfo var/pg app)"
build/server/tulayd migrate up --db "$owner_db"

build/server/tulayd org add --if-not-exists --acronym DEMO --db "$owner_db" \
	--name "Demo Migrant Support Centre" --kind ngo --country PH
if [[ ! -s var/admin-password ]]; then
	(umask 077 && od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >var/admin-password)
fi
TULAY_NEW_PASSWORD="$(cat var/admin-password)" build/server/tulayd user add --if-not-exists \
	--db "$owner_db" --org DEMO --username admin --role admin

# The key that encrypts workers' personal data: outside the database, mode 0600. Losing it
# loses those details: back var/data.key up somewhere safe.
[[ -f var/data.key ]] || build/server/tulayd keygen var/data.key
export TULAY_DATA_KEY_FILE="$PWD/var/data.key"

# TLS 1.3 with a development CA and server certificate in var/tls (made once).
scripts/dev-certs.sh var/tls

# tulayd's log (one key=value line per event) goes to var/tulayd.log, not the terminal.
log=var/tulayd.log
: >>"$log"
logged=$(wc -l <"$log")
# In a session of its own, so that the terminal's Ctrl-C reaches this script only, which
# passes it on once as SIGTERM: tulayd drains (finishes what it has, tells clients to
# reconnect) and exits; a second Ctrl-C stops it at once.
setsid build/server/tulayd --listen 127.0.0.1 --tls-cert var/tls/server.pem \
	--tls-key var/tls/server.key --metrics-port 7421 "$@" 2>>"$log" &
tulayd_pid=$!
stopping() {
	echo "run: stopping tulayd (it finishes the requests in flight first; Ctrl-C again stops it now)"
	kill -TERM "$tulayd_pid" 2>/dev/null || true
}
trap stopping INT TERM HUP
# However this script ends (an error, a signal it does not trap), tulayd and PostgreSQL
# stop with it: tulayd runs in a session of its own and would outlive it.
finished() {
	if kill -0 "$tulayd_pid" 2>/dev/null; then
		kill -TERM "$tulayd_pid" 2>/dev/null || true
		wait "$tulayd_pid" 2>/dev/null || true
	fi
	scripts/pg-cluster.sh stop var/pg || true
}
trap finished EXIT
# The first line this run's tulayd logged with `event`, read from the file (no pipe).
logged_line() { awk -v n="$logged" -v e="event=$1" 'NR > n && index($0, e) { print; exit }' "$log"; }
# Waits until tulayd listens or exits; start-up takes a moment (it checks the schema).
while kill -0 "$tulayd_pid" 2>/dev/null && [[ -z $(logged_line listening) ]]; do
	sleep 0.1
done
listening=$(logged_line listening)
if [[ -z $listening ]]; then
	rc=0
	wait "$tulayd_pid" || rc=$?
	echo "run: tulayd did not start (exit $rc); the end of $log:" >&2
	awk -v n="$logged" 'NR > n' "$log" | tail -n 20 >&2
	exit 1
fi
port=${listening##* port=}
port=${port%% *}
cat <<MSG

tulay is running on 127.0.0.1:$port with TLS 1.3. Ctrl-C stops it (and PostgreSQL).
  server log   $log        (tail -f $log; warnings and errors also show here)
  database     var/pg                 (tulayd audit verify, tulayd migrate status: no --db needed)
  data key     var/data.key           (back it up apart from the database: scripts/backup.sh)
  counters     tulayd stats           (or GET http://127.0.0.1:7421/metrics)

In a second terminal, log in as the demo admin (the password is in var/admin-password);
the session remembers the development CA, so later commands need no --ca-file:

  export TULAY_SERVER=127.0.0.1:$port PATH="$repo/build/client:$repo/build/server:\$PATH"
  tulay login --ca-file var/tls/ca.pem --username admin --password-stdin < var/admin-password
  tulay claim add --nationality PH --country-of-work MY --sector construction \\
      --employer "Syarikat Bina Jaya Sdn Bhd" --work-start 2025-01-06 --work-end 2025-11-30 \\
      --amount 45000.00 --currency MYR
  tulay claim show WT-$(date -u +%Y)-000001
  tulay claim list --country-of-work MY --status intake --format csv

MSG
demo_pid=
if $demo; then
	cat <<MSG
Loading the demo data set in the background (report in var/demo.log). Its users are
ACRONYM.officer and ACRONYM.coord of each demo organisation, e.g. kl-mwa.officer, all with
the password in var/demo-password:

  tulay login --ca-file var/tls/ca.pem --username kl-mwa.officer --password-stdin < var/demo-password

MSG
	(
		build/client/tulay-demo --server "127.0.0.1:$port" --ca-file var/tls/ca.pem --wait 60 \
			--users-password-file var/demo-password <var/admin-password >var/demo.log 2>&1 &
		loader=$!
		trap 'kill "$loader" 2>/dev/null; exit 0' TERM
		if wait "$loader"; then
			echo "run: $(tail -n 1 var/demo.log)"
		else
			echo "run: loading the demo data failed: see var/demo.log (running it again with" \
				"--demo completes it)" >&2
		fi
	) &
	demo_pid=$!
fi
# Warnings and errors from the log on the terminal, as they come (from tulayd's start).
tail --pid="$tulayd_pid" -n +$((logged + 1)) -F "$log" 2>/dev/null |
	grep --line-buffered -E 'level=(warn|error)' &
# wait returns early when a signal arrives; wait again until tulayd has exited.
while :; do
	rc=0
	wait "$tulayd_pid" || rc=$?
	kill -0 "$tulayd_pid" 2>/dev/null || break
done
if [[ -n "$demo_pid" ]]; then
	kill -TERM "$demo_pid" 2>/dev/null || true
	wait "$demo_pid" 2>/dev/null || true
fi
echo "run: tulayd exited ($rc); its log is $log"
exit $rc

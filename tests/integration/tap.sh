# Shared helpers of the shell integration tests (sourced, not run). Each check prints
# "ok - NAME" or "not ok - NAME" with the evidence; `finish` prints the "N passed, N failed"
# line and returns non-zero if anything failed.
#
#   source tap.sh HARNESS_ENV_FILE
#   match NAME PATTERN TEXT             TEXT must match the extended regex PATTERN
#   matches PATTERN TEXT                true when a line of TEXT matches (as grep -E)
#   expect NAME EXIT PATTERN -- CMD...  CMD must exit EXIT with output matching PATTERN
#   super ARGS...                       psql as the cluster's superuser on ${DB:-tulay}
#   as WHO CLI-ARGS...                  the tulay CLI with WHO's own session: a config
#                                       directory $home/WHO ($home: the test's own)
#   login WHO [USERNAME]                logs WHO in as USERNAME (default WHO) with the
#                                       test password
#   wait_for SECONDS COMMAND...         until COMMAND succeeds (0) or SECONDS pass (1)
#   use_home                            $home: a directory of the test's own, removed at exit
#   start_tulayd VAR LOG SETTINGS...    a tulayd of the test's own (on the test database
#                                       unless SETTINGS name --db), its output in LOG; sets
#                                       VAR to its address once it serves, and stops it
#                                       when the test exits (stop_tulayd VAR: sooner)
# shellcheck shell=bash disable=SC1090
source "$1"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/wait.sh"
export TULAY_TESTING TULAY_REPORT_PERTURBATION TULAY_PASSWORD_COST # for the tests' own tulayds
# psql and the other PostgreSQL programs from their own directory: Debian's /usr/bin/psql is
# a Perl wrapper that costs 50 ms of CPU a call, and the tests call psql hundreds of times.
PATH="$TULAY_TEST_PG_BIN:$PATH"
sock=${TULAY_TEST_DB#host=}
sock=${sock%% *}
TAP_PASSES=0
TAP_FAILS=0
LAST=
# The harness's tulayd waits up to 30 s for a query (a loaded machine's slow report): the
# CLI waits as long.
export TULAY_TIMEOUT=${TULAY_TIMEOUT:-60}

declare -A TAP_TULAYD_PIDS=()
start_tulayd() {
	local var=$1 log=$2 i port
	shift 2
	# Emptied here, not by the background start's redirection: a restart logging to the
	# same file could otherwise read the tulayd before's lines (and port) first.
	: >"$log"
	TULAY_DB=$TULAY_TEST_DB TULAY_DATA_KEY_FILE=$TULAY_DATA_KEY_FILE \
		"$TULAYD" --port 0 "$@" >>"$log" 2>&1 &
	TAP_TULAYD_PIDS[$var]=$!
	for ((i = 0; i < 600; i++)); do
		kill -0 "${TAP_TULAYD_PIDS[$var]}" 2>/dev/null || break
		port=$(sed -nE 's/.*event=listening .* port=([0-9]+).*/\1/p' "$log" | head -n 1)
		if [[ -n $port ]] && grep -q 'event=db_conn_ready' "$log"; then
			printf -v "$var" '127.0.0.1:%s' "$port"
			return 0
		fi
		sleep 0.1
	done
	cat "$log" >&2
	return 1
}
stop_tulayd() {
	local pid=${TAP_TULAYD_PIDS[$1]:-}
	[[ -n $pid ]] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "TAP_TULAYD_PIDS[$1]"
}
stop_tulayds() {
	local var
	for var in "${!TAP_TULAYD_PIDS[@]}"; do stop_tulayd "$var"; done
}
trap stop_tulayds EXIT

# A directory of the test's own in $home (CLI sessions, files), removed when it exits.
use_home() {
	home=$(mktemp -d)
	trap 'stop_tulayds; rm -rf "$home"' EXIT
}

ok() {
	TAP_PASSES=$((TAP_PASSES + 1))
	echo "ok - $1"
}

not_ok() {
	TAP_FAILS=$((TAP_FAILS + 1))
	echo "not ok - $1"
	if [[ -n "${2:-}" ]]; then sed 's/^/    | /' <<<"$2"; fi
}

# True when a line of TEXT ($2) matches the extended regex $1, as grep -E: bash's own regex
# for one line (no process: the suite checks thousands of times), grep for several.
matches() {
	if [[ $2 != *$'\n'* ]]; then [[ $2 =~ $1 ]]; else grep -qE -- "$1" <<<"$2"; fi
}

match() {
	if matches "$2" "$3"; then ok "$1"; else not_ok "$1 (wanted /$2/)" "$3"; fi
}

expect() {
	local name=$1 want=$2 pattern=$3 code=0
	shift 4
	LAST=$("$@" 2>&1) || code=$?
	if [[ $code == "$want" ]] && matches "$pattern" "$LAST"; then
		ok "$name"
	else
		not_ok "$name: expected exit $want and /$pattern/, got exit $code" "$LAST"
	fi
}

super() { psql -X -qAt -h "$sock" -U postgres -d "${DB:-tulay}" -v ON_ERROR_STOP=1 "$@" 2>&1; }

as() {
	local who=$1
	shift
	TULAY_CONFIG_DIR="$home/$who" "$TULAY_CLI" "$@"
}

login() {
	echo "$TULAY_TEST_PASSWORD" | as "$1" login --username "${2:-$1}" --password-stdin >/dev/null
}
# An organisation of the test's own, an NGO in COUNTRY, and its users: USER or USER:ROLE
# each (field_officer when no role is given). NOLOGIN=1: the users are not logged in.
new_org() {
	local acronym=$1 name=$2 country=$3 u role
	shift 3
	"$TULAYD" org add --db "$TULAY_TEST_DB_OWNER" --acronym "$acronym" --name "$name" \
		--kind ngo --country "$country" >/dev/null
	for u in "$@"; do
		role=field_officer
		[[ $u == *:* ]] && role=${u##*:}
		TULAY_NEW_PASSWORD=$TULAY_TEST_PASSWORD "$TULAYD" user add --db "$TULAY_TEST_DB_OWNER" \
			--org "$acronym" --username "${u%%:*}" --role "$role" >/dev/null
		[[ -n ${NOLOGIN:-} ]] || login "${u%%:*}"
	done
}

finish() {
	echo "$TAP_PASSES passed, $TAP_FAILS failed"
	((TAP_FAILS == 0))
}

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
# shellcheck shell=bash disable=SC1090
source "$1"
export TULAY_TESTING TULAY_REPORT_PERTURBATION TULAY_PASSWORD_COST # for the tests' own tulayds
# psql and the other PostgreSQL programs from their own directory: Debian's /usr/bin/psql is
# a Perl wrapper that costs 50 ms of CPU a call, and the tests call psql hundreds of times.
PATH="$TULAY_TEST_PG_BIN:$PATH"
sock=${TULAY_TEST_DB#host=}
sock=${sock%% *}
TAP_PASSES=0
TAP_FAILS=0
LAST=

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

finish() {
	echo "$TAP_PASSES passed, $TAP_FAILS failed"
	((TAP_FAILS == 0))
}

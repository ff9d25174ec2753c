# shellcheck shell=bash
# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (0) or SECONDS
# have passed (1). Waits on a condition, not a clock: give SECONDS for a machine ten times
# slower than yours. Sourced by scripts/pg-cluster.sh and the tests (harness.sh, tap.sh).
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

#!/usr/bin/env bash
# Rolling restarts that CLI users never notice (issue 14, points 1 and 2). Two tulayds on
# the test database; three writers log claims with the CLI, which is given both servers
# (TULAY_SERVER=A,B), while each tulayd in turn is stopped with SIGTERM and started again
# on its port, 20 restarts in all. tulayd drains (requests read after the signal are
# answered "shutting down", with Status.reconnect) and the CLI fails over to the other
# server, authenticates again and sends the claim again with its key. Then: every CLI call
# succeeded, each claim is stored once, and both servers served.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
T=$TULAY_CLI
work=$(mktemp -d)
trap 'stop_tulayds; rm -rf "$work"' EXIT
export TULAY_DATA_KEY_FILE

RESTARTS=20
start_tulayd A "$work/a.log" --db-connections 2 --drain-timeout-ms 10000 || exit 1
start_tulayd B "$work/b.log" --db-connections 2 --drain-timeout-ms 10000 || exit 1
ports=([0]=${A##*:} [1]=${B##*:})
export TULAY_SERVER="$A,$B" TULAY_CONFIG_DIR="$work/home"
echo "$TULAY_TEST_PASSWORD" | "$T" login --username officer --password-stdin >/dev/null ||
	{ not_ok "the officer logs in through the two servers"; finish; exit 1; }

writer() { # writer N: logs claims until $work/stop exists; one line per call
	local n=$1 i=0 out
	while [[ ! -e $work/stop ]]; do
		i=$((i + 1))
		if out=$("$T" claim add --nationality KH --country-of-work TH --sector fisheries \
			--employer "Failover W$n-$i Co" --work-start 2025-01-01 --work-end 2025-06-30 \
			--amount 1500 --currency THB 2>&1); then
			echo "ok W$n-$i"
		else
			echo "failed W$n-$i: $out"
		fi
	done >"$work/w$n.out"
}
writers=()
for w in 1 2 3; do
	writer "$w" &
	writers+=($!)
done

# Each restart: SIGTERM (tulayd drains and exits), then the same port again.
names=(A B)
for ((r = 0; r < RESTARTS; r++)); do
	k=$((r % 2))
	sleep 0.3
	stop_tulayd "${names[$k]}"
	start_tulayd "${names[$k]}" "$work/${names[$k]}.$r.log" --port "${ports[$k]}" \
		--db-connections 2 --drain-timeout-ms 10000 || {
		not_ok "tulayd ${names[$k]} starts again on its port (restart $r)"
		break
	}
done
sleep 0.3
touch "$work/stop"
wait "${writers[@]}"

cat "$work"/w*.out >"$work/all.out"
calls=$(grep -c . "$work/all.out")
failed=$(grep -c '^failed' "$work/all.out")
echo "# $calls claim adds by 3 writers across $RESTARTS restarts: $failed failed"
grep -m 3 '^failed' "$work/all.out" | sed 's/^/#   /'
match "every CLI call succeeded through the restarts" '^0$' "$failed"
match "the writers made claims all along" '^[1-9][0-9]+$' "$calls"
oks=$(grep -c '^ok' "$work/all.out")
stored=$(super -c "SELECT count(*) || ' ' || count(DISTINCT employer) FROM wage_theft_claims
	WHERE employer LIKE 'Failover W%'")
match "each claim logged is stored once" "^$oks $oks\$" "$stored"
match "tulayd drained on each SIGTERM" "^$RESTARTS\$" \
	"$(cat "$work"/*.log | grep -c 'event=draining')"
served() { grep -h 'type=create_claim code=0' "$@" | wc -l; }
match "both servers served claims" '^[1-9][0-9]* [1-9][0-9]*$' \
	"$(served "$work"/a.log "$work"/A.*.log) $(served "$work"/b.log "$work"/B.*.log)"
finish

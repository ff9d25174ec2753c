#!/usr/bin/env bash
# The outbox (issue 15, point 1), through the tulay CLI and a tulayd of the test's own, in
# an organisation of its own: writes made while the server cannot be reached are kept
# (exit 0, "queued: N"), sealed so that the outbox file holds no worker's name; --no-queue
# and TULAY_NO_QUEUE fail instead; a change that needs a version it cannot look up is not
# kept unless given one; outbox list/show/drop; tulay sync sends them all, each once, and
# the server opened them (the claim shows the worker's name); a stale version is refused,
# kept and marked; and 10 syncs cut at random (kill -9 of the CLI, or tulayd stopped under
# it) lose nothing and log nothing twice.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
use_home
[[ -n ${IT_KEEP:-} ]] && trap stop_tulayds EXIT
NOLOGIN=1 new_org OBOX "Outbox Field Office" TH oboxofficer oboxother
org="(SELECT org_id FROM organisations WHERE acronym = 'OBOX')"
start_tulayd server "$home/tulayd.log"
export TULAY_SERVER=$server
login oboxofficer
ob() { as oboxofficer "$@"; }
outbox="$home/oboxofficer/outbox.db"
offline=127.0.0.1:1 # nothing listens there: connections are refused at once
claim() {             # claim EMPLOYER NAME [CLI options]
	local employer=$1 name=$2
	shift 2
	ob claim add --nationality KH --country-of-work TH --sector fisheries \
		--employer "$employer" --work-start 2025-01-01 --work-end 2025-06-30 \
		--amount 31000.00 --currency THB --worker-name "$name" "$@"
}
claims_of() { super -c "SELECT count(*) FROM wage_theft_claims WHERE org_id = $org AND employer = '$1'"; }

match "login pinned the server's sealing key" '^sealing_key=[0-9a-f]{64}$' \
	"$(grep '^sealing_key=' "$home/oboxofficer/session")"

# --- writes while the server cannot be reached ---------------------------------------------
# A claim logged first, while online, for the changes queued later.
ref=$(claim "Online Boat Co" "Sok Online" --format csv | tail -n 1 | cut -d, -f1)
match "a claim logged online" '^WT-[0-9]{4}-[0-9]{6}$' "$ref"
export TULAY_SERVER=$offline
expect "a claim made offline is queued, exit 0" 0 "queued: 1 in the outbox; run 'tulay sync'" -- \
	claim "Offline Boat Co" "Chanthou Plantedname"
expect "a second one" 0 "queued: 2 in the outbox" -- claim "Offline Boat Co" "Dara Plantedname"
expect "--no-queue fails instead (exit 3)" 3 "cannot reach the server" -- \
	claim "Not Queued Co" "Nobody Plantedname" --no-queue
expect "... and so does TULAY_NO_QUEUE=1" 3 "cannot reach the server" -- \
	env TULAY_NO_QUEUE=1 TULAY_CONFIG_DIR="$home/oboxofficer" "$TULAY_CLI" claim add --nationality KH \
	--country-of-work TH --sector fisheries --employer "Not Queued Co" \
	--work-start 2025-01-01 --work-end 2025-06-30 --amount 1.00 --currency THB
expect "a note on a claim is queued" 0 "queued: 3 in the outbox" -- \
	ob claim note "$ref" --on 2026-03-05 --text "Visited the port office"
expect "a status change that needs the version is not queued (exit 3)" 3 \
	"not kept in the outbox: the change must name the version" -- \
	ob claim status "$ref" --to filed --on 2026-03-02
expect "... with --expected-version it is" 0 "queued: 4 in the outbox" -- \
	ob claim status "$ref" --to filed --on 2026-03-02 --expected-version 1
expect "a deportation case is queued" 0 "queued: 5 in the outbox" -- \
	ob deportation add --nationality MM --deported-from TH --deported-to MM \
	--deported-on 2024 --counsel none
expect "reads are not queued" 3 "cannot reach the server" -- ob claim show "$ref"

# --- what a stolen laptop shows --------------------------------------------------------------
match "the outbox file is private (0600)" '^600$' "$(stat -c %a "$outbox")"
match "no worker's name in the outbox files" '^0$' \
	"$(cat "$outbox"* | grep -ac Plantedname)"
match "nor the employer" '^0$' "$(cat "$outbox"* | grep -ac 'Offline Boat')"
list=$(ob outbox list --format csv)
match "outbox list: five entries, queued, with their commands" \
	'^5 queued claim add,claim add,claim note,claim status,deportation add$' \
	"$(tail -n +2 <<<"$list" | awk -F, '{ n++; s = $5; c = c (c ? "," : "") $3 } END { print n, s, c }')"
expect "outbox show: when, what, the key; no content" 0 \
	'"request": ?"create_claim"' -- ob outbox show 1 --format json
match "... and no name" '^0$' "$(grep -c Planted <<<"$LAST")"
expect "outbox show of no entry" 2 "there is no entry 99" -- ob outbox show 99
expect "outbox drop of a bad ID" 1 "is not an outbox entry" -- ob outbox drop x
expect "outbox drop --help helps, and drops nothing" 0 "Usage: tulay outbox drop ID" -- \
	ob outbox drop --help

# --- sync ----------------------------------------------------------------------------------------
export TULAY_SERVER=$server
expect "sync sends them all" 0 'Synced 5 of 5 .* 5 taken by the server, 0 refused' -- ob sync
match "... each with what it made" 'entry 1 \(claim add\): WT-[0-9]{4}-[0-9]{6}' "$LAST"
match "the queued claims are there, once each" '^2$' "$(claims_of "Offline Boat Co")"
match "the not-queued one is not" '^0$' "$(claims_of "Not Queued Co")"
offline_ref=$(grep -oE 'entry 1 \(claim add\): WT-[0-9]{4}-[0-9]{6}' <<<"$LAST" | grep -oE 'WT-.*')
expect "the server opened the sealed claim: its worker reads back" 0 "Chanthou Plantedname" -- \
	ob claim show "$offline_ref"
expect "the queued note and status change were applied" 0 "Visited the port office" -- \
	ob claim show "$ref"
match "... the claim is filed" 'Status: +filed' "$LAST"
expect "an empty outbox: nothing to send" 0 "Nothing to send" -- ob sync
match "... and the list says so" 'The outbox is empty' "$(ob outbox list)"

# --- a refused entry stays, marked --------------------------------------------------------
export TULAY_SERVER=$offline
expect "a change naming a stale version is queued" 0 "queued: 1" -- \
	ob claim status "$ref" --to in-mediation --on 2026-03-09 --expected-version 1
export TULAY_SERVER=$server
expect "sync: refused, kept, exit 2" 2 'refused .*the record changed since' -- ob sync
match "... the summary counts it" '1 refused \(kept, marked' "$LAST"
list=$(ob outbox list --format csv)
match "outbox list marks it refused, with the server's answer" ',refused,.*FAILED_PRECONDITION' \
	"$list"
id=$(tail -n 1 <<<"$list" | cut -d, -f1)
expect "sync leaves it alone" 0 "only refused entries are left" -- ob sync
expect "outbox drop forgets it" 0 "Dropped entry $id; 0 left to send" -- ob outbox drop "$id"
match "the claim's status was not overwritten" 'Status: +filed' "$(ob claim show "$ref")"

# --- later writes about a case still in the outbox: its local id ------------------------
export TULAY_SERVER=$offline
expect "a claim queued offline gets a local id" 0 'name this case local:[0-9]+' -- \
	claim "Local Id Boat Co" "Vanna Plantedname"
lid=$(grep -oE 'local:[0-9]+' <<<"$LAST" | head -n 1)
expect "a note naming it by its local id is queued" 0 "queued: 2 in the outbox" -- \
	ob claim note "$lid" --on 2026-04-01 --text "Met the worker at the shelter"
expect "a status change naming it needs the version" 1 "still in the outbox, so its version" -- \
	ob claim status "$lid" --to filed --on 2026-04-02
expect "... and with it is queued" 0 "queued: 3 in the outbox" -- \
	ob claim status "$lid" --to filed --on 2026-04-02 --expected-version 1
expect "a local id that names no case" 1 "local:999999 names no case" -- \
	ob claim note local:999999 --text "x"
# Two claims with one key and different content: the server takes the first and refuses
# the second (a reused key), so a note on the second cannot go either.
key=0123456789abcdef0123456789abcdef
claim "Keyed Boat Co" "One Plantedname" --idempotency-key $key >/dev/null 2>&1
expect "a claim the server will refuse (its key reused) is queued" 0 'local:[0-9]+' -- \
	claim "Other Boat Co" "Two Plantedname" --idempotency-key $key
bad=$(grep -oE 'local:[0-9]+' <<<"$LAST" | head -n 1)
expect "... and a note on it" 0 "queued: 6 in the outbox" -- \
	ob claim note "$bad" --text "This one will not go"
export TULAY_SERVER=$server
expect "online, a write about a case still in the outbox is queued behind it" 0 \
	"queued: 7 in the outbox" -- ob claim note "$lid" --text "Second visit"
expect "a read of it says to sync first" 2 "$lid is still in the outbox: run 'tulay sync'" -- \
	ob claim show "$lid"
expect "sync: the case first, then what names it; the refused one's note is not sent" 2 \
	'5 taken by the server, 2 refused' -- ob sync
match "... the note named the refused entry" "names $bad, whose entry was refused" "$LAST"
expect "the local id now names the synced case" 0 'Local Id Boat Co' -- ob claim show "$lid"
match "... its notes are there, in the order made" '^Met the worker at the shelter,Second visit$' \
	"$(grep -oE 'Met the worker at the shelter|Second visit' <<<"$LAST" | paste -sd,)"
match "... and it is filed" 'Status: +filed' "$LAST"
for id in $(ob outbox list --format csv | tail -n +2 | cut -d, -f1); do
	ob outbox drop "$id" >/dev/null
done
match "the refused entries dropped" 'The outbox is empty' "$(ob outbox list)"

# --- a write goes in as its author ---------------------------------------------------------
export TULAY_SERVER=$offline
expect "a claim queued by oboxofficer" 0 "queued: 1 in the outbox" -- \
	claim "Author Boat Co" "Author Plantedname"
export TULAY_SERVER=$server
login oboxofficer oboxother # another user, on the same computer and configuration
expect "another user's sync leaves it for its author" 0 "1 queued by another user: left for them" -- \
	ob sync
match "... nothing was sent" '^0$' "$(claims_of "Author Boat Co")"
login oboxofficer
expect "its author's sync sends it" 0 "1 taken by the server" -- ob sync --format json
match "... with --format json, a record per entry" \
	'"command": ?"claim add", ?"result": ?"sent", ?"reference": ?"WT-[0-9]{4}-[0-9]{6}"' "$LAST"
match "... logged once, by its author" '^oboxofficer$' \
	"$(super -c "SELECT u.username FROM wage_theft_claims w JOIN cases c USING (org_id, case_id) JOIN users u ON u.user_id = c.created_by WHERE w.employer = 'Author Boat Co'")"

# --- ten interrupted syncs: nothing lost, nothing twice ------------------------------------
# Each sync is cut while requests are in flight, for certain: the claims table is locked
# under it (a transaction of the test's own, held 0.6 s), so what the sync sent waits
# there when the CLI is killed (-9); every third time tulayd is stopped too (SIGTERM: it
# finishes what it holds once the lock goes) and comes back on another port. The server
# commits what it had, answering no one: the next sync sends those again with their keys,
# and the server must answer each as the first time. Then one more, cut after some
# windows were answered and removed from the outbox, with others in flight.
export TULAY_SERVER=$offline
n=200
for ((i = 1; i <= n; i++)); do
	claim "Interrupted Sync Co" "Worker $i Plantedname" --format csv >/dev/null 2>&1 ||
		not_ok "claim $i queued"
done
queued() { ob outbox list --format csv | tail -n +2 | grep -c ',queued,'; }
match "$n claims queued" "^$n$" "$(queued)"
export TULAY_SERVER=$server
lock() { # lock SECONDS: holds the claims table that long, from a background psql
	super -c "BEGIN; LOCK TABLE wage_theft_claims IN ACCESS EXCLUSIVE MODE;
		SELECT pg_sleep($1); COMMIT" >/dev/null &
	locker=$!
	wait_for 10 lock_held
}
lock_held() {
	[[ $(super -c "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock'
		AND granted AND relation = 'wage_theft_claims'::regclass") == 1 ]]
}
sync_bg() { # the CLI itself in the background (not a function's subshell): kill -9 hits it
	TULAY_CONFIG_DIR="$home/oboxofficer" "$TULAY_CLI" sync >"$home/sync.$1" 2>&1 &
	pid=$!
}
cut=0
for round in 1 2 3 4 5 6 7 8 9 10; do
	lock 0.6
	sync_bg "$round"
	sleep 0.2
	kill -9 "$pid" 2>/dev/null && cut=$((cut + 1))
	wait "$pid" 2>/dev/null
	if ((round % 3 == 0)); then
		stop_tulayd server
		start_tulayd server "$home/tulayd.$round.log"
		export TULAY_SERVER=$server
	fi
	wait "$locker"
done
match "ten syncs cut with requests in flight" '^10$' "$cut"
# The last cut: tulayd takes 2 requests in flight per connection, so the sync goes in
# windows of 2, answered one after another, and the lock catches it midway.
stop_tulayd server
start_tulayd server "$home/tulayd.11.log" --max-requests-in-flight 2
export TULAY_SERVER=$server
sync_bg 11
for ((i = 0; i < 1000; i++)); do # until the first answers (10 ms steps: it is quick)
	grep -q '^entry' "$home/sync.11" && break
	sleep 0.01
done
lock 0.5
kill -9 "$pid" 2>/dev/null && cut=$((cut + 1))
wait "$pid" 2>/dev/null
wait "$locker"
left=$(queued)
if ((left > 0 && left < n)); then ok "a sync cut after some windows ($left of $n left)"; else
	not_ok "a sync cut after some windows: $left of $n left"; fi
stored=$(claims_of "Interrupted Sync Co")
echo "# after 11 cut syncs: $stored claims stored, $left still queued"
expect "a last sync sends the rest" 0 'Synced .* 0 refused|Nothing to send' -- ob sync
match "every interrupted claim is there exactly once" "^$n$" "$(claims_of "Interrupted Sync Co")"
match "the outbox is empty" 'The outbox is empty' "$(ob outbox list)"

finish

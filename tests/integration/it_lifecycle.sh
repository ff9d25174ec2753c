#!/usr/bin/env bash
# The life of a claim through the tulay CLI against the real tulayd: the allowed moves,
# closing and reopening with a reason, stale versions and illegal moves refused with
# nothing half-written, notes, a timeline in order with who did what, retries that
# never add an event twice, and reasons and notes stored only encrypted.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER TULAY_CONFIG_DIR
TULAY_CONFIG_DIR=$(mktemp -d)
trap 'rm -rf "$TULAY_CONFIG_DIR"' EXIT
T=$TULAY_CLI
echo "$TULAY_TEST_PASSWORD" | "$T" login --username officer --password-stdin >/dev/null
out=$("$T" claim add --nationality MM --country-of-work TH --sector fisheries \
	--employer "Mahachai Seafood Co" --work-start 2025-01-10 --work-end 2025-08-31 \
	--amount 86000 --currency THB --workers 4 2>&1)
ref=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$out" | head -n 1)
demo="(SELECT org_id FROM organisations WHERE acronym = 'DEMO')"
events() { super -c "SELECT count(*) FROM case_events e JOIN cases c USING (org_id, case_id) WHERE c.reference = '$ref' AND c.org_id = $demo"; }
version() { super -c "SELECT version FROM cases WHERE reference = '$ref' AND org_id = $demo"; }

match "a new claim's timeline starts with its opening" 'opened' "$("$T" claim show "$ref" 2>&1)"
expect "intake -> filed" 0 'is now filed' -- "$T" claim status "$ref" --to filed --on 2025-09-15
expect "filed -> in-mediation" 0 'is now in-mediation' -- "$T" claim status "$ref" --to in-mediation
before_v=$(version)
before_e=$(events)
expect "an illegal move is refused, naming where it may go" 2 'in_mediation can move to: awarded, filed, rejected, withdrawn' -- \
	"$T" claim status "$ref" --to paid
expect "a stale version is refused with the current one" 2 'FAILED_PRECONDITION.*version is now' -- \
	"$T" claim status "$ref" --to awarded --expected-version 1
match "refusals changed nothing (version)" "^$before_v\$" "$(version)"
match "refusals changed nothing (timeline)" "^$before_e\$" "$(events)"
expect "closing needs a reason (checked before sending)" 1 '--reason' -- \
	"$T" claim status "$ref" --to withdrawn
expect "the worker withdraws, with a reason" 0 'is now withdrawn' -- \
	"$T" claim status "$ref" --to withdrawn --reason "Worker Aung Ko returned to Myawaddy and asked to stop"
match "a closed claim shows when it closed" 'Closed on: +[0-9]{4}-' "$("$T" claim show "$ref" 2>&1)"
expect "a closed claim moves nowhere but back" 2 'withdrawn can move to: intake' -- \
	"$T" claim status "$ref" --to filed --reason "Try again"
expect "reopening, with a reason" 0 'is now intake' -- \
	"$T" claim status "$ref" --to intake --reason "The worker came back to the shelter"
expect "a note" 0 'Added a note' -- \
	"$T" claim note "$ref" --text "Met Ma Thandar at the port office; payslips copied" --on 2025-10-02
key=00aa11bb22cc33dd44ee55ff66778899
expect "a note with a key" 0 'Added a note' -- "$T" claim note "$ref" --text "Second visit" --idempotency-key $key
n=$(events)
expect "the same note retried adds nothing" 0 'Added a note' -- "$T" claim note "$ref" --text "Second visit" --idempotency-key $key
match "still the same number of events" "^$n\$" "$(events)"
expect "the same key with another text is refused" 2 'ALREADY_EXISTS' -- \
	"$T" claim note "$ref" --text "Something else" --idempotency-key $key

show=$("$T" claim show "$ref" 2>&1)
match "the timeline lists every step in order, with who" 'opened(.|\n)*intake → filed(.|\n)*filed → in-mediation(.|\n)*in-mediation → withdrawn(.|\n)*withdrawn → intake(.|\n)*Met Ma Thandar' \
	"$(tr '\n' ' ' <<<"$show")"
match "reasons are shown back" 'Aung Ko returned to Myawaddy' "$show"
match "each step names who recorded it" 'in-mediation → withdrawn +Worker Aung Ko.* +officer' "$show"
out=$("$T" claim add --nationality KH --country-of-work TH --sector construction \
	--employer "Rayong Builders" --work-start 2025-02-01 --work-end 2025-03-31 \
	--amount 12000 --currency THB 2>&1)
ref2=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$out" | head -n 1)
"$T" claim status "$ref2" --to rejected --reason "Labour court dismissed it" >/dev/null
expect "reopening a rejected claim needs a reason too (the server checks)" 2 '--reason: is required' -- \
	"$T" claim status "$ref2" --to filed
match "as JSON, the timeline is an array" '"timeline":\[' "$("$T" claim show "$ref" --format json 2>&1)"

pg_dump -h "$sock" -U postgres -d tulay >"$TULAY_CONFIG_DIR/dump.sql" 2>&1
match "the dump holds the claim" 'Mahachai Seafood Co' "$(cat "$TULAY_CONFIG_DIR/dump.sql")"
for secret in "Aung Ko" "Ma Thandar" "Myawaddy"; do
	if grep -qF "$secret" "$TULAY_CONFIG_DIR/dump.sql" "$TULAY_TEST_STATE/tulayd.log"; then
		not_ok "reasons and notes are stored only encrypted: found '$secret'"
	else
		ok "reasons and notes are stored only encrypted ('$secret' in neither dump nor log)"
	fi
done
echo "$TULAY_TEST_PASSWORD" | TULAY_CONFIG_DIR="$TULAY_CONFIG_DIR/c" "$T" login --username coord --password-stdin >/dev/null
expect "a coordinator changes no claim" 2 'PERMISSION_DENIED' -- \
	env TULAY_CONFIG_DIR="$TULAY_CONFIG_DIR/c" "$T" claim note "$ref" --text "Coordinator note"
for cmd in "claim status" "claim note"; do
	# shellcheck disable=SC2086
	expect "$cmd --help" 0 'Usage' -- "$T" $cmd --help
done
finish

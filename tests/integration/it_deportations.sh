#!/usr/bin/env bash
# Deportation cases through the tulay CLI against the real tulayd: logging one with every
# field, approximate and circa dates that come back as given, stages in order and out of
# order (refused naming the field, nothing written), illegal moves, stale versions,
# interventions on the timeline, retries that never log twice, the person stored only
# encrypted, and who may not write or see.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
T=$TULAY_CLI
for u in admin officer coord klofficer; do login $u; done

demo="(SELECT org_id FROM organisations WHERE acronym = 'DEMO')"
cases() { super -c "SELECT count(*) FROM cases WHERE kind = 'deportation' AND org_id = $demo"; }
version() { super -c "SELECT version FROM cases WHERE reference = '$1' AND org_id = $demo"; }
events() { super -c "SELECT count(*) FROM case_events e JOIN cases c USING (org_id, case_id) WHERE c.reference = '$1' AND c.org_id = $demo"; }
dp_ref() { grep -oE 'DP-[0-9]{4}-[0-9]{6}' <<<"$1" | head -n 1; }

# --- a case with every field ------------------------------------------------------------
as admin org office add --name "Penang drop-in centre" --city "George Town" --country MY >/dev/null
expect "a deportation with every field is logged" 0 'Logged deportation DP-[0-9]{4}-[0-9]{6}' -- \
	as officer deportation add --office "Penang drop-in centre" --nationality ID \
	--deported-from MY --deported-to ID --sector domestic-work \
	--grounds no-permit,absconding-report --arrested-on 2025-03-14 --arrest-place "Bayan Lepas" \
	--detained-on ~2025-03 --detention-place "Juru immigration depot" \
	--detention-type immigration-depot --counsel ngo-lawyer --consular-notified yes \
	--family-separated no --person-name "Siti Rahayu Wulandari" --person-id-number "C 4471902"
ref=$(dp_ref "$LAST")
match "its status follows the latest stage" 'Status: +detained' "$LAST"
show=$(as officer deportation show "$ref" 2>&1)
match "the office" 'Office: +Penang drop-in centre' "$show"
match "the route" 'Route: +MY → ID' "$show"
match "the nationality" 'Nationality: +ID \(Indonesia\)' "$show"
match "the sector" 'Sector: +domestic-work' "$show"
match "the grounds, in the CLI's words" 'Grounds: +no-permit,absconding-report' "$show"
match "the arrest to the day" 'Arrested on: +2025-03-14' "$show"
match "the arrest place" 'Arrest place: +Bayan Lepas' "$show"
match "the detention to the month, circa" 'Detained on: +~2025-03$' "$show"
match "the place of detention" 'Detention place: +Juru immigration depot' "$show"
match "the type of detention" 'Detention type: +immigration-depot' "$show"
match "the legal counsel" 'Legal counsel: +ngo-lawyer' "$show"
match "the consulate was notified" 'Consulate notified: +yes' "$show"
match "the family was not separated" 'Family separated: +no' "$show"
match "the person is shown back" 'Person: +Siti Rahayu Wulandari' "$show"
match "with the ID number" 'Person ID number: +C 4471902' "$show"
match "the timeline starts with the opening" 'opened +detained' "$show"
match "the person is stored encrypted" '^1\|1\|1$' \
	"$(super -c "SELECT (person_name_enc IS NOT NULL)::int, (person_id_number_enc IS NOT NULL)::int, (person_id_number_index IS NOT NULL)::int FROM deportations d JOIN cases c USING (org_id, case_id) WHERE c.reference = '$ref' AND c.org_id = $demo")"
match "never in clear in the deportations table" '^0$' \
	"$(super -c "SELECT count(*) FROM deportations d WHERE d::text LIKE '%Wulandari%' OR d::text LIKE '%4471902%' OR position(convert_to('Wulandari', 'UTF8') IN coalesce(d.person_name_enc, '')) > 0 OR position(convert_to('4471902', 'UTF8') IN coalesce(d.person_id_number_enc, '')) > 0")"
match "the stored dates are first days with their precision" '^2025-03-14\|day\|f\|2025-03-01\|month\|t$' \
	"$(super -c "SELECT arrested_on, arrested_precision, arrested_circa, detained_on, detained_precision, detained_circa FROM deportations d JOIN cases c USING (org_id, case_id) WHERE c.reference = '$ref' AND c.org_id = $demo")"
json=$(as officer deportation show "$ref" --format json 2>&1)
if python3 -m json.tool >/dev/null <<<"$json"; then ok "--format json parses"; else not_ok "--format json parses" "$json"; fi
match "dates keep their form in JSON" '"arrested_on":"2025-03-14".*"detained_on":"~2025-03"' "$json"
match "unknown stages are empty in JSON" '"released_on":"".*"deported_on":""' "$json"
match "the timeline is an array" '"timeline":\[' "$json"

# --- approximate and circa dates round-trip ---------------------------------------------
expect "dates known to the year, the month, circa" 0 'Logged deportation' -- \
	as officer deportation add --nationality MM --deported-from TH --arrested-on 2024 \
	--detained-on ~2024-11 --released-on ~2025
ref2=$(dp_ref "$LAST")
json=$(as officer deportation show "$ref2" --format json 2>&1)
match "a year comes back as a year" '"arrested_on":"2024"' "$json"
match "a circa month comes back as given" '"detained_on":"~2024-11"' "$json"
match "a circa year comes back as given" '"released_on":"~2025"' "$json"
match "the status follows the latest stage (released)" '"status":"released"' "$json"
match "a year is stored as its first day" '^2024-01-01\|year\|2024-11-01\|month\|t\|2025-01-01\|year\|t$' \
	"$(super -c "SELECT arrested_on, arrested_precision, detained_on, detained_precision, detained_circa, released_on, released_precision, released_circa FROM deportations d JOIN cases c USING (org_id, case_id) WHERE c.reference = '$ref2' AND c.org_id = $demo")"
expect "a malformed date is refused before sending" 1 '--arrested-on.*YYYY-MM' -- \
	as officer deportation add --nationality MM --deported-from TH --arrested-on 2024-13

# --- stage dates out of order -----------------------------------------------------------
n=$(cases)
expect "a detention certainly before the arrest is refused, naming the field" 2 \
	'--detained-on: is before arrested_on \(2025-03\): the detention cannot come before the arrest' -- \
	as officer deportation add --nationality KH --deported-from TH --arrested-on 2025-03 \
	--detained-on 2025-02-28
expect "so is a deportation before a circa detention" 2 '--deported-on: is before detained_on \(~2025-05\)' -- \
	as officer deportation add --nationality KH --deported-from TH --detained-on ~2025-05 \
	--deported-on 2025-04
match "nothing was logged" "^$n\$" "$(cases)"
expect "overlapping spans are in order (2025-03, then 2025-03-10)" 0 'Status: +detained' -- \
	as officer deportation add --nationality KH --deported-from TH --arrested-on 2025-03 \
	--detained-on 2025-03-10
expect "a place of detention needs the detention's date" 2 '--detained-on: is required with a place' -- \
	as officer deportation add --nationality KH --deported-from TH --detention-place "Suan Phlu"

# --- stages, in order and not ---------------------------------------------------------------
expect "an arrest alone" 0 'Status: +arrested' -- \
	as officer deportation add --nationality PH --deported-from MY --arrested-on 2025-04-02 \
	--person-name "Jomar Dela Cruz"
ref3=$(dp_ref "$LAST")
v=$(version "$ref3")
e=$(events "$ref3")
expect "a stage before the arrest is refused, naming --on" 2 \
	'--on: is before the arrest \(2025-04-02\): a stage cannot come before an earlier one' -- \
	as officer deportation stage "$ref3" --stage detention --on 2025-03-30
match "as a failed precondition" 'FAILED_PRECONDITION: nothing was recorded' "$LAST"
match "the refusal changed nothing (version)" "^$v\$" "$(version "$ref3")"
match "the refusal changed nothing (timeline)" "^$e\$" "$(events "$ref3")"
match "the refusal changed nothing (dates)" '^$' \
	"$(super -c "SELECT detained_on FROM deportations d JOIN cases c USING (org_id, case_id) WHERE c.reference = '$ref3' AND c.org_id = $demo")"
expect "arrested -> detention" 0 'is now detained' -- \
	as officer deportation stage "$ref3" --stage detention --on ~2025-04 \
	--detention-place "Bukit Jalil depot" --detention-type immigration-depot \
	--note "Jomar called from the depot"
match "the stage reply carries the person" 'Person: +Jomar Dela Cruz' "$LAST"
expect "a stale version is refused with the current one" 2 'FAILED_PRECONDITION.*version is now' -- \
	as officer deportation stage "$ref3" --stage release --on 2025-05-01 --expected-version "$v"
expect "detained -> release" 0 'is now released' -- \
	as officer deportation stage "$ref3" --stage release --on 2025-05-01
key=11aa22bb33cc44dd55ee66ff77889900
expect "released -> deportation, with a key" 0 'is now deported' -- \
	as officer deportation stage "$ref3" --stage deportation --on 2025-06-02 --deported-to PH \
	--idempotency-key $key --expected-version "$(version "$ref3")"
sent=$(($(version "$ref3") - 1))
e=$(events "$ref3")
expect "the same stage retried is answered, not recorded twice" 0 'is now deported' -- \
	as officer deportation stage "$ref3" --stage deportation --on 2025-06-02 --deported-to PH \
	--idempotency-key $key --expected-version "$sent"
match "still the same timeline" "^$e\$" "$(events "$ref3")"
show=$(as officer deportation show "$ref3" 2>&1)
match "a deported case is closed on its deportation date" 'Closed on: +2025-06-02' "$show"
match "and goes where it was sent" 'Route: +MY → PH' "$show"
match "the detention's details were kept" 'Detention place: +Bukit Jalil depot' "$show"
match "the timeline has every stage in order" \
	'opened +arrested.*stage-recorded +arrested → detained +Jomar called.*stage-recorded +detained → released.*stage-recorded +released → deported' \
	"$(tr '\n' ' ' <<<"$show")"
v=$(version "$ref3")
expect "deported -> detention is illegal, naming where it may go" 2 'deported can move to: nothing' -- \
	as officer deportation stage "$ref3" --stage detention --on 2025-07-01
expect "the stage flag is named" 2 '--stage: is not a move allowed' -- \
	as officer deportation stage "$ref3" --stage release --on 2025-07-01
match "illegal moves changed nothing" "^$v\$" "$(version "$ref3")"
expect "details of another stage are refused before sending" 1 '--deported-to: is only for --stage deportation' -- \
	as officer deportation stage "$ref3" --stage release --on 2025-07-01 --deported-to PH

# --- interventions --------------------------------------------------------------------------
expect "a detention visit is recorded" 0 'Recorded visit on DP-' -- \
	as officer deportation intervention "$ref" --kind visit --on 2025-03-20 \
	--text "Visited Siti at Juru; asked for an interpreter"
match "the visit as recorded" 'Intervention: +visit' "$LAST"
expect "a representation to the embassy" 0 'Recorded representation-embassy' -- \
	as officer deportation intervention "$ref" --kind representation-embassy
show=$(as officer deportation show "$ref" 2>&1)
match "interventions are on the timeline" \
	'intervention +visit +Visited Siti at Juru.*intervention +representation-embassy' \
	"$(tr '\n' ' ' <<<"$show")"
match "as JSON, with their kind" '"kind":"intervention","from_status":"","to_status":"","detail":"visit"' \
	"$(as officer deportation show "$ref" --format json 2>&1)"
expect "an unknown kind is refused before sending" 1 '--kind' -- \
	as officer deportation intervention "$ref" --kind lobbying
expect "an intervention on no such case" 2 'NOT_FOUND' -- \
	as officer deportation intervention DP-2020-999999 --kind visit

# --- idempotent retries -----------------------------------------------------------------------
key=0123456789abcdef0123456789abcdef
expect "a case logged with a key" 0 'Logged deportation' -- \
	as officer deportation add --nationality NP --deported-from MY --arrested-on 2025-01 \
	--idempotency-key $key
first=$(dp_ref "$LAST")
n=$(cases)
expect "the same request retried gives the same case" 0 "Logged deportation $first" -- \
	as officer deportation add --nationality NP --deported-from MY --arrested-on 2025-01 \
	--idempotency-key $key
match "and logs nothing twice" "^$n\$" "$(cases)"
expect "the same key for another case is refused" 2 'ALREADY_EXISTS' -- \
	as officer deportation add --nationality BD --deported-from MY --idempotency-key $key

# --- refusals -------------------------------------------------------------------------------
n=$(cases)
expect "an unknown office is refused, naming --office" 2 '--office: is not one of' -- \
	as officer deportation add --office "Nowhere office" --nationality ID --deported-from MY
match "as an invalid argument" 'INVALID_ARGUMENT: nothing was logged' "$LAST"
match "and nothing was logged" "^$n\$" "$(cases)"
expect "a coordinator logs no deportation" 2 'PERMISSION_DENIED' -- \
	as coord deportation add --nationality ID --deported-from MY
expect "a coordinator records no stage" 2 'PERMISSION_DENIED' -- \
	as coord deportation stage "$ref2" --stage deportation --on 2025-08 --expected-version 1
expect "a coordinator records no intervention" 2 'PERMISSION_DENIED' -- \
	as coord deportation intervention "$ref" --kind visit
match "nothing was logged by the coordinator" "^$n\$" "$(cases)"
expect "another organisation cannot see DEMO's deportation" 2 'NOT_FOUND' -- \
	as klofficer deportation show "$ref" --org DEMO
expect "nor record its stages" 2 'NOT_FOUND' -- \
	as klofficer deportation stage "$ref2" --org DEMO --stage deportation --on 2025-08 \
	--expected-version 1
expect "nor add interventions" 2 'NOT_FOUND' -- \
	as klofficer deportation intervention "$ref" --org DEMO --kind visit
expect "nor log one for DEMO" 2 'PERMISSION_DENIED' -- \
	as klofficer deportation add --org DEMO --nationality ID --deported-from MY
match "other organisations changed nothing" '^1$' "$(version "$ref2")"

# --- personal data in neither dump nor log --------------------------------------------------
pg_dump -h "$sock" -U postgres -d tulay >"$home/dump.sql" 2>&1
match "the dump holds the cases" 'Juru immigration depot' "$(cat "$home/dump.sql")"
for secret in "Wulandari" "4471902" "Jomar" "Visited Siti"; do
	if grep -qF "$secret" "$home/dump.sql" "$TULAY_TEST_STATE/tulayd.log"; then
		not_ok "personal data is stored only encrypted: found '$secret'"
	else
		ok "personal data is stored only encrypted ('$secret' in neither dump nor log)"
	fi
done

# --- found by the person's ID number; a second case of the same person flagged -----------
# The help promised "findable by exact match", and only claims were (issue 12, point 6).
expect "a deportation is found by the person's ID number, written any way" 0 "$ref" -- \
	as officer deportation list --id-number "c-4471902"
match "and only that one" '^1$' "$(as officer case list --id-number "C4471902" --format csv 2>&1 | grep -c '^DP-')"
expect "another number finds nothing" 0 'No deportations' -- as officer deportation list --id-number "C 4471903"
expect "another organisation's officer does not find it (indexes are per organisation)" 0 'No cases' -- \
	as klofficer case list --id-number "C 4471902"
expect "a malformed number is refused, naming the option" 2 'id_number' -- \
	as officer case list --id-number "ab"
expect "with --shared it is refused before sending" 1 '--id-number' -- \
	as officer case list --id-number "C 4471902" --shared
before=$(cases)
expect "the same person deported again: logged, and flagged as a possible duplicate" 0 \
	"possible duplicate.*$ref" -- as officer deportation add --nationality ID --deported-from MY \
	--arrested-on 2026-02-01 --person-id-number "C4471902"
second=$(grep -oE 'Logged deportation DP-[0-9]{4}-[0-9]{6}' <<<"$LAST" | grep -oE 'DP-[0-9]{4}-[0-9]{6}')
match "the second case is logged all the same" "^$((before + 1))\$" "$(cases)"
expect "a claim of the same worker is flagged too, with both deportations" 0 \
	"possible duplicate.*$ref.*$second|possible duplicate.*$second.*$ref" -- \
	as officer claim add --nationality ID --country-of-work MY --sector domestic-work \
	--employer "Keluarga Contoh" --work-start 2024-01-01 --work-end 2025-03-01 \
	--amount 5400.00 --currency MYR --worker-id-number "C 4471902"
claim=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$LAST" | head -n 1)
if grep -q 'possible duplicate' <<<"$(as officer deportation add --nationality ID --deported-from MY \
	--arrested-on 2026-02-02 --person-id-number "Z 9990001" 2>&1)"; then
	not_ok "a person never seen before is not flagged"
else
	ok "a person never seen before is not flagged"
fi
match "the search is audited by the number's blind index, never the number" 'id_number_index=[0-9a-f]{64}' \
	"$(super -c "SELECT detail FROM audit_log WHERE action = 'list_cases' ORDER BY id DESC LIMIT 1")"

for cmd in "deportation add" "deportation show" "deportation stage" "deportation intervention"; do
	# shellcheck disable=SC2086
	expect "$cmd --help" 0 'Usage: tulay '"$cmd" -- as officer $cmd --help
done
finish

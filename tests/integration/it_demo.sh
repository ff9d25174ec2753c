#!/usr/bin/env bash
# The demo data loader, tulay-demo, at its default scale, in a database of its own (the
# harness's cluster, its own tulayd with the harness's small pool: 3 connections, 2 s queue
# timeout): the first run loads everything its plan names on the first try (organisations,
# memberships with a network inside a network, offices, users, exchange rates, cases and
# their lifecycle), every report of the README's coordinator walkthrough shows figures, a
# second run replays every request and adds nothing, workers' pseudonyms are stored sealed
# only, and the demo users can log in and read their cases. Then a run against a saturated
# tulayd (one connection, 100 ms queue timeout, no retries) stops half-way on busy answers,
# and the next run completes it: the same requests, nothing refused as reusing a key,
# nothing twice. Every request type the loader sends must succeed: none failed, none
# skipped.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
DEMO=$(dirname "$TULAY_CLI")/tulay-demo
T=$TULAY_CLI
work=$(mktemp -d)
trap 'stop_tulayds; rm -rf "$work"' EXIT

# The demo database: migrated as the owner, with an admin, served by tulayds of our own.
export DB=tulay_demo TULAY_DATA_KEY_FILE TULAY_MIGRATIONS="$TULAY_TEST_REPO/migrations"
super -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB OWNER tulay" >/dev/null
demo_owner="${TULAY_TEST_DB_OWNER/dbname=tulay/dbname=$DB}"
demo_app="${TULAY_TEST_DB/dbname=tulay/dbname=$DB}"
"$TULAYD" migrate up --db "$demo_owner" >/dev/null
"$TULAYD" org add --db "$demo_owner" --acronym DEMO --name "Demo Migrant Support Centre" \
	--kind ngo --country PH >/dev/null
TULAY_NEW_PASSWORD="$TULAY_TEST_PASSWORD" "$TULAYD" user add --db "$demo_owner" --org DEMO \
	--username admin --role admin >/dev/null
start_tulayd SERVER "$work/tulayd.log" --db "$demo_app" --db-connections 3 --db-queue-timeout-ms 2000 \
	--db-query-timeout-ms 30000 || exit 1
start_tulayd BUSY "$work/busy.log" --db "$demo_app" --db-connections 1 --db-queue-timeout-ms 100 \
	--db-query-timeout-ms 1000 || exit 1
export TULAY_SERVER=$SERVER

run_demo() {
	TULAY_DEMO_PASSWORD=$TULAY_TEST_PASSWORD "$DEMO" --users-password-file "$work/users-password" "$@"
}
# column N of the summary table row of request type $1 in the output $2, 0 without one
# (2 sent, 3 ok, 4 existing, 5 skipped, 6 failed, 7 retried); in bash alone, as the test
# reads a hundred of them
col() {
	local f v=0
	while read -ra f; do [[ ${f[0]:-} == "$1" ]] && v=${f[$3 - 1]:-0}; done <<<"$2"
	echo "$v"
}
# a SQL list of the quoted fields $2.. of the plan's lines of kind $1: ('a','b'),(...)
plan_values() {
	local kind=$1
	shift
	awk -F'\t' -v kind="$kind" -v fields="$*" '
		BEGIN { n = split(fields, f, " ") }
		$1 == kind {
			row = ""
			for (i = 1; i <= n; i++) {
				v = $(f[i]); gsub("\047", "\047\047", v)
				row = row (i > 1 ? "," : "") "\047" v "\047"
			}
			out = out (out == "" ? "" : ",") "(" row ")"
		}
		END { print out }' <<<"$PLAN"
}

expect "--help says what it creates" 0 'networks' -- "$DEMO" --help
match "--help says the data is synthetic" 'SYNTHETIC DATA ONLY' "$LAST"
match "--help explains idempotency" 'adds nothing' "$LAST"
help=$LAST
for opt in --server --ca-file --admin --users-password-file --scale --seed --wait --timeout \
	--retries --print-plan; do
	match "--help explains $opt" "^ +$opt" "$help"
done
expect "the users' password file is required" 2 'users-password-file' -- "$DEMO" --scale 1
expect "a bad scale is refused" 2 '--scale' -- "$DEMO" --scale lots --print-plan
echo "shared-password-123" >"$work/readable"
chmod 644 "$work/readable"
expect "a password file others may read is refused" 2 'chmod 600' -- \
	env TULAY_DEMO_PASSWORD=x "$DEMO" --users-password-file "$work/readable"

PLAN=$("$DEMO" --print-plan)
SCALE=$(awk -F'\t' '$1 == "cases" && $2 == "wage_theft" { print $3 }' <<<"$PLAN")
match "the default scale is a few hundred cases of each kind" '^[1-9][0-9]{2}$' "$SCALE"
n_orgs=$(grep -c '^organisation' <<<"$PLAN")
n_members=$(grep -c '^membership' <<<"$PLAN")
n_offices=$(grep -c '^office' <<<"$PLAN")
n_users=$(grep -c '^user' <<<"$PLAN")
match "the plan has $SCALE cases of each kind" "^$SCALE $SCALE $SCALE\$" \
	"$(awk -F'\t' '$1 == "cases" { printf "%s%s", sep, $3; sep = " " }' <<<"$PLAN")"
orgs=$(plan_values organisation 2 | tr -d '()')
users=$(plan_values user 2 | tr -d '()')
demo_user_ids="SELECT user_id FROM users WHERE username IN ($users)"

totals() {
	super -c "SELECT (SELECT count(*) FROM organisations) || ' ' ||
		(SELECT count(*) FROM memberships) || ' ' || (SELECT count(*) FROM offices) || ' ' ||
		(SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM cases) || ' ' ||
		(SELECT count(*) FROM case_events) || ' ' || (SELECT count(*) FROM referrals) || ' ' ||
		(SELECT count(*) FROM claim_workers) || ' ' || (SELECT count(*) FROM exchange_rates)"
}

expect "the first run loads the demo set" 0 'loaded in .* 0 failed' -- run_demo
FIRST=$LAST
match "it says where the users' password is" 'password is in' "$FIRST"
match "the users' password file is private" '^600$' "$(stat -c %a "$work/users-password")"
RPCS="CreateOrganisation AddMembership EndMembership AddOffice CreateUser SetExchangeRate
	CreateClaim ChangeClaimStatus UpdateClaimAmounts AddCaseNote CreateDeportation
	RecordDeportationStage AddIntervention CreateRecommendation ChangeRecommendationStatus
	ProposeReferral DecideReferral"
for rpc in $RPCS; do
	match "$rpc was sent" '^[1-9]' "$(col "$rpc" "$FIRST" 2)"
	match "$rpc: nothing failed and nothing was skipped" '^0 0$' \
		"$(col "$rpc" "$FIRST" 6) $(col "$rpc" "$FIRST" 5)"
done

match "every organisation of the plan exists" "^$n_orgs\$" \
	"$(super -c "SELECT count(*) FROM organisations WHERE acronym IN ($orgs)")"
match "every membership of the plan, with its role and dates" "^$n_members\$" "$(super -c "
	SELECT count(*) FROM memberships m
	  JOIN organisations a ON a.org_id = m.member_org
	  JOIN organisations n ON n.org_id = m.network_org
	 WHERE (a.acronym, n.acronym, m.role, m.since::text, coalesce(m.until::text, '-'))
	    IN ($(plan_values membership 2 3 4 5 6))")"
# The plan's networks (kind from the plan: an organisation another test made with the same
# acronym is used as it is, whatever its kind).
networks=$(awk -F'\t' '$1 == "organisation" && $3 == "network" { printf "%s\047%s\047", sep, $2; sep = "," }' <<<"$PLAN")
match "networks are members of networks (WARBE of MFA)" '^t$' "$(super -c "
	SELECT bool_or(a.acronym = 'WARBE' AND n.acronym = 'MFA') AND count(*) >= 4
	  FROM memberships m
	  JOIN organisations a ON a.org_id = m.member_org
	  JOIN organisations n ON n.org_id = m.network_org
	 WHERE m.until IS NULL AND a.acronym IN ($networks) AND n.acronym IN ($networks)")"
match "every role is used" '^focal_point member partner secretariat$' \
	"$(super -c "SELECT string_agg(DISTINCT m.role, ' ') FROM memberships m
		JOIN organisations a ON a.org_id = m.member_org WHERE a.acronym IN ($orgs)")"
match "one membership has ended" '^1$' "$(super -c "SELECT count(*) FROM memberships m
	JOIN organisations a ON a.org_id = m.member_org
	WHERE a.acronym IN ($orgs) AND m.until IS NOT NULL")"
match "every office of the plan, in its city" "^$n_offices\$" "$(super -c "
	SELECT count(*) FROM offices f JOIN organisations o USING (org_id)
	 WHERE (o.acronym, f.name, f.city, f.country) IN ($(plan_values office 2 3 4 5))")"
match "a field officer and a coordinator per organisation" "^$n_users\$" "$(super -c "
	SELECT count(*) FROM users u JOIN organisations o USING (org_id)
	 WHERE (u.username, o.acronym, u.role) IN ($(plan_values user 2 3 4))")"
match "$SCALE claims logged by the demo field officers" "^$SCALE\$" "$(super -c "
	SELECT count(*) FROM cases WHERE kind = 'wage_theft' AND created_by IN ($demo_user_ids)")"
match "spread over corridors, sectors and organisations" '^t$' "$(super -c "
	SELECT count(DISTINCT (w.worker_nationality, w.country_of_work)) >= 4
	   AND count(DISTINCT w.sector) >= 3 AND count(DISTINCT c.org_id) >= 4
	  FROM cases c JOIN wage_theft_claims w USING (org_id, case_id)
	 WHERE c.created_by IN ($demo_user_ids)")"
match "claims are spread over offices" '^([4-9]|[1-9][0-9]+)$' "$(super -c "
	SELECT count(DISTINCT office_id) FROM cases
	 WHERE kind = 'wage_theft' AND created_by IN ($demo_user_ids)")"
match "the status changes the loader reports are on the timelines" \
	"^$(col ChangeClaimStatus "$FIRST" 3) $(col UpdateClaimAmounts "$FIRST" 3) $(col AddCaseNote "$FIRST" 3)\$" \
	"$(super -c "SELECT count(*) FILTER (WHERE e.kind = 'status_changed') || ' ' ||
		count(*) FILTER (WHERE e.kind = 'amounts_updated') || ' ' ||
		count(*) FILTER (WHERE e.kind = 'note')
		FROM case_events e JOIN cases c USING (org_id, case_id)
		WHERE c.kind = 'wage_theft' AND c.created_by IN ($demo_user_ids)")"
match "claims moved beyond intake" '^t$' "$(super -c "
	SELECT count(DISTINCT status) >= 3 FROM cases
	 WHERE kind = 'wage_theft' AND created_by IN ($demo_user_ids)")"

# Workers are pseudonyms at most, and stored only sealed: nonce (24) + text + tag (16).
match "some claims carry a worker pseudonym" '^[1-9]' "$(super -c "
	SELECT count(*) FROM wage_theft_claims w JOIN cases c USING (org_id, case_id)
	 WHERE c.created_by IN ($demo_user_ids) AND w.worker_name_enc IS NOT NULL")"
match "worker identities are sealed or NULL, never plaintext" '^0$' "$(super -c "
	SELECT count(*) FROM wage_theft_claims w JOIN cases c USING (org_id, case_id)
	 WHERE c.created_by IN ($demo_user_ids) AND (
	       w.worker_phone_enc IS NOT NULL
	    OR (w.worker_name_enc IS NOT NULL AND (length(w.worker_name_enc) <> 40 + 11
	        OR position(convert_to('Worker', 'UTF8') IN w.worker_name_enc) > 0))
	    OR (w.worker_id_number_enc IS NOT NULL AND (length(w.worker_id_number_enc) <> 40 + 11
	        OR position(convert_to('DEMO', 'UTF8') IN w.worker_id_number_enc) > 0)))")"
match "no group claim names its other workers" '^0$' "$(super -c "
	SELECT count(*) FROM claim_workers w JOIN cases c USING (org_id, case_id)
	 WHERE c.created_by IN ($demo_user_ids)")"

# A demo field officer logs in with the shared password and reads a sealed pseudonym.
row=$(super -c "SELECT u.username || ' ' || c.reference
	FROM wage_theft_claims w JOIN cases c USING (org_id, case_id)
	JOIN users u ON u.user_id = c.created_by
	WHERE c.created_by IN ($demo_user_ids) AND w.worker_name_enc IS NOT NULL
	ORDER BY c.case_id LIMIT 1")
read -r officer reference <<<"$row"
export TULAY_CONFIG_DIR="$work/cli"
expect "a demo field officer logs in with the users' password" 0 "$officer" -- \
	"$T" login --username "$officer" --password-stdin <"$work/users-password"
expect "and reads the claim's pseudonym, unsealed by the server" 0 'Worker [0-9]{4}' -- \
	"$T" claim show "$reference"
"$T" logout >/dev/null 2>&1

for kind in deportation recommendation; do
	match "$SCALE ${kind}s logged by the demo users" "^$SCALE\$" "$(super -c "
		SELECT count(*) FROM cases WHERE kind = '$kind' AND created_by IN ($demo_user_ids)")"
done
match "deportations moved through their stages" '^t$' "$(super -c "
	SELECT count(DISTINCT status) >= 3 FROM cases
	 WHERE kind = 'deportation' AND created_by IN ($demo_user_ids)")"
match "the stages the loader reports are on the timelines" \
	"^$(col RecordDeportationStage "$FIRST" 3) $(col AddIntervention "$FIRST" 3)\$" \
	"$(super -c "SELECT count(*) FILTER (WHERE e.kind = 'stage_recorded') || ' ' ||
		count(*) FILTER (WHERE e.kind = 'intervention')
		FROM case_events e JOIN cases c USING (org_id, case_id)
		WHERE c.kind = 'deportation' AND c.created_by IN ($demo_user_ids)")"
match "persons are sealed or NULL, never plaintext" '^0$' "$(super -c "
	SELECT count(*) FROM deportations d JOIN cases c USING (org_id, case_id)
	 WHERE c.created_by IN ($demo_user_ids) AND (d.person_id_number_enc IS NOT NULL
	    OR (d.person_name_enc IS NOT NULL AND (length(d.person_name_enc) <> 40 + 13
	        OR position(convert_to('Deportee', 'UTF8') IN d.person_name_enc) > 0)))")"
match "recommendations moved along their statuses" '^t$' "$(super -c "
	SELECT count(DISTINCT status) >= 3 FROM cases
	 WHERE kind = 'recommendation' AND created_by IN ($demo_user_ids)")"
match "the referrals the loader reports exist, with consent" \
	"^$(col ProposeReferral "$FIRST" 3) $(col DecideReferral "$FIRST" 3)\$" "$(super -c "
	SELECT count(*) || ' ' || count(*) FILTER (WHERE r.status <> 'proposed')
	  FROM referrals r WHERE r.proposed_by IN ($demo_user_ids)
	   AND r.consent_given_on IS NOT NULL")"
match "referrals go from destination to origin countries, accepted and declined" '^t$' \
	"$(super -c "SELECT bool_and(f.country IN ('MY', 'TH', 'SG', 'HK'))
		AND count(DISTINCT r.status) >= 2
		FROM referrals r JOIN organisations f ON f.org_id = r.org_id
		WHERE r.proposed_by IN ($demo_user_ids)")"

match "every exchange rate of the plan" "^$(grep -c '^rate' <<<"$PLAN")\$" "$(super -c "
	SELECT count(*) FROM exchange_rates
	 WHERE (currency::text, reporting_currency::text, rate::text, valid_from::text)
	    IN (SELECT c, r, v::numeric(24, 12)::text, f
		  FROM (VALUES $(plan_values rate 2 3 4 5)) AS plan (c, r, v, f))")"

# The README's walkthrough of a network's report, as MFA's coordinator: every report shows
# figures, not only "suppressed" (the demo set is large and recent enough for k = 11).
export TULAY_CONFIG_DIR="$work/coord"
expect "MFA's coordinator logs in" 0 'mfa.coord' -- \
	"$T" login --username mfa.coord --password-stdin <"$work/users-password"
# the number of cells of a CSV report whose case count is shown
shown_cells() {
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "cases") c = i; next }
		$1 == "cell" && c > 0 && $c != "" { n++ } END { print n + 0 }' <<<"$1"
}
walkthrough=(
	"claims --by corridor,quarter --from 2026-01-01 --network MFA"
	"claims --by corridor --from 2026-01 --currency USD"
	"claims --by sector --destination TH"
	"deportations --by from,stage --network MFA"
	"recommendations --by theme,status"
)
for report in "${walkthrough[@]}"; do
	# shellcheck disable=SC2086 # the arguments are words
	csv=$("$T" report $report --format csv 2>"$work/report.err")
	code=$?
	match "report $report: answered" '^0 *$' "$code $(cat "$work/report.err")"
	match "report $report: shows figures, not only suppressed" '^[1-9]' "$(shown_cells "$csv")"
done
expect "the walkthrough's chart draws bars" 0 '█+ [0-9]+' -- \
	"$T" report claims --by sector --destination TH --chart

before=$(totals)
password=$(cat "$work/users-password")
expect "the second run succeeds too" 0 'loaded in .* 0 failed' -- run_demo
SECOND=$LAST
match "and adds nothing" "^$before\$" "$(totals)"
match "the second run keeps the users' password" "^$password\$" "$(cat "$work/users-password")"
# ok + existing: the ended membership is found ended instead of ended again.
for rpc in $RPCS; do
	match "$rpc: the second run replays every request of the first" \
		"^$(($(col "$rpc" "$FIRST" 3) + $(col "$rpc" "$FIRST" 4))) 0 0\$" \
		"$(($(col "$rpc" "$SECOND" 3) + $(col "$rpc" "$SECOND" 4))) $(col "$rpc" "$SECOND" 5) $(col "$rpc" "$SECOND" 6)"
done

# Regression (issue 11): after a run cut short, 26 recommendations failed for ever with
# ALREADY_EXISTS, sent again with more evidence than the first time. A run against a
# saturated tulayd, without retries, stops short on busy answers; the next run completes
# it with the same requests.
count_cases() {
	super -c "SELECT count(*) FROM cases WHERE created_by IN ($demo_user_ids)"
}
cases_before=$(count_cases)
# Saturated for certain, however fast or slow the machine is. The run starts with the
# admin's login alone; once it is answered, the organisations table is locked until the
# run has ended. Everything the run does next (organisations, users, memberships,
# offices, cases) waits on it: its first request takes the one connection, and the
# requests it sends in parallel queue behind it and are answered busy after 100 ms; the
# request on the connection gives up after BUSY's 1 s query timeout. (A lock held for a
# fixed time can miss a slow run, and a lock taken before the run starts catches the
# admin's login, alone, which then only times out. On a loaded machine the lock may come
# only once the cases are being logged, which go on past failures: a short query timeout
# keeps that run to seconds, not the lock's minute.)
run_demo --server "$BUSY" --retries 0 --seed 2 --scale 60 >"$work/busy.out" 2>&1 &
demo=$!
# (On a loaded machine the login itself may be answered busy, the one connection taken by
# tulayd's own chores; the run has then stopped short already: no need to wait for it.)
for _ in $(seq 600); do
	grep -q 'type=login code=0' "$work/busy.log" && break
	kill -0 "$demo" 2>/dev/null || break
	sleep 0.05
done
super -c "BEGIN; LOCK TABLE organisations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;" \
	>/dev/null 2>&1 &
locker=$!
code=0
wait "$demo" || code=$?
super -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE query LIKE '%LOCK TABLE organisations%' AND pid <> pg_backend_pid()" >/dev/null
wait "$locker" || true
if [[ $code == 1 ]] && grep -q 'UNAVAILABLE: the server is busy' "$work/busy.out"; then
	ok "against a saturated tulayd without retries the run stops short, the server busy"
else
	not_ok "against a saturated tulayd without retries the run stops short, the server busy (exit $code)" \
		"$(cat "$work/busy.out")"
fi
match "tulayd logged the busy answers at warn, with the queue depth and the wait" \
	'level=warn event=db_busy conn=[0-9]+ req=[0-9]+ type=[a-z_]+ queue_depth=[1-9][0-9]* waited_ms=[0-9]+' \
	"$(cat "$work/busy.log")"
expect "the next run completes it" 0 'loaded in .* 0 failed' -- run_demo --seed 2 --scale 60
if grep -q ALREADY_EXISTS <<<"$LAST"; then
	not_ok "no request of the next run is refused as reusing a key" "$LAST"
else
	ok "no request of the next run is refused as reusing a key"
fi
match "every case of the seed once: $SCALE + 3 x 60" "^$((cases_before + 180))\$" "$(count_cases)"
match "nothing skipped" '^0 0 0$' "$(col CreateClaim "$LAST" 5) $(col CreateRecommendation "$LAST" 5) $(col ChangeRecommendationStatus "$LAST" 5)"

finish

#!/usr/bin/env bash
# Policy recommendations through the tulay CLI against the real tulayd: recording one with
# co-signers and evidence, showing it, the whole path from submitted to implemented with
# dated follow-ups, illegal and stale moves and missing notes refused with nothing
# written, unknown co-signers and evidence named and refused, evidence linked later
# (once, also a case referred by a partner), retries that never record twice, and who may
# do what.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER TULAY_CONFIG_DIR
TULAY_CONFIG_DIR=$(mktemp -d)
trap 'rm -rf "$TULAY_CONFIG_DIR"' EXIT
T=$TULAY_CLI
echo "$TULAY_TEST_PASSWORD" | "$T" login --username officer --password-stdin >/dev/null
as() { # as USER COMMAND...: runs the CLI logged in as USER (own config directory)
	local dir="$TULAY_CONFIG_DIR/$1"
	shift
	if [[ ! -d "$dir" ]]; then
		mkdir -p "$dir"
		echo "$TULAY_TEST_PASSWORD" | TULAY_CONFIG_DIR="$dir" "$T" login --username "$(basename "$dir")" --password-stdin >/dev/null
	fi
	TULAY_CONFIG_DIR="$dir" "$T" "$@"
}
claim() { # claim [CLI...]: logs a claim, prints its reference
	"$@" claim add --nationality BD --country-of-work MY --sector manufacturing \
		--employer "Perkasa Glove Industries Sdn Bhd" --work-start 2024-03-01 \
		--work-end 2025-08-31 --amount 10800.00 --currency MYR 2>&1 |
		grep -oE 'WT-[0-9]{4}-[0-9]{6}' | head -n 1
}
flat() { tr '\n' ' ' <<<"$1"; } # for patterns over several lines
demo="(SELECT org_id FROM organisations WHERE acronym = 'DEMO')"
count_recommendations() { super -c "SELECT (SELECT count(*) FROM cases WHERE kind = 'recommendation'), (SELECT count(*) FROM recommendations), (SELECT count(*) FROM recommendation_signatories), (SELECT count(*) FROM recommendation_evidence)"; }
events() { super -c "SELECT count(*) FROM case_events e JOIN cases c USING (org_id, case_id) WHERE c.reference = '$1' AND c.org_id = $demo"; }
version() { super -c "SELECT version FROM cases WHERE reference = '$1' AND org_id = $demo"; }
WAGES=(--title "Wage protection through bank transfers"
	--text "Receiving states should require employers to pay migrant workers' wages into bank accounts in the workers' own names, monthly and in full."
	--source "Civil Society Proposal: ASEAN Framework Instrument on the Protection and Promotion of the Rights of Migrant Workers"
	--source-date 2009-05-01 --addressed-to receiving-states --target-body ACMW --country MY
	--theme wage-protection)

wt1=$(claim "$T")
wt2=$(claim "$T")
match "two claims to serve as evidence" '^WT-.*' "$wt1 $wt2"

# --- recording one -----------------------------------------------------------------------
out=$("$T" recommendation add "${WAGES[@]}" --co-signers myngo --evidence "$wt1" 2>&1)
rc=$(grep -oE 'RC-[0-9]{4}-[0-9]{6}' <<<"$out" | head -n 1)
match "recorded, with an RC reference" '^Recorded recommendation RC-[0-9]{4}-[0-9]{6}' "$out"
match "drafted by default" 'Status: +drafted' "$out"
match "its co-signer, upper-cased" 'Co-signers: +MYNGO' "$out"
match "its evidence" "DEMO +$wt1" "$out"
show=$("$T" recommendation show "$rc" 2>&1)
match "show: addressed to, body, country, theme" 'Addressed to: +receiving-states.*Target body: +ACMW.*Country: +MY \(Malaysia\).*Theme: +wage-protection' "$(flat "$show")"
match "show: source and its date" 'Source date: +2009-05-01' "$show"
match "show: co-signers" 'Co-signers: +MYNGO' "$show"
match "show: evidence" "Evidence.*DEMO +$wt1" "$(flat "$show")"
match "show: the timeline starts with the opening" 'Timeline.*opened +drafted +officer' "$(flat "$show")"

as admin org office add --name "Advocacy desk" --city "Quezon City" --country PH >/dev/null 2>&1
expect "recorded at a field office" 0 'Office: +Advocacy desk' -- \
	"$T" recommendation add "${WAGES[@]}" --title "Recorded at an office" --office "Advocacy desk"

# --- what governments did with it ----------------------------------------------------------
expect "drafted -> submitted" 0 'is now submitted' -- \
	"$T" recommendation status "$rc" --to submitted --on 2025-06-02
expect "submitted -> acknowledged, with a follow-up" 0 'is now acknowledged' -- \
	"$T" recommendation status "$rc" --to acknowledged --on 2025-07-15 \
	--note "Acknowledged by the Ministry of Human Resources in a letter"
expect "acknowledged -> accepted" 0 'is now accepted' -- \
	"$T" recommendation status "$rc" --to accepted --on 2025-09-10 \
	--note "Accepted at the 18th AFML"
before_v=$(version "$rc")
before_e=$(events "$rc")
expect "an illegal move is refused, naming where it may go" 2 'accepted can move to: implemented, partially_implemented' -- \
	"$T" recommendation status "$rc" --to submitted --note "Once more"
expect "a stale version is refused with the current one" 2 'FAILED_PRECONDITION.*version is now 4' -- \
	"$T" recommendation status "$rc" --to implemented --expected-version 2
match "refusals changed nothing (version)" "^$before_v\$" "$(version "$rc")"
match "refusals changed nothing (timeline)" "^$before_e\$" "$(events "$rc")"
expect "accepted -> partially-implemented" 0 'is now partially-implemented' -- \
	"$T" recommendation status "$rc" --to partially-implemented --on 2026-01-05 \
	--note "Wage Protection System in force for construction only; Kak Siti at the ministry confirmed"
expect "partially-implemented -> implemented, with the version seen" 0 'is now implemented' -- \
	"$T" recommendation status "$rc" --to implemented --on 2026-02-01 --expected-version 5 \
	--note "Extended to all sectors"
show=$("$T" recommendation show "$rc" 2>&1)
match "implemented closes it on the day" 'Closed on: +2026-02-01' "$show"
match "the timeline lists every step in order, with its day" '2025-06-02 +status-changed +drafted → submitted.*2025-07-15 +status-changed +submitted → acknowledged +Acknowledged by the Ministry.*2025-09-10 .*acknowledged → accepted.*2026-01-05 .*accepted → partially-implemented.*2026-02-01 .*partially-implemented → implemented +Extended to all sectors +officer' "$(flat "$show")"
expect "implemented moves nowhere" 2 'implemented can move to: nothing' -- \
	"$T" recommendation status "$rc" --to accepted

# --- notes are needed for noted, rejected and resubmitting -------------------------------
out=$("$T" recommendation add "${WAGES[@]}" --title "Firewall between labour inspection and immigration enforcement" --theme access-to-justice --status submitted 2>&1)
rc2=$(grep -oE 'RC-[0-9]{4}-[0-9]{6}' <<<"$out" | head -n 1)
match "recorded as submitted at once" 'Status: +submitted' "$out"
expect "rejected needs a note (checked before sending)" 1 '--note: is required' -- \
	"$T" recommendation status "$rc2" --to rejected
expect "rejected, with a note" 0 'is now rejected' -- \
	"$T" recommendation status "$rc2" --to rejected --note "The ministry rejected it at the AFML"
before_e=$(events "$rc2")
expect "resubmitting needs a note too (the server checks)" 2 '--note: is required' -- \
	"$T" recommendation status "$rc2" --to submitted
match "nothing was written" "^$before_e\$" "$(events "$rc2")"
expect "resubmitted, with a note" 0 'is now submitted' -- \
	"$T" recommendation status "$rc2" --to submitted --note "Resubmitted with new evidence"

# --- refusals name what is wrong and write nothing -----------------------------------------
before=$(count_recommendations)
expect "an unknown co-signer is refused, named" 2 '--co-signers: names NOPE, which is not a registered organisation' -- \
	"$T" recommendation add "${WAGES[@]}" --co-signers MYNGO,NOPE --evidence "$wt1"
expect "unknown evidence is refused, named" 2 '--evidence: names WT-2030-000999, which is not a case of your organisation' -- \
	"$T" recommendation add "${WAGES[@]}" --co-signers MYNGO --evidence "$wt1,WT-2030-000999"
expect "the author is no co-signer" 2 '--co-signers: names DEMO, the author' -- \
	"$T" recommendation add "${WAGES[@]}" --co-signers DEMO
expect "an unknown office is refused" 2 '--office: is not one of the organisation' -- \
	"$T" recommendation add "${WAGES[@]}" --office "Nowhere"
expect "a co-signer named twice (checked before sending)" 1 "'MYNGO' is given twice" -- \
	"$T" recommendation add "${WAGES[@]}" --co-signers MYNGO,myngo
expect "a source date in the future" 1 '--source-date: 2099-01-01 is in the future' -- \
	"$T" recommendation add "${WAGES[@]}" --source-date 2099-01-01
expect "only drafted or submitted when recorded" 1 "--status: 'accepted' is not a status for a new recommendation" -- \
	"$T" recommendation add "${WAGES[@]}" --status accepted
expect "a missing theme" 1 '--theme' -- "$T" recommendation add --title T --text T --source S \
	--source-date 2020-01-01 --addressed-to asean
match "nothing was written by any refusal" "^$before\$" "$(count_recommendations)"

# --- evidence linked later -------------------------------------------------------------------
before_v=$(version "$rc")
expect "a case linked as evidence later" 0 "Linked $wt2 as evidence of $rc" -- \
	"$T" recommendation evidence "$rc" --case "$wt2" --on 2026-02-03
show=$("$T" recommendation show "$rc" 2>&1)
match "both cases are its evidence" "DEMO +$wt1.*DEMO +$wt2" "$(flat "$show")"
match "the link is in the timeline" "2026-02-03 +evidence-linked +DEMO $wt2 +officer" "$show"
match "linking evidence is no change of the recommendation (version)" "^$before_v\$" "$(version "$rc")"
expect "the same case twice is refused" 2 "--case: names DEMO $wt2, which is already evidence of $rc" -- \
	"$T" recommendation evidence "$rc" --case "$wt2"
match "as ALREADY_EXISTS" 'ALREADY_EXISTS' "$LAST"
expect "an unknown case is refused" 2 "--case: names DEMO WT-2030-000999, which is not a case of your organisation" -- \
	"$T" recommendation evidence "$rc" --case WT-2030-000999
expect "an unknown recommendation is refused" 2 'NOT_FOUND' -- \
	"$T" recommendation evidence RC-2030-000999 --case "$wt2"
# A partner's case, once referred to DEMO and accepted (the referral written directly: its
# commands are tested elsewhere), may be evidence; before, it is invisible.
kl=$(claim as klofficer)
expect "another organisation's case is invisible before a referral" 2 "--case: names MYNGO $kl, which is not a case of your organisation nor one referred to it" -- \
	"$T" recommendation evidence "$rc" --case "$kl" --case-org MYNGO
rkey="substr(sha256('it_recommendations $kl'), 1, 16)"
match "a referral of it to DEMO, accepted" '^$' "$(super -c "INSERT INTO referrals (org_id, case_id, to_org_id, status, consent_given_on, consent_form, proposed_by, idempotency_key, request_hash)
	SELECT c.org_id, c.case_id, $demo, 'accepted', '2025-09-01', 'written',
	       (SELECT user_id FROM users WHERE username = 'klofficer'), $rkey, sha256('it_recommendations')
	  FROM cases c WHERE c.org_id = (SELECT org_id FROM organisations WHERE acronym = 'MYNGO') AND c.reference = '$kl'")"
expect "a case referred to DEMO may be its evidence" 0 "Linked MYNGO $kl as evidence of $rc" -- \
	"$T" recommendation evidence "$rc" --case "$kl" --case-org myngo
match "the referral revoked" '^$' "$(super -c "UPDATE referrals SET status = 'revoked' WHERE idempotency_key = $rkey")"
match "it stays named after the referral is revoked" "MYNGO +$kl" "$("$T" recommendation show "$rc" 2>&1)"

# --- retries ---------------------------------------------------------------------------------
key=0a1b2c3d4e5f60718293a4b5c6d7e8f9
expect "recorded with a key" 0 'Recorded recommendation' -- \
	"$T" recommendation add "${WAGES[@]}" --title "Retried" --idempotency-key $key
first=$(grep -oE 'RC-[0-9]{4}-[0-9]{6}' <<<"$LAST" | head -n 1)
before=$(count_recommendations)
expect "the same request retried gives the same recommendation" 0 "Recorded recommendation $first" -- \
	"$T" recommendation add "${WAGES[@]}" --title "Retried" --idempotency-key $key
match "and records nothing more" "^$before\$" "$(count_recommendations)"
expect "the same key with other content is refused" 2 '--idempotency-key: was already used' -- \
	"$T" recommendation add "${WAGES[@]}" --title "Something else" --idempotency-key $key
skey=11112222333344445555666677778888
expect "a status change with a key" 0 'is now submitted' -- \
	"$T" recommendation status "$first" --to submitted --expected-version 1 --idempotency-key $skey
n=$(events "$first")
expect "retried, it changes nothing more" 0 'is now submitted' -- \
	"$T" recommendation status "$first" --to submitted --expected-version 1 --idempotency-key $skey
match "still the same number of events" "^$n\$" "$(events "$first")"

# --- who may do what ---------------------------------------------------------------------------
expect "a coordinator records no recommendation" 2 'PERMISSION_DENIED' -- \
	as coord recommendation add "${WAGES[@]}"
expect "a coordinator changes none" 2 'PERMISSION_DENIED' -- \
	as coord recommendation status "$rc2" --to accepted
expect "a coordinator links no evidence" 2 'PERMISSION_DENIED' -- \
	as coord recommendation evidence "$rc2" --case "$wt1"
expect "a coordinator reads them" 0 "Reference: +$rc2" -- as coord recommendation show "$rc2"
expect "another organisation's officer does not see it" 2 'NOT_FOUND' -- \
	as klofficer recommendation show "$rc"
expect "not even naming its organisation" 2 'PERMISSION_DENIED' -- \
	as klofficer recommendation show "$rc" --org DEMO
expect "nor changes it" 2 'NOT_FOUND' -- \
	as klofficer recommendation status "$rc2" --to accepted --expected-version 3

# --- formats, storage, help ----------------------------------------------------------------------
json=$("$T" recommendation show "$rc" --format json 2>&1)
if python3 -m json.tool <<<"$json" >/dev/null 2>&1; then ok "--format json parses"; else not_ok "--format json parses" "$json"; fi
match "as JSON, evidence and timeline are arrays" '"evidence":\[ *\{"organisation":"DEMO","reference":"WT-.*"timeline":\[' "$(flat "$json")"
match "as JSON, a status change names its statuses" '"from_status":"accepted","to_status":"partially-implemented"' "$json"
match "as CSV, the recommendation's record" '^reference,organisation,co_signers,status' "$("$T" recommendation show "$rc" --format csv 2>&1)"
pg_dump -h "$sock" -U postgres -d tulay >"$TULAY_CONFIG_DIR/dump.sql" 2>&1
match "the advocacy text is stored as it is" 'into bank accounts in the workers' "$(cat "$TULAY_CONFIG_DIR/dump.sql")"
if grep -qF "Kak Siti" "$TULAY_CONFIG_DIR/dump.sql" "$TULAY_TEST_STATE/tulayd.log"; then
	not_ok "follow-up notes are stored only encrypted"
else
	ok "follow-up notes are stored only encrypted"
fi
for cmd in add show status evidence; do
	expect "recommendation $cmd --help" 0 'Usage' -- "$T" recommendation "$cmd" --help
done
finish

#!/usr/bin/env bash
# Whole exports (issue 15, point 3) through the tulay CLI against the real tulayd, in an
# organisation of the test's own: every claim once, oldest first, across many pages of
# the response stream; CSV and JSON; filters; identities only with --with-identities and
# never for coordinators, and the export audited; --output written 0600 and renamed only
# when complete; deportations; bad options refused before anything is sent; and a client
# that stops reading mid-stream, after which tulayd serves everyone as before.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
use_home
owner=$TULAY_TEST_DB_OWNER
new_org EXPT "Export Test Workers Aid" MY exofficer excoord:coordinator
org="(SELECT org_id FROM organisations WHERE acronym = 'EXPT')"

# --- an empty organisation ------------------------------------------------------------
expect "an empty export is a CSV header" 0 '^reference,organisation,status,' -- \
	as exofficer export claims
match "... and nothing else" '^1$' "$(as exofficer export claims 2>/dev/null | wc -l)"
match "an empty JSON export is an empty array" '^\[\]$' \
	"$(as exofficer export claims --format json 2>/dev/null)"

# --- claims across pages ----------------------------------------------------------------
for i in 1 2 3 4 5 6 7; do
	as exofficer claim add --nationality PH --country-of-work MY --sector domestic-work \
		--employer "Syarikat $i, Sdn Bhd" --work-start 2025-01-01 --work-end 2025-06-30 \
		--amount "$i"000.00 --currency MYR --worker-name "Maria Export $i" \
		--worker-id-number "PX00$i" --format csv >/dev/null
done
csv=$(as exofficer export claims --page-size 2 2>"$home/err")
match "seven claims over four pages" '^8$' "$(wc -l <<<"$csv")"
refs=$(tail -n +2 <<<"$csv" | cut -d, -f1)
match "oldest first, each once" '^WT-[0-9]{4}-000001 WT-[0-9]{4}-000002 .*WT-[0-9]{4}-000007$' \
	"$(tr '\n' ' ' <<<"$refs" | sed 's/ $//')"
match "no claim twice" '^7$' "$(sort -u <<<"$refs" | wc -l)"
match "a quoted employer stays one cell" '"Syarikat 3, Sdn Bhd"' "$csv"
match "the amounts" ',7000.00,MYR,' "$csv"
match "a summary on stderr" 'Exported 7 claims' "$(cat "$home/err")"
if grep -q "Maria Export" <<<"$csv"; then not_ok "no identity without --with-identities"; else
	ok "no identity without --with-identities"
fi
json=$(as exofficer export claims --format json --page-size 3 2>/dev/null)
match "JSON: one array of seven objects" '^7$' \
	"$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$json" 2>&1)"

ref4=$(sed -n 5p <<<"$csv" | cut -d, -f1)
as exofficer claim status "$ref4" --to filed --on 2025-09-15 >/dev/null
match "--status filters" "^$ref4," "$(as exofficer export claims --status filed 2>/dev/null | tail -n +2)"
match "--opened-to before every case finds none" '^1$' \
	"$(as exofficer export claims --opened-to 2020-01-01 2>/dev/null | wc -l)"

# --- identities ---------------------------------------------------------------------------
ids=$(as exofficer export claims --with-identities 2>/dev/null)
match "--with-identities adds the worker columns" 'worker_name,worker_id_number,worker_phone,office,co_workers' \
	"$(head -n 1 <<<"$ids")"
match "... and the workers, opened" ',Maria Export 7,PX007,' "$ids"
expect "a coordinator may not export identities" 2 'PERMISSION_DENIED.*coordinators export cases without' -- \
	as excoord export claims --with-identities
expect "a coordinator exports without them" 0 '^reference,' -- as excoord export claims
match "each export is in the audit log, identities said" '^1$' \
	"$(super -c "SELECT count(*) FROM audit_log a WHERE a.org_id = $org AND a.action = 'export_cases' AND a.detail LIKE '%with_identities=true%'")"

# --- --output -----------------------------------------------------------------------------
expect "--output writes the file" 0 'Exported 7 claims' -- \
	as exofficer export claims --with-identities --output "$home/claims.csv"
match "mode 0600" '^600$' "$(stat -c %a "$home/claims.csv")"
match "no .part left" '^$' "$(ls "$home"/*.part 2>/dev/null)"
match "the file holds the claims" '^8$' "$(wc -l <"$home/claims.csv")"

# --- deportations -------------------------------------------------------------------------
for i in 1 2; do
	as exofficer deportation add --nationality MM --deported-from TH --arrested-on 2025-0$i-10 \
		--person-name "Aung Export $i" --format csv >/dev/null
done
dep=$(as exofficer export deportations --with-identities 2>/dev/null)
match "deportations export too" '^3$' "$(wc -l <<<"$dep")"
match "with their persons" 'Aung Export 2' "$dep"

# --- recommendations, with their evidence ---------------------------------------------
first=$(head -n 2 <<<"$csv" | tail -n 1 | cut -d, -f1)
for title in "Wage protection through bank transfers" "Firewall, labour and immigration"; do
	as exofficer recommendation add --title "$title" --text "Pay wages into accounts in the \
workers' own names." --source "Civil Society Proposal" --source-date 2009-05-01 \
		--addressed-to receiving-states --country MY --theme wage-protection \
		--evidence "$first,$ref4" --format csv >/dev/null
done
rec=$(as exofficer export recommendations --page-size 1 2>/dev/null)
match "recommendations export too, across pages" '^3$' "$(wc -l <<<"$rec")"
match "with their evidence in one cell" "EXPT/$first;EXPT/$ref4" "$rec"
match "a text with a comma stays one cell" '"Firewall, labour and immigration"' "$rec"

# --- refused before sending ---------------------------------------------------------------
expect "an unknown kind" 1 "'referrals' is not a kind to export" -- as exofficer export referrals
expect "a page size over 1000" 1 '--page-size' -- as exofficer export claims --page-size 1001

# --- a client that stops reading ----------------------------------------------------------
# 3000 more claims, made by the function CreateClaim calls (bench/claim_prefill.sql).
psql -X -q "$owner" -v claims=3000 -v org=EXPT -v username=exofficer \
	-f "$TULAY_TEST_REPO/bench/claim_prefill.sql" >/dev/null
as exofficer export claims --page-size 10 2>/dev/null | head -c 3000 >/dev/null
ended() { grep 'type=export_cases' "$TULAY_TEST_STATE/tulayd.log" | grep -q 'dropped=conn_closed'; }
wait_for 30 ended
match "the export cut by its client ends, its answer dropped" 'code=1 .*dropped=conn_closed' \
	"$(grep 'type=export_cases' "$TULAY_TEST_STATE/tulayd.log" | grep dropped | tail -n 1)"
expect "tulayd serves on" 0 'WT-' -- as exofficer claim list --limit 1
all=$(as exofficer export claims --page-size 1000 2>/dev/null | tail -n +2 | cut -d, -f1)
match "a whole export after it: every claim once" '^3007 3007$' \
	"$(wc -l <<<"$all") $(sort -u <<<"$all" | wc -l)"
finish

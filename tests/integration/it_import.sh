#!/usr/bin/env bash
# Bulk import of claims (issue 15, point 2) through the tulay CLI against the real tulayd,
# in organisations of the test's own: the template imports as it is; running an import
# again logs nothing twice; every kind of bad cell is reported with its line, column and
# fix (all of them), the rest imported, the refused rows written for correction; a bad
# header and a broken quote stop the import before anything is sent; --dry-run and
# --all-or-nothing send nothing; a server refusal names the column; an import killed
# midway and run again logs every row once; an export imported into a fresh organisation
# gives the same claims.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
use_home
owner=$TULAY_TEST_DB_OWNER
for o in IMPT IMP2; do
	"$TULAYD" org add --db "$owner" --acronym $o --name "Import Test $o" --kind ngo \
		--country MY >/dev/null
	TULAY_NEW_PASSWORD=$TULAY_TEST_PASSWORD "$TULAYD" user add --db "$owner" --org $o \
		--username "${o,,}officer" --role field_officer >/dev/null
	login "${o,,}officer"
done
count() { super -c "SELECT count(*) FROM cases c JOIN organisations o USING (org_id) WHERE o.acronym = '$1'"; }
imp() { as imptofficer import claims "$@"; }

# --- the template, twice ----------------------------------------------------------------
as imptofficer import claims --template >"$home/one.csv"
match "the template names every column" '^worker_nationality,country_of_work,sector,employer,.*,co_workers' \
	"$(head -n 1 "$home/one.csv")"
expect "the template's example row imports" 0 'Imported 1 claims .*1 logged now' -- imp "$home/one.csv"
match "one claim" '^1$' "$(count IMPT)"
match "with its worker, encrypted and opened" 'Maria Santos,P1234567' \
	"$(as imptofficer export claims --with-identities 2>/dev/null)"
expect "imported again: nothing new" 0 'Imported 1 claims' -- imp "$home/one.csv"
match "still one claim" '^1$' "$(count IMPT)"

# --- every kind of bad cell ----------------------------------------------------------------
head -n 1 "$home/one.csv" >"$home/mixed.csv"
good='PH,MY,domestic-work,Good Employer GOOD,2025-01-01,2025-06-30,4500.00,MYR,1,,,,,,,,,,,,,,,'
{
	echo "${good/GOOD/1}"
	echo 'XX,MY,domestic-work,E,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,,'
	echo 'PH,MY,mining,E,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-02-30,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-07-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,"4500,50",MYR,,,,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,4500.00,XYZ,,,,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,0,MYR,,,,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,4500.00,MYR,0,,,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,4500.00,MYR,,,100.00,,,,,,,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,beatings,,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,court,,,,,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,ID#1!,,'
	echo 'PH,MY,domestic-work,E,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,call me,'
	echo "${good/GOOD/2}"
	printf '%s\n' 'PH,MY,domestic-work,"Two' ' lines",2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,,'
	echo 'XX,MY,,E,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,,'
	echo "${good/GOOD/3}"
} >>"$home/mixed.csv"
out=$(imp "$home/mixed.csv" 2>&1)
rc=$?
match "some rows refused: exit 2" '^2$' "$rc"
for want in \
	'line 3, column worker_nationality \(1\): .XX. is not an ISO 3166-1' \
	'line 4, column sector \(3\): .mining. is not one of' \
	'line 5, column employer \(4\): is empty' \
	'line 6, column work_started_on \(5\): .2025-02-30. is not a date' \
	'line 7, column work_ended_on \(6\): 2025-06-30 is before work_started_on' \
	'line 8, column amount_claimed \(7\): .4500,50.' \
	'line 9, column amount_claimed_currency \(8\): .XYZ. is not an ISO 4217' \
	'line 10, column amount_claimed \(7\): .0. must be more than 0' \
	'line 11, column workers \(9\): .0. is not a number of workers' \
	'line 12, column recruitment_fee_currency \(12\): is empty while recruitment_fee is 100.00' \
	'line 13, column exploitation_means \(17\): .beatings. is not a means' \
	'line 14, column forum \(18\): .court. is not one of' \
	'line 15, column worker_id_number \(22\): .ID#1!. is not an ID number' \
	'line 16, column worker_phone \(23\): .call me. is not a phone number' \
	'line 18, column employer \(4\): holds a control character' \
	'line 20, column worker_nationality \(1\)' \
	'line 20, column sector \(3\): is empty'; do
	match "reported: ${want%%:*}" "$want" "$out"
done
match "all the bad rows counted" 'Checked 19 rows .*: 3 good, 16 refused' "$out"
match "the good rows imported" 'Imported 3 claims' "$out"
match "... and stored" '^4$' "$(count IMPT)"
ref=$home/mixed.refused.csv
match "the refused rows written for correction" '^17$' \
	"$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline="")))))' "$ref")"
match "... mode 0600" '^600$' "$(stat -c %a "$ref")"
match "... each with its line and errors" '^"8","amount_claimed: .4500,50.' "$(sed -n 7p "$ref")"
match "... and its cells as they were" '"XX","MY","domestic-work","E","2025-01-01"' "$(sed -n 2p "$ref")"

# --- files that cannot be read as claims -------------------------------------------------
printf 'worker_nationality,country,sector\nPH,MY,x\n' >"$home/header.csv"
expect "an unknown column stops the import" 1 "column 'country' \(2\) is not one of a claim's" -- \
	imp "$home/header.csv"
match "... and a missing one is named" 'has no column employer' "$LAST"
printf '%s\n' "$(head -n 1 "$home/one.csv")" 'PH,MY,domestic-work,"Unclosed,2025-01-01' >"$home/quote.csv"
expect "a quote that never closes stops it" 1 'a quote opens a cell that no quote closes' -- \
	imp "$home/quote.csv"

# --- nothing sent --------------------------------------------------------------------------
before=$(count IMPT)
sed 's/Good Employer /Dry Employer /' "$home/mixed.csv" >"$home/dry.csv"
expect "--dry-run checks and sends nothing" 2 'Checked 19 rows .*: 3 good, 16 refused' -- \
	imp "$home/dry.csv" --dry-run
expect "--all-or-nothing sends nothing while a row is bad" 2 'Nothing was sent' -- \
	imp "$home/dry.csv" --all-or-nothing
match "... nothing stored" "^$before$" "$(count IMPT)"

# --- refused by the server -----------------------------------------------------------------
{
	head -n 1 "$home/one.csv"
	echo 'PH,MY,domestic-work,Office Employer,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,No Such Office,,,,'
	echo 'PH,MY,domestic-work,Fine Employer,2025-01-01,2025-06-30,4500.00,MYR,,,,,,,,,,,,,,,,'
} >"$home/office.csv"
expect "the server's refusal names the column" 2 'line 2: refused by the server: office: ' -- \
	imp "$home/office.csv"
match "... the other row imported" 'Imported 1 claims' "$LAST"

# --- killed midway, run again --------------------------------------------------------------
{
	head -n 1 "$home/one.csv"
	for i in $(seq 1 2000); do
		echo "KH,TH,construction,Bulk Employer $i,2025-01-01,2025-06-30,4500.00,THB,1,,,,,,,,,,,,,,,"
	done
} >"$home/bulk.csv"
before=$(count IMPT)
imp "$home/bulk.csv" >/dev/null 2>&1 &
pid=$!
some() { (($(count IMPT) > before + 50)); }
wait_for 60 some
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
mid=$(($(count IMPT) - before))
expect "run again after kill -9" 0 'Imported 2000 claims' -- imp "$home/bulk.csv"
match "every row once (killed after $mid)" "^$((before + 2000))$" "$(count IMPT)"

# --- an export imported into a fresh organisation -----------------------------------------
as imptofficer export claims --with-identities --output "$home/export.csv" 2>/dev/null
expect "an export imports into another organisation" 0 "Imported $((before + 2000)) claims" -- \
	as imp2officer import claims "$home/export.csv"
as imp2officer export claims --with-identities --output "$home/again.csv" 2>/dev/null
# Every column but those the server assigns: reference, organisation, created_by, created_at.
strip() { python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
for r in rows:
    for k in ("reference", "organisation", "created_by", "created_at"):
        r.pop(k)
    print(sorted(r.items()))' "$1" | sort; }
match "... and gives the same claims" '^same$' \
	"$(cmp -s <(strip "$home/export.csv") <(strip "$home/again.csv") && echo same || echo differ)"

# --- its own export imported back: nothing logged twice -----------------------------------
n=$(count IMP2)
expect "an organisation's own export imported back logs nothing again (exit 2)" 2 \
	"0 logged now, 0 logged before .*; $n already claims of IMP2 \(not logged again\)" -- \
	as imp2officer import claims "$home/again.csv"
match "... each row says why, naming the reference" \
	'again.csv, line 2: not logged again: reference: WT-[0-9]{4}-[0-9]{6} is a claim of IMP2 already' \
	"$LAST"
match "... and the organisation has the same claims" "^$n$" "$(count IMP2)"
finish

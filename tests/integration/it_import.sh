#!/usr/bin/env bash
# Bulk import of claims (issue 15, point 2) through the tulay CLI against the real tulayd,
# in organisations of the test's own: the template imports as it is; running an import
# again logs nothing twice; every kind of bad cell is reported with its line, column and
# fix (all of them), the rest imported, the refused rows written for correction; a bad
# header and a broken quote stop the import before anything is sent; --dry-run and
# --all-or-nothing send nothing; a server refusal names the column; an import killed
# midway and run again logs every row once; an export imported into a fresh organisation
# gives the same claims; an organisation's own export imported back changes nothing, and
# edited it updates statuses and amounts at the file's version: a stale version flagged
# and not overwritten, a cell recorded at intake not rewritten, an update cut between its
# status and its amounts taken up again when run again.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
use_home
for o in IMPT IMP2; do new_org $o "Import Test $o" MY "${o,,}officer"; done
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

# --- its own export imported back: the update path ---------------------------------------
n=$(count IMP2)
expect "an organisation's own export imported back changes nothing" 0 \
	"0 logged now, 0 logged before .*; 0 claims of IMP2 updated, $n already as the file has them, 0 stale" -- \
	as imp2officer import claims "$home/again.csv"
match "... and logs nothing again" "^$n$" "$(count IMP2)"

state() { super -c "SELECT c.status || ' ' || c.version || ' ' || coalesce(w.amount_awarded_minor::text, '-')
	FROM cases c JOIN organisations o USING (org_id) JOIN wage_theft_claims w USING (org_id, case_id)
	WHERE o.acronym = 'IMP2' AND c.reference = '$1'"; }
events() { super -c "SELECT count(*) FROM case_events e JOIN cases c USING (org_id, case_id)
	WHERE c.reference = '$1' AND c.org_id = (SELECT org_id FROM organisations WHERE acronym = 'IMP2')"; }
# Six claims of the export, changed as a coordinator would in a spreadsheet, a new row and a
# bad one. $4 is the awarded amount's currency of the third row.
edit() { python3 - "$home/again.csv" "$1" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))[:6]
head = list(rows[0].keys()) + ["reason"]
for r in rows:
    r["reason"] = ""
r1, r2, r3, r4, r5, r6 = rows
r1["status"] = "filed"
r2["status"] = "withdrawn"; r2["reason"] = "The worker went home and withdrew it"
r3["status"] = "filed"; r3["amount_awarded"] = "100"
r3["amount_awarded_currency"] = sys.argv[2] or r3["amount_claimed_currency"]
r4["employer"] = "Another Employer"; r4["status"] = "filed"
r5["status"] = "filed"
new = dict(r6, reference="", organisation="", version="", employer="Updated Sheet New Employer")
bad = dict(r6, version="x", status="filed")
w = csv.DictWriter(sys.stdout, head, lineterminator="\n")
w.writeheader()
w.writerows([r1, r2, r3, r4, r5, new, bad])
PY
}
edit USD >"$home/upd.csv"
refs=($(python3 -c 'import csv,sys; print(" ".join(r["reference"] for r in csv.DictReader(open(sys.argv[1], newline=""))))' "$home/upd.csv"))
before=()
for r in "${refs[@]:0:5}"; do before+=("$(state "$r")"); done
v5=$(super -c "SELECT version FROM cases WHERE reference = '${refs[4]}' AND org_id = (SELECT org_id FROM organisations WHERE acronym = 'IMP2')")
as imp2officer claim status "${refs[4]}" --to withdrawn --reason "Closed by a colleague" \
	--expected-version "$v5" >/dev/null 2>&1
five=$(state "${refs[4]}")
expect "an edited export updates its claims, and flags what it cannot change (exit 2)" 2 \
	"1 logged now, 0 logged before .*; 2 claims of IMP2 updated, 0 already as the file has them, 1 stale .*; 2 refused by the server, 1 by the checks" -- \
	as imp2officer import claims "$home/upd.csv"
v=(${before[0]})
match "... a status moved, at the next version" "^filed $((v[1] + 1)) -$" "$(state "${refs[0]}")"
v=(${before[1]})
match "... a claim closed with the row's reason" "^withdrawn $((v[1] + 1)) -$" "$(state "${refs[1]}")"
match "... the reason in its timeline" 'The worker went home and withdrew it' \
	"$(as imp2officer claim show "${refs[1]}" 2>&1)"
v=(${before[2]})
match "... an amount in another currency refused, naming the column" \
	'upd.csv, line 4: refused by the server: amount_awarded_currency: is USD but the claim is in' "$LAST"
match "... after its status change went in" "^filed $((v[1] + 1)) -$" "$(state "${refs[2]}")"
match "... a cell recorded at intake is not rewritten" \
	'line 5: refused by the server: employer: differs from WT-[0-9-]*.s: an import changes only' "$LAST"
match "... nor its status changed" "^${before[3]}$" "$(state "${refs[3]}")"
match "... a claim changed since the export is flagged stale" \
	"line 6: stale, not changed: version: ${refs[4]} was changed since the file was exported \(the file has version $v5, the claim is at $((v5 + 1))\)" "$LAST"
match "... and not overwritten" "^$five$" "$(state "${refs[4]}")"
match "... a bad version named by the checks" "line 8, column version \([0-9]+\): .x. is not a version" "$LAST"
match "... the new row logged" "^$((n + 1))$" "$(count IMP2)"
match "... the stale row in the refused file" "^\"6\",\"version: ${refs[4]} was changed" \
	"$(grep '^"6",' "$home/upd.refused.csv")"
e0=$(events "${refs[0]}")

edit "" >"$home/upd.csv"
# The summary tells "logged before" by a claim's created_at, in whole seconds (rounded):
# this run starts a second after the first.
sleep 1
expect "the file corrected and run again: the cut update goes on from its status change" 2 \
	"0 logged now, 1 logged before .*; 1 claims of IMP2 updated, 2 already as the file has them, 1 stale .*; 1 refused by the server, 1 by the checks" -- \
	as imp2officer import claims "$home/upd.csv"
v=(${before[2]})
match "... its amount set after the status, one version each" "^filed $((v[1] + 2)) 10000$" \
	"$(state "${refs[2]}")"
match "... the others not changed twice" "^$e0$" "$(events "${refs[0]}")"
match "... nothing logged twice" "^$((n + 1))$" "$(count IMP2)"
finish

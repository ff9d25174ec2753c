#!/usr/bin/env bash
# Bulk import of deportations and recommendations (issue 15, point 2) through the tulay CLI
# against the real tulayd, in organisations of the test's own: each template imports as it
# is and again logs nothing twice; every kind of bad cell is reported with its line,
# column and fix; a server refusal names the column; an export imported into a fresh
# organisation gives the same cases (evidence of the first organisation's cases left out);
# an organisation's own export imported back logs nothing again.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
use_home
for o in IMDA IMDB; do new_org $o "Import Cases $o" MY "${o,,}officer"; done
count() { super -c "SELECT count(*) FROM cases c JOIN organisations o USING (org_id) WHERE o.acronym = '$1' AND c.kind = '$2'"; }
# The summary tells "logged before" by a case's created_at, in whole seconds (rounded): a
# run again a second after the first tells them apart.
next_second() { sleep 1; }
# Every column of an export but those the server assigns, sorted, per row.
strip() { python3 - "$@" <<'PY'
import csv, sys
path, drop = sys.argv[1], set(sys.argv[2:])
for r in sorted(sorted((k, v) for k, v in r.items() if k not in drop)
                for r in csv.DictReader(open(path, newline=""))):
    print(r)
PY
}
assigned="reference organisation created_by created_at"

for kind in deportations recommendations; do
	as imdaofficer import $kind --template >"$home/$kind.csv"
	expect "the $kind template imports" 0 "Imported 1 $kind .*1 logged now" -- \
		as imdaofficer import $kind "$home/$kind.csv"
	next_second
	expect "... imported again: logged before, nothing new" 0 "0 logged now, 1 logged before" -- \
		as imdaofficer import $kind "$home/$kind.csv"
done
match "one deportation" '^1$' "$(count IMDA deportation)"
match "one recommendation" '^1$' "$(count IMDA recommendation)"
match "the person's identity stored, encrypted, and opened" 'Rahim Uddin,BD1234567' \
	"$(as imdaofficer export deportations --with-identities 2>/dev/null)"

# --- deportations: bad cells, a refusal --------------------------------------------------
{
	head -n 1 "$home/deportations.csv"
	echo ',BD,MY,,,,,,,,,,,,,,,'
	echo ',XX,MY,,,,,,,,,,,,,,,'
	echo ',BD,,,,,,,,,,,,,,,,'
	echo ',BD,MY,,,"no-permit,sorcery",,,,,,,,,,,,'
	echo ',BD,MY,,,,2025-13,,,,,,,,,,,'
	echo ',BD,MY,,,,,,,,cage,,,,,,,'
	echo ',BD,MY,,,,,,,,,,,,maybe,,,'
	echo ',BD,MY,,,,,,,,,,,,,,,ID#1'
	echo ',BD,MY,,,,2025-06-01,,,,,,2025-05-01,,,,,'
	echo ',BD,MY,TH,,overstay,~2024,,,,,,,,,,,'
} >"$home/dep-mixed.csv"
out=$(as imdaofficer import deportations "$home/dep-mixed.csv" 2>&1)
match "bad deportation rows: exit 2" '^2$' "$?"
for want in \
	'line 3, column nationality \(2\): .XX. is not an ISO 3166-1' \
	'line 4, column deported_from \(3\): is empty' \
	'line 5, column grounds \(6\): .sorcery. is not a ground of deportation' \
	'line 6, column arrested_on \(7\): .2025-13. is not a date' \
	'line 7, column detention_type \(11\): .cage. is not one of' \
	'line 8, column consular_notified \(15\): .maybe. is not one of' \
	'line 9, column person_id_number \(18\): .ID#1. is not an ID number' \
	'line 10: refused by the server: deported_on: '; do
	match "reported: ${want%%:*}" "$want" "$out"
done
match "... the good rows logged" 'Imported 2 deportations' "$out"
match "... and stored" '^3$' "$(count IMDA deportation)"

# --- recommendations: bad cells, evidence --------------------------------------------------
claim=$(as imdaofficer claim add --nationality PH --country-of-work MY --sector domestic-work \
	--employer "Evidence Employer" --work-start 2025-01-01 --work-end 2025-06-30 \
	--amount 1000.00 --currency MYR --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["reference"])')
match "a claim to cite as evidence" '^WT-' "$claim"
{
	head -n 1 "$home/recommendations.csv"
	echo ",Cites a claim,Text.,Source,2025-10-20,asean,,,wage-protection,,,IMDA/$claim"
	echo ",Cites it bare,Text.,Source,2025-10-20,asean,,,wage-protection,,,$claim"
	echo 'implemented,T,Text.,Source,2025-10-20,asean,,,wage-protection,,,'
	echo ',,Text.,Source,2025-10-20,asean,,,wage-protection,,,'
	echo ',T,,Source,2025-10-20,asean,,,wage-protection,,,'
	echo ',T,Text.,Source,2025-02-30,asean,,,wage-protection,,,'
	echo ',T,Text.,Source,2025-10-20,everyone,,,wage-protection,,,'
	echo ',T,Text.,Source,2025-10-20,asean,,ZZ,wage-protection,,,'
	echo ',T,Text.,Source,2025-10-20,asean,,,,,,'
	echo ',Unknown evidence,Text.,Source,2025-10-20,asean,,,wage-protection,,,WT-1999-000001'
} >"$home/rec-mixed.csv"
out=$(as imdaofficer import recommendations "$home/rec-mixed.csv" 2>&1)
match "bad recommendation rows: exit 2" '^2$' "$?"
for want in \
	'line 4, column status \(1\): .implemented.: a new recommendation is drafted or submitted' \
	'line 5, column title \(2\): is empty' \
	'line 6, column text \(3\): is empty' \
	'line 7, column source_date \(5\): .2025-02-30. is not a date' \
	'line 8, column addressed_to \(6\): .everyone. is not' \
	'line 9, column country \(8\): .ZZ. is not an ISO 3166-1' \
	'line 10, column theme \(9\): is empty' \
	'line 11: refused by the server: evidence: '; do
	match "reported: ${want%%:*}" "$want" "$out"
done
match "... the good rows logged" 'Imported 2 recommendations' "$out"
match "... with their evidence" "IMDA/$claim" \
	"$(as imdaofficer export recommendations 2>/dev/null | grep 'Cites it bare')"

# --- exports into a fresh organisation, and back into their own ----------------------------
for kind in deportations recommendations; do
	as imdaofficer export $kind --with-identities --output "$home/$kind-a.csv" 2>/dev/null
	n=$(($(wc -l <"$home/$kind-a.csv") - 1))
	expect "the $kind export imports into another organisation" 0 "Imported $n $kind" -- \
		as imdbofficer import $kind "$home/$kind-a.csv"
	as imdbofficer export $kind --with-identities --output "$home/$kind-b.csv" 2>/dev/null
	drop=$assigned
	# Evidence names the first organisation's cases: left out in the second.
	[[ $kind == recommendations ]] && drop="$assigned evidence"
	match "... and gives the same $kind" '^same$' \
		"$(cmp -s <(strip "$home/$kind-a.csv" $drop) <(strip "$home/$kind-b.csv" $drop) && echo same || echo differ)"
	expect "... its own export imported back logs nothing again (exit 2)" 2 \
		"0 logged now, 0 logged before .*; $n already $kind of IMDB \(not logged again\)" -- \
		as imdbofficer import $kind "$home/$kind-b.csv"
done
match "... naming the command that changes a deportation" \
	'not logged again: reference: DP-[0-9-]* is a deportation of IMDB already: an import does not change deportations \(record a stage with .tulay deportation stage.\)' \
	"$(as imdbofficer import deportations "$home/deportations-b.csv" 2>&1)"
match "... the second organisation's evidence is empty" '^0$' \
	"$(python3 -c 'import csv,sys; print(sum(1 for r in csv.DictReader(open(sys.argv[1], newline="")) if r["evidence"]))' "$home/recommendations-b.csv")"
finish

#!/usr/bin/env bash
# Bulk import of deportations and recommendations (issue 15, point 2) through the tulay CLI
# against the real tulayd, in organisations of the test's own: each template imports as it
# is and again logs nothing twice; every kind of bad cell is reported with its line,
# column and fix; a server refusal names the column; an export imported into a fresh
# organisation gives the same cases (evidence of the first organisation's cases left out);
# an organisation's own export imported back changes nothing; edited, it records new
# stages of deportations and moves recommendations' statuses at the file's version, a
# stale version flagged, a cell recorded at intake not rewritten, an update cut between
# two stages taken up again.
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
	expect "... its own export imported back changes nothing" 0 \
		"0 logged now, 0 logged before .*; 0 $kind of IMDB updated, $n already as the file has them, 0 stale" -- \
		as imdbofficer import $kind "$home/$kind-b.csv"
done
match "... the second organisation's evidence is empty" '^0$' \
	"$(python3 -c 'import csv,sys; print(sum(1 for r in csv.DictReader(open(sys.argv[1], newline="")) if r["evidence"]))' "$home/recommendations-b.csv")"

# --- the update path -------------------------------------------------------------------------
state() { super -c "SELECT c.status || ' ' || c.version FROM cases c JOIN organisations o USING (org_id)
	WHERE o.acronym = 'IMDB' AND c.reference = '$1'"; }
stages() { super -c "SELECT count(*) FROM case_events e JOIN cases c USING (org_id, case_id)
	WHERE c.reference = '$1' AND e.kind = 'stage_recorded'
	  AND c.org_id = (SELECT org_id FROM organisations WHERE acronym = 'IMDB')"; }
# IMDB's deportations without dates (arrested): one given a detention and a release (the
# release first dated before the detention: refused after the detention went in), one a
# changed nationality, one a release after a colleague recorded one.
edit_deportations() { python3 - "$home/deportations-c.csv" "$1" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["status"] == "arrested"][:3]
a, b, c = rows
a["detained_on"] = "2025-06-01"; a["detention_place"] = "Depot Semenyih"
a["detention_type"] = "immigration-depot"; a["released_on"] = sys.argv[2]
b["nationality"] = "NP"
c["released_on"] = "2025-08-01"
w = csv.DictWriter(sys.stdout, list(rows[0].keys()), lineterminator="\n")
w.writeheader()
w.writerows(rows)
PY
}
as imdbofficer deportation add --nationality MM --deported-from TH --grounds overstay \
	>/dev/null 2>&1
as imdbofficer export deportations --output "$home/deportations-c.csv" 2>/dev/null
edit_deportations 2025-05-01 >"$home/dep-upd.csv"
drefs=($(python3 -c 'import csv,sys; print(" ".join(r["reference"] for r in csv.DictReader(open(sys.argv[1], newline=""))))' "$home/dep-upd.csv"))
match "three arrested deportations to change" '^3$' "${#drefs[@]}"
va=$(state "${drefs[0]}")
vb=$(state "${drefs[1]}")
as imdbofficer deportation stage "${drefs[2]}" --stage detention --on 2025-07-01 \
	--expected-version "$(state "${drefs[2]}" | cut -d' ' -f2)" >/dev/null 2>&1
vc=$(state "${drefs[2]}")
match "... a colleague recorded a detention" '^detained ' "$vc"
expect "an edited deportations export records new stages and flags the rest (exit 2)" 2 \
	"0 deportations of IMDB updated, 0 already as the file has them, 1 stale .*; 2 refused by the server, 0 by the checks" -- \
	as imdbofficer import deportations "$home/dep-upd.csv"
match "... a release dated before the detention refused, naming the column" \
	'dep-upd.csv, line 2: refused by the server: released_on: ' "$LAST"
match "... after the detention went in" "^detained $((${va#* } + 1))$" "$(state "${drefs[0]}")"
match "... a cell recorded at intake is not rewritten" \
	'line 3: refused by the server: nationality: differs from DP-[0-9-]*.s' "$LAST"
match "... nor the case changed" "^$vb$" "$(state "${drefs[1]}")"
match "... a case changed since the export is flagged stale" \
	"line 4: stale, not changed: version: ${drefs[2]} was changed since the file was exported" "$LAST"
match "... and not overwritten" "^$vc$" "$(state "${drefs[2]}")"
edit_deportations 2025-07-15 >"$home/dep-upd.csv"
expect "the release corrected and run again: the cut update goes on from its detention" 2 \
	"1 deportations of IMDB updated, 0 already as the file has them, 1 stale" -- \
	as imdbofficer import deportations "$home/dep-upd.csv"
match "... released, one version a stage" "^released $((${va#* } + 2))$" "$(state "${drefs[0]}")"
match "... the detention recorded once" '^2$' "$(stages "${drefs[0]}")"
expect "... and once more: nothing to do" 2 "0 deportations of IMDB updated, 1 already as the file has them, 1 stale" -- \
	as imdbofficer import deportations "$home/dep-upd.csv"

# IMDB's recommendations: a submitted one moved to acknowledged with a note, one with a
# changed title.
python3 - "$home/recommendations-b.csv" >"$home/rec-upd.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
a = next(r for r in rows if r["status"] == "submitted")
b = next(r for r in rows if r is not a)
rows = [a, b]
a["status"] = "acknowledged"; a["note"] = "Acknowledged by the ACMW secretariat"
b["title"] = "Another title"; b["note"] = ""
w = csv.DictWriter(sys.stdout, list(a.keys()), lineterminator="\n")
w.writeheader()
w.writerows(rows)
PY
rrefs=($(python3 -c 'import csv,sys; print(" ".join(r["reference"] for r in csv.DictReader(open(sys.argv[1], newline=""))))' "$home/rec-upd.csv"))
ra=$(state "${rrefs[0]}")
expect "an edited recommendations export moves a status and refuses a changed title" 2 \
	"1 recommendations of IMDB updated, 0 already as the file has them, 0 stale .*; 1 refused by the server" -- \
	as imdbofficer import recommendations "$home/rec-upd.csv"
match "... acknowledged, at the next version" "^acknowledged $((${ra#* } + 1))$" "$(state "${rrefs[0]}")"
match "... with the row's note" 'Acknowledged by the ACMW secretariat' \
	"$(as imdbofficer recommendation show "${rrefs[0]}" 2>&1)"
match "... the title named" 'line 3: refused by the server: title: differs from RC-[0-9-]*.s' "$LAST"
finish

#!/usr/bin/env bash
# Search and lists of cases of every kind through the tulay CLI against the real tulayd:
# every filter alone and combined gives exactly the cases expected; free text finds
# employers, agencies, places and recommendations but never a worker's name; paging with
# --page-token neither repeats nor skips a case while cases are added; --all, CSV and
# JSON; bad input is refused naming the flag; another organisation's cases stay unseen.
#
# Other tests add cases to DEMO too, so each check compares the references it gets with
# the ones this test made ($mine): a tag in every case's text keeps them apart.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
T=$TULAY_CLI
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
login admin
login officer
login klofficer

tag="Q$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | tr a-f G-L)"
demo="(SELECT org_id FROM organisations WHERE acronym = 'DEMO')"
officer="(SELECT user_id FROM users WHERE username = 'officer')"
office_name="Search $tag office"

claim() { # claim WHO ARGS... : logs a claim, prints its reference
	local who=$1
	shift
	as "$who" claim add --work-start 2010-01-01 --work-end 2010-12-31 --amount 5000 \
		--currency MYR "$@" 2>&1 | grep -oE 'WT-[0-9]{4}-[0-9]{6}' | head -n 1
}

as admin org office add --org DEMO --name "$office_name" --city "Shah Alam" --country MY >/dev/null
office="(SELECT office_id FROM offices WHERE org_id = $demo AND name = '$office_name')"

# Three claims, backdated by the superuser to fixed days (and two at the new office).
c1=$(claim officer --nationality PH --country-of-work MY --sector construction \
	--employer "Syarikat Bina $tag Sdn Bhd" --agency "Agensi Cahaya $tag" \
	--worker-name "Siti Rahmawati")
c2=$(claim officer --nationality ID --country-of-work MY --sector domestic-work \
	--employer "Rumah $tag Keluarga")
as officer claim status "$c2" --to filed --on 2011-06-11 >/dev/null
c3=$(claim officer --nationality MM --country-of-work TH --sector fisheries \
	--employer "Mahachai $tag Seafood")
super -c "UPDATE cases SET opened_on = '2011-03-05', office_id = $office WHERE org_id = $demo AND reference = '$c1';
	UPDATE cases SET opened_on = '2011-06-10' WHERE org_id = $demo AND reference = '$c2';
	UPDATE cases SET opened_on = '2012-01-15', office_id = $office WHERE org_id = $demo AND reference = '$c3'" >/dev/null

# Deportations and recommendations: their handlers are not this test's, so the
# superuser writes them as create_deportation and create_recommendation would.
seq=$((100000 + RANDOM % 800000))
new_case() { # new_case REFERENCE KIND STATUS OPENED_ON OFFICE_ID: the cases row's CTE
	echo "WITH c AS (INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
		idempotency_key, request_hash, office_id)
		VALUES ($demo, '$1', '$2', '$3', '$4', $officer, decode(md5(random()::text), 'hex'),
		sha256(random()::text::bytea), $5) RETURNING org_id, case_id)"
}
d1="DP-2011-$seq"
d2="DP-2012-$((seq + 1))"
r1="RC-2011-$((seq + 2))"
r2="RC-2012-$((seq + 3))"
super -c "$(new_case "$d1" deportation detained 2011-04-01 "$office")
	INSERT INTO deportations (org_id, case_id, nationality, deported_from, deported_to, sector,
		arrested_on, arrested_precision, arrest_place, detained_on, detained_precision,
		detention_place, person_name_enc)
	SELECT org_id, case_id, 'MM', 'MY', 'MM', 'construction', '2011-03-28', 'day', 'Kajang',
		'2011-04-01', 'day', 'Semenyih $tag Depot', decode(md5('x'), 'hex') FROM c" >/dev/null
super -c "$(new_case "$d2" deportation arrested 2012-02-20 NULL)
	INSERT INTO deportations (org_id, case_id, nationality, deported_from, arrested_on,
		arrested_precision, arrest_place)
	SELECT org_id, case_id, 'KH', 'TH', '2012-02-01', 'month', 'Padang Besar $tag' FROM c" >/dev/null
super -c "$(new_case "$r1" recommendation submitted 2011-05-05 NULL)
	INSERT INTO recommendations (org_id, case_id, title, body, source_document, source_date,
		addressed_to, target_body, country, theme)
	SELECT org_id, case_id, 'Portable $tag wage protection for fishers',
		'Receiving states should guarantee unpaid wages.', 'AFML 2011 recommendations',
		'2011-05-01', 'receiving_states', 'ACMW', 'TH', 'wage_protection' FROM c" >/dev/null
super -c "$(new_case "$r2" recommendation drafted 2012-03-03 NULL)
	INSERT INTO recommendations (org_id, case_id, title, body, source_document, source_date,
		addressed_to, country, theme)
	SELECT org_id, case_id, 'End $tag immigration detention of children',
		'No child should be held in an immigration depot.', 'MMN statement',
		'2012-03-01', 'national_government', 'MY', 'detention_and_deportation' FROM c" >/dev/null
k1=$(claim klofficer --nationality NP --country-of-work MY --sector manufacturing \
	--employer "Kilang $tag Elektronik")

mine="$c1 $c2 $c3 $d1 $d2 $r1 $r2"
match "the test's cases exist" '^([A-Z]{2}-[0-9]{4}-[0-9]{6} ?){7}$' "$mine"
match "and MYNGO's" '^WT-' "$k1"

refs() { # refs WHO ARGS...: the references listed (CSV), newest first, one line
	as "$@" --format csv 2>/dev/null | tail -n +2 | cut -d, -f1 | tr '\n' ' ' | sed 's/ $//'
}
only_mine() { # the words of stdin that are among $mine, in order
	local r words kept=()
	read -ra words
	for r in "${words[@]}"; do
		if [[ " $mine " == *" $r "* ]]; then kept+=("$r"); fi
	done
	echo "${kept[*]}"
}
orgs() { # orgs WHO ARGS...: the organisations of the cases listed, each once
	as "$@" --format csv 2>/dev/null | tail -n +2 | cut -d, -f2 | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# same NAME "EXPECTED REFS" ARGS...: officer's list with ARGS, restricted to this test's
# cases, is exactly EXPECTED, newest first.
same() {
	local name=$1 want=$2 got
	shift 2
	got=$(refs officer "$@" | only_mine)
	if [[ "$got" == "$want" ]]; then ok "$name"; else not_ok "$name: wanted '$want'" "got '$got'"; fi
}
# exact NAME "EXPECTED REFS" ARGS...: the whole list is EXPECTED.
exact() {
	local name=$1 want=$2 got
	shift 2
	got=$(refs officer "$@")
	if [[ "$got" == "$want" ]]; then ok "$name"; else not_ok "$name: wanted '$want'" "got '$got'"; fi
}

# --- every filter alone -----------------------------------------------------------------
exact "--text finds every case carrying the tag, newest first" "$r2 $r1 $d2 $d1 $c3 $c2 $c1" \
	case list --text "$tag"
same "--kind wage-theft" "$c3 $c2 $c1" case list --kind wage-theft --all
same "--kind deportation" "$d2 $d1" case list --kind deportation --all
same "--kind recommendation" "$r2 $r1" case list --kind recommendation --all
same "deportation list is the kind fixed" "$d2 $d1" deportation list --all
same "recommendation list is the kind fixed" "$r2 $r1" recommendation list --all
same "--status filed" "$c2" case list --status filed --all
same "--status detained" "$d1" case list --status detained --all
same "--status with the CLI's hyphens (partially-implemented: none)" "" \
	case list --status partially-implemented --all
same "--opened-from/--opened-to: 2011" "$r1 $d1 $c2 $c1" case list --opened-from 2011-01-01 \
	--opened-to 2011-12-31 --all
same "--opened-to is inclusive" "$d1 $c1" case list --opened-to 2011-04-01 --all
same "--opened-from is inclusive" "$r2 $d2" case list --opened-from 2012-02-20 --all
same "--country MY: work, deportation from, addressed" "$r2 $d1 $c2 $c1" case list --country MY --all
same "--country TH" "$r1 $d2 $c3" case list --country TH --all
same "--country MM: origin and deported to" "$d1 $c3" case list --country MM --all
same "--sector construction: claims and deportations" "$d1 $c1" case list --sector construction --all
same "--employer, any case" "$c1" case list --employer "bina ${tag,,}" --all
same "--employer: part of the name" "$c3 $c2 $c1" case list --employer "$tag" --all
exact "--office: the exact name" "$d1 $c3 $c1" case list --office "$office_name"
exact "--office: no other name" "" case list --office "Search $tag"
exact "--text finds the agency" "$c1" case list --text "cahaya $tag"
exact "--text finds the place of detention, any case" "$d1" case list --text "SEMENYIH ${tag,,}"
exact "--text finds a recommendation's title" "$r1" case list --text "portable $tag"
same "--text finds a recommendation's target body" "$r1" case list --text ACMW --all
same "--text finds the office's city" "$d1 $c3 $c1" case list --text "shah alam" --all
expect "--text never finds a worker's name" 0 '^No cases\.$' -- as officer case list --text Rahmawati
expect "nor part of it" 0 '^No cases\.$' -- as officer case list --text "Siti Rahmawati"
match "every search is audited, the text by its keyed hash only" \
	"^shared=false kind= status= .* text_index=[0-9a-f]{64} id_number_index= page_token= limit=50\$" \
	"$(super -c "SELECT detail FROM audit_log WHERE action = 'list_cases' ORDER BY id DESC LIMIT 1")"
match "no searched text is in the audit log" '^0$' \
	"$(super -c "SELECT count(*) FROM audit_log WHERE detail ILIKE '%rahmawati%'")"

# --- combined ---------------------------------------------------------------------------
same "--kind wage-theft --country MY --opened-to 2011-12-31" "$c2 $c1" \
	case list --kind wage-theft --country MY --opened-to 2011-12-31 --all
exact "--text --country MY --sector construction" "$d1 $c1" \
	case list --text "$tag" --country MY --sector construction
exact "deportation list --country MY --status detained" "$d1" \
	deportation list --text "$tag" --country MY --status detained
exact "--office --kind deportation" "$d1" case list --office "$office_name" --kind deportation
exact "--employer --status intake" "$c3 $c1" case list --employer "$tag" --status intake
exact "filters that exclude each other" "" case list --text "$tag" --kind recommendation --sector care

# --- the table, CSV and JSON ------------------------------------------------------------
table=$(as officer case list --text "$tag" 2>&1)
match "the table's columns" '^REFERENCE +KIND +STATUS +OPENED +COUNTRIES +SECTOR +SUMMARY +OFFICE' "$table"
match "a claim's line" "$c1 +wage-theft +intake +2011-03-05 +PH,MY +construction +PH->MY Syarikat Bina $tag" "$table"
match "a deportation's line: each country once" "$d1 +deportation +detained +2011-04-01 +MM,MY +construction +MY->MM Semenyih" "$table"
match "a deportation on its way: the place of arrest" "$d2 +deportation +arrested +2012-02-20 +KH,TH +TH->\\? Padang Besar $tag" "$table"
match "a recommendation's line" "$r1 +recommendation +submitted +2011-05-05 +TH +Portable $tag" "$table"
match "the office" "$c1 .*$office_name" "$table"
csv=$(as officer case list --text "$tag" --format csv 2>&1)
match "CSV: a header of every field" '^reference,organisation,kind,status,opened_on,closed_on,office,countries,sector,employer,summary,version$' "$(head -n 1 <<<"$csv" | tr -d '\r')"
match "CSV: one row per case" '^8$' "$(wc -l <<<"$csv" | tr -d ' ')"
match "CSV: a claim's row" "^$c2,DEMO,wage-theft,filed,2011-06-10,,,\"?ID,MY\"?,domestic-work,Rumah $tag Keluarga," "$csv"
json=$(as officer case list --text "$tag" --format json 2>&1)
if python3 -m json.tool >/dev/null <<<"$json"; then ok "JSON parses"; else not_ok "JSON parses" "$json"; fi
jq_py() { python3 -c "import json, sys; cases = json.load(sys.stdin); $1" <<<"$json" 2>&1; }
match "JSON: a list of 7" '^7$' "$(jq_py 'print(len(cases))')"
match "JSON: every field of a case" '^closed_on countries employer kind office opened_on organisation reference sector status summary version$' \
	"$(jq_py 'print(" ".join(sorted(cases[0])))')"
match "JSON: a recommendation" "^$r1 DEMO recommendation submitted TH Portable $tag wage protection for fishers\$" \
	"$(jq_py "c = [c for c in cases if c['reference'] == '$r1'][0]; print(c['reference'], c['organisation'], c['kind'], c['status'], c['countries'], c['summary'])")"
match "CSV without rows still has its header" '^reference,organisation,kind,' \
	"$(as officer case list --text "no such $tag" --format csv 2>&1)"

# --- paging -----------------------------------------------------------------------------
# Pages of two, following the --page-token stderr names; a claim added after the first
# page is newer than every page still to come, so nothing repeats and nothing is skipped.
pages=()
args=(case list --text "$tag" --limit 2)
token=
for i in 1 2 3 4 5 6; do
	page=$(TULAY_CONFIG_DIR="$home/officer" "$T" "${args[@]}" ${token:+--page-token "$token"} \
		--format csv 2>"$home/err")
	pages+=("$(tail -n +2 <<<"$page" | cut -d, -f1 | tr '\n' ' ')")
	token=$(grep -oE -- '--page-token [0-9]+' "$home/err" | cut -d' ' -f2)
	if ((i == 1)); then
		c4=$(claim officer --nationality PH --country-of-work MY --sector care \
			--employer "Care Home $tag")
		mine="$mine $c4"
		match "the first page names the next one's --page-token" '[0-9]+' "$token"
	fi
	[[ -n "$token" ]] || break
done
got=$(echo "${pages[*]}" | tr -s ' ' | sed 's/ $//')
if [[ "$got" == "$r2 $r1 $d2 $d1 $c3 $c2 $c1" ]]; then ok "--limit 2 pages neither repeat nor skip"; else
	not_ok "--limit 2 pages neither repeat nor skip" "got '$got'"; fi
match "four pages of 2, 2, 2 and 1" '^4$' "${#pages[@]}"
exact "the new claim comes first in a new search" "$c4 $r2 $r1 $d2 $d1 $c3 $c2 $c1" \
	case list --text "$tag"
exact "--all follows every page" "$c4 $r2 $r1 $d2 $d1 $c3 $c2 $c1" \
	case list --text "$tag" --limit 3 --all
expect "without --all, stderr says there are more" 0 'there are more cases: add --all.*--page-token [0-9]+' -- \
	as officer case list --text "$tag" --limit 3
expect "a page token gives the page below it" 0 "$c1" -- \
	as officer case list --text "$tag" --limit 3 --page-token "$(super -c "SELECT case_id FROM cases WHERE org_id = $demo AND reference = '$c2'")"
match "the last page says nothing of more" '^$' "$(grep 'there are more' <<<"$LAST")"

# --- bad input --------------------------------------------------------------------------
expect "an impossible date is refused, naming the flag" 1 '--opened-from' -- \
	as officer case list --opened-from 2026-02-30
expect "--opened-from after --opened-to is refused" 1 '--opened-to.*before --opened-from' -- \
	as officer case list --opened-from 2026-03-01 --opened-to 2026-02-01
expect "a status of another kind is refused by the server, naming --status" 2 \
	'--status: is not a status of deportations' -- \
	as officer case list --kind deportation --status filed
expect "and lists the kind's statuses" 2 'arrested, detained, released or deported' -- \
	as officer deportation list --status in-mediation
expect "a status of no kind is refused" 2 '--status: is not a status of any kind' -- \
	as officer case list --status lost
expect "a page token the server never gave is refused" 2 '--page-token' -- \
	as officer case list --page-token abc
expect "a country that is no ISO code is refused" 1 '--country' -- \
	as officer case list --country MYS
expect "an unknown kind is refused" 1 '--kind' -- as officer case list --kind eviction
expect "--text longer than 100 characters is refused" 2 '--text' -- \
	as officer case list --text "$(printf 'x%.0s' {1..101})"
expect "--limit over 500 is refused" 1 '--limit' -- as officer case list --limit 501
expect "--shared with --org is refused" 1 '--org' -- as officer case list --shared --org DEMO

# --- who sees what ----------------------------------------------------------------------
match "klofficer sees MYNGO's case only" "^$k1\$" "$(refs klofficer case list --text "$tag")"
# References are numbered per organisation: MYNGO's first claim may share one with DEMO's.
match "klofficer never sees DEMO's cases" '^MYNGO$' "$(orgs klofficer case list --all)"
expect "klofficer cannot list DEMO's cases" 2 'PERMISSION_DENIED' -- \
	as klofficer case list --org DEMO
match "DEMO's search has no MYNGO case" '^DEMO$' "$(orgs officer case list --all)"
expect "--shared: nothing referred to DEMO by this test" 0 '^No cases\.$' -- \
	as officer case list --shared --text "$tag"
match "--shared never lists DEMO's own cases" '^$' \
	"$(as officer case list --shared --all --format csv 2>&1 | tail -n +2 | cut -d, -f2 | grep -x DEMO)"
expect "--shared as a table has an ORG column" 0 'No cases\.|ORG' -- as officer case list --shared

# --- help -------------------------------------------------------------------------------
for cmd in "case list" "deportation list" "recommendation list"; do
	# shellcheck disable=SC2086
	expect "$cmd --help has examples" 0 "Example:.*tulay $cmd" -- bash -c "\"$T\" $cmd --help | tr '\n' ' '"
done
expect "deportation list takes no --kind" 1 '--kind' -- as officer deportation list --kind wage-theft

finish

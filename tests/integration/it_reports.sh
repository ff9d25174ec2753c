#!/usr/bin/env bash
# Coordinator reports through the tulay CLI against the real tulayd: a network whose
# members share aggregates (one does not), claims written through the app role so the
# rollup triggers run, and then: every report equals a brute-force computation over the raw
# tables (also after status changes and new amounts); a unique individual planted in the
# data is never revealed, by a small cell, by subtraction from the total, or by a
# dominating amount; scope and permissions; exchange rates; and the rollups equal a
# rebuild from scratch.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
T=$TULAY_CLI
K=11
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
owner() { TULAY_NEW_PASSWORD="$TULAY_TEST_PASSWORD" "$TULAYD" "$@" --db "$TULAY_TEST_DB_OWNER" >/dev/null; }
# SQL as organisation $1's user $2 (role $3) through the app role, committed.
as_org() {
	psql -X -qAt -d "$TULAY_TEST_DB" -v ON_ERROR_STOP=1 2>&1 <<SQL
BEGIN;
SELECT set_config('tulay.org_id', '$1', true) AS o, set_config('tulay.user_id', '$2', true) AS u,
       set_config('tulay.role', '$3', true) AS r \gset
$4;
COMMIT;
SQL
}
org_id() { super -c "SELECT org_id FROM organisations WHERE acronym = '$1'"; }
user_id() { super -c "SELECT user_id FROM users WHERE username = '$1'"; }

owner org add --if-not-exists --acronym RPT --name "Report Network" --kind network --country PH
for o in RPT-MY:MY RPT-TH:TH RPT-SG:SG RPT-OUT:KH; do
	owner org add --if-not-exists --acronym "${o%%:*}" --name "Report member ${o%%:*}" --kind ngo \
		--country "${o##*:}"
done
owner user add --if-not-exists --org RPT --username rpt.coord --role coordinator
owner user add --if-not-exists --org RPT-MY --username rptmy.officer --role field_officer
owner user add --if-not-exists --org RPT-OUT --username rptout.coord --role coordinator
login admin
login rpt.coord
login rptmy.officer
login rptout.coord
as admin org member add --network RPT --member RPT-MY --role member --since 2020-01-01 \
	--shares-aggregates >/dev/null
as admin org member add --network RPT --member RPT-TH --role member --since 2020-01-01 \
	--shares-aggregates >/dev/null
as admin org member add --network RPT --member RPT-SG --role partner --since 2020-01-01 >/dev/null

# Claims: 60 in Malaysia, 40 in Thailand, 30 in Singapore (outside the scope: its
# membership does not share aggregates), 15 outside the network.
claims() { # claims ORG USER N COUNTRY CURRENCY SEED
	as_org "$1" "$2" field_officer "SELECT count(*) FROM generate_series(1, $3) i,
	LATERAL create_wage_theft_claim($1, $2, decode(md5('$6-' || i), 'hex'),
	    decode(repeat('ab', 32), 'hex'), (ARRAY['KH', 'MM', 'ID'])[1 + i % 3], '$4',
	    (ARRAY['construction', 'agriculture', 'domestic_work', 'care'])[1 + (i / 3) % 4],
	    'Employer ' || (i % 5), date '2024-01-01' + (i * 7) % 400, date '2025-01-01' + (i * 13) % 600,
	    100000 + i * 1000, '$5', 1 + i % 4, NULL, NULL, NULL, NULL) c"
}
MY=$(org_id RPT-MY) TH=$(org_id RPT-TH) SG=$(org_id RPT-SG) OUT=$(org_id RPT-OUT)
UMY=$(user_id rptmy.officer)
claims "$MY" "$UMY" 60 MY MYR rpt-my >/dev/null
claims "$TH" "$(user_id rpt.coord)" 40 TH THB rpt-th >/dev/null
claims "$SG" "$(user_id rpt.coord)" 30 SG SGD rpt-sg >/dev/null
claims "$OUT" "$(user_id rptout.coord)" 15 MY MYR rpt-out >/dev/null
# The planted individual: the only worker from Laos, in fisheries in Thailand, with a
# claim that dwarfs every other.
as_org "$TH" "$(user_id rpt.coord)" field_officer "SELECT * FROM create_wage_theft_claim($TH,
	$(user_id rpt.coord), decode(md5('rpt-unique'), 'hex'), decode(repeat('ab', 32), 'hex'),
	'LA', 'TH', 'fisheries', 'Unique Trawler Co', '2024-02-01', '2025-06-15', 99900000, 'THB', 1,
	NULL, NULL, NULL, NULL)" >/dev/null
match "the claims are in" '^146$' "$(super -c "SELECT count(*) FROM cases c JOIN organisations o
	USING (org_id) WHERE o.acronym LIKE 'RPT%'")"

SCOPE="'RPT', 'RPT-MY', 'RPT-TH'"
# Every report against a brute force over the raw tables: check_report (report_compare.sh).
REPORT_AS=rpt.coord REPORT_NETWORK=RPT
# shellcheck source=report_compare.sh
source "$(dirname "$0")/report_compare.sh"
# The rows the triggers keep that a rebuild from the cases would not have, and the other way
# round, as "N M" (rolled back: the rebuild is only compared).
rollups_vs_rebuild() {
	super <<'SQL' | tail -n 1
SELECT report_fold_all() \g /dev/null
BEGIN;
CREATE TEMP TABLE inc AS SELECT * FROM report_cells;
SELECT count(*) FROM (SELECT report_rebuild()) r \g /dev/null
SELECT (SELECT count(*) FROM (SELECT * FROM inc EXCEPT SELECT * FROM report_cells) a) || ' ' ||
       (SELECT count(*) FROM (SELECT * FROM report_cells EXCEPT SELECT * FROM inc) b);
ROLLBACK;
SQL
}
P_QUARTER="to_char(w.work_ended_on, 'YYYY') || '-Q' || to_char(w.work_ended_on, 'Q')"
P_YEAR="to_char(w.work_ended_on, 'YYYY')"
report_checks() {
	check_report "corridor" corridor "''" "w.worker_nationality || '>' || w.country_of_work" 1 ""
	check_report "corridor by year" corridor,year "$P_YEAR" "w.worker_nationality || '>' || w.country_of_work" 1 1
	check_report "sector by quarter" sector,quarter "$P_QUARTER" "w.sector" 1 1
	check_report "status" status "''" "c.status" 1 ""
	check_report "organisation and origin" organisation,origin "''" "o.acronym || '|' || w.worker_nationality" 2 ""
	check_report "employer" employer "''" "w.employer" 1 ""
}
report_checks

csv=$(as rpt.coord report claims --by corridor --network RPT --format csv 2>&1)
match "the planted individual's corridor is suppressed" '^row,corridor.*' "$csv"
match "its cell shows no count" '^cell,LA>TH,,' "$csv"
match "the report lists the organisations included, not the partner outside the scope" \
	'RPT, RPT-MY, RPT-TH' "$(as rpt.coord report claims --by sector --network RPT 2>&1)"
for by in corridor sector origin employer organisation,sector status corridor,quarter; do
	out=$(as rpt.coord report claims --by "$by" --network RPT --format csv 2>&1)
	match "by $by: 999000.00 (the planted claim) never shows" '^0$' "$(grep -c '999000\.00\|1[0-9]\{6\}\.00' <<<"$out" | tr -d ' ')"
done

# A dominating amount in a big cell: the cell's claimed sum is suppressed, its count not.
as_org "$MY" "$UMY" field_officer "UPDATE wage_theft_claims SET amount_claimed_minor = 900000000
	WHERE org_id = $MY AND case_id = (SELECT min(case_id) FROM cases WHERE org_id = $MY)" >/dev/null
out=$(as rpt.coord report claims --by destination --network RPT --format csv 2>&1)
match "a sum one claim dominates is suppressed, with the count shown" '^cell,MY,[0-9]+,[0-9]+,MYR,,' "$out"
match "and the total's sum too (it would give the hidden sum away)" '^total,,[0-9]+,[0-9]+,MYR,,' "$out"

# Updates: status changes and amounts move claims between cells; the reports follow.
as_org "$MY" "$UMY" field_officer "UPDATE cases SET status = 'filed' WHERE org_id = $MY AND case_id % 2 = 0;
	UPDATE wage_theft_claims SET amount_awarded_minor = 50000, amount_awarded_currency = 'MYR'
	 WHERE org_id = $MY AND case_id % 3 = 0;
	UPDATE wage_theft_claims SET sector = 'care' WHERE org_id = $MY AND case_id % 5 = 0" >/dev/null
report_checks

# Filters on a value not recorded: some claims get a forum, the rest have none.
as_org "$MY" "$UMY" field_officer "UPDATE wage_theft_claims SET forum = 'labour_court'
	WHERE org_id = $MY AND case_id % 4 = 1" >/dev/null
forum_cells() { # the destination|cases lines of a report with the filter options given
	as rpt.coord report claims --by destination --network RPT --format csv "$@" 2>&1 |
		awk -F, '$1 == "cell" { print $2 "|" $3 }'
}
forum_brute() { # the same from the raw tables, for the condition on w.forum
	super -c "SELECT w.country_of_work || '|' || count(*) FROM cases c
		JOIN wage_theft_claims w USING (org_id, case_id) JOIN organisations o USING (org_id)
		WHERE o.acronym IN ($SCOPE) AND $1 GROUP BY w.country_of_work ORDER BY 1"
}
match "--not-recorded forum counts the claims without one" "^$(forum_brute 'w.forum IS NULL' | tr '\n' ' ')\$" \
	"$(forum_cells --not-recorded forum | tr '\n' ' ')"
match "--forum counts those with it" "^$(forum_brute "w.forum = 'labour_court'" | tr '\n' ' ')\$" \
	"$(forum_cells --forum labour-court | tr '\n' ' ')"
match "both together count every claim" "^$(forum_brute 'true' | tr '\n' ' ')\$" \
	"$(forum_cells --forum labour-court --not-recorded forum | tr '\n' ' ')"
expect "a dimension no claim lacks is refused, naming the option" 1 'not-recorded' -- \
	as rpt.coord report claims --not-recorded sector
match "the rollups equal a rebuild from the cases" '^0 0$' "$(rollups_vs_rebuild)"

# Scope and permissions.
expect "a coordinator outside the network is refused" 2 'outside your reports' -- \
	as rptout.coord report claims --network RPT
expect "a field officer reports on their own organisation only" 2 'outside your reports' -- \
	as rptmy.officer report claims --network RPT
expect "but on their own, yes" 0 'TOTAL' -- as rptmy.officer report claims --by sector
expect "a member of the scope may be reported on by the network's coordinator" 0 'RPT-MY' -- \
	as rpt.coord report claims --network RPT-MY --by sector
expect "an unknown network is named" 2 'network' -- as rpt.coord report claims --network NOPE
expect "a dimension of another kind is refused, naming --by" 1 'by' -- \
	as rpt.coord report claims --by ground
match "tulay_app cannot write rollups" 'permission denied' "$(as_org "$MY" "$UMY" field_officer \
	"INSERT INTO report_cells (org_id, cube, period) VALUES ($MY, 1, '2026-01-01')")"
match "an organisation sees no other organisation's rollups" '^0$' "$(as_org "$OUT" \
	"$(user_id rptout.coord)" field_officer "SELECT count(*) FROM report_cells WHERE org_id <> $OUT")"

# Currencies: never mixed; converted only with a rate.
expect "without a rate, no conversion" 2 'no exchange rate from MYR to USD' -- \
	as rpt.coord report claims --network RPT --currency USD
expect "only an admin sets rates" 2 'admin' -- as rpt.coord rate set MYR USD 0.25 --from 2020-01-01
expect "an admin sets MYR" 0 'MYR' -- as admin rate set MYR USD 0.25 --from 2020-01-01
expect "and THB" 0 'THB' -- as admin rate set THB USD 0.03 --from 2020-01-01
expect "a rate of 0 is refused" 1 'RATE' -- as admin rate set THB USD 0 --from 2020-01-01
expect "the rates are listed" 0 'THB +USD +0.03' -- as rpt.coord rate list
out=$(as rpt.coord report claims --network RPT --currency USD --format csv 2>&1)
match "converted: the total is in USD" '^total,[0-9]*,[0-9]*,USD,' "$(grep '^total' <<<"$out")"
match "and nothing in MYR or THB is left" '^0$' "$(grep -c 'MYR\|THB' <<<"$out")"
# Conversion is exact and dated: a cell's amount in USD is, per currency, its sum times the
# rate in force on the last day of the cell's period, rounded half away from zero (as
# PostgreSQL's round), added up. MYR gets a second rate for 2026 whose products end in .5.
expect "a second MYR rate, from 2026" 0 'MYR' -- as admin rate set MYR USD 0.2345 --from 2026-01-01
converted_brute() { # "year|destination|claimed in USD" per cell of 2026, from the raw tables
	super -c "WITH s AS (SELECT extract(year FROM w.work_ended_on)::int AS y, w.country_of_work AS d,
		                    w.amount_claimed_currency AS cur, sum(w.amount_claimed_minor) AS sum
		               FROM cases c JOIN wage_theft_claims w USING (org_id, case_id)
		               JOIN organisations o ON o.org_id = c.org_id
		              WHERE o.acronym IN ($SCOPE) AND w.work_ended_on >= '2026-01-01'
		              GROUP BY 1, 2, 3)
		SELECT y || '|' || d || '|' || to_char(sum(round(s.sum * (
		           SELECT e.rate FROM exchange_rates e
		            WHERE e.currency = s.cur AND e.reporting_currency = 'USD'
		              AND e.valid_from <= make_date(y, 12, 31)
		            ORDER BY e.valid_from DESC LIMIT 1))) / 100.0, 'FM999999999990.00')
		  FROM s GROUP BY y, d ORDER BY 1"
}
want=$(converted_brute)
# 2026 only: the planted dominating claims of 2025 would hide every sum.
got=$(as rpt.coord report claims --network RPT --by year,destination --from 2026-01 --to 2026-12 \
	--currency USD --format csv 2>&1 |
	awk -F, '$1 == "cell" && $7 != "" { sub(/\r$/, ""); print $2 "|" $3 "|" $7 }')
match "converted by year: the 2026 cells are shown" '^2026\|MY\|[0-9.]+ 2026\|TH\|[0-9.]+ $' \
	"$(tr '\n' ' ' <<<"$got")"
match "converted by year: every shown amount is the brute force's" '^$' \
	"$(comm -23 <(sort <<<"$got") <(sort <<<"$want"))"
match "the deportation and recommendation reports answer" 'TOTAL' \
	"$(as rpt.coord report deportations --by from,to 2>&1; as rpt.coord report recommendations --by status 2>&1)"

# A network's reports read its whole rows, kept for its scope; grouping by organisation
# reads the organisations' own rows.
served_by() { as rpt.coord report claims --network RPT "$@" 2>&1 | grep -o '([a-z]* rows)'; }
match "a network's report reads the network's rows" '^\(network rows\)$' "$(served_by --by corridor)"
match "by organisation, the organisations' rows" '^\(organisation rows\)$' \
	"$(served_by --by organisation)"
match "a field officer's report on their organisation reads its own rows" '(organisation rows)' \
	"$(as rptmy.officer report claims --by sector 2>&1)"
# Without a period or a range, the rollups over all time serve what they can (0023).
rollup_of() { as rpt.coord report claims --network RPT "$@" 2>&1 | sed -n 's/^Rollup: //p'; }
match "by employer, no period: the rollup over all time" \
	'^claims_by_employer_all_time \(network rows\)$' "$(rollup_of --by employer)"
match "by organisation: the organisations' rows over all time" \
	'^claims_all_time \(organisation rows\)$' "$(rollup_of --by organisation)"
match "by employer with a range: a rollup by period" '^claims_by_employer_year ' \
	"$(rollup_of --by employer --from 2024-01 --to 2025-12)"
match "by employer and year: a rollup by period" '^claims_by_employer_year ' \
	"$(rollup_of --by employer,year)"
# The scope changes: RPT-TH leaves. At once, and again once tulayd has refreshed the
# network's rows, every report counts the new scope exactly.
as admin org member end --network RPT --member RPT-TH --until "$(date -u -d yesterday +%F)" >/dev/null
SCOPE="'RPT', 'RPT-MY'"
report_checks
match "the report lists the organisations left" 'included \(2\): RPT, RPT-MY$' \
	"$(as rpt.coord report claims --by sector --network RPT 2>&1)"
network_rows() { [[ "$(served_by --by corridor)" == "(network rows)" ]]; }
wait_for 60 network_rows
match "tulayd refreshes the network's rows for its new scope" '^\(network rows\)$' \
	"$(served_by --by corridor)"
report_checks
match "after the refresh, the rollups still equal a rebuild" '^0 0$' "$(rollups_vs_rebuild)"

# Finding 2 (issue 12): a cell of 11 or more cases showed each currency's sum, even that of
# a currency only two claims were in, which each of the two could subtract their own from.
# Every figure now needs k contributors of its own. RPT-OUT's 15 claims in MYR get two in
# USD, in the same cell (destination MY).
claims "$OUT" "$(user_id rptout.coord)" 2 MY USD rpt-out-usd >/dev/null
out=$(as rptout.coord report claims --by destination --format csv 2>&1)
match "test_finding2: the cell's count and its MYR sum (15 claims) show" \
	'^cell,MY,17,[0-9]+,MYR,[0-9]+\.[0-9]{2},' "$out"
match "test_finding2: its USD sum (2 claims) is suppressed" '^cell,MY,17,[0-9]+,USD,,' "$out"
match "test_finding2: and so is the USD total, which would be the same sum" \
	'^total,,17,[0-9]+,USD,,' "$out"

# A report too big to read: more than 10000 rows is refused, naming what to do. Its rows
# are planted in the rollup the report reads (employer by month: the all-dimensions one):
# writing 10000 claims through the triggers would take minutes.
super -c "INSERT INTO report_cells (org_id, cube, period, d4, cases, workers)
	SELECT $OUT, c.cube, date '2024-01-01', 'Big employer ' || i, 1, 1
	  FROM generate_series(1, 10001) i, report_cubes c WHERE c.name = 'claims_all_dimensions'" >/dev/null
expect "a report of more than 10000 rows is refused, saying how to narrow it" 2 \
	'more than 10000 rows: group by fewer' -- as rptout.coord report claims --by employer,month
super -c "DELETE FROM report_cells WHERE org_id = $OUT AND d4 LIKE 'Big employer %'" >/dev/null
expect "with them gone, it is answered" 0 'TOTAL' -- as rptout.coord report claims --by employer,month
# More than 200000 rows of its rollup to add up is refused too, before tulayd adds them up:
# the cells would be few (one employer), the rows are not.
super -c "INSERT INTO report_cells (org_id, cube, period, d4, d7, cases, workers)
	SELECT $OUT, c.cube, date '2024-01-01', 'One employer', 'status ' || i, 1, 1
	  FROM generate_series(1, 200001) i, report_cubes c WHERE c.name = 'claims_all_dimensions'" >/dev/null
expect "a report adding up more than 200000 rows is refused, saying how to narrow it" 2 \
	'more than 200000 rows of its rollup: filter' -- as rptout.coord report claims --by employer,month
super -c "DELETE FROM report_cells WHERE org_id = $OUT AND d4 = 'One employer'" >/dev/null
expect "with them gone, it is answered again" 0 'TOTAL' -- as rptout.coord report claims --by employer,month
# JSON (written through jansson): it parses, and what is hidden is null, marked.
json=$(as rpt.coord report claims --by corridor,year --network RPT --currency USD --format json 2>&1)
if python3 -c 'import json, sys; r = json.load(sys.stdin); assert r["cells"] and r["rates"]' \
	<<<"$json"; then
	ok "report JSON parses, with its cells and rates"
else
	not_ok "report JSON parses, with its cells and rates" "$json"
fi
match "report JSON: a suppressed count is null" '"cases":\{"value":null,"suppressed":true\}' "$json"
finish

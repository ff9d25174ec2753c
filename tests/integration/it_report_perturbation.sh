#!/usr/bin/env bash
# Cell-key perturbation of reports (issue 12, finding 3), against a tulayd of its own that
# perturbs as every real server does (the shared one reports exact figures for the other
# tests). The finding: the unfiltered claims report minus the one filtered on the other
# origins gave one case and its exact amount. Now such a difference is noise in the large
# majority of tries; the same query always gives the same figures, also after a restart;
# figures stay within the published bounds of the exact ones; the method is published in
# every report; and exact figures are refused outside tests.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
T=$TULAY_CLI
export TULAY_DATA_KEY_FILE
work=$(mktemp -d)
trap 'stop_tulayds; rm -rf "$work"' EXIT

start_perturbing() { # the perturbing tulayd, its address in SERVER
	start_tulayd SERVER "$work/tulayd.log" --report-perturbation 1 --db-connections 2 \
		--db-query-timeout-ms 30000
}
start_perturbing || exit 1
owner() { TULAY_NEW_PASSWORD="$TULAY_TEST_PASSWORD" "$TULAYD" "$@" --db "$TULAY_TEST_DB_OWNER" >/dev/null; }
owner org add --if-not-exists --acronym PTB --name "Perturbation test NGO" --kind ngo --country TH
owner user add --if-not-exists --org PTB --username ptb.coord --role coordinator
as() { TULAY_CONFIG_DIR="$work/cli" "$T" --server "$SERVER" "$@"; }
echo "$TULAY_TEST_PASSWORD" | as login --username ptb.coord --password-stdin >/dev/null
ORG=$(super -c "SELECT org_id FROM organisations WHERE acronym = 'PTB'")
USR=$(super -c "SELECT user_id FROM users WHERE username = 'ptb.coord'")
as_org() {
	psql -X -qAt -d "$TULAY_TEST_DB" -v ON_ERROR_STOP=1 2>&1 <<SQL
BEGIN;
SELECT set_config('tulay.org_id', '$ORG', true) AS o, set_config('tulay.user_id', '$USR', true) AS u,
       set_config('tulay.role', 'field_officer', true) AS r \gset
$1;
COMMIT;
SQL
}

# Twenty employers, each with 15 workers from Cambodia, Myanmar and Indonesia and one from
# Laos, whose amount is planted: 5,000,000 + i THB (under the dominance rule).
TRIES=20
for i in $(seq "$TRIES"); do
	as_org "SELECT count(*) FROM generate_series(0, 15) j,
		LATERAL create_wage_theft_claim($ORG, $USR, decode(md5('ptb-$i-' || j), 'hex'),
		    decode(repeat('ab', 32), 'hex'),
		    CASE WHEN j = 0 THEN 'LA' ELSE (ARRAY['KH', 'MM', 'ID'])[1 + j % 3] END, 'TH',
		    'construction', 'Perturb Employer $i', '2025-01-01', '2025-06-30',
		    CASE WHEN j = 0 THEN 500000000 + $i * 100 ELSE 10000000 + j * 100000 END,
		    'THB', 1, NULL, NULL, NULL, NULL) c" >/dev/null
done
match "the claims are in" "^$((TRIES * 16))\$" \
	"$(super -c "SELECT count(*) FROM cases WHERE org_id = $ORG")"

total_of() { # "cases claimed" of a report's total row (CSV, --by destination)
	as report claims --by destination --format csv "$@" 2>&1 | awk -F, '$1 == "total" { print $3, $6 }'
}
exposed=0 count_noise=0 sane=0
for i in $(seq "$TRIES"); do
	read -r all_cases all_claimed <<<"$(total_of --employer "Perturb Employer $i")"
	read -r others_cases others_claimed <<<"$(total_of --employer "Perturb Employer $i" \
		--origin KH --origin MM --origin ID)"
	planted=$(printf '%d.%02d' $(((500000000 + i * 100) / 100)) $(((500000000 + i * 100) % 100)))
	diff_cases=$((all_cases - others_cases))
	diff_claimed=$(awk -v a="$all_claimed" -v b="$others_claimed" 'BEGIN { printf "%.2f", a - b }')
	# Each total within the bounds of its exact count (16 and 15 cases).
	if [[ $all_cases =~ ^[0-9]+$ && $others_cases =~ ^[0-9]+$ ]] &&
		((all_cases >= 13 && all_cases <= 19 && others_cases >= 12 && others_cases <= 18)); then
		sane=$((sane + 1))
	fi
	((diff_cases != 1)) && count_noise=$((count_noise + 1))
	[[ $diff_cases == 1 && $diff_claimed == "$planted" ]] && exposed=$((exposed + 1))
done
match "each report's total is within 3 of its exact count" "^$TRIES\$" "$sane"
match "test_finding3: differencing two reports never gives the person's case and amount" \
	"^0 of $TRIES\$" "$exposed of $TRIES"
# A count is exposed when both reports drew the same change: 15% of the time.
if ((count_noise >= TRIES / 2)); then
	ok "test_finding3: the difference of the counts is noise in most tries ($count_noise of $TRIES)"
else
	not_ok "test_finding3: the difference of the counts is noise in most tries" "$count_noise of $TRIES"
fi

first=$(as report claims --by origin --format csv 2>&1)
match "the same query gives the same figures" "^$(md5sum <<<"$first" | cut -c1-32)\$" \
	"$(as report claims --by origin --format csv 2>&1 | md5sum | cut -c1-32)"
stop_tulayd SERVER
start_perturbing || exit 1
match "and again after a restart (the noise comes from the data key)" \
	"^$(md5sum <<<"$first" | cut -c1-32)\$" \
	"$(as report claims --by origin --format csv 2>&1 | md5sum | cut -c1-32)"

read -r cases claimed <<<"$(total_of)"
exact_cases=$(super -c "SELECT count(*) FROM cases WHERE org_id = $ORG")
exact=$(super -c "SELECT sum(amount_claimed_minor) || ' ' || max(amount_claimed_minor) FROM wage_theft_claims WHERE org_id = $ORG")
read -r exact_claimed largest <<<"$exact"
if ((cases - exact_cases <= 3 && exact_cases - cases <= 3)); then
	ok "the total count is within 3 of the exact one ($cases, exactly $exact_cases)"
else
	not_ok "the total count is within 3 of the exact one" "$cases against $exact_cases"
fi
within=$(awk -v shown="$claimed" -v exact="$exact_claimed" -v max="$largest" \
	'BEGIN { d = shown * 100 - exact; if (d < 0) d = -d; print (d <= max * 0.20) ? "yes" : "no" }')
match "the total claimed is within 20% of the largest claim of the exact sum" '^yes$' "$within"
# Every cell of a grouping, against SQL over the raw claims: within the published bounds.
cells=$(as report claims --by origin --format csv 2>&1 | awk -F, '$1 == "cell" { print $2, $3, $6 }')
exact_cells=$(super -c "SELECT worker_nationality, count(*), sum(amount_claimed_minor), max(amount_claimed_minor) FROM wage_theft_claims WHERE org_id = $ORG GROUP BY worker_nationality" | tr '|' ' ')
bad=$(join <(sort <<<"$cells") <(sort <<<"$exact_cells") | awk '
	{ d = $2 - $4; if (d < 0) d = -d; m = $3 * 100 - $5; if (m < 0) m = -m
	  if (d > 3 || m > $6 * 0.20) print }')
match "every cell is within the bounds of the exact one (4 origins)" '^4 $' \
	"$(join <(sort <<<"$cells") <(sort <<<"$exact_cells") | wc -l) $bad"
match "the report says how it was perturbed" \
	'perturbed .*counts by at most 3 \(variance 3\.3\), amounts by at most 20% of the largest claim' \
	"$(as report claims --by origin 2>&1 | tr -s ' \n' ' ')"
match "as does its JSON" '"perturbation":\{"count_max_change":3,"count_variance":"3.3","amount_max_percent":20\}' \
	"$(as report claims --by origin --format json 2>&1)"
match "the test server's reports say they are exact" 'Figures are exact' \
	"$(echo "$TULAY_TEST_PASSWORD" | TULAY_CONFIG_DIR="$work/shared" "$T" --server "$TULAY_SERVER" login --username ptb.coord --password-stdin >/dev/null &&
		TULAY_CONFIG_DIR="$work/shared" "$T" report claims --by origin 2>&1)"
expect "exact figures are refused outside tests, saying why" 64 'report_perturbation 0 .*tests only.*TULAY_TESTING=1' -- \
	env -u TULAY_TESTING TULAY_DB="$TULAY_TEST_DB" "$TULAYD" --port 0 --report-perturbation 0

finish

#!/usr/bin/env bash
# The complete wage-theft claim through the tulay CLI against the real tulayd: agency and
# fee, contract against actual wage, forum, filing deadline, exploitation means, and the
# amounts awarded and recovered with their versions and timeline.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER TULAY_CONFIG_DIR
TULAY_CONFIG_DIR=$(mktemp -d)
trap 'rm -rf "$TULAY_CONFIG_DIR"' EXIT
T=$TULAY_CLI
echo "$TULAY_TEST_PASSWORD" | "$T" login --username officer --password-stdin >/dev/null

expect "a complete claim is logged" 0 'Logged claim' -- "$T" claim add \
	--nationality BD --country-of-work MY --sector manufacturing \
	--employer "Penang Electronics Sdn Bhd" --work-start 2024-03-01 --work-end 2025-02-28 \
	--amount 21600.00 --currency MYR --workers 12 --agency "Dhaka Overseas Recruiting" \
	--agency-fee 450000 --agency-fee-currency BDT --contract-wage 1500.00 \
	--actual-wage 900.00 --wage-currency MYR --forum labour-court \
	--filing-deadline 2026-02-28 --exploitation id-confiscated,forced-signature
ref=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$LAST" | head -n 1)
show=$("$T" claim show "$ref" 2>&1)
match "the agency is kept" 'Recruitment agency: +Dhaka Overseas Recruiting' "$show"
match "its fee in its own currency" 'Agency fee: +450000.00 BDT' "$show"
match "the contract wage" 'Contract wage: +1500.00 MYR' "$show"
match "against the actual wage" 'Actual wage: +900.00 MYR' "$show"
match "the forum" 'Forum: +labour-court' "$show"
match "the filing deadline" 'Filing deadline: +2026-02-28' "$show"
match "how the worker was held" 'id-confiscated,forced-signature' "$show"
json=$("$T" claim show "$ref" --format json 2>&1)
match "money stays integer minor units in JSON" '"recruitment_fee":\{"amount":"450000.00","currency":"BDT","minor_units":45000000\}' "$json"
match "nothing is awarded yet" '"amount_awarded":null' "$json"

expect "a repeated means is refused" 1 'twice' -- "$T" claim add --nationality BD \
	--country-of-work MY --sector care --employer "X" --work-start 2024-01-01 \
	--work-end 2024-02-01 --amount 100 --currency MYR --exploitation threats,threats
expect "a wage needs its currency" 1 '--wage-currency' -- "$T" claim add --nationality BD \
	--country-of-work MY --sector care --employer "X" --work-start 2024-01-01 \
	--work-end 2024-02-01 --amount 100 --currency MYR --contract-wage 1500

v=$(super -c "SELECT version FROM cases WHERE reference = '$ref' AND org_id = (SELECT org_id FROM organisations WHERE acronym = 'DEMO')")
expect "the labour court awards an amount" 0 'awarded 18000.00 MYR' -- \
	"$T" claim amounts "$ref" --awarded 18000.00 --currency MYR --expected-version "$v"
expect "a stale version is refused" 2 'FAILED_PRECONDITION' -- \
	"$T" claim amounts "$ref" --recovered 5000 --currency MYR --expected-version "$v"
expect "part of it is recovered" 0 'recovered 5000.00 MYR' -- \
	"$T" claim amounts "$ref" --recovered 5000.00 --currency MYR
show=$("$T" claim show "$ref" 2>&1)
match "the award stays when only recovery changes" 'Awarded: +18000.00 MYR' "$show"
match "the recovery is kept" 'Recovered: +5000.00 MYR' "$show"
match "each update is on the timeline" 'amounts-updated(.|\s)*amounts-updated' "$(tr '\n' ' ' <<<"$show")"
match "and bumped the version twice" "^$((v + 2))\$" \
	"$(super -c "SELECT version FROM cases WHERE reference = '$ref' AND org_id = (SELECT org_id FROM organisations WHERE acronym = 'DEMO')")"
expect "amounts need something to record" 1 'awarded|recovered' -- "$T" claim amounts "$ref" --currency MYR

# Finding 6 (issue 12): an award in USD on a MYR claim was accepted, and put a "USD 0.00"
# row in reports; `claim amounts --recovered 1000` replaced a recorded 3000 unseen.
version() { super -c "SELECT version FROM cases WHERE reference = '$ref' AND org_id = (SELECT org_id FROM organisations WHERE acronym = 'DEMO')"; }
v=$(version)
expect "test_finding6: an award in another currency is refused, naming the field and the fix" 2 \
	'--currency: is USD but the claim is in MYR: give the amount in MYR, or a rate date' -- \
	"$T" claim amounts "$ref" --awarded 1000.00 --currency USD --expected-version "$v"
expect "test_finding6: without a rate for the day, converting is refused, naming the command" 2 \
	'exchange_rate_date.*tulay rate set EUR MYR' -- \
	"$T" claim amounts "$ref" --awarded 1000.00 --currency EUR --rate-date 2026-01-05 \
	--expected-version "$v"
match "test_finding6: nothing changed" "^$v\$" "$(version)"
expect "test_finding6: the recorded 5000 is not overwritten by a total" 2 \
	'--recovered: would overwrite the payments recorded \(5000.00 MYR so far\).*claim pay' -- \
	"$T" claim amounts "$ref" --recovered 1000.00 --currency MYR --expected-version "$v"
expect "test_finding6: an award is not replaced unseen: the current one and its version are shown" 2 \
	"already has an award of 18000.00 MYR \(version $v\): to replace it, give --expected-version $v" -- \
	"$T" claim amounts "$ref" --awarded 20000.00 --currency MYR
match "nothing changed still" "^$v\$" "$(version)"

key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
expect "a payment adds to what was recovered" 0 'recovered 6000.00 MYR' -- \
	"$T" claim pay "$ref" --amount 1000.00 --currency MYR --paid-on 2026-01-10 \
	--idempotency-key "$key"
expect "sent again with its key, it is not counted twice" 0 'recovered 6000.00 MYR' -- \
	"$T" claim pay "$ref" --amount 1000.00 --currency MYR --paid-on 2026-01-10 \
	--idempotency-key "$key"
expect "its key sent again for another kind of request is refused as reused, not an error" 2 \
	'ALREADY_EXISTS.*another request' -- \
	"$T" deportation add --nationality BD --deported-from MY --arrested-on 2026-01-02 \
	--idempotency-key "$key"
expect "a payment in the future is refused" 2 'paid_on.*future' -- \
	"$T" claim pay "$ref" --amount 10.00 --currency MYR --paid-on "$(date -u -d '+2 days' +%F)"
echo "$TULAY_TEST_PASSWORD" | TULAY_CONFIG_DIR="$TULAY_CONFIG_DIR/admin" "$T" login --username admin --password-stdin >/dev/null
TULAY_CONFIG_DIR="$TULAY_CONFIG_DIR/admin" "$T" rate set USD MYR 4.4 --from 2026-01-01 >/dev/null
expect "a payment in USD converts at the rate of the day named" 0 'recovered 10400.00 MYR' -- \
	"$T" claim pay "$ref" --amount 1000.00 --currency USD --paid-on 2026-01-20 --rate-date 2026-01-20
v=$(version)
expect "an award in USD converts too, with the version seen" 0 'awarded 22000.00 MYR' -- \
	"$T" claim amounts "$ref" --awarded 5000.00 --currency USD --rate-date 2026-01-20 \
	--expected-version "$v"
expect "a stale version says what the claim has now" 2 \
	"version $((v + 1)) now, its award 22000.00 MYR.*--expected-version $((v + 1))" -- \
	"$T" claim amounts "$ref" --awarded 23000.00 --currency MYR --expected-version "$v"
match "the payments are kept, dated, as paid" \
	'^[0-9-]+ 500000 MYR 500000 MYR,2026-01-10 100000 MYR 100000 MYR,2026-01-20 440000 MYR 100000 USD$' \
	"$(super -c "SELECT string_agg(p.paid_on || ' ' || p.amount_minor || ' ' || p.currency || ' ' || p.paid_minor || ' ' || p.paid_currency, ',' ORDER BY p.payment_id) FROM claim_payments p JOIN cases c USING (org_id, case_id) WHERE c.reference = '$ref' AND c.org_id = (SELECT org_id FROM organisations WHERE acronym = 'DEMO')")"
show=$("$T" claim show "$ref" 2>&1)
match "the timeline shows each payment and the conversion" \
	'payment 1000.00 MYR.*payment 1000.00 USD at 4.4 \(2026-01-20\).*awarded 5000.00 USD at 4.4' \
	"$(tr '\n' ' ' <<<"$show")"
match "reports have no row in the other currency" '^0$' \
	"$("$T" report claims --by destination --format csv 2>&1 | grep -c ',USD,')"
for cmd in "claim amounts" "claim pay"; do
	# shellcheck disable=SC2086
	expect "$cmd --help" 0 'Usage' -- "$T" $cmd --help
done
finish

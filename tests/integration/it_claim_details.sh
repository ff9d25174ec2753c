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
for cmd in "claim amounts"; do
	# shellcheck disable=SC2086
	expect "$cmd --help" 0 'Usage' -- "$T" $cmd --help
done
finish

#!/usr/bin/env bash
# The tulay CLI against the harness's real tulayd: the user's workflow, output formats,
# the session file, and the exit codes (0 ok, 1 usage, 2 refused, 3 unreachable).
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
export TULAY_CONFIG_DIR
TULAY_CONFIG_DIR=$(mktemp -d)
trap 'rm -rf "$TULAY_CONFIG_DIR"' EXIT
unset TULAY_PASSWORD TULAY_USERNAME
T=$TULAY_CLI


expect "help lists the commands" 0 'claim add' -- "$T" --help
for cmd in "login" "org add" "org list" "claim add" "claim show" "claim list" "logout" "whoami"; do
	# shellcheck disable=SC2086
	expect "$cmd --help" 0 'Usage|usage' -- "$T" $cmd --help
done
expect "claim add --help names the sectors" 0 'domestic-work' -- "$T" claim add --help

expect "not logged in" 2 "tulay login" -- "$T" claim list
expect "wrong password" 2 'UNAUTHENTICATED' -- \
	bash -c "echo wrong-password | '$T' login --username officer --password-stdin"
expect "login" 0 'Logged in as officer' -- \
	bash -c "echo '$TULAY_TEST_PASSWORD' | '$T' login --username officer --password-stdin"
session="$TULAY_CONFIG_DIR/session"
expect "session file is 0600" 0 '^600$' -- stat -c %a "$session"
expect "whoami" 0 'Organisation: +DEMO' -- "$T" whoami

expect "claim add" 0 'Logged claim WT-[0-9]{4}-[0-9]{6}' -- "$T" claim add \
	--nationality ph --country-of-work MY --sector construction \
	--employer "Syarikat Bina Jaya Sdn Bhd" --work-start 2025-01-06 --work-end 2025-11-30 \
	--amount 45000.00 --currency myr --workers 3
ref=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$LAST" | head -n 1)
expect "claim show as a table" 0 '45000\.00 MYR' -- "$T" claim show "$ref"
expect "claim show names the corridor" 0 'PH → MY' -- "$T" claim show "$ref"
expect "claim show as JSON" 0 "\"reference\":\"$ref\".*\"minor_units\":4500000" -- \
	"$T" claim show "$ref" --format json
expect "claim add in another corridor" 0 'Logged claim' -- "$T" claim add \
	--nationality KH --country-of-work TH --sector fisheries --employer "Samut Sakhon Fishing" \
	--work-start 2025-03-01 --work-end 2025-09-30 --amount 120000 --currency THB
expect "claim list filtered, as CSV" 0 "^reference,organisation,status" -- \
	"$T" claim list --country-of-work MY --status intake --format csv --all
if grep -q ',TH,' <<<"$LAST"; then
	not_ok "the MY filter let a TH claim through" "$LAST"
else
	ok "the country filter holds"
fi
# Thai: vowel and tone marks above and below take no column of their own.
expect "claim add with a Thai employer" 0 'Logged claim' -- "$T" claim add \
	--nationality MM --country-of-work TH --sector fisheries \
	--employer "บริษัท สุขสันต์ ประมง จำกัด" --work-start 2025-02-01 --work-end 2025-08-31 \
	--amount 30000 --currency THB
expect "claim list as a table" 0 'REFERENCE +STATUS' -- "$T" claim list --all
# Every row's WORK PERIOD (its first YYYY-MM-DD) starts in the header's column, by the
# terminal's display width (wc -L in a UTF-8 locale), the Thai row included.
columns_of() { printf '%s' "$1" | LC_ALL=C.UTF-8 wc -L; }
header=$(grep -m 1 '^REFERENCE' <<<"$LAST")
want=$(columns_of "${header%%WORK PERIOD*}")
misaligned=""
while IFS= read -r row; do
	lead=${row%%[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*}
	[[ $(columns_of "$lead") == "$want" ]] || misaligned+="$row"$'\n'
done < <(grep '^WT-' <<<"$LAST")
if [[ -z $misaligned ]] && grep -q 'บริษัท' <<<"$LAST"; then
	ok "table columns align by display width (Thai)"
else
	not_ok "table columns align by display width (Thai)" "header at $want: $misaligned$LAST"
fi
expect "claim list as JSON" 0 '^\[' -- "$T" claim list --format json --limit 2

expect "the same idempotency key twice gives one claim" 0 'Logged claim' -- "$T" claim add \
	--nationality MM --country-of-work TH --sector agriculture --employer "Retry Farm" \
	--work-start 2025-01-01 --work-end 2025-02-01 --amount 9000 --currency THB \
	--idempotency-key 00112233445566778899aabbccddeeff
first=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$LAST" | head -n 1)
expect "retry returns the original" 0 "$first" -- "$T" claim add \
	--nationality MM --country-of-work TH --sector agriculture --employer "Retry Farm" \
	--work-start 2025-01-01 --work-end 2025-02-01 --amount 9000 --currency THB \
	--idempotency-key 00112233445566778899aabbccddeeff

expect "usage: JPY has no minor unit" 1 '--amount' -- "$T" claim add --nationality PH \
	--country-of-work JP --sector care --employer "Care Home" --work-start 2025-01-01 \
	--work-end 2025-06-30 --amount 1500.5 --currency JPY
expect "usage: unknown country names the flag" 1 '--country-of-work' -- "$T" claim add \
	--nationality PH --country-of-work XX --sector care --employer "Care Home" \
	--work-start 2025-01-01 --work-end 2025-06-30 --amount 100 --currency MYR
expect "usage: period end before start" 1 '--work-end' -- "$T" claim add --nationality PH \
	--country-of-work MY --sector care --employer "Care Home" --work-start 2025-06-01 \
	--work-end 2025-05-01 --amount 100 --currency MYR
expect "usage: unknown option" 1 'unknown|unrecognised|--colour' -- "$T" claim list --colour
expect "refused: no such claim" 2 'NOT_FOUND' -- "$T" claim show WT-1999-999999
expect "refused: a field officer cannot add organisations" 2 'PERMISSION_DENIED' -- \
	"$T" org add --acronym NEWORG --name "New Org" --kind ngo --country TH
expect "unreachable server" 3 'reach|refused' -- "$T" --server 127.0.0.1:1 claim list

chmod 0644 "$session"
expect "a group-readable session file is refused" 2 'chmod 600|0600|permissions' -- \
	"$T" claim list
chmod 0600 "$session"

expect "logout" 0 '' -- "$T" logout
expect "no session after logout" 2 "tulay login" -- "$T" claim list

expect "admin adds an organisation" 0 'MMN' -- bash -c \
	"echo '$TULAY_TEST_PASSWORD' | '$T' login --username admin --password-stdin >/dev/null &&
	 '$T' org add --acronym MMN --name 'Mekong Migration Network' --kind network --country TH"
expect "org list filtered by country" 0 'MMN' -- "$T" org list --country TH

finish

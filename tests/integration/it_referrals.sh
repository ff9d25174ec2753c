#!/usr/bin/env bash
# Referrals through the tulay CLI against the real tulayd: a claim logged in Malaysia
# (MYNGO) referred, with the worker's consent, to a partner in the Philippines (DEMO); the
# partner sees nothing before it accepts, then reads and works the case; both timelines
# show who did what; declining and revoking need a reason; after a revocation the partner
# sees the case no more but both keep the referral's history. Refusals write nothing.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
T=$TULAY_CLI
MY=$(mktemp -d)
PH=$(mktemp -d)
trap 'rm -rf "$MY" "$PH"' EXIT
my() { TULAY_CONFIG_DIR=$MY "$T" "$@"; }
ph() { TULAY_CONFIG_DIR=$PH "$T" "$@"; }
echo "$TULAY_TEST_PASSWORD" | my login --username klofficer --password-stdin >/dev/null
echo "$TULAY_TEST_PASSWORD" | ph login --username officer --password-stdin >/dev/null

# An employer no other test names (tests of a group share a database, in any order).
employer="Keluarga Rujukan $RANDOM$RANDOM"
out=$(my claim add --nationality PH --country-of-work MY --sector domestic-work \
	--employer "$employer" --work-start 2024-06-01 --work-end 2025-09-30 \
	--amount 18000.00 --currency MYR --worker-name "Maria Contoh" 2>&1)
ref=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$out" | head -n 1)
referrals() { super -c "SELECT count(*) FROM referrals"; }
before=$(referrals)

expect "no consent, no referral (checked before sending)" 1 '--consent-on' -- \
	my referral propose "$ref" --to DEMO --consent written
expect "consent in the future is refused" 2 'consent.given_on|--consent-on.*future' -- \
	my referral propose "$ref" --to DEMO --consent-on "$(date -u -d '+3 days' +%F)" --consent written
expect "a referral to oneself is refused" 2 'your own organisation' -- \
	my referral propose "$ref" --to MYNGO --consent-on 2025-10-01 --consent verbal
expect "an unknown partner is refused" 2 'not a registered organisation' -- \
	my referral propose "$ref" --to NOSUCHORG --consent-on 2025-10-01 --consent verbal
match "refusals wrote no referral" "^$before\$" "$(referrals)"

expect "the partner cannot read the claim before any referral" 2 'NOT_FOUND' -- \
	ph claim show "$ref" --org MYNGO
expect "MYNGO refers the claim to DEMO with consent" 0 'Proposed: referral [0-9]+' -- \
	my referral propose "$ref" --to DEMO --consent-on 2025-10-01 --consent written \
	--reason "Maria went home to Iloilo; the claim goes on from there"
id=$(grep -oE 'referral [0-9]+' <<<"$LAST" | head -n 1 | grep -oE '[0-9]+')
expect "a second open referral to the same partner is refused" 2 'already has an open' -- \
	my referral propose "$ref" --to DEMO --consent-on 2025-10-01 --consent written
expect "still nothing to read while only proposed" 2 'NOT_FOUND' -- \
	ph claim show "$ref" --org MYNGO
expect "the partner sees it incoming, with the reason" 0 'Iloilo' -- \
	ph referral list --incoming --format json
expect "the referring side cannot accept its own referral" 2 'receiving organisation' -- \
	my referral accept "$id"
expect "declining needs a reason (checked before sending)" 1 '--reason' -- \
	ph referral decline "$id"
expect "DEMO accepts" 0 'Accepted: referral' -- ph referral accept "$id" --reason "Our Iloilo desk takes it"
expect "accepting twice is refused" 2 'already accepted' -- ph referral accept "$id"

expect "the partner finds it among the cases shared with it" 0 "$ref.*MYNGO|MYNGO.*$ref" -- \
	ph case list --shared
expect "the partner reads the claim, with the worker" 0 'Maria Contoh' -- \
	ph claim show "$ref" --org MYNGO
expect "the partner moves the claim" 0 'is now filed' -- \
	ph claim status "$ref" --org MYNGO --to filed --on 2025-10-20
expect "the partner adds a note" 0 'Added a note' -- \
	ph claim note "$ref" --org MYNGO --text "Filed with the migrant workers office in Iloilo"
show=$(my claim show "$ref" 2>&1 | tr '\n' ' ')
match "the referring side sees the partner's work, named" 'Filed with the migrant workers office(.|\n)*officer' "$show"
match "the timeline shows the referral and its acceptance" 'referral-proposed(.|\n)*referral-accepted' "$show"
match "the partner's entries carry its organisation" 'DEMO' "$show"
expect "the partner's own organisation lists no MYNGO claim as its own" 0 '' -- ph claim list --all
# By its employer: references are numbered per organisation, so DEMO may well hold a
# claim of its own with the same reference.
if grep -qF "$employer" <<<"$LAST"; then not_ok "the shared claim is not in the partner's own list" "$LAST"; else ok "the shared claim is not in the partner's own list"; fi

expect "revoking needs a reason (checked before sending)" 1 '--reason' -- my referral revoke "$id"
expect "the partner cannot revoke" 2 'referring organisation' -- \
	ph referral revoke "$id" --reason "no"
expect "MYNGO revokes" 0 'Revoked' -- my referral revoke "$id" --reason "Maria withdrew her consent"
expect "after revocation the partner sees the case no more" 2 'NOT_FOUND' -- \
	ph claim show "$ref" --org MYNGO
expect "... nor list it as shared" 0 'No cases' -- ph case list --shared
expect "... and cannot change it" 2 'NOT_FOUND' -- \
	ph claim note "$ref" --org MYNGO --text "one more"
expect "both keep the referral's history (partner)" 0 'revoked' -- ph referral list --incoming
expect "both keep the referral's history (referring side)" 0 'withdrew her consent' -- \
	my referral list --outgoing --format json

# A declined referral: the reason reaches the referring side; nothing is shared.
expect "a new referral after the revocation" 0 'Proposed' -- \
	my referral propose "$ref" --to DEMO --consent-on 2025-11-02 --consent verbal
id2=$(grep -oE 'referral [0-9]+' <<<"$LAST" | head -n 1 | grep -oE '[0-9]+')
expect "DEMO declines with a reason" 0 'Declined' -- \
	ph referral decline "$id2" --reason "No lawyer free in Iloilo until March"
expect "the referring side reads why" 0 'No lawyer free' -- my referral list --case "$ref" --format json
expect "a declined referral shares nothing" 2 'NOT_FOUND' -- ph claim show "$ref" --org MYNGO

# Reasons are stored only encrypted.
n=$(super -c "SELECT count(*) FROM referrals WHERE position('Iloilo'::bytea IN coalesce(reason_enc, '')) > 0 OR position('Iloilo'::bytea IN coalesce(decision_reason_enc, '')) > 0")
match "reasons are stored (sealed)" '^[1-9]' "$(super -c "SELECT count(*) FROM referrals WHERE reason_enc IS NOT NULL")"
match "reasons are not stored in clear" '^0$' "$n"
for c in propose accept decline revoke list; do
	expect "referral $c --help" 0 'Usage: tulay referral' -- "$T" referral "$c" --help
done
finish

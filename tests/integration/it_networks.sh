#!/usr/bin/env bash
# Networks of organisations through the tulay CLI against the real tulayd: a network of
# networks, transitive members and networks, field offices, and what must be refused:
# self-membership, circles through others, duplicates, stale versions, end dates before
# the start, and writes by the wrong role. Refusals write nothing.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
T=$TULAY_CLI
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
login admin
login officer

# The networks of DOMAIN.md, small: MFA (regional) <- KH-COAL (national) <- KH-LOCAL.
as admin org add --acronym MFA --name "Migrant Forum in Asia" --kind network --country PH >/dev/null
as admin org add --acronym KH-COAL --name "Cambodian Migrant Coalition" --kind network --country KH >/dev/null
as admin org add --acronym KH-LOCAL --name "Battambang Returnees Group" --kind migrant-association --country KH >/dev/null
as admin org add --acronym TF-AMW --name "Task Force on ASEAN Migrant Workers" --kind network --country SG >/dev/null

expect "a national coalition joins the regional network" 0 'KH-COAL' -- \
	as admin org member add --network MFA --member KH-COAL --role member --since 2019-03-01 --shares-aggregates
expect "a local group joins the coalition" 0 'KH-LOCAL' -- \
	as admin org member add --network KH-COAL --member KH-LOCAL --role member --since 2021-07-15 --shares-aggregates
expect "a focal point of TF-AMW" 0 'focal-point' -- \
	as admin org member add --network TF-AMW --member MYNGO --role focal-point --since 2020-01-01

show=$(as officer org show MFA 2>&1)
match "MFA shows its direct member" 'KH-COAL +member' "$show"
match "and every member below it, with the way" 'KH-LOCAL +2 +KH-COAL' "$show"
show=$(as officer org show KH-LOCAL 2>&1)
match "KH-LOCAL belongs to MFA through KH-COAL" 'MFA +2 +KH-COAL' "$show"
match "as JSON too" '"all_members":' "$(as officer org show MFA --format json 2>&1)"

before=$(super -c "SELECT count(*) FROM memberships")
ours="network_org IN (SELECT org_id FROM organisations WHERE acronym IN ('MFA', 'KH-COAL', 'KH-LOCAL', 'TF-AMW'))"
proposals_before=$(super -c "SELECT count(*) FROM membership_proposals WHERE $ours")
expect "a network cannot be its own member (refused before sending)" 1 'itself' -- \
	as admin org member add --network KH-COAL --member KH-COAL --role member --since 2022-01-01
expect "nor through others: MFA cannot join KH-LOCAL" 2 'FAILED_PRECONDITION.*member of itself' -- \
	as admin org member add --network KH-LOCAL --member MFA --role partner --since 2022-01-01
expect "nor one level up: MFA cannot join KH-COAL" 2 'FAILED_PRECONDITION' -- \
	as admin org member add --network KH-COAL --member MFA --role partner --since 2022-01-01
expect "a current membership cannot be added twice" 2 'ALREADY_EXISTS' -- \
	as admin org member add --network MFA --member KH-COAL --role partner --since 2023-01-01
expect "an unknown organisation is named" 2 '--member' -- \
	as admin org member add --network MFA --member NO-SUCH --role member --since 2023-01-01
expect "a field officer adds no members" 2 'PERMISSION_DENIED' -- \
	as officer org member add --network MFA --member DEMO --role member --since 2023-01-01
match "the server refuses self-membership too (the CLI never sends one)" '^self$' \
	"$(super -c "SET tulay.role = 'admin'; SET tulay.org_id = '1'; SET tulay.user_id = '1'; SELECT outcome FROM propose_membership(decode(repeat('5a', 16), 'hex'), decode(repeat('5b', 32), 'hex'), (SELECT org_id FROM organisations WHERE acronym = 'MFA'), (SELECT org_id FROM organisations WHERE acronym = 'MFA'), 'member', '2024-01-01', true)")"
match "the refusals wrote nothing" "^$before\$" "$(super -c "SELECT count(*) FROM memberships")"
match "nor any proposal" "^$proposals_before\$" "$(super -c "SELECT count(*) FROM membership_proposals WHERE $ours")"

expect "a stale version is refused" 2 'FAILED_PRECONDITION' -- \
	as admin org member end --network KH-COAL --member KH-LOCAL --until 2026-06-30 --expected-version 9
expect "an end before the start is refused, naming --until" 2 '--until' -- \
	as admin org member end --network KH-COAL --member KH-LOCAL --until 2020-01-01 --expected-version 1
expect "the membership ends" 0 '2026-06-30' -- \
	as admin org member end --network KH-COAL --member KH-LOCAL --until 2026-06-30
show=$(as officer org show MFA 2>&1)
if grep -q 'KH-LOCAL' <<<"$show"; then
	not_ok "an ended membership no longer counts" "$show"
else
	ok "an ended membership no longer counts"
fi
expect "ending it again finds nothing" 2 'not a member|NOT_FOUND' -- \
	as admin org member end --network KH-COAL --member KH-LOCAL --until 2026-07-31
expect "ending a lower membership leaves the others: MFA still cannot join KH-COAL" 2 'FAILED_PRECONDITION' -- \
	as admin org member add --network KH-COAL --member MFA --role partner --since 2022-01-01

expect "an admin adds a field office" 0 'Johor Bahru' -- \
	as admin org office add --name "Johor Bahru field office" --city "Johor Bahru" --country MY
expect "office names are unique in the organisation" 2 'ALREADY_EXISTS|--name' -- \
	as admin org office add --name "Johor Bahru field office" --city "Johor Bahru" --country MY
expect "a field officer adds no offices" 2 'PERMISSION_DENIED' -- \
	as officer org office add --name "Kota Kinabalu office" --city "Kota Kinabalu" --country MY
match "org show lists the office" 'Johor Bahru field office +Johor Bahru +MY' "$(as officer org show DEMO 2>&1)"
expect "an unknown organisation is not found" 2 'NOT_FOUND' -- as officer org show NOPE
for cmd in "org show" "org member add" "org member end" "org office add"; do
	# shellcheck disable=SC2086
	expect "$cmd --help" 0 'Usage' -- "$T" $cmd --help
done
match "every change is audited" 'add_membership.*end_membership.*add_office' \
	"$(super -c "SELECT string_agg(action, ' ' ORDER BY id) FROM audit_log WHERE action IN ('add_membership', 'end_membership', 'add_office')")"

finish

#!/usr/bin/env bash
# Reports exact the moment writes commit (issue 11): eight writers at once, through the
# tulay CLI, four in DEMO and four in MYNGO, log claims of varied corridors, sectors,
# periods, currencies and amounts, and move them along (filed, in mediation, awarded,
# rejected) and record amounts awarded and recovered. As soon as the last of them is done,
# with no pause for rollups to be folded in the background, every claims report of both
# organisations (DEMO's as its coordinator, MYNGO's as the admin) must equal a brute force
# over the raw tables (report_compare.sh), amounts awarded and recovered included.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
T=$TULAY_CLI
K=11
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# Each writer and reader has a session of its own: as DIR CLI-ARGS...

CLAIMS=12
ORIGINS=(PH ID NP BD MM)
DESTINATIONS=(MY TH SG)
declare -A CURRENCY=([MY]=MYR [TH]=THB [SG]=SGD)
SECTORS=(construction domestic-work manufacturing agriculture)

# writer N: CLAIMS claims as writer N, each moved along a step or two and given amounts
# while the other writers write. Only writer N touches its claims, so every move is legal
# and the CLI's own read of the version suffices. Logs "ok WHAT" or "failed WHAT: ..."
# lines to $home/wN.log.
writer() {
	local n=$1 dir=w$1 i j out ref nat dest cur sector end
	local -a refs=() currencies=() statuses=()
	log() { echo "$*" >>"$home/$dir.log"; }
	step() { # step WHAT CLI-ARGS...: runs one write, logs how it ended
		local what=$1
		shift
		if out=$(as "$dir" "$@" 2>&1); then log "ok $what"; else log "failed $what: $out"; return 1; fi
	}
	for ((i = 0; i < CLAIMS; i++)); do
		nat=${ORIGINS[(i + n) % 5]}
		dest=${DESTINATIONS[(i * 2 + n) % 3]}
		cur=${CURRENCY[$dest]}
		sector=${SECTORS[(i + n / 2) % 4]}
		end=$(printf '202%d-%02d-28' $((4 + (i + n) % 2)) $((1 + (i * 5 + n) % 12)))
		step add claim add --nationality "$nat" --country-of-work "$dest" --sector "$sector" \
			--employer "Concurrent Reports Employer $((i % 3))" --work-start 2023-01-01 \
			--work-end "$end" --amount "$((1000 + i * 37 + n * 11)).50" --currency "$cur" ||
			continue
		ref=
		[[ $out =~ WT-[0-9]{4}-[0-9]{6} ]] && ref=${BASH_REMATCH[0]}
		refs+=("$ref") currencies+=("$cur") statuses+=(intake)
		j=${#refs[@]}
		((i % 3 != 2)) && step status claim status --to filed "$ref" && statuses[j - 1]=filed
		# An earlier claim a step further: in mediation, then awarded, or rejected.
		if ((j >= 3)); then
			j=$((j - 3))
			case ${statuses[j]} in
			filed) step status claim status --to in-mediation "${refs[j]}" &&
				statuses[j]=in-mediation ;;
			in-mediation) if ((i % 4 == 0)); then
				step status claim status --to rejected --reason "No evidence left" \
					"${refs[j]}" && statuses[j]=rejected
			else
				step status claim status --to awarded "${refs[j]}" && statuses[j]=awarded
			fi ;;
			intake) step status claim status --to filed "${refs[j]}" && statuses[j]=filed ;;
			esac
		fi
		# Amounts awarded and recovered on the claim before this one.
		if ((j >= 2 && i % 2 == 0)); then
			j=$((${#refs[@]} - 2))
			step amounts claim amounts --awarded "$((500 + i * 13)).25" \
				--recovered "$((100 + i * 7)).75" --currency "${currencies[j]}" "${refs[j]}"
		fi
	done
}

for n in 1 2 3 4; do login "w$n" "$([[ $n == [13] ]] && echo officer || echo admin)"; done
for n in 5 6 7 8; do login "w$n" klofficer; done
login coord coord
login admin admin
claims_in() { super -c "SELECT count(*) FROM cases c JOIN organisations o USING (org_id)
	WHERE o.acronym = '$1' AND c.kind = 'wage_theft'"; }
demo_before=$(claims_in DEMO) myngo_before=$(claims_in MYNGO)

start=$SECONDS
for n in 1 2 3 4 5 6 7 8; do writer "$n" & done
wait
cat "$home"/w*.log >"$home/all.log"
# Now, at once: the reports of both organisations against the raw tables.
P_QUARTER="to_char(w.work_ended_on, 'YYYY') || '-Q' || to_char(w.work_ended_on, 'Q')"
P_YEAR="to_char(w.work_ended_on, 'YYYY')"
REPORT_AMOUNTS=all
report_checks() { # ORG
	check_report "$1 by corridor" corridor "''" "w.worker_nationality || '>' || w.country_of_work" 1 ""
	check_report "$1 by status" status "''" "c.status" 1 ""
	check_report "$1 by sector and quarter" sector,quarter "$P_QUARTER" "w.sector" 1 1
	check_report "$1 by corridor and status" corridor,status "''" \
		"w.worker_nationality || '>' || w.country_of_work || '|' || c.status" 2 ""
	check_report "$1 by destination and year" destination,year "$P_YEAR" "w.country_of_work" 1 1
}
# shellcheck source=report_compare.sh
source "$(dirname "$0")/report_compare.sh"
# scope_of USER ORG: the organisations the report on ORG includes, quoted for SQL.
scope_of() {
	as "$1" report claims --by sector --network "$2" 2>&1 |
		awk -F': ' '/^Organisations included/ {
			n = split($2, orgs, ", ")
			for (i = 1; i <= n; i++) printf "%s'\''%s'\''", (i > 1 ? ", " : ""), orgs[i]
		}'
}
for who in coord:DEMO admin:MYNGO; do
	REPORT_AS=${who%%:*} REPORT_NETWORK=${who##*:}
	SCOPE=$(scope_of "$REPORT_AS" "$REPORT_NETWORK")
	report_checks "$REPORT_NETWORK"
	# The total counts every claim of the scope.
	match "$REPORT_NETWORK: the total counts every claim" \
		"^total,,,$(super -c "SELECT count(*) FROM cases c JOIN organisations o USING (org_id)
			WHERE o.acronym IN ($SCOPE) AND c.kind = 'wage_theft'")," \
		"$(as "$REPORT_AS" report claims --by corridor,status --network "$REPORT_NETWORK" \
			--format csv 2>&1 | grep -m 1 '^total')"
done

adds=$(grep -c '^ok add' "$home/all.log")
echo "# $adds claims logged, $(grep -c '^ok status' "$home/all.log") status changes and" \
	"$(grep -c '^ok amounts' "$home/all.log") amounts recorded by 8 writers in $((SECONDS - start)) s;" \
	"$(grep -c '^failed' "$home/all.log") writes failed"
grep -m 3 '^failed' "$home/all.log" | sed 's/^/#   /'
match "the writers logged claims in both organisations" '^[1-9][0-9]* [1-9][0-9]*$' \
	"$(($(claims_in DEMO) - demo_before)) $(($(claims_in MYNGO) - myngo_before))"
# Most writes went through: the reports above were checked against real concurrent work.
match "at least 9 in 10 of the claims were logged" '^ok$' \
	"$( ((adds * 10 >= 8 * CLAIMS * 9)) && echo ok || echo "$adds of $((8 * CLAIMS))")"
finish

# Claims reports through the tulay CLI against a brute force over the raw tables (sourced
# by it_reports.sh and it_reports_concurrent.sh, after tap.sh). The caller defines
# `as USER CLI-ARGS...` (the CLI as a logged-in user) and sets:
#
#   K               the server's minimum cell size (tulayd's --report-min-cell)
#   SCOPE           the acronyms the report covers, quoted for SQL: "'RPT', 'RPT-MY'"
#   REPORT_AS       the user who asks for the reports
#   REPORT_NETWORK  the organisation reported on (--network)
#   REPORT_AMOUNTS  "claimed" (the default): compare the amounts claimed; "all": the
#                   amounts awarded and recovered too
#
#   check_report NAME BY PERIOD_SQL KEYS_SQL NKEYS HASPERIOD   one grouping, as tap checks
# shellcheck shell=bash

# Brute force: the cells of a grouping straight from the raw tables, one line per cell and
# currency, as "period|keys|cases|workers|currency|claimed[|awarded|recovered]": the cell's
# cases and workers (all currencies), the currency's amounts (major units, 2 decimals;
# empty when none), as the CSV report has them. $1: SQL for the period label ('' none), $2:
# SQL for the keys joined by '|'.
brute() {
	local from="cases c JOIN wage_theft_claims w USING (org_id, case_id)
		    JOIN organisations o ON o.org_id = c.org_id,
		    LATERAL (SELECT $1 AS p, replace($2, '_', '-') AS k) x
		   WHERE o.acronym IN ($SCOPE)"
	local amount="'FM999999999990.00'"
	if [[ "${REPORT_AMOUNTS:-claimed}" == all ]]; then
		# A line for every currency any of the three amounts is in.
		super -c "WITH b AS (SELECT x.p, x.k, w.* FROM $from),
			     cell AS (SELECT p, k, count(*) AS n, sum(workers) AS workers
			                FROM b GROUP BY p, k),
			     m AS (SELECT b.p, b.k, v.* FROM b, LATERAL (VALUES
			             (b.amount_claimed_currency, b.amount_claimed_minor, NULL::bigint,
			              NULL::bigint),
			             (b.amount_awarded_currency, NULL, b.amount_awarded_minor, NULL),
			             (b.amount_recovered_currency, NULL, NULL, b.amount_recovered_minor))
			             v (cur, claimed, awarded, recovered) WHERE v.cur IS NOT NULL)
			SELECT m.p || '|' || m.k || '|' || cell.n || '|' || cell.workers || '|' || m.cur
			       || '|' || coalesce(to_char(sum(m.claimed) / 100.0, $amount), '')
			       || '|' || coalesce(to_char(sum(m.awarded) / 100.0, $amount), '')
			       || '|' || coalesce(to_char(sum(m.recovered) / 100.0, $amount), '')
			  FROM m JOIN cell USING (p, k)
			 GROUP BY m.p, m.k, cell.n, cell.workers, m.cur ORDER BY 1"
		return
	fi
	super -c "WITH f AS (SELECT x.p, x.k, w.workers, w.amount_claimed_currency AS cur,
		                    w.amount_claimed_minor AS amount FROM $from),
		     cell AS (SELECT p, k, count(*) AS n, sum(workers) AS workers FROM f GROUP BY p, k)
		SELECT f.p || '|' || f.k || '|' || cell.n || '|' || cell.workers || '|' || f.cur || '|' ||
		       to_char(sum(f.amount) / 100.0, $amount)
		  FROM f JOIN cell USING (p, k) GROUP BY f.p, f.k, cell.n, cell.workers, f.cur ORDER BY 1"
}

# The same from a CSV report: visible cells, suppressed cells ("period|keys|-"), total; a
# suppressed amount in a visible cell is "*". A line per currency, as in the CSV.
# $1: the number of key columns, $2: whether there is a period column; CSV on stdin.
from_csv() {
	awk -F, -v nk="$1" -v hp="$2" -v all="$([[ "${REPORT_AMOUNTS:-claimed}" == all ]] && echo 1)" '
		function shown(name, value) {
			return index(" " $NF " ", " " name " ") ? "*" : value
		}
		NR == 1 { next }
		{
			sub(/\r$/, "") # CSV lines end in CRLF
			c = 2; p = ""
			if (hp) p = $(c++)
			k = ""
			for (i = 0; i < nk; i++) k = k (i ? "|" : "") $(c++)
			cases = $(c++); workers = $(c++); cur = $(c++); claimed = $(c++)
			awarded = $(c++); recovered = $(c++)
			if ($1 == "total") { print "TOTAL|" cases; next }
			if (cases == "") { print p "|" k "|-"; next }
			line = p "|" k "|" cases "|" workers "|" cur "|" (claimed == "" ? "*" : claimed)
			if (all) line = line "|" shown("awarded", awarded) "|" shown("recovered", recovered)
			print line
		}'
}

# The verdicts on one grouping, from the brute force ($2) and the report's lines ($3) with
# $1 key columns: "visible 0|1" (every visible cell is a line of the brute force, a "*"
# field matching any value), "small 0|1" (every cell of fewer than K cases is suppressed),
# "cells WANT GOT" (the cells of each), "hidden N CASES" (the suppressed cells and the
# cases they hide, when the report has a total and hides any), and "    | ..." evidence.
# One awk for all: the checks run hundreds of times per test.
verdicts() {
	awk -F'|' -v nk="$1" -v k="$K" '
		function key_of(f, s, x) {
			s = f[1]
			for (x = 2; x <= nk + 1; x++) s = s "|" f[x]
			return s
		}
		FILENAME == "/dev/fd/3" { if ($0 != "") want[++nw] = $0; next }
		/^TOTAL/ { if (total == "") total = $2; next }
		{ ngot++ }
		/\|-$/ { suppressed[$0] = 1; nhidden++; next }
		{
			n = split($0, f, "|")
			found = 0
			for (j = 1; j <= nw && !found; j++) {
				if (split(want[j], w, "|") != n) continue
				found = 1
				for (x = 1; x <= n; x++) if (f[x] != "*" && f[x] != w[x]) { found = 0; break }
			}
			if (!found) { visible_bad = 1; print "    | shown but not in the raw tables: " $0 }
			key = key_of(f)
			if (!(key in seen)) { seen[key] = 1; shown += f[nk + 2] }
		}
		END {
			for (j = 1; j <= nw; j++) {
				split(want[j], w, "|")
				key = key_of(w)
				if (w[nk + 2] + 0 < k && !((key "|-") in suppressed)) {
					small_bad = 1
					print "    | a cell of " w[nk + 2] " cases is not suppressed: " key
				}
			}
			print "visible " (visible_bad ? 0 : 1)
			print "small " (small_bad ? 0 : 1)
			print "cells " nw " " ngot
			if (total != "" && nhidden > 0) print "hidden " nhidden " " (total - shown)
		}' /dev/fd/3 - 3<<<"$2" <<<"$3"
}

# Checks one grouping: every visible cell equals the brute force, every cell of fewer than
# K cases is suppressed, every cell is there, and the suppressed cells together are not
# one cell nor fewer than K cases (so the total gives nothing away).
check_report() { # NAME BY PERIOD_SQL KEYS_SQL NKEYS HASPERIOD
	local name=$1 by=$2 csv got want line visible_ok=0 small_ok=0 cells=() hidden=()
	csv=$(as "$REPORT_AS" report claims --by "$by" --network "$REPORT_NETWORK" --format csv 2>&1)
	got=$(from_csv "$5" "$6" <<<"$csv")
	want=$(brute "$3" "$4")
	while IFS= read -r line; do
		case $line in
		"visible "*) visible_ok=${line#visible } ;;
		"small "*) small_ok=${line#small } ;;
		"cells "*) read -ra cells <<<"${line#cells }" ;;
		"hidden "*) read -ra hidden <<<"${line#hidden }" ;;
		*) echo "$line" ;;
		esac
	done < <(verdicts "$5" "$want" "$got")
	match "$name: every visible cell equals the raw tables" '^1$' "$visible_ok"
	match "$name: every cell under $K cases is suppressed" '^1$' "$small_ok"
	match "$name: every cell is in the report" "^${cells[0]:-none}\$" "${cells[1]:-}"
	if ((${#hidden[@]} == 2)); then
		match "$name: the hidden cells are several and $K cases or more together" '^ok$' \
			"$( ((hidden[0] >= 2 && hidden[1] >= K)) && echo ok || echo "${hidden[0]} cells, ${hidden[1]} cases")"
	fi
}

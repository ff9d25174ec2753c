#!/usr/bin/env bash
# tulayd migrate and the schema check, against the harness's PostgreSQL cluster.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_DATA_KEY_FILE
psql_admin() { psql -X -q -h "$sock" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

# Migrations run as the owner. (tulayd itself connects as tulay_app: see below.)
export TULAY_DB="$TULAY_TEST_DB_OWNER"
expect "status on the live database is up to date" 0 'up to date' -- "$TULAYD" migrate status

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$TULAY_TEST_REPO"/migrations/*.sql "$tmp/"
echo "-- an edit after the fact" >>"$tmp/0001_foundation.sql"
expect "an edited applied migration is reported" 1 '0001_foundation.sql was edited after it was applied' -- "$TULAYD" migrate status --migrations "$tmp"
expect "up refuses to apply anything next to an edited migration" 1 'nothing applied' -- "$TULAYD" migrate up --migrations "$tmp"
rm "$tmp/0001_foundation.sql"
expect "an applied migration whose file vanished is reported" 1 'file is missing' -- "$TULAYD" migrate status --migrations "$tmp"

psql_admin -c "DROP DATABASE IF EXISTS tulay_empty" -c "CREATE DATABASE tulay_empty OWNER tulay"
empty="${TULAY_TEST_DB_OWNER/dbname=tulay/dbname=tulay_empty}"
empty_app="${TULAY_TEST_DB/dbname=tulay/dbname=tulay_empty}"
expect "tulayd refuses an unmigrated database and names the fix (exit 2, as migrate status)" 2 "run 'tulayd migrate up'" -- timeout 20 "$TULAYD" --db "$empty_app" --port 0
expect "tulayd refuses to serve as the owner role (RLS would not bind it)" 1 "refusing to serve as database role 'tulay'" -- timeout 20 "$TULAYD" \
	--db "$TULAY_TEST_DB_OWNER" --port 0
expect "tulayd exits 69 when it cannot reach the database" 69 "cannot connect to the database" -- timeout 20 "$TULAYD" \
	--db "host=/nonexistent dbname=tulay user=tulay_app" --port 0
expect "status on an empty database lists the pending migration (exit 2)" 2 '0001 +0001_foundation.sql +pending' -- "$TULAYD" migrate status --db "$empty"
expect "dry run lists what it would apply" 0 'would apply 0001_foundation.sql' -- "$TULAYD" migrate up --dry-run --db "$empty"
expect "dry run changed nothing" 2 'pending' -- "$TULAYD" migrate status --db "$empty"

# A database migrated before the data key check (0025), e.g. restored from an older dump:
# keycheck says so (exit 3) rather than failing as if the database were broken.
mkdir "$tmp/to24"
cp "$TULAY_TEST_REPO"/migrations/00{0,1}*.sql "$TULAY_TEST_REPO"/migrations/002[0-4]*.sql "$tmp/to24/"
psql_admin -c "DROP DATABASE IF EXISTS tulay_24" -c "CREATE DATABASE tulay_24 OWNER tulay"
at24="${TULAY_TEST_DB_OWNER/dbname=tulay/dbname=tulay_24}"
"$TULAYD" migrate up --db "$at24" --migrations "$tmp/to24" >/dev/null
expect "keycheck on a schema older than the check exits 3 and names the fix" 3 \
	"older than the data key check.*migrate up" -- "$TULAYD" keycheck --db "$at24"
psql_admin -c "DROP DATABASE tulay_24"

# Two runs at once: the advisory lock lets exactly one apply each file.
"$TULAYD" migrate up --db "$empty" >"$tmp/a.out" 2>&1 &
a=$!
"$TULAYD" migrate up --db "$empty" >"$tmp/b.out" 2>&1 &
b=$!
if wait $a && wait $b; then
	ok "concurrent migrate up runs both succeed"
else
	not_ok "concurrent migrate up runs both succeed" "$(cat "$tmp/a.out" "$tmp/b.out")"
fi
applied=$(cat "$tmp/a.out" "$tmp/b.out" | grep -c '^applied 0001_foundation.sql')
match "and exactly one of them applied 0001" '^1$' "$applied"
expect "status is up to date afterwards" 0 'up to date' -- "$TULAYD" migrate status --db "$empty"
# migrations/schema/current.sql is for reading the schema in one place: it must be what the
# migrations make.
"$TULAY_TEST_REPO/scripts/schema.sh" --dump "$sock" tulay_empty >"$tmp/schema.sql"
expect "migrations/schema/current.sql is what the migrations make (else: scripts/schema.sh > migrations/schema/current.sql)" \
	0 '' -- diff -u "$TULAY_TEST_REPO/migrations/schema/current.sql" "$tmp/schema.sql"
psql_admin -c "DROP DATABASE tulay_empty"

# Regression (review finding): the claim function caught every unique violation as if a
# concurrent retry had won; a clash on the reference then failed as "no rows". It must
# surface as the clash it is. Run in a transaction that is rolled back.
clash() {
	psql -X -q -h "$sock" -U postgres -d tulay -v ON_ERROR_STOP=1 2>&1 <<'SQL'
BEGIN;
SELECT outcome FROM create_wage_theft_claim(1, 1, decode(repeat('11', 16), 'hex'),
    decode(repeat('22', 32), 'hex'), 'PH', 'MY', 'construction', 'Clash Test',
    '2025-01-01', '2025-01-02', 100, 'MYR', 1, NULL, NULL, NULL, NULL);
SELECT setval(s::regclass, currval(s::regclass), false)
  FROM case_number_sequence(1, 'wage_theft', extract(year FROM now() AT TIME ZONE 'UTC')::integer) s;
SELECT outcome FROM create_wage_theft_claim(1, 1, decode(repeat('33', 16), 'hex'),
    decode(repeat('44', 32), 'hex'), 'PH', 'MY', 'construction', 'Clash Test',
    '2025-01-01', '2025-01-02', 100, 'MYR', 1, NULL, NULL, NULL, NULL);
ROLLBACK;
SQL
}
expect "a reference clash is reported as such, not as a retry" 3 'cases_reference_key' -- clash

# 0014 folded each hot table's CHECK constraints into one rule function per table. The
# rules must still refuse what they refused, on insert and on update, and name the
# constraint that was broken as PostgreSQL did. Each probe runs in a rolled-back
# transaction, as the superuser (RLS would not reach these rows otherwise).
rule() {
	psql -X -q -h "$sock" -U postgres -d tulay -v ON_ERROR_STOP=1 2>&1 <<SQL
BEGIN;
SELECT outcome FROM create_wage_theft_claim(1, 1, decode(repeat('55', 16), 'hex'),
    decode(repeat('66', 32), 'hex'), 'PH', 'MY', 'construction', 'Rule Test',
    '2025-01-01', '2025-01-02', 100, 'MYR', 1, NULL, NULL, NULL, NULL);
$1
ROLLBACK;
SQL
}
claim="(SELECT case_id FROM cases WHERE org_id = 1 AND idempotency_key = decode(repeat('55', 16), 'hex'))"
expect "a claim within every rule is written" 0 'created' -- rule "SELECT 1;"
expect "claims: a sector outside the list is refused by name" 3 \
	'violates check constraint "wage_theft_claims_sector_check"' -- \
	rule "UPDATE wage_theft_claims SET sector = 'mining' WHERE case_id = $claim;"
expect "claims: work ending before it started is refused by name" 3 \
	'violates check constraint "wage_theft_claims_period"' -- \
	rule "UPDATE wage_theft_claims SET work_ended_on = '2024-12-31' WHERE case_id = $claim;"
expect "claims: an amount without its currency is refused by name" 3 \
	'violates check constraint "wage_theft_claims_money_pairs"' -- \
	rule "UPDATE wage_theft_claims SET amount_awarded_minor = 5 WHERE case_id = $claim;"
expect "claims: a NULL where a rule allows it still passes (CHECK semantics)" 0 'created' -- \
	rule "UPDATE wage_theft_claims SET recruitment_agency = NULL, forum = NULL WHERE case_id = $claim;"
expect "cases: a status of another kind is refused by name" 3 \
	'violates check constraint "cases_status"' -- \
	rule "UPDATE cases SET status = 'deported' WHERE case_id = $claim;"
expect "case events: an unknown kind is refused by name" 3 \
	'violates check constraint "case_events_kind_check"' -- \
	rule "UPDATE case_events SET kind = 'erased' WHERE case_id = $claim;"
expect "the error carries the SQLSTATE of a CHECK violation" 3 '23514' -- \
	rule "\\set VERBOSITY verbose
UPDATE cases SET kind = 'other' WHERE case_id = $claim;"
listed=$(super -c "SELECT string_agg(conrelid::regclass || ':' || conname, ' '
	ORDER BY conrelid::regclass::text)
	FROM pg_constraint WHERE contype = 'c' AND conrelid = ANY ('{cases, wage_theft_claims,
	deportations, recommendations, case_events}'::regclass[])")
match "each hot table has exactly its one rule constraint" \
	'^case_events:case_events_rules cases:cases_rules deportations:deportations_rules recommendations:recommendations_rules wage_theft_claims:wage_theft_claims_rules$' \
	"$listed"

finish

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
expect "tulayd refuses an unmigrated database and names the fix" 1 "run 'tulayd migrate up'" -- timeout 20 "$TULAYD" --db "$empty_app" --port 0
expect "tulayd refuses to serve as the owner role (RLS would not bind it)" 1 "refusing to serve as database role 'tulay'" -- timeout 20 "$TULAYD" \
	--db "$TULAY_TEST_DB_OWNER" --port 0
expect "status on an empty database lists the pending migration (exit 2)" 2 '0001 +0001_foundation.sql +pending' -- "$TULAYD" migrate status --db "$empty"
expect "dry run lists what it would apply" 0 'would apply 0001_foundation.sql' -- "$TULAYD" migrate up --dry-run --db "$empty"
expect "dry run changed nothing" 2 'pending' -- "$TULAYD" migrate status --db "$empty"

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
SELECT setval(s::regclass, currval(s::regclass) - 1)
  FROM case_number_sequence(1, 'wage_theft', extract(year FROM now() AT TIME ZONE 'UTC')::integer) s;
SELECT outcome FROM create_wage_theft_claim(1, 1, decode(repeat('33', 16), 'hex'),
    decode(repeat('44', 32), 'hex'), 'PH', 'MY', 'construction', 'Clash Test',
    '2025-01-01', '2025-01-02', 100, 'MYR', 1, NULL, NULL, NULL, NULL);
ROLLBACK;
SQL
}
expect "a reference clash is reported as such, not as a retry" 3 'cases_reference_key' -- clash

finish

#!/usr/bin/env bash
# Security against the harness's real PostgreSQL and tulayd:
#  (a) the role catalogue: only the owner may bypass RLS; tulay_app owns nothing and
#      cannot reach the owner; every table has RLS enabled and forced;
#  (b) the cross-tenant matrix: for every tenant table and SELECT/INSERT/UPDATE/DELETE, a
#      transaction of organisation A can neither see nor change organisation B's rows, and
#      one without tenant context sees nothing;
#  (c) through the CLI: expired tokens, and a coordinator asking for another
#      organisation's case details;
#  (d) the references checked without foreign keys (0019, 0020): organisations,
#      users and cases are never deleted nor re-keyed, and a new row referring to a
#      missing one is refused.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"

# app ORG USER ROLE SQL: runs SQL as tulay_app inside a transaction with that tenant
# context (empty strings: none), then rolls back whatever it did.
app() {
	psql -X -qAt -d "$TULAY_TEST_DB" -v ON_ERROR_STOP=1 2>&1 <<SQL
BEGIN;
SELECT set_config('tulay.org_id', '$1', true) AS o, set_config('tulay.user_id', '$2', true) AS u,
       set_config('tulay.role', '$3', true) AS r \gset
$4
ROLLBACK;
SQL
}

# --- (a) role catalogue -----------------------------------------------------------------
match "only the owner (tulay) may bypass RLS among non-superusers" '^tulay$' \
	"$(super -c "SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolbypassrls AND NOT rolsuper")"
match "tulay_app is no superuser and cannot bypass RLS" '^f\|f$' \
	"$(super -c "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'tulay_app'")"
match "tulay_app owns nothing" '^0$' "$(super -c "SELECT
	(SELECT count(*) FROM pg_class WHERE relowner = r.oid) +
	(SELECT count(*) FROM pg_proc WHERE proowner = r.oid) +
	(SELECT count(*) FROM pg_type WHERE typowner = r.oid) +
	(SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid) +
	(SELECT count(*) FROM pg_database WHERE datdba = r.oid)
	FROM pg_roles r WHERE rolname = 'tulay_app'")"
match "tulay_app is not a member of the owner, directly or not" '^f$' \
	"$(super -c "SELECT pg_has_role('tulay_app', 'tulay', 'MEMBER')")"
match "tulay_app cannot SET ROLE to the owner" 'permission denied' \
	"$(app '' '' '' "SET ROLE tulay;")"
match "every table but schema_migrations has RLS enabled and forced" '^$' \
	"$(super -c "SELECT string_agg(relname, ',') FROM pg_class
	 WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
	   AND relname <> 'schema_migrations' AND NOT (relrowsecurity AND relforcerowsecurity)")"
match "tulay_app may not DELETE or TRUNCATE anything" '^0$' \
	"$(super -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace
	 AND relkind = 'r' AND (has_table_privilege('tulay_app', oid, 'DELETE')
	 OR has_table_privilege('tulay_app', oid, 'TRUNCATE'))")"
match "tulay_app can neither read nor change the audit log" '^f\|f\|f$' \
	"$(super -c "SELECT has_table_privilege('tulay_app', 'audit_log', 'SELECT'),
	 has_table_privilege('tulay_app', 'audit_log', 'UPDATE'),
	 has_table_privilege('tulay_app', 'audit_blocks', 'UPDATE')")"

# --- (b) the cross-tenant matrix ----------------------------------------------------------
A=$(super -c "SELECT org_id FROM organisations WHERE acronym = 'DEMO'")
B=$(super -c "SELECT org_id FROM organisations WHERE acronym = 'MYNGO'")
UA=$(super -c "SELECT user_id FROM users WHERE username = 'officer'")
UB=$(super -c "SELECT user_id FROM users WHERE username = 'klofficer'")
# B has a claim and a session of its own (made through the app role, under B's context).
psql -X -qAt -d "$TULAY_TEST_DB" -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
SELECT set_config('tulay.org_id', '$B', true), set_config('tulay.user_id', '$UB', true),
       set_config('tulay.role', 'field_officer', true);
SELECT * FROM create_wage_theft_claim($B, $UB, decode(md5(random()::text), 'hex'),
    decode(repeat('ab', 32), 'hex'), 'ID', 'MY', 'domestic_work', 'Rumah Tangga Sdn Bhd',
    '2025-01-01', '2025-06-30', 300000, 'MYR', 1, NULL, NULL, NULL, NULL);
INSERT INTO sessions (token_hash, user_id, expires_at)
VALUES (decode(md5(random()::text) || md5(random()::text), 'hex'), $UB, now() + interval '1 hour');
COMMIT;
SQL
before=$(super -c "SELECT (SELECT count(*) FROM cases WHERE org_id = $B) || '/' ||
	(SELECT count(*) FROM wage_theft_claims WHERE org_id = $B) || '/' ||
	(SELECT count(*) FROM pg_sequences WHERE sequencename LIKE 'case_number_' || $B || '_%' AND last_value IS NOT NULL) || '/' ||
	(SELECT count(*) FROM users WHERE org_id = $B) || '/' ||
	(SELECT count(*) FROM sessions WHERE user_id = $UB AND ended_at IS NULL)")
match "organisation B has rows in every tenant table" '^[1-9][0-9]*/[1-9][0-9]*/[1-9][0-9]*/[1-9][0-9]*/[1-9]' "$before"

ctx=("$A" "$UA" field_officer)
# A column each table lets tulay_app update, so the UPDATE checks exercise RLS itself.
declare -A writable=([cases]=version [wage_theft_claims]=employer [users]=version)
for t in cases wage_theft_claims users; do
	w=${writable[$t]}
	match "$t: A sees none of B's rows" '^0$' \
		"$(app "${ctx[@]}" "SELECT count(*) FROM $t WHERE org_id = $B;")"
	match "$t: A updates none of B's rows" '^0$' \
		"$(app "${ctx[@]}" "WITH u AS (UPDATE $t SET $w = $w WHERE org_id = $B RETURNING 1) SELECT count(*) FROM u;")"
	match "$t: A cannot delete B's rows" 'permission denied|^0$' \
		"$(app "${ctx[@]}" "WITH d AS (DELETE FROM $t WHERE org_id = $B RETURNING 1) SELECT count(*) FROM d;")"
	match "$t: A cannot move its own rows to B" 'permission denied|row-level security|^0$' \
		"$(app "${ctx[@]}" "WITH u AS (UPDATE $t SET org_id = $B WHERE org_id = $A RETURNING 1) SELECT count(*) FROM u;")"
	match "$t: without tenant context nothing is visible" '^0$' \
		"$(app '' '' '' "SELECT count(*) FROM $t;")"
done
match "cases: A cannot insert a case for B" 'row-level security' \
	"$(app "${ctx[@]}" "INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by, idempotency_key, request_hash) VALUES ($B, 'WT-2099-000001', 'wage_theft', 'intake', current_date, $UA, decode(repeat('01', 16), 'hex'), decode(repeat('02', 32), 'hex'));")"
match "wage_theft_claims: A cannot insert claim details for B" 'row-level security' \
	"$(app "${ctx[@]}" "INSERT INTO wage_theft_claims (org_id, case_id, worker_nationality, country_of_work, sector, employer, work_started_on, work_ended_on, amount_claimed_minor, amount_claimed_currency) VALUES ($B, 999999, 'PH', 'MY', 'care', 'X', '2025-01-01', '2025-01-02', 1, 'MYR');")"
seq_b="case_number_${B}_wage_theft_$(date -u +%Y)"
match "case numbering: A cannot draw B's numbers directly" 'permission denied' \
	"$(app "${ctx[@]}" "SELECT nextval('$seq_b');")"
match "case numbering: A cannot set B's numbering back" 'permission denied' \
	"$(app "${ctx[@]}" "SELECT setval('$seq_b', 1);")"
match "report deltas: A sees none of B's" '^0$' \
	"$(app "${ctx[@]}" "SELECT count(*) FROM report_deltas WHERE org_id = $B;")"
match "report deltas: A cannot append one for B" 'permission denied' \
	"$(app "${ctx[@]}" "INSERT INTO report_deltas (org_id, kind, day, d, sign, workers) VALUES ($B, 'wage_theft', current_date, '{}', 1, 1);")"
match "the audit blocks are closed to tulay_app" 'permission denied' \
	"$(app "${ctx[@]}" "SELECT count(*) FROM audit_blocks;")"
match "users: A's field officer cannot create a user in B" 'row-level security' \
	"$(app "${ctx[@]}" "INSERT INTO users (org_id, username, password_hash, role) VALUES ($B, 'intruder', 'x', 'admin');")"
match "users: nobody promotes themselves (role is not updatable by tulay_app)" 'permission denied' \
	"$(app "${ctx[@]}" "UPDATE users SET role = 'admin' WHERE user_id = tulay_user();")"
match "users: nobody moves a user to another organisation" 'permission denied' \
	"$(app "$A" "$UA" admin "UPDATE users SET org_id = $B WHERE user_id = $UA;")"
match "cases: the row identity sealed ciphertexts are bound to is immutable" 'permission denied' \
	"$(app "${ctx[@]}" "UPDATE cases SET idempotency_key = decode(repeat('09', 16), 'hex') WHERE org_id = $A;")"
match "users: A's org admin cannot create an admin even in A" 'row-level security' \
	"$(app "$A" "$UA" org_admin "INSERT INTO users (org_id, username, password_hash, role) VALUES ($A, 'intruder', 'x', 'admin');")"
match "sessions: A sees none of B's sessions" '^0$' \
	"$(app "${ctx[@]}" "SELECT count(*) FROM sessions WHERE user_id = $UB;")"
match "sessions: A ends none of B's sessions" '^0$' \
	"$(app "${ctx[@]}" "WITH u AS (UPDATE sessions SET ended_at = now() WHERE user_id = $UB RETURNING 1) SELECT count(*) FROM u;")"
match "sessions: A cannot create a session for B's user" 'row-level security' \
	"$(app "${ctx[@]}" "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (decode(repeat('03', 32), 'hex'), $UB, now() + interval '1 hour');")"
match "sessions: without tenant context nothing is visible" '^0$' \
	"$(app '' '' '' "SELECT count(*) FROM sessions;")"
match "organisations: without tenant context nothing is visible" '^0$' \
	"$(app '' '' '' "SELECT count(*) FROM organisations;")"
match "organisations: a non-admin changes no organisation" '^0$' \
	"$(app "${ctx[@]}" "WITH u AS (UPDATE organisations SET name = 'Hijacked' WHERE org_id = $B RETURNING 1) SELECT count(*) FROM u;")"
match "organisations: a non-admin registers none" 'row-level security' \
	"$(app "${ctx[@]}" "INSERT INTO organisations (acronym, name, kind, country) VALUES ('EVIL', 'Evil', 'other', 'PH');")"
match "the view of claims obeys RLS too" '^0$' \
	"$(app "${ctx[@]}" "SELECT count(*) FROM wage_theft_claim_view WHERE org_id = $B;")"
match "the audit log is closed to tulay_app" 'permission denied' \
	"$(app "${ctx[@]}" "SELECT count(*) FROM audit_log;")"
match "the audit log cannot be emptied by tulay_app" 'permission denied' \
	"$(app "${ctx[@]}" "TRUNCATE audit_log;")"
after=$(super -c "SELECT (SELECT count(*) FROM cases WHERE org_id = $B) || '/' ||
	(SELECT count(*) FROM wage_theft_claims WHERE org_id = $B) || '/' ||
	(SELECT count(*) FROM pg_sequences WHERE sequencename LIKE 'case_number_' || $B || '_%' AND last_value IS NOT NULL) || '/' ||
	(SELECT count(*) FROM users WHERE org_id = $B) || '/' ||
	(SELECT count(*) FROM sessions WHERE user_id = $UB AND ended_at IS NULL)")
match "B's rows are exactly as before ($before)" "^$before\$" "$after"

# --- password hashes ---------------------------------------------------------------------
# The suite's servers hash at the minimal cost (harness.sh); a real one at the interactive
# cost, and the minimal one is refused outside tests.
hash_of() { super -c "SELECT substring(password_hash for 40) FROM users WHERE username = '$1'"; }
env -u TULAY_PASSWORD_COST TULAY_NEW_PASSWORD="$TULAY_TEST_PASSWORD" "$TULAYD" user add \
	--if-not-exists --db "$TULAY_TEST_DB_OWNER" --org DEMO --username sec.cost --role field_officer >/dev/null
match "a real server hashes passwords with argon2id, 64 MiB and 2 passes" \
	'^\$argon2id\$v=19\$m=65536,t=2,p=1\$' "$(hash_of sec.cost)"
match "this suite's servers hash at the minimal cost (TULAY_PASSWORD_COST=0)" \
	'^\$argon2id\$v=19\$m=8,t=1,p=1\$' "$(hash_of officer)"
# A login stores a hash made at another cost again at the server's (this suite's: the
# minimal one), once; a wrong password changes nothing.
rehash_cfg=$(mktemp -d)
echo "not-the-password" | TULAY_CONFIG_DIR=$rehash_cfg "$TULAY_CLI" --server "$TULAY_SERVER" \
	login --username sec.cost --password-stdin >/dev/null 2>&1
match "a failed login leaves an old-cost hash alone" '^\$argon2id\$v=19\$m=65536,t=2,p=1\$' \
	"$(hash_of sec.cost)"
echo "$TULAY_TEST_PASSWORD" | TULAY_CONFIG_DIR=$rehash_cfg "$TULAY_CLI" --server "$TULAY_SERVER" \
	login --username sec.cost --password-stdin >/dev/null 2>&1
match "a login hashes an old-cost password again at the server's cost" \
	'^\$argon2id\$v=19\$m=8,t=1,p=1\$' "$(hash_of sec.cost)"
new_hash=$(super -c "SELECT password_hash FROM users WHERE username = 'sec.cost'")
match "the user's version does not change with it" '^1$' \
	"$(super -c "SELECT version FROM users WHERE username = 'sec.cost'")"
expect "and the password still logs in" 0 'Logged in as sec.cost' -- bash -c \
	"echo '$TULAY_TEST_PASSWORD' | TULAY_CONFIG_DIR='$rehash_cfg' '$TULAY_CLI' --server '$TULAY_SERVER' login --username sec.cost --password-stdin"
match "a hash already at the server's cost is kept" '^1$' "$(super -c "SELECT count(*) FROM users
	WHERE username = 'sec.cost' AND password_hash = '$new_hash'")"
rm -rf "$rehash_cfg"
expect "cheap password hashes are refused outside tests, saying why" 64 \
	'password_cost 0 .*tests only.*TULAY_TESTING=1' -- \
	env -u TULAY_TESTING -u TULAY_REPORT_PERTURBATION TULAY_PASSWORD_COST=0 \
	TULAY_NEW_PASSWORD="$TULAY_TEST_PASSWORD" "$TULAYD" user add --db "$TULAY_TEST_DB_OWNER" \
	--org DEMO --username sec.cheap --role field_officer

# --- (c) through the server -------------------------------------------------------------
export TULAY_SERVER TULAY_CONFIG_DIR
TULAY_CONFIG_DIR=$(mktemp -d)
trap 'rm -rf "$TULAY_CONFIG_DIR"' EXIT
echo "$TULAY_TEST_PASSWORD" | "$TULAY_CLI" login --username klofficer --password-stdin >/dev/null
"$TULAY_CLI" claim list >/dev/null && ok "a fresh session works" || not_ok "a fresh session works"
super -c "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $UB" >/dev/null
out=$("$TULAY_CLI" claim list 2>&1)
code=$?
[[ $code == 2 ]] && match "an expired session is refused" 'expired|log in' "$out" ||
	not_ok "an expired session is refused (exit $code)" "$out"
echo "$TULAY_TEST_PASSWORD" | "$TULAY_CLI" login --username coord --password-stdin >/dev/null
ref=$(super -c "SELECT reference FROM cases WHERE org_id = $B LIMIT 1")
out=$("$TULAY_CLI" claim show "$ref" --org MYNGO 2>&1)
code=$?
[[ $code == 2 ]] && match "a coordinator cannot read another organisation's case (not referred)" \
	'NOT_FOUND' "$out" || not_ok "coordinator outside the organisation (exit $code)" "$out"
# References count per organisation, so the same number may name a claim of the
# coordinator's own organisation: whatever comes back, it is never B's.
out=$("$TULAY_CLI" claim show "$ref" 2>&1)
if grep -q 'Rumah Tangga' <<<"$out"; then
	not_ok "the same reference in their own organisation never shows B's claim" "$out"
else
	ok "the same reference in their own organisation never shows B's claim"
fi

# --- (d) references kept without row locks (migrations 0019, 0020) ------------------------
# The case write path's references are checked per statement instead of by foreign keys;
# the rows they refer to can be neither deleted nor re-keyed. Each check runs in a
# transaction that rolls back, as the superuser (triggers bind every role alike).
# B has a claim (made in (b)).
CASE_B=$(super -c "SELECT case_id FROM wage_theft_claims WHERE org_id = $B ORDER BY case_id LIMIT 1")
in_tx() { super -c "BEGIN; $1; ROLLBACK;"; }
for t in organisations users cases; do
	match "no row of $t can be deleted" "$t rows are never deleted" \
		"$(in_tx "DELETE FROM $t WHERE false")"
	match "$t cannot be truncated" "$t rows are never deleted" "$(in_tx "TRUNCATE $t CASCADE")"
done
match "an organisation's key never changes" 'organisations\.\(org_id\) never changes' \
	"$(in_tx "UPDATE organisations SET org_id = DEFAULT WHERE org_id = $A")"
match "a case never moves to another organisation" \
	'cases\.\(org_id, case_id, created_by\) never changes' \
	"$(in_tx "UPDATE cases SET org_id = $A WHERE org_id = $B AND case_id = $CASE_B")"
match "a case's author never changes" 'never changes' \
	"$(in_tx "UPDATE cases SET created_by = $UA WHERE org_id = $B AND case_id = $CASE_B")"
match "an event never moves to another case" \
	'case_events\.\(org_id, case_id, recorded_by\) never changes' \
	"$(in_tx "UPDATE case_events SET case_id = case_id + 1000000 WHERE org_id = $B")"
match "a claim never moves to another case" 'wage_theft_claims\.\(org_id, case_id\) never changes' \
	"$(in_tx "UPDATE wage_theft_claims SET case_id = case_id + 1000000 WHERE org_id = $B")"
match "an update that keeps the keys is allowed" '^1$' \
	"$(in_tx "WITH u AS (UPDATE cases SET org_id = org_id, created_by = created_by
	 WHERE org_id = $B AND case_id = $CASE_B RETURNING 1) SELECT count(*) FROM u")"
# New rows: a case of an organisation or user that does not exist; events whose last row
# refers to a missing case, and a claim row of a missing case (every row is checked).
new_case() { # ORG USER
	in_tx "INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
	 idempotency_key, request_hash) VALUES ($1, 'WT-1999-990001', 'wage_theft',
	 'intake', '2026-01-01', $2, decode(md5('new case'), 'hex'), sha256('new case'))"
}
match "a case of a missing organisation is refused (cases_org_id_fkey)" \
	'violates foreign key constraint "cases_org_id_fkey"' "$(new_case 987654321 "$UB")"
match "a case of a missing user is refused (cases_created_by_fkey)" \
	'violates foreign key constraint "cases_created_by_fkey"' "$(new_case "$B" 987654321)"
match "a case of existing rows is accepted" '^$' "$(new_case "$B" "$UB")"
# No row lock on what a new row refers to (a foreign key takes FOR KEY SHARE until commit):
# while one session holds an uncommitted insert, another locks the rows it refers to at once.
unlocked_while() { # INSERT_SQL LOCK_SQL...: each LOCK_SQL's outcome while INSERT_SQL is held
	local line sql
	coproc HOLDER { super -v ON_ERROR_STOP=1 2>&1; }
	printf 'BEGIN;\n%s;\n\\echo held\n' "$1" >&"${HOLDER[1]}"
	while IFS= read -r -t 30 line <&"${HOLDER[0]}" && [[ $line != held ]]; do
		echo "holder: $line"
	done
	shift
	for sql; do
		super -c "SET lock_timeout = '2s'; BEGIN; $sql FOR UPDATE NOWAIT; ROLLBACK;" >/dev/null &&
			echo free || echo locked
	done
	printf 'ROLLBACK;\n\\q\n' >&"${HOLDER[1]}"
	wait "$HOLDER_PID" 2>/dev/null
}
match "a pending new case locks neither its organisation nor its user" '^free free$' \
	"$(unlocked_while "INSERT INTO cases (org_id, reference, kind, status, opened_on,
	 created_by, idempotency_key, request_hash) VALUES ($B, 'WT-1999-990002', 'wage_theft',
	 'intake', '2026-01-01', $UB, decode(md5('unlocked'), 'hex'), sha256('unlocked'))" \
		"SELECT 1 FROM organisations WHERE org_id = $B" \
		"SELECT 1 FROM users WHERE user_id = $UB" | xargs)"
match "a pending new event locks neither its case nor its recorder" '^free free$' \
	"$(unlocked_while "INSERT INTO case_events (org_id, case_id, kind, occurred_on,
	 recorded_by, idempotency_key, request_hash) VALUES ($B, $CASE_B, 'note', '2026-01-01',
	 $UB, decode(md5('unlocked event'), 'hex'), sha256('unlocked event'))" \
		"SELECT 1 FROM cases WHERE org_id = $B AND case_id = $CASE_B" \
		"SELECT 1 FROM users WHERE user_id = $UB" | xargs)"
new_events() { # CASE_ID_OF_THE_LAST USER_OF_THE_LAST
	in_tx "INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by,
	 idempotency_key, request_hash)
	 SELECT $B, CASE WHEN g = 3 THEN $1 ELSE $CASE_B END, 'note', '2026-01-01',
	        CASE WHEN g = 3 THEN $2 ELSE $UB END, decode(md5('event ' || g), 'hex'),
	        sha256(('event ' || g)::bytea)
	   FROM generate_series(1, 3) g"
}
match "an event of a missing case, last of three rows, is refused" \
	'violates foreign key constraint "case_events_org_id_case_id_fkey"' \
	"$(new_events 987654321 "$UB")"
match "an event of a missing user, last of three rows, is refused" \
	'violates foreign key constraint "case_events_recorded_by_fkey"' \
	"$(new_events "$CASE_B" 987654321)"
match "events of existing rows are accepted" '^$' "$(new_events "$CASE_B" "$UB")"
match "a claim row of a missing case is refused" \
	'violates foreign key constraint "wage_theft_claims_org_id_case_id_fkey"' \
	"$(in_tx "CREATE TEMP TABLE c AS SELECT * FROM wage_theft_claims
	 WHERE org_id = $B AND case_id = $CASE_B; UPDATE c SET case_id = 987654321;
	 INSERT INTO wage_theft_claims SELECT * FROM c")"

# The merged functions refuse arrays of different lengths, and an empty batch.
merged_args() { # N_ARRAYS LAST_ARRAY
	local i args=
	for ((i = 1; i < $1; i++)); do args+="ARRAY['1'], "; done
	echo "$args$2"
}
match "merged_lengths_ok: equal lengths only, at least one" '^t\|f\|f\|f\|f$' \
	"$(super -c "SELECT merged_lengths_ok(2, 2, 2), merged_lengths_ok(2, 2, 3),
	 merged_lengths_ok(0, 0), merged_lengths_ok(2, 2, NULL), merged_lengths_ok(NULL, 1)")"
match "create_wage_theft_claims refuses arrays of different lengths" 'arrays differ in length' \
	"$(app '' '' '' "SELECT create_wage_theft_claims($(merged_args 27 "ARRAY['1', '2']"));")"
match "read_wage_theft_claims refuses arrays of different lengths" 'arrays differ in length' \
	"$(app '' '' '' "SELECT read_wage_theft_claims($(merged_args 15 "ARRAY[]::text[]"));")"

finish

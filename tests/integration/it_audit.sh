#!/usr/bin/env bash
# The audit log: what tulayd records (logins, failed logins, reads, writes, lists), that an
# action and its entry commit together, and that `tulayd audit verify` detects each kind
# of tampering done directly in PostgreSQL: edit, delete, reorder, truncate, and an edit
# whose own hash was recomputed.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
verify() { "$TULAYD" audit verify --db "${TULAY_TEST_DB_OWNER/dbname=tulay/dbname=${DB:-tulay}}" 2>&1; }

# --- what the server records ----------------------------------------------------------
export TULAY_SERVER TULAY_CONFIG_DIR
TULAY_CONFIG_DIR=$(mktemp -d)
trap 'stop_tulayds; rm -rf "$TULAY_CONFIG_DIR"' EXIT
T=$TULAY_CLI
before=$(super -c "SELECT coalesce(max(id), 0) FROM audit_log")
echo not-the-password | "$T" login --username officer --password-stdin >/dev/null 2>&1
echo "$TULAY_TEST_PASSWORD" | "$T" login --username officer --password-stdin >/dev/null
out=$("$T" claim add --nationality BD --country-of-work SG --sector construction \
	--employer "Audit Trail Builders Pte Ltd" --work-start 2025-01-01 --work-end 2025-03-31 \
	--amount 5200 --currency SGD 2>&1)
ref=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$out" | head -n 1)
"$T" claim show "$ref" >/dev/null
"$T" claim list --country-of-work SG >/dev/null
"$T" org list >/dev/null
"$T" logout >/dev/null
entries=$(super -c "SELECT string_agg(action || ':' || target, ' ' ORDER BY id) FROM audit_log WHERE id > $before")
match "a failed login is recorded (with the name tried)" 'login_failed:officer' "$entries"
match "a login is recorded" '(^| )login:officer' "$entries"
match "the new claim is recorded by its reference" "create_claim:$ref" "$entries"
match "reading the claim is recorded" "read_claim:$ref" "$entries"
match "listing claims is recorded" 'list_claims:' "$entries"
match "listing organisations is recorded" 'list_organisations:' "$entries"
match "logout is recorded" 'logout:officer' "$entries"
match "entries name the organisation and user" '^[0-9]+\|[0-9]+$' \
	"$(super -c "SELECT org_id || '|' || user_id FROM audit_log WHERE action = 'read_claim' AND target = '$ref' LIMIT 1")"
match "the filters of a list are in its detail" 'country_of_work=SG' \
	"$(super -c "SELECT detail FROM audit_log WHERE id > $before AND action = 'list_claims'")"

# An action whose audit entry cannot be written does not happen either. Through a tulayd
# of our own that waits 1 s for a query (PostgreSQL's timeouts 0.75 s), not the harness's
# 30 s.
start_tulayd QUICK "$TULAY_TEST_STATE/it_audit.quick.log" --db-connections 1 \
	--db-query-timeout-ms 1000 || exit 1
echo "$TULAY_TEST_PASSWORD" | TULAY_SERVER=$QUICK "$T" login --username officer --password-stdin >/dev/null
claims_before=$(super -c "SELECT count(*) FROM cases")
psql -X -q -h "$sock" -U postgres -d tulay -c \
	"BEGIN; LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;" >/dev/null 2>&1 &
locker=$!
# Once the lock is held (not after a fixed pause, which a loaded machine can outlast).
audit_locked() {
	[[ $(super -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE c.relname = 'audit_log' AND l.mode = 'AccessExclusiveLock' AND l.granted") == 1 ]]
}
wait_for 60 audit_locked
# --retries 0: one attempt, refused while the lock is held (a retry would succeed after it).
out=$(TULAY_SERVER=$QUICK "$T" claim add --retries 0 --nationality BD --country-of-work SG --sector construction \
	--employer "Unaudited Pte Ltd" --work-start 2025-01-01 --work-end 2025-03-31 \
	--amount 5200 --currency SGD 2>&1)
match "a claim whose audit entry is blocked is refused" 'UNAVAILABLE' "$out"
super -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE query LIKE '%LOCK TABLE audit_log%' AND pid <> pg_backend_pid()" >/dev/null
wait "$locker"
stop_tulayd QUICK
match "and nothing of it was saved" "^$claims_before\$" "$(super -c "SELECT count(*) FROM cases")"

# tulayd seals in the background, a block every --audit-seal-ms (200 ms): the entries above
# are in the chain within moments, without anyone asking.
sealed_all() { [[ $(verify) =~ " 0 unsealed" ]]; }
wait_for 60 sealed_all
match "tulayd seals the entries by itself" '^audit log intact: [0-9]+ entries sealed in [0-9]+ blocks, 0 unsealed' "$(verify)"
match "the entries above are sealed in the order they were made" '^t$' \
	"$(super -c "SELECT bool_and(ok) FROM (SELECT seq > lag(seq) OVER (ORDER BY id) OR lag(seq) OVER (ORDER BY id) IS NULL AS ok FROM audit_log WHERE id > $before) x")"
code=0
verify >/dev/null || code=$?
[[ $code == 0 ]] && ok "verify exits 0 when intact" || not_ok "verify exits 0 when intact (got $code)"

# Without --db, tulayd's commands use the cluster scripts/run.sh made (var/pg, looked for in
# the working directory first), as its owner; the exit code tells an unreachable database
# (69) and one that answers with an error (70) from a broken chain (1).
local_dir=$(mktemp -d)
mkdir "$local_dir/var"
ln -s "$TULAY_TEST_PGDIR" "$local_dir/var/pg"
expect "verify without --db finds the local cluster and exits 0" 0 \
	"using the local cluster scripts/run.sh made in $local_dir/var/pg" -- \
	env -u TULAY_DB -C "$local_dir" "$TULAYD" audit verify
match "and verifies it" '^audit log intact' "$(tail -n 1 <<<"$LAST")"
expect "verify exits 69 when the database cannot be reached" 69 'cannot connect to the database' -- \
	"$TULAYD" audit verify --db "host=$local_dir/nowhere dbname=tulay user=tulay"
expect "migrate exits 69 when the database cannot be reached" 69 'cannot connect to the database' -- \
	"$TULAYD" migrate status --db "host=$local_dir/nowhere dbname=tulay user=tulay"
expect "verify exits 70 when the database answers with an error" 70 'audit_log' -- \
	"$TULAYD" audit verify --db "${TULAY_TEST_DB_OWNER/dbname=tulay/dbname=postgres}"
rm -rf "$local_dir"

# --- tampering, each on a fresh copy of a small log ------------------------------------
super -d postgres -c "DROP DATABASE IF EXISTS audit_src" -c "CREATE DATABASE audit_src OWNER tulay" >/dev/null
"$TULAYD" migrate up --db "${TULAY_TEST_DB_OWNER/dbname=tulay/dbname=audit_src}" >/dev/null
DB=audit_src super -c "SELECT set_config('tulay.org_id', '1', false), set_config('tulay.user_id', '7', false)" \
	-c "SELECT count(audit_append('read_claim', 'WT-2026-' || lpad(g::text, 6, '0'), 'n=' || g)) FROM generate_series(1, 10) g" >/dev/null
seal() { "$TULAYD" audit seal --db "${TULAY_TEST_DB_OWNER/dbname=tulay/dbname=${DB:-tulay}}" 2>&1; }
match "entries not sealed yet are counted as the tail" '^audit log intact: 0 entries sealed in 1 blocks, 10 unsealed' "$(DB=audit_src verify)"
match "audit seal seals them" '^sealed 10 entries in 1 blocks; 0 unsealed' "$(DB=audit_src seal)"
DB=audit_src super -c "SELECT set_config('tulay.org_id', '1', false)" \
	-c "SELECT audit_append('read_claim', 'WT-2026-000011', 'n=11')" >/dev/null
match "a second seal makes a second block" '^sealed 1 entries in 1 blocks' "$(DB=audit_src seal)"
match "the fresh copy verifies" '^audit log intact: 11 entries sealed in 3 blocks, 0 unsealed' "$(DB=audit_src verify)"

# tamper NAME EXPECTED SQL...: a fresh copy, the tampering, then verify must fail.
tamper() {
	local name=$1 pattern=$2
	shift 2
	super -d postgres -c "DROP DATABASE IF EXISTS audit_t" -c "CREATE DATABASE audit_t TEMPLATE audit_src" >/dev/null
	DB=audit_t super "$@" >/dev/null
	local out code=0
	out=$(DB=audit_t verify) || code=$?
	if [[ $code == 1 ]]; then match "$name is detected" "$pattern" "$out"; else not_ok "$name is detected (exit $code)" "$out"; fi
}
tamper "an edited entry" 'entry 5 does not match' \
	-c "UPDATE audit_log SET target = 'WT-2026-999999' WHERE seq = 5"
tamper "an edited entry with its own hash recomputed" 'entry 6 does not match' \
	-c "UPDATE audit_log a SET detail = 'forged', hash = sha256(p.hash || audit_payload(a.seq, a.at, a.org_id, a.user_id, a.action, a.target, 'forged')) FROM audit_log p WHERE a.seq = 5 AND p.seq = 4"
tamper "a deleted entry" 'entry 5 is missing' -c "DELETE FROM audit_log WHERE seq = 5"
tamper "two entries swapped" 'entry 4 does not match' \
	-c "UPDATE audit_log SET seq = -seq WHERE seq IN (4, 5)" \
	-c "UPDATE audit_log SET seq = CASE seq WHEN -4 THEN 5 ELSE 4 END WHERE seq IN (-4, -5)"
tamper "the last entry removed" 'removed from the end' -c "DELETE FROM audit_log WHERE seq = 11"
tamper "a truncated log" 'blocks seal 11 entries but the log ends at 0' -c "TRUNCATE audit_log"
tamper "an entry unsealed again" 'entry 5 is missing' -c "UPDATE audit_log SET seq = NULL, hash = NULL WHERE seq = 5"
tamper "an edited block" 'block 1 does not match its hash' -c "UPDATE audit_blocks SET sealed_at = sealed_at + interval '1 second' WHERE block = 1"
tamper "a deleted block" 'block 1 is missing' -c "DELETE FROM audit_blocks WHERE block = 1"
tamper "the last block deleted" 'entries 11 to 11 are numbered but in no block' -c "DELETE FROM audit_blocks WHERE block = 2"
super -d postgres -c "DROP DATABASE IF EXISTS audit_t" -c "DROP DATABASE audit_src" >/dev/null

finish

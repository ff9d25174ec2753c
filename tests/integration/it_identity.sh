#!/usr/bin/env bash
# Workers' personal data: encrypted in tulayd before it reaches PostgreSQL. The database
# (a full pg_dump) and the server's log never hold the plaintext; the blind index finds a
# worker by ID number within the organisation only; a ciphertext moved to another row or
# column fails to decrypt; the key file must exist and be private.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER TULAY_CONFIG_DIR
TULAY_CONFIG_DIR=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$TULAY_CONFIG_DIR" "$work"' EXIT
T=$TULAY_CLI

# Synthetic, and unlikely to occur anywhere by chance.
NAME="Siti Zulaikha Binti Testdata"
IDNO="XK7734219Q"
PHONE="+60 17 555 0199"
echo "$TULAY_TEST_PASSWORD" | "$T" login --username officer --password-stdin >/dev/null
out=$("$T" claim add --nationality ID --country-of-work MY --sector domestic-work \
	--employer "Rumah Contoh Sdn Bhd" --work-start 2025-02-01 --work-end 2025-09-30 \
	--amount 14400 --currency MYR --worker-name "$NAME" --worker-id-number "$IDNO" \
	--worker-phone "$PHONE" 2>&1)
ref=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$out" | head -n 1)
match "a claim with the worker's identity is logged and shown back" "Worker: +$NAME" "$out"
show=$("$T" claim show "$ref" 2>&1)
match "claim show decrypts the name" "Worker: +$NAME" "$show"
match "... the ID number" "Worker ID number: +$IDNO" "$show"
match "... and the phone" "Worker phone: +\\$PHONE" "$show"
list=$("$T" claim list --format csv --all 2>&1)
if grep -q "$NAME" <<<"$list"; then not_ok "lists never carry the identity" "$list"; else ok "lists never carry the identity"; fi

pg_dump -h "$sock" -U postgres -d tulay >"$work/dump.sql" 2>&1
# The dump must really hold the data, or the checks below prove nothing.
match "pg_dump holds the claim's non-personal fields" 'Rumah Contoh Sdn Bhd' "$(cat "$work/dump.sql")"
for secret in "$NAME" "$IDNO" "${IDNO,,}" "$PHONE" "Testdata"; do
	if grep -qiF -- "$secret" "$work/dump.sql"; then
		not_ok "the database holds no plaintext: found '$secret' in pg_dump"
	else
		ok "the database holds no plaintext '$secret' (pg_dump of every table)"
	fi
done
match "the database holds the ciphertext" '^t\|t\|t\|t$' "$(super -c "SELECT worker_name_enc IS NOT NULL, worker_id_number_enc IS NOT NULL, worker_phone_enc IS NOT NULL, worker_id_number_index IS NOT NULL FROM wage_theft_claims w JOIN cases c USING (org_id, case_id) WHERE c.reference = '$ref' AND c.org_id = (SELECT org_id FROM organisations WHERE acronym = 'DEMO')")"
for secret in "$NAME" "$IDNO" "$PHONE"; do
	if grep -qiF -- "$secret" "$TULAY_TEST_STATE/tulayd.log"; then
		not_ok "the log holds no plaintext: found '$secret'"
	else
		ok "the log holds no plaintext '$secret'"
	fi
done

match "the blind index finds the worker by ID number, however it is typed" "$ref" \
	"$("$T" claim list --worker-id-number "xk-7734 219q" --all 2>&1)"
match "an unknown ID number finds nothing" 'No claims' \
	"$("$T" claim list --worker-id-number "ZZ0000000" 2>&1)"
TULAY_CONFIG_DIR="$work/kl" bash -c "echo '$TULAY_TEST_PASSWORD' | '$T' login --username klofficer --password-stdin" >/dev/null
match "another organisation's search by the same number finds nothing" 'No claims' \
	"$(TULAY_CONFIG_DIR="$work/kl" "$T" claim list --worker-id-number "$IDNO" 2>&1)"
match "the audit entry of that search names its blind index, not the number" 'worker_id_number_index=[0-9a-f]{64}' \
	"$(super -c "SELECT detail FROM audit_log WHERE action = 'list_claims' ORDER BY id DESC LIMIT 1")"
if super -c "SELECT detail FROM audit_log" | grep -qi "$IDNO"; then
	not_ok "the audit log holds no ID number"
else
	ok "the audit log holds no ID number"
fi

# Move ciphertexts: into another claim's row, and into another column of the same row.
out2=$("$T" claim add --nationality ID --country-of-work MY --sector domestic-work \
	--employer "Rumah Lain Sdn Bhd" --work-start 2025-02-01 --work-end 2025-09-30 \
	--amount 9000 --currency MYR --worker-name "Another Worker" 2>&1)
ref2=$(grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$out2" | head -n 1)
demo="(SELECT org_id FROM organisations WHERE acronym = 'DEMO')"
super -c "UPDATE wage_theft_claims SET worker_name_enc = (SELECT w.worker_name_enc FROM wage_theft_claims w JOIN cases c USING (org_id, case_id) WHERE c.reference = '$ref' AND c.org_id = $demo) WHERE org_id = $demo AND case_id = (SELECT case_id FROM cases WHERE reference = '$ref2' AND org_id = $demo)" >/dev/null
out=$("$T" claim show "$ref2" 2>&1)
code=$?
[[ $code == 2 ]] && match "a name copied into another row fails to decrypt" 'DATA_LOSS' "$out" ||
	not_ok "a name copied into another row fails to decrypt (exit $code)" "$out"
if grep -q "$NAME" <<<"$out"; then not_ok "and the copied name is not shown"; else ok "and the copied name is not shown"; fi
super -c "UPDATE wage_theft_claims SET worker_phone_enc = worker_name_enc WHERE org_id = $demo AND case_id = (SELECT case_id FROM cases WHERE reference = '$ref' AND org_id = $demo)" >/dev/null
out=$("$T" claim show "$ref" 2>&1)
match "a ciphertext moved to another column fails to decrypt" 'DATA_LOSS' "$out"
match "the integrity failure is logged, without plaintext" 'event=identity_integrity_failure' \
	"$(grep identity_integrity_failure "$TULAY_TEST_STATE/tulayd.log")"

# The key file.
match "tulayd refuses to start without a key" 'data_key_file is not set' \
	"$(TULAY_DATA_KEY_FILE= timeout 20 "$TULAYD" --port 0 --db "$TULAY_TEST_DB" 2>&1)"
cp "$TULAY_DATA_KEY_FILE" "$work/open.key"
chmod 0644 "$work/open.key"
match "tulayd refuses a key file others can read" 'chmod 600' \
	"$(TULAY_DATA_KEY_FILE="$work/open.key" timeout 20 "$TULAYD" --port 0 --db "$TULAY_TEST_DB" 2>&1)"
printf 'not-a-key\n' >"$work/bad.key"
chmod 0600 "$work/bad.key"
match "tulayd refuses a malformed key file" '64 hexadecimal digits' \
	"$(TULAY_DATA_KEY_FILE="$work/bad.key" timeout 20 "$TULAYD" --port 0 --db "$TULAY_TEST_DB" 2>&1)"
"$TULAYD" keygen "$work/new.key" >/dev/null
match "keygen writes a 0600 file" '^600$' "$(stat -c %a "$work/new.key")"
match "keygen never overwrites a key" 'File exists' "$("$TULAYD" keygen "$work/new.key" 2>&1)"

finish

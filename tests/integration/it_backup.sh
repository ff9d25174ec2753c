#!/usr/bin/env bash
# The restore drill (issue 14, point 5), end to end on clusters of the test's own: a "site"
# (cluster, migrations, an organisation, an officer, a data key, tulayd) where claims with
# workers' personal data are logged and their audit entries sealed; scripts/backup.sh
# writes the dump, and the key's copy apart from it; the site is destroyed (cluster and
# key); scripts/restore.sh restores the dump and the key into a new cluster, where every
# table, every claim as the CLI shows it (decrypted personal data included) and the audit
# chain's head are as before, a claim resent with its idempotency key is answered as the
# first time, and tulay takes new claims. A damaged dump restores nothing. Another key is
# refused: by restore.sh (not installed), tulayd keycheck and tulayd itself (exit 78),
# against the check value the database keeps; the right key then restores and reads. Then
# the standby of point 4 on
# the restored cluster: scripts/pg-cluster.sh standby --sync streams, the primary lists it
# as synchronous, writes reach it, it is read-only, and promoted it takes tulay's writes.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
R=$TULAY_TEST_REPO
PGC=$R/scripts/pg-cluster.sh
T=$TULAY_CLI
# Under /tmp: a socket path must stay short. Traversable by all: as root, the clusters
# belong to tulay-pg, which must reach them.
work=$(mktemp -d /tmp/tulay-bk.XXXXXX)
chmod 0711 "$work"
home=$work/home
cleanup() {
	stop_tulayds
	local d
	for d in "$work"/*/pg "$work"/*/standby; do
		[[ -d $d ]] && "$PGC" stop "$d" >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT
export TULAY_MIGRATIONS="$R/migrations"
# a tulayd on the cluster in $2 with the key $3, its address in $1 (start_tulayd)
serve() {
	start_tulayd "$1" "$work/$1.log" --db "$("$PGC" conninfo "$2" app)" --data-key-file "$3" \
		--db-connections 2 --audit-seal-ms 100
}
verify() { "$TULAYD" audit verify --db "$("$PGC" conninfo "$1" owner)" 2>&1; }
# psql as the superuser on the tulay database of the cluster in $1
on() {
	local dir=$1
	shift
	psql -X -qAt -h "$dir/run" -U postgres -d tulay -v ON_ERROR_STOP=1 "$@" 2>&1
}
# A line per table (its rows' count and digest) and per sequence (its value).
digest() {
	local q
	q=$(on "$1" -c "SELECT string_agg(format('SELECT %L || '' '' || count(*) || '' '' ||
		coalesce(md5(string_agg(t::text, E''\n'' ORDER BY t::text)), '''') FROM %I.%I t',
		schemaname || '.' || tablename, schemaname, tablename), ' UNION ALL '
		ORDER BY schemaname, tablename)
		FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
	on "$1" -c "$q ORDER BY 1" -c "SELECT schemaname || '.' || sequencename || ' ' ||
		coalesce(last_value::text, '-') FROM pg_sequences ORDER BY 1"
}
refs() { grep -oE 'WT-[0-9]{4}-[0-9]{6}' <<<"$1" | head -n 1; }

# --- the site ------------------------------------------------------------------------
site=$work/site
"$PGC" start "$site/pg" --fast >/dev/null || {
	not_ok "the site's cluster starts"
	finish
	exit 1
}
owner=$("$PGC" conninfo "$site/pg" owner)
"$TULAYD" migrate up --db "$owner" >/dev/null &&
	"$TULAYD" org add --db "$owner" --acronym DEMO --name "Demo Migrant Support Centre" \
		--kind ngo --country PH >/dev/null &&
	TULAY_NEW_PASSWORD=$TULAY_TEST_PASSWORD "$TULAYD" user add --db "$owner" --org DEMO \
		--username officer --role field_officer >/dev/null &&
	"$TULAYD" keygen "$site/data.key" >/dev/null || {
	not_ok "the site is set up: migrations, organisation, officer, data key"
	finish
	exit 1
}
serve SITE "$site/pg" "$site/data.key" || exit 1
export TULAY_SERVER=$SITE
login officer

# Synthetic, and unlikely to occur anywhere by chance.
NAME="Siti Backup Binti Drilldata"
IDNO="BK9921437Z"
PHONE="+60 17 555 0142"
claims=()
out=$(as officer claim add --nationality ID --country-of-work MY --sector domestic-work \
	--employer "Rumah Sandaran Sdn Bhd" --work-start 2025-02-01 --work-end 2025-09-30 \
	--amount 14400 --currency MYR --worker-name "$NAME" --worker-id-number "$IDNO" \
	--worker-phone "$PHONE" 2>&1)
claims+=("$(refs "$out")")
out=$(as officer claim add --nationality BD --country-of-work MY --sector manufacturing \
	--employer "Perkasa Glove Restore Sdn Bhd" --work-start 2024-03-01 --work-end 2025-08-31 \
	--amount 10800.00 --currency MYR --worker-name "Rahim Drill Uddin" \
	--agency "Dhaka Overseas Manpower Ltd" --agency-fee 450000 --agency-fee-currency BDT \
	--contract-wage 1500.00 --actual-wage 900.00 --wage-currency MYR --forum labour-court \
	--filing-deadline 2026-08-31 --exploitation id-confiscated,forced-signature 2>&1)
claims+=("$(refs "$out")")
# With a key of its own, to be resent after the restore (the request's hash is keyed by
# the data key too).
IKEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
group_claim=(claim add --nationality PH --country-of-work MY --sector construction
	--employer "Syarikat Bina Sandaran Sdn Bhd" --work-start 2025-01-06 --work-end 2025-11-30
	--amount 45000.00 --currency MYR --workers 12 --idempotency-key "$IKEY")
out=$(as officer "${group_claim[@]}" 2>&1)
claims+=("$(refs "$out")")
match "three claims are logged at the site" '^(WT-[0-9]{4}-[0-9]{6}( |$)){3}$' "${claims[*]}"
as officer claim note "${claims[1]}" --text "Employer agreed to mediation" >/dev/null 2>&1
declare -A before=()
for ref in "${claims[@]}"; do
	before[$ref]=$(as officer claim show "$ref" --format json 2>&1)
done
match "the site shows the worker's name decrypted" "\"$NAME\"" "${before[${claims[0]}]}"
list_before=$(as officer claim list --all --format csv 2>&1)

# Sealed by tulayd's chore (every 100 ms here): the chain's head is what the restore must
# reproduce. Then the site's tulayd stops, so that nothing changes between the digest and
# the dump.
sealed() { [[ $(verify "$site/pg") =~ " 0 unsealed" ]]; }
wait_for 60 sealed
head_before=$(verify "$site/pg" | grep -oE 'head hash [0-9a-f]{64}')
match "the site's audit chain is sealed and intact" '^head hash [0-9a-f]{64}$' "$head_before"
stop_tulayd SITE
digest_before=$(digest "$site/pg")
match "the digest covers the claims" '^public\.wage_theft_claims 3 [0-9a-f]{32}$' "$digest_before"

echo "# the site, its claims and seal: done at $SECONDS s"
# --- the backup ----------------------------------------------------------------------
dumps=$work/offsite/dumps
keysafe=$work/keysafe
expect "backup.sh --help explains the key" 0 'key-to DIR' -- "$R/scripts/backup.sh" --help
expect "a key copy in the dumps' directory is refused" 1 "is the dumps' directory" -- \
	"$R/scripts/backup.sh" --pg "$site/pg" --to "$dumps" --key "$site/data.key" --key-to "$dumps"
expect "... and one in a directory holding it" 1 'one inside the other' -- \
	"$R/scripts/backup.sh" --pg "$site/pg" --to "$dumps" --key "$site/data.key" \
	--key-to "$work/offsite"
match "and nothing was written" '^0$' "$(find "$work/offsite" -type f 2>/dev/null | wc -l)"
expect "without --key-to, backup.sh reminds where the key is" 0 \
	"The key is $site/data.key" -- "$R/scripts/backup.sh" --pg "$site/pg" --to "$dumps" \
	--key "$site/data.key"
match "it says what it wrote and how big it is" 'wrote .*/tulay-[0-9]{8}T[0-9]{6}Z\.dump' "$LAST"
match "... and its size" '[0-9]+ bytes' "$LAST"
match "... and how to restore" 'scripts/restore.sh .*\.dump --key ' "$LAST"
rm -f "$dumps"/*.dump
sleep 1 # a new timestamp for the next one
expect "backup.sh with --key-to writes the dump and the key apart" 0 'copied the data key' -- \
	"$R/scripts/backup.sh" --pg "$site/pg" --to "$dumps" --key "$site/data.key" \
	--key-to "$keysafe"
dump=$(find "$dumps" -name 'tulay-*.dump')
key_copy=$(find "$keysafe" -name 'tulay-*.key')
match "one dump, one key copy" '^1 1$' "$(grep -c . <<<"$dump") $(grep -c . <<<"$key_copy")"
match "the dump is mode 600 in a 700 directory, as is the key's copy" '^600 700 600 700$' \
	"$(stat -c %a "$dump" "$dumps" "$key_copy" "$keysafe" | tr '\n' ' ' | sed 's/ $//')"
if cmp -s "$site/data.key" "$key_copy"; then
	ok "the key's copy is the key"
else
	not_ok "the key's copy is the key"
fi
sql_text=$(pg_restore -f - "$dump" 2>&1)
match "the dump holds the claims (so the checks below mean something)" \
	'Perkasa Glove Restore Sdn Bhd' "$sql_text"
keyhex=$(tr -d '\n' <"$site/data.key")
dumphex=$(od -An -tx1 -v "$dump" | tr -d ' \n')
sqlhex=$(od -An -tx1 -v <<<"$sql_text" | tr -d ' \n')
if grep -qaiF "$keyhex" "$dump" || grep -qiF "$keyhex" <<<"$sql_text" ||
	[[ $dumphex == *"${keyhex,,}"* || $sqlhex == *"${keyhex,,}"* ]]; then
	not_ok "the key is not in the dump, neither as text nor as bytes"
else
	ok "the key is not in the dump, neither as text nor as bytes"
fi
for secret in "$NAME" "$IDNO" "$PHONE"; do
	if grep -qiF -- "$secret" <<<"$sql_text"; then
		not_ok "the dump holds no plaintext '$secret'"
	else
		ok "the dump holds no plaintext '$secret'"
	fi
done

echo "# the backup: done at $SECONDS s"
# --- the disaster --------------------------------------------------------------------
"$PGC" stop "$site/pg"
rm -rf "$site"
match "the site is gone, cluster and key" '^gone$' "$([[ -e $site ]] && echo there || echo gone)"

echo "# the disaster: done at $SECONDS s"
# --- the restore ---------------------------------------------------------------------
new=$work/new
expect "restore.sh --help explains --force" 0 'force' -- "$R/scripts/restore.sh" --help
expect "restore.sh wants the key" 64 'name the data key' -- "$R/scripts/restore.sh" "$dump" \
	--pg "$new/pg"
expect "restore.sh restores the dump, the key beside it, and verifies" 0 'audit +audit log intact' -- \
	"$R/scripts/restore.sh" "$dump" --key "$key_copy" --pg "$new/pg" --tulayd "$TULAYD"
match "its summary has the figures" 'holding +1 organisations, 1 users, 3 cases \(3 claims\)' "$LAST"
match "... and the schema" 'schema +up to date' "$LAST"
match "... and says the key is the one the data was sealed with" "key .*the key the data was sealed with \\(tulayd keycheck\\)" "$LAST"
match "the key is installed beside the cluster, mode 600" '^600$' "$(stat -c %a "$new/data.key")"
if cmp -s "$key_copy" "$new/data.key"; then
	ok "the installed key is the key"
else
	not_ok "the installed key is the key"
fi
expect "restoring again over the restored database is refused" 1 'holds [0-9]+ tables already' -- \
	"$R/scripts/restore.sh" "$dump" --key "$key_copy" --pg "$new/pg" --tulayd "$TULAYD"

digest_after=$(digest "$new/pg")
if [[ "$digest_after" == "$digest_before" ]]; then
	ok "every table and sequence is as it was at the site ($(grep -c . <<<"$digest_after") digests)"
else
	not_ok "every table and sequence is as it was at the site" \
		"$(diff <(echo "$digest_before") <(echo "$digest_after"))"
fi
code=0
out=$(verify "$new/pg") || code=$?
match "tulayd audit verify exits 0 on the restored database" '^0 audit log intact' "$code $out"
match "the restored chain ends at the site's head" "$head_before" "$out"

serve NEW "$new/pg" "$new/data.key" || exit 1
export TULAY_SERVER=$NEW
rm -rf "${home:?}/officer"
login officer
for ref in "${claims[@]}"; do
	after=$(as officer claim show "$ref" --format json 2>&1)
	if [[ "$after" == "${before[$ref]}" ]]; then
		ok "claim $ref reads back identically"
	else
		not_ok "claim $ref reads back identically" \
			"$(diff <(echo "${before[$ref]}") <(echo "$after"))"
	fi
done
match "the worker's name, ID number and phone are decrypted" \
	"\"$NAME\".*\"$IDNO\".*\"\\$PHONE\"|\"$NAME\".*\"\\$PHONE\".*\"$IDNO\"" \
	"$(as officer claim show "${claims[0]}" --format json 2>&1 | tr -d '\n')"
list_after=$(as officer claim list --all --format csv 2>&1)
if [[ "$list_after" == "$list_before" ]]; then
	ok "the claim list reads back identically"
else
	not_ok "the claim list reads back identically" "$(diff <(echo "$list_before") <(echo "$list_after"))"
fi
match "the blind index finds the worker by ID number" "${claims[0]}" \
	"$(as officer claim list --worker-id-number "$IDNO" --all 2>&1)"
cases=$(on "$new/pg" -c "SELECT count(*) FROM cases")
expect "a claim sent again with its idempotency key answers the first result" 0 \
	"${claims[2]}" -- as officer "${group_claim[@]}"
match "and logs nothing new" "^$cases\$" "$(on "$new/pg" -c "SELECT count(*) FROM cases")"
out=$(as officer claim add --nationality KH --country-of-work TH --sector fisheries \
	--employer "After Restore Fishing Co" --work-start 2025-01-01 --work-end 2025-06-30 \
	--amount 1500 --currency THB 2>&1)
new_ref=$(refs "$out")
match "the restored site takes new claims, with a new reference" '^WT-[0-9]{4}-[0-9]{6} new$' \
	"$new_ref $([[ " ${claims[*]} " == *" $new_ref "* ]] && echo reused || echo new)"

echo "# the restore and its checks: done at $SECONDS s"
# --- a restore with the wrong key ----------------------------------------------------
wrong=$work/wrong
mkdir -p "$wrong"
# First a damaged dump (bytes near its end, in the tables' compressed data): pg_restore
# fails, in one transaction, so the database stays empty and no key is installed.
python3 -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read())
for i in range(len(d) - 600, len(d) - 560): d[i] ^= 0x5a
open(sys.argv[2], "wb").write(d)' "$dump" "$work/damaged.dump"
expect "a damaged dump is refused" 1 'pg_restore failed.*nothing was restored' -- \
	"$R/scripts/restore.sh" "$work/damaged.dump" --key "$key_copy" --pg "$wrong/pg" \
	--tulayd "$TULAYD"
tables=$(on "$wrong/pg" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
match "... leaving the database empty and no key" '^0 absent$' \
	"$tables $([[ -e $wrong/data.key ]] && echo present || echo absent)"
"$TULAYD" keygen "$work/other.key" >/dev/null
expect "a restore with another key restores the data but refuses the key" 1 \
	'is not the key this dump.s data was sealed with.*the key was not installed' -- \
	"$R/scripts/restore.sh" "$dump" --key "$work/other.key" --pg "$wrong/pg" --tulayd "$TULAYD"
match "... and installs no key" '^absent$' "$([[ -e $wrong/data.key ]] && echo present || echo absent)"
expect "tulayd keycheck tells the wrong key (exit 78)" 78 'not the key this database was used with' -- \
	"$TULAYD" keycheck --db "$("$PGC" conninfo "$wrong/pg" owner)" --data-key-file "$work/other.key"
expect "tulayd refuses to serve with it (exit 78), before it seals anything" 78 \
	'not the key this database was used with' -- \
	env TULAY_DB="$("$PGC" conninfo "$wrong/pg" app)" TULAY_DATA_KEY_FILE="$work/other.key" \
	timeout 60 "$TULAYD" --port 0
expect "tulayd keycheck accepts the right key" 0 'is the key this database was used with' -- \
	"$TULAYD" keycheck --db "$("$PGC" conninfo "$wrong/pg" owner)" --data-key-file "$key_copy"
expect "restore.sh again with the right key and --force completes" 0 \
	'key .*the key the data was sealed with' -- \
	"$R/scripts/restore.sh" "$dump" --key "$key_copy" --pg "$wrong/pg" --tulayd "$TULAYD" --force
serve RIGHT "$wrong/pg" "$wrong/data.key" || exit 1
echo "$TULAY_TEST_PASSWORD" | TULAY_CONFIG_DIR="$home/right" "$T" login --server "$RIGHT" \
	--username officer --password-stdin >/dev/null
expect "and the worker's name reads again" 0 "$NAME" -- \
	env TULAY_CONFIG_DIR="$home/right" "$T" claim show "${claims[0]}" --server "$RIGHT"
stop_tulayd RIGHT
# A database with personal data but no check value (made before migration 0025, or
# restored from a dump of one): the key must open a sealed worker name to be accepted.
on "$wrong/pg" -c "DELETE FROM data_key_check" >/dev/null
wrong_owner=$("$PGC" conninfo "$wrong/pg" owner)
expect "without a check value, keycheck tells the wrong key by the sealed data (78)" 78 \
	'does not open the personal data' -- \
	"$TULAYD" keycheck --db "$wrong_owner" --data-key-file "$work/other.key"
expect "tulayd refuses to serve with it, and records nothing" 78 'not the key' -- \
	env TULAY_DB="$("$PGC" conninfo "$wrong/pg" app)" TULAY_DATA_KEY_FILE="$work/other.key" \
	timeout 60 "$TULAYD" --port 0
match "... nothing recorded" '^0$' "$(on "$wrong/pg" -c "SELECT count(*) FROM data_key_check")"
expect "keycheck accepts the right key because it opens the sealed data" 0 \
	'opens this database.s sealed personal data' -- \
	"$TULAYD" keycheck --db "$wrong_owner" --data-key-file "$key_copy"
serve RIGHT "$wrong/pg" "$wrong/data.key" || exit 1
stop_tulayd RIGHT
match "and tulayd, serving with it, records its check value" '^1$' \
	"$(on "$wrong/pg" -c "SELECT count(*) FROM data_key_check")"
"$PGC" stop "$wrong/pg"

echo "# the wrong key: done at $SECONDS s"
# --- a hot standby of the restored cluster -------------------------------------------
standby=$new/standby
expect "pg-cluster.sh standby --sync makes a streaming synchronous standby" 0 \
	'streaming \(synchronous; name standby\)' -- "$PGC" standby "$new/pg" "$standby" --sync
match "the primary lists it as its synchronous standby" '^standby\|streaming\|sync$' \
	"$(on "$new/pg" -c "SELECT application_name, state, sync_state FROM pg_stat_replication")"
match "its own socket" "^host=$standby/run " "$("$PGC" conninfo "$standby" owner)"
expect "status says it streams" 0 'standby: WAL receiver streaming' -- "$PGC" status "$standby"
out=$(as officer claim add --nationality NP --country-of-work MY --sector services \
	--employer "Replicated Security Sdn Bhd" --work-start 2025-01-01 --work-end 2025-03-31 \
	--amount 3000 --currency MYR --worker-name "Standby Worker" 2>&1)
rep_ref=$(refs "$out")
match "a claim is logged on the primary" '^WT-' "$rep_ref"
on_standby() { [[ $(on "$standby" -c "SELECT count(*) FROM cases WHERE reference = '$rep_ref'") == 1 ]]; }
if wait_for 30 on_standby; then
	ok "the write reaches the standby"
else
	not_ok "the write reaches the standby"
fi
match "the standby is read-only" 'read-only transaction' \
	"$(on "$standby" -c "CREATE TABLE written_on_standby (x int)")"

# Failover: the primary is lost (its tulayd first: with the standby gone its commits
# would wait), the standby promoted, and a tulayd on it with the key takes writes.
stop_tulayd NEW
"$PGC" stop "$new/pg"
expect "promote makes the standby a primary" 0 'is a primary now' -- "$PGC" promote "$standby"
serve PROMOTED "$standby" "$new/data.key" || exit 1
export TULAY_SERVER=$PROMOTED
rm -rf "${home:?}/officer"
login officer
expect "the promoted standby takes claims" 0 'Logged claim' -- as officer claim add \
	--nationality NP --country-of-work MY --sector services --employer "Promoted Guards Sdn Bhd" \
	--work-start 2025-01-01 --work-end 2025-03-31 --amount 3000 --currency MYR
expect "and shows the replicated claim with its worker's name" 0 'Standby Worker' -- \
	as officer claim show "$rep_ref"
stop_tulayd PROMOTED
code=0
out=$(verify "$standby") || code=$?
match "the promoted cluster's audit chain verifies" '^0 audit log intact' "$code $out"

echo "# the standby and its promotion: done at $SECONDS s"
finish

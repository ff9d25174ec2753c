#!/usr/bin/env bash
# Restores a dump that scripts/backup.sh wrote into a cluster of scripts/pg-cluster.sh
# (var/pg unless --pg names another), installs the data key beside it, and checks the
# result: the audit log's hash chain (tulayd audit verify), the schema against this
# tulayd, and what was restored, in figures.
#
#   scripts/restore.sh DUMP --key KEYFILE [--pg DIR] [--key-dest FILE] [--tulayd PATH]
#                      [--force]
#
#   DUMP             a file tulay-TIMESTAMP.dump that scripts/backup.sh wrote
#   --key KEYFILE    the data key that was in use when the dump was made (its copy from
#                    scripts/backup.sh --key-to, or var/data.key)
#   --pg DIR         the cluster to restore into (default var/pg): made and started if
#                    DIR holds none (scripts/pg-cluster.sh start DIR makes the roles tulay
#                    and tulay_app and an empty database tulay); best a new directory
#   --key-dest FILE  where tulayd will find the key (default DIR/../data.key, which is
#                    var/data.key for var/pg, where scripts/run.sh looks); written mode
#                    0600. A different key already there is never overwritten
#   --tulayd PATH    the tulayd that verifies (default build/server/tulayd)
#   --force          restore even though the database tulay in DIR holds tables already:
#                    it is dropped (with everything written to it since the dump, and
#                    the connections to it) and made again empty. Without --force such a
#                    database is left alone and the restore refused: restoring over live
#                    data by mistake would lose every case logged since the dump
#   -h, --help       show this help
#
# pg_restore runs as PostgreSQL's superuser over the cluster's socket, in one transaction
# (--single-transaction --exit-on-error): either everything is restored, or nothing.
# The key is checked against the check value tulayd records in the database the first time
# it serves (tulayd keycheck): a wrong key is refused and not installed (the database stays
# restored; run again with the right key and --force). A dump made before tulayd recorded
# one cannot be checked that way: the summary then names a claim with a worker's name,
# which a wrong key answers with DATA_LOSS.
#
# Exit status: 0 when restored and the audit chain verifies, 64 on a usage error, 1
# otherwise (the message says what to do). var/ and build/ paths are the repository's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
}
die() {
	echo "restore: $*" >&2
	exit 1
}
usage_error() {
	echo "restore: $* (see scripts/restore.sh --help)" >&2
	exit 64
}

dump=
key=
pgdir="$repo/var/pg"
key_dest=
tulayd="$repo/build/server/tulayd"
force=false
while (($# > 0)); do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--force)
		force=true
		shift
		;;
	--key | --pg | --key-dest | --tulayd)
		(($# >= 2)) && [[ -n "$2" ]] || usage_error "$1 needs a value"
		case "$1" in
		--key) key=$2 ;;
		--pg) pgdir=$2 ;;
		--key-dest) key_dest=$2 ;;
		--tulayd) tulayd=$2 ;;
		esac
		shift 2
		;;
	--key=* | --pg=* | --key-dest=* | --tulayd=*)
		set -- "${1%%=*}" "${1#*=}" "${@:2}"
		;;
	-*) usage_error "unknown option '$1'" ;;
	*)
		[[ -z "$dump" ]] || usage_error "one dump at a time (got '$dump' and '$1')"
		dump=$1
		shift
		;;
	esac
done
[[ -n "$dump" ]] || usage_error "name the dump to restore"
[[ -n "$key" ]] ||
	usage_error "name the data key with --key KEYFILE: without it the workers' personal data" \
		"in the dump cannot be read"

bindir=$("$repo/scripts/pg-cluster.sh" bindir)
pgdir=$(realpath -m -- "$pgdir")
sock="$pgdir/run"
[[ -n "$key_dest" ]] || key_dest="$(dirname "$pgdir")/data.key"
key_dest=$(realpath -m -- "$key_dest")
key=$(realpath -m -- "$key")
super() {
	"$bindir/psql" -X -qAt -h "$sock" -U postgres -d "${DB:-tulay}" -v ON_ERROR_STOP=1 \
		--no-password "$@"
}

# Everything that can be checked before touching anything.
[[ -f "$dump" && -r "$dump" ]] || die "cannot read the dump $dump"
code=0
listing=$("$bindir/pg_restore" --list "$dump" 2>&1) || code=$?
if ((code != 0)); then
	reason=$(grep -m 1 '^pg_restore: ' <<<"$listing") || reason="pg_restore --list exited $code"
	die "$dump cannot be read as a dump of pg_dump's custom format, which scripts/backup.sh" \
		"makes (is it cut short or damaged?): $reason"
fi
[[ -f "$key" && -r "$key" ]] ||
	die "cannot read the data key $key: give the key's copy made with the backup" \
		"(scripts/backup.sh --key-to)"
grep -qxE '[0-9a-fA-F]{64}' "$key" ||
	die "$key does not hold a data key (64 hexadecimal digits, as tulayd keygen writes)"
[[ "$key" != "$key_dest" ]] || key_dest_same=1
if [[ -e "$key_dest" && -z "${key_dest_same:-}" ]] && ! cmp -s -- "$key" "$key_dest"; then
	die "$key_dest holds another key already: it may be the only copy of the key of other" \
		"data, so it is never overwritten. Move it aside, or name another destination" \
		"with --key-dest FILE"
fi
[[ -x "$tulayd" ]] ||
	die "no tulayd at $tulayd to verify with: build it (cmake -S . -B build &&" \
		"cmake --build build), or name it with --tulayd PATH"
[[ ! -f "$pgdir/data/standby.signal" ]] ||
	die "$pgdir is a standby (read-only): restore into a primary, e.g. a new directory"

echo "restore: starting the cluster in $pgdir"
"$repo/scripts/pg-cluster.sh" start "$pgdir" ||
	die "cannot start a cluster in $pgdir (the messages above)"
databases=$(DB=postgres super -c "SELECT count(*) FROM pg_database WHERE datname = 'tulay'")
if [[ "$databases" == 0 ]]; then
	DB=postgres super -c "CREATE DATABASE tulay OWNER tulay" >/dev/null
fi
tables=$(super -c "SELECT count(*) FROM pg_tables
	WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
if [[ "$tables" != 0 ]]; then
	$force || die "the database tulay in $pgdir holds $tables tables already: nothing was" \
		"changed. Restore into a new directory (--pg DIR), or, to replace that database" \
		"and lose everything written to it since the dump, add --force"
	echo "restore: --force: dropping the database tulay in $pgdir ($tables tables)"
	DB=postgres super -c "DROP DATABASE tulay WITH (FORCE)" \
		-c "CREATE DATABASE tulay OWNER tulay" >/dev/null
fi

echo "restore: restoring $dump"
start=$SECONDS
if ! out=$("$bindir/pg_restore" -h "$sock" -U postgres -d tulay --no-password \
	--single-transaction --exit-on-error "$dump" 2>&1); then
	echo "$out" >&2
	die "pg_restore failed (its message above): nothing was restored (one transaction), the" \
		"database tulay in $pgdir is empty"
fi
echo "restore: restored in $((SECONDS - start)) s"

owner=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" owner)
app=$("$repo/scripts/pg-cluster.sh" conninfo "$pgdir" app)
# The key against the check value tulayd recorded in the database (data_key_check).
key_code=0
key_check=$("$tulayd" keycheck --db "$owner" --data-key-file "$key" 2>&1) || key_code=$?
case $key_code in
0) key_state="the key the data was sealed with (tulayd keycheck)" ;;
3) key_state="not checked: the dump holds no check value (made before tulayd recorded one)" ;;
78)
	die "$key is not the key this dump's data was sealed with (tulayd keycheck): the" \
		"database is restored, the key was not installed. Find the key that was in use" \
		"when the dump was made (its copy from scripts/backup.sh --key-to) and run this" \
		"again with --force"
	;;
*)
	echo "$key_check" >&2
	die "cannot check $key against the database (tulayd keycheck exited $key_code, above)"
	;;
esac

# The key, where tulayd will look for it: complete or not at all.
if [[ -n "${key_dest_same:-}" ]]; then
	chmod 0600 "$key_dest"
elif [[ -e "$key_dest" ]]; then
	chmod 0600 "$key_dest" # the same key: nothing to copy
else
	(umask 077 && mkdir -p "$(dirname "$key_dest")")
	(umask 077 && cp -- "$key" "$key_dest.partial") &&
		chmod 0600 "$key_dest.partial" && mv -n -- "$key_dest.partial" "$key_dest" || {
		rm -f "$key_dest.partial"
		die "cannot install the data key as $key_dest: the database is restored; copy the" \
			"key there yourself (mode 0600)"
	}
fi
echo "restore: installed the data key as $key_dest (mode 0600)"

verify_code=0
verify=$("$tulayd" audit verify --db "$owner" 2>&1) || verify_code=$?
schema_code=0
"$tulayd" migrate status --db "$owner" --migrations "$repo/migrations" >/dev/null 2>&1 ||
	schema_code=$?
figures=$(super -F ' ' -c "SELECT (SELECT count(*) FROM organisations),
	(SELECT count(*) FROM users), (SELECT count(*) FROM cases),
	(SELECT count(*) FROM wage_theft_claims), (SELECT count(*) FROM audit_log)")
read -r n_orgs n_users n_cases n_claims n_audit <<<"$figures"
sample=$(super -F ' ' -c "SELECT c.reference, o.acronym
	FROM wage_theft_claims w JOIN cases c USING (org_id, case_id)
	JOIN organisations o ON o.org_id = c.org_id
	WHERE w.worker_name_enc IS NOT NULL ORDER BY c.case_id LIMIT 1")

echo
echo "Restored $dump"
echo "  into     the database tulay in $pgdir ($app)"
echo "  holding  $n_orgs organisations, $n_users users, $n_cases cases ($n_claims claims)," \
	"$n_audit audit entries"
if ((verify_code == 0)); then
	echo "  audit    $verify"
else
	echo "  audit    FAILED (tulayd audit verify exited $verify_code):"
	sed 's/^/           /' <<<"$verify"
fi
case $schema_code in
0) echo "  schema   up to date for $tulayd" ;;
2) echo "  schema   older than $tulayd needs: run $tulayd migrate up --db \"$owner\"" ;;
*) echo "  schema   could not be checked (tulayd migrate status exited $schema_code)" ;;
esac
echo "  key      $key_dest: $key_state"
if [[ $key_code == 3 && -n "$sample" ]]; then
	read -r ref acronym <<<"$sample"
	echo "  check    the key against the data: as a user of $acronym, tulay claim show $ref"
	echo "           shows the worker's name; a wrong key answers DATA_LOSS"
fi
echo
echo "Serve it: TULAY_DB=\"$app\" TULAY_DATA_KEY_FILE=$key_dest $tulayd"
if ((verify_code != 0)); then
	die "the restored audit log does not verify: keep the dump, and compare with an older one"
fi

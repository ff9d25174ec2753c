#!/usr/bin/env bash
# Backs up the tulay database of a cluster that scripts/pg-cluster.sh made (var/pg unless
# --pg names another) with pg_dump's custom format into a new file, tulay-TIMESTAMP.dump,
# under var/backups (mode 0700, the file 0600), and says what it wrote, how big it is and
# how to restore it (scripts/restore.sh). The cluster must be running; tulayd may keep
# serving: the dump is one consistent snapshot. var/backups is on the cluster's own disk:
# a dump survives the loss of that disk only once copied off it (or give --to on another).
#
# The data key (var/data.key: the key that encrypts workers' personal data) is never put
# in the dump: a dump and its key together give away everything. Without the key the
# workers' names, ID numbers and phones in the dump cannot be read, by a thief or by you,
# so the key needs a backup of its own, kept apart from the dumps: --key-to DIR copies it
# there (tulay-TIMESTAMP.key, mode 0600), and refuses a DIR that is, holds or lies inside
# the dumps' directory. Without --key-to the script reminds you where the key is.
#
#   scripts/backup.sh [--pg DIR] [--to DIR] [--key FILE] [--key-to DIR]
#
#   --pg DIR       the cluster's directory (default var/pg, as scripts/run.sh makes it)
#   --to DIR       where the dump goes (default var/backups; created mode 0700)
#   --key FILE     the data key tulayd uses (default var/data.key)
#   --key-to DIR   also copy the data key into DIR, a directory away from the dumps (e.g.
#                  on another USB stick); created mode 0700
#   -h, --help     show this help
#
# Exit status: 0 when the dump (and the key's copy) are written and read back, 64 on a
# usage error, 1 otherwise (the message says what to do). var/ paths are the repository's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
}
die() {
	echo "backup: $*" >&2
	exit 1
}
usage_error() {
	echo "backup: $* (see scripts/backup.sh --help)" >&2
	exit 64
}

pgdir="$repo/var/pg"
to="$repo/var/backups"
key="$repo/var/data.key"
key_to=
while (($# > 0)); do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--pg | --to | --key | --key-to)
		(($# >= 2)) && [[ -n "$2" ]] || usage_error "$1 needs a value"
		case "$1" in
		--pg) pgdir=$2 ;;
		--to) to=$2 ;;
		--key) key=$2 ;;
		--key-to) key_to=$2 ;;
		esac
		shift 2
		;;
	--pg=* | --to=* | --key=* | --key-to=*)
		set -- "${1%%=*}" "${1#*=}" "${@:2}"
		;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done

bindir=$("$repo/scripts/pg-cluster.sh" bindir)
pgdir=$(realpath -m -- "$pgdir")
to=$(realpath -m -- "$to")
key=$(realpath -m -- "$key")
sock="$pgdir/run"

[[ -f "$pgdir/data/PG_VERSION" ]] ||
	die "no PostgreSQL cluster in $pgdir (give the directory scripts/pg-cluster.sh start made," \
		"with --pg DIR)"
"$bindir/pg_isready" -q -h "$sock" -d tulay ||
	die "the cluster in $pgdir is not running: start it (scripts/pg-cluster.sh start $pgdir," \
		"or scripts/run.sh) and run the backup again"

# The key's copy: checked before anything is written.
if [[ -n "$key_to" ]]; then
	key_to=$(realpath -m -- "$key_to")
	if [[ "$key_to" == "$to" ]]; then
		die "--key-to $key_to is the dumps' directory: the key must be kept apart from the" \
			"dumps (whoever gets both reads every worker's personal data). Give another" \
			"directory, best on another disk or stick"
	elif [[ "$key_to/" == "$to/"* || "$to/" == "$key_to/"* ]]; then
		die "--key-to $key_to and the dumps' directory $to lie one inside the other: a copy" \
			"of the outer one would carry both the dumps and the key. Give a directory apart"
	fi
	[[ -f "$key" ]] ||
		die "no data key at $key to copy: name the key tulayd uses with --key FILE" \
			"(its --data-key-file, TULAY_DATA_KEY_FILE)"
	grep -qxE '[0-9a-fA-F]{64}' "$key" ||
		die "$key does not hold a data key (64 hexadecimal digits): name the key tulayd" \
			"uses with --key FILE"
fi

umask 077
if [[ ! -d "$to" ]]; then
	mkdir -p "$to" || die "cannot create $to: give another directory with --to DIR"
fi
if [[ $(($(stat -c '0%a' "$to") & 077)) != 0 ]]; then
	echo "backup: warning: other users may open $to (mode $(stat -c %a "$to")): the dumps hold" \
		"every case; chmod 700 $to" >&2
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dump="$to/tulay-$stamp.dump"
[[ ! -e "$dump" ]] || die "$dump exists already (two backups in one second): run it again"
partial="$to/.tulay-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT

# As the superuser: it reads every row, row-level security or not. Written to a hidden
# file first, renamed once complete and read back: a dump cut short never looks like one.
if ! "$bindir/pg_dump" -h "$sock" -U postgres -d tulay --format=custom --no-password \
	>"$partial" 2>"$partial.err"; then
	cat "$partial.err" >&2
	rm -f "$partial.err"
	die "pg_dump failed (its message above); nothing was written"
fi
rm -f "$partial.err"
entries=$("$bindir/pg_restore" --list "$partial" 2>&1) ||
	die "the dump just written cannot be read back: $entries"
tables=$(grep -c ' TABLE DATA ' <<<"$entries" || true)
mv -n -- "$partial" "$dump"
[[ -f "$dump" && ! -e "$partial" ]] || die "cannot rename $partial to $dump"
chmod 0600 "$dump"
trap - EXIT
bytes=$(stat -c %s "$dump")

echo "backup: wrote $dump"
echo "backup: $(numfmt --to=iec-i --suffix=B "$bytes") ($bytes bytes), $tables tables, from" \
	"the database tulay in $pgdir"

if [[ -n "$key_to" ]]; then
	mkdir -p "$key_to" || die "cannot create $key_to: give another --key-to"
	key_copy="$key_to/tulay-$stamp.key"
	cp -- "$key" "$key_copy.partial" && chmod 0600 "$key_copy.partial" &&
		cmp -s -- "$key" "$key_copy.partial" && mv -n -- "$key_copy.partial" "$key_copy" || {
		rm -f "$key_copy.partial"
		die "cannot copy the data key to $key_copy; the dump is written, the key not"
	}
	echo "backup: copied the data key $key to $key_copy (mode 0600), apart from the dumps"
	restore_key=$key_copy
else
	if [[ -f "$key" ]]; then
		where="The key is $key"
	else
		where="No key is at $key: find the one tulayd uses (--data-key-file,"$'\n'
		where+="TULAY_DATA_KEY_FILE)"
	fi
	cat <<MSG

REMEMBER: the data key is not in this backup, on purpose. Without it the workers' names,
ID numbers and phones in the dump can never be read again. $where.
Copy it somewhere else than the dumps (another disk or USB stick, a safe), once and after
each new key: e.g. scripts/backup.sh --key-to /media/usb/tulay-key
MSG
	restore_key=$key
fi
cat <<MSG

To restore it into a new cluster directory (see scripts/restore.sh --help):
  scripts/restore.sh $dump --key $restore_key --pg DIR
MSG

#!/usr/bin/env bash
# How many of tulayd's source files one CreateClaim passes through (issue 13: at most 10),
# measured rather than counted by hand: a tulayd of the test's own runs under callgrind with
# instrumentation off (TLS, no chores); it_path_client connects, logs in and waits; the
# instrumentation is turned on, the client sends one CreateClaim and prints its reference,
# and the instrumentation is turned off again. Every function tulayd ran in between is in
# the profile with its file. Leaf utilities (functions that call nothing back into the
# layers: the arena, the log, the protocol's codes and value types) are listed but not
# counted; ARCHITECTURE.md names the files that are, and this test fails when the path
# grows past the limit or reaches a file ARCHITECTURE.md does not list for it.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
R=$TULAY_TEST_REPO
LIMIT=10
LEAVES='^(server/arena\.c|server/log\.c|proto/(codes|iso|money|civil_date|utf8)\.c)$'

work=$(mktemp -d /tmp/tulay-path.XXXXXX)
cleanup() {
	stop_tulayds
	[[ -n ${IT_KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

# tulayd under callgrind, instrumentation off until asked (start_tulayd runs $TULAYD).
cat >"$work/tulayd-cg" <<WRAP
#!/bin/sh
exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out" \
	"$TULAYD" "\$@"
WRAP
chmod +x "$work/tulayd-cg"
tls=$TULAY_TEST_TLS_DIR
TULAYD=$work/tulayd-cg start_tulayd server "$work/tulayd.log" --listen 127.0.0.1 \
	--tls-cert "$tls/server.pem" --tls-key "$tls/server.key" --db-connections 1 \
	--audit-seal-ms 60000 --report-fold-ms 60000 --report-refresh-ms 60000
pid=${TAP_TULAYD_PIDS[server]}
match "tulayd serves under callgrind" '^127\.0\.0\.1:[0-9]+$' "${server:-}"

# The client, its stdin a pipe the test writes "go" into once instrumentation is on.
mkfifo "$work/go"
"$(dirname "$TULAY_CLI")/../tests/integration/it_path_client" "$1" "$server" "$tls/ca.pem" \
	<"$work/go" >"$work/client.out" 2>&1 &
client=$!
exec 3>"$work/go"
ready() { grep -q '^ready$' "$work/client.out"; }
wait_for 120 ready
match "the client logged in over TLS" '^ready$' "$(cat "$work/client.out")"

callgrind_control -i on "$pid" >/dev/null
echo go >&3
done_() { grep -qE '^[A-Z]+-' "$work/client.out"; }
wait_for 120 done_
callgrind_control -i off "$pid" >/dev/null
echo close >&3
exec 3>&-
wait "$client"
match "the CreateClaim was answered with a reference" '^[A-Z0-9]+-[0-9]{4}-[0-9]+' \
	"$(tail -n 1 "$work/client.out")"
stop_tulayd server

# Every function with a cost, by file (source files of the project only: not the generated
# protobuf-c code, libuv, libpq or OpenSSL).
callgrind_annotate --inclusive=no --threshold=100 "$work/cg.out" 2>/dev/null |
	sed -nE 's#^ *[0-9,]+ +\([^)]*\) +([^:]+):.*#\1#p; s#^ *[0-9,]+ +([^: ]+):.*#\1#p' |
	grep -E "^$R/(server|proto)/[^ ]*\.c$" | sed "s#^$R/##" | sort -u >"$work/files"
grep -Ev "$LEAVES" "$work/files" >"$work/path"
n=$(wc -l <"$work/path")
echo "# files a CreateClaim passes through over TLS ($n counted; leaves in brackets):"
while read -r f; do
	if [[ $f =~ $LEAVES ]]; then echo "#   ($f)"; else echo "#   $f"; fi
done <"$work/files"
if ((n > 0 && n <= LIMIT)); then ok "the path crosses $n files (at most $LIMIT)"; else
	not_ok "the path crosses $n files (at most $LIMIT)"
fi
# ARCHITECTURE.md's table of the path names each of them.
table=$(sed -n '/^The .* files a CreateClaim passes through/,/^## /p' "$R/ARCHITECTURE.md")
missing=$(while read -r f; do
	grep -qF "${f#server/}" <<<"$table" || echo "$f"
done <"$work/path")
match "ARCHITECTURE.md lists every file of the path" '^$' "$missing"
finish

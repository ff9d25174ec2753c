#!/usr/bin/env bash
# The test command: installs what is missing, builds, checks formatting and the compose
# file, and runs the whole suite under ctest (unit tests, then the integration tests
# against a throwaway PostgreSQL cluster and a real tulayd) twice: in a normal build and
# in an AddressSanitizer + UndefinedBehaviorSanitizer build; then runs the libFuzzer drivers
# (tests/fuzz, ctest label fuzz) for a short while each in an instrumented clang build.
#
#   scripts/test.sh            everything
#   scripts/test.sh --quick    the normal build only (no sanitizer or fuzz pass)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
jobs=$(nproc)

scripts/install-deps.sh --test

echo "== formatting (clang-format, .clang-format)"
mapfile -t sources < <(git ls-files '*.c' '*.h' 2>/dev/null || find server client proto tests -name '*.[ch]')
if ! clang-format --dry-run --Werror "${sources[@]}"; then
	echo "test: run clang-format -i on the files above" >&2
	exit 1
fi

echo "== docker-compose.yml, docker/haproxy/haproxy.cfg, docker/*.sh"
docker-compose -f docker-compose.yml config -q
# The compose services' names do not resolve here: HAProxy starts such servers disabled
# (init-addr ... none) and warns. Its messages are shown when the check fails.
if ! haproxy_check=$(haproxy -c -f docker/haproxy/haproxy.cfg 2>&1); then
	echo "$haproxy_check" >&2
	echo "test: docker/haproxy/haproxy.cfg is invalid (haproxy -c, above)" >&2
	exit 1
fi
for f in docker/*.sh docker/initdb/*.sh; do
	bash -n "$f"
done

run_suite() { # [ctest_label=LABEL] run_suite BUILD_DIR CMAKE_ARGS... (LABEL: run only those)
	local dir=$1
	shift
	echo "== build $dir $*"
	mkdir -p "$dir"
	if ! { cmake -S . -B "$dir" -DTULAY_TESTS=ON "$@" && cmake --build "$dir" -j"$jobs"; } \
		>"$dir/build.log" 2>&1; then
		cat "$dir/build.log" >&2
		echo "test: the build in $dir failed (log above)" >&2
		exit 1
	fi
	echo "== ctest $dir"
	# -j5: the four integration groups (a stack each) and the benchmarks' smoke runs, five
	# chains side by side; the tests of one group take turns (tests/integration/
	# CMakeLists.txt). With -j4 one chain waited for another to end: 135-160 s on 2 cores
	# against 120-137 s.
	ctest --test-dir "$dir" --output-on-failure --timeout 300 -j5 ${ctest_label:+-L "$ctest_label"}
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTULAY_SANITIZE=OFF
if [[ "${1:-}" != --quick ]]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DTULAY_SANITIZE=ON
	CC=clang ctest_label=fuzz run_suite build-fuzz -DTULAY_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
fi

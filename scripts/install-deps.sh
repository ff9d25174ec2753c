#!/usr/bin/env bash
# Installs the Debian packages tulay needs to build, run and test. Idempotent: packages
# already present are left alone, and apt is only called when something is missing.
#
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also what the test suite and CI checks need
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	libuv1-dev libprotobuf-c-dev protobuf-c-compiler
	libpq-dev postgresql postgresql-contrib
	libssl-dev libsodium-dev libjansson-dev libcsv-dev libsqlite3-dev
	openssl ca-certificates util-linux
)
if [[ "${1:-}" == "--test" ]]; then
	packages+=(libcmocka-dev clang clang-format libclang-rt-14-dev docker-compose haproxy python3 valgrind)
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || {
		echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Development certificates for TLS between tulay and tulayd on this computer: a local
# certificate authority and a server certificate for 127.0.0.1, ::1 and localhost, signed
# by it. Made once: running it again keeps what is there (a missing or expired file is
# made again). Keys are mode 0600. For development and tests only: a real deployment uses
# a certificate from its own CA.
#
#   scripts/dev-certs.sh DIR      writes DIR/ca.pem, DIR/ca.key, DIR/server.pem, DIR/server.key
#
# Then: tulayd --tls-cert DIR/server.pem --tls-key DIR/server.key
#       tulay --ca-file DIR/ca.pem login ...
set -euo pipefail

if [[ $# -ne 1 || "$1" == -* ]]; then
	echo "usage: $0 DIR" >&2
	exit 64
fi
dir=$1
command -v openssl >/dev/null || {
	echo "dev-certs: the openssl command is missing (Debian: apt-get install openssl)" >&2
	exit 1
}
mkdir -p "$dir"
umask 077

# valid FILE: the certificate exists and is good for at least another day.
valid() { [[ -s "$1" ]] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1; }

made=0
if ! valid "$dir/ca.pem" || [[ ! -s "$dir/ca.key" ]]; then
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
		-subj "/O=tulay development/CN=tulay development CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	rm -f "$dir/server.pem" # signed by the old CA, if any
	made=1
fi
if ! valid "$dir/server.pem" || [[ ! -s "$dir/server.key" ]] ||
	! openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" >/dev/null 2>&1; then
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/server.key" -out "$dir/server.csr" \
		-subj "/O=tulay development/CN=localhost" 2>/dev/null
	ext=$(mktemp)
	trap 'rm -f "$ext"' EXIT
	cat >"$ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EXT
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 825 -extfile "$ext" -out "$dir/server.pem" 2>/dev/null
	rm -f "$dir/server.csr" "$dir/ca.srl"
	made=1
fi
chmod 600 "$dir/ca.key" "$dir/server.key"
chmod 644 "$dir/ca.pem" "$dir/server.pem"
if ((made)); then
	echo "dev-certs: made a development CA and a server certificate for 127.0.0.1, ::1 and localhost in $dir"
fi

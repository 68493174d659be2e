#!/usr/bin/env bash
# Makes the example's certificates in ./certs, or in the directory given (EC P-256): a CA, a server certificate for localhost /
# 127.0.0.1, one for other.test (SNI), and a client certificate with a SPIFFE id (mTLS). For trying the
# example only: real deployments get certificates from their CA (or SDS).
set -euo pipefail
out="${1:-$(dirname "$0")/certs}"
mkdir -p "$out" && cd "$out"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key
openssl req -x509 -new -key ca.key -subj "/CN=Skiff example CA" -days 3650 -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
leaf() { # name subject san usage
  ec "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
leaf server "/CN=localhost" "DNS:localhost,IP:127.0.0.1" serverAuth
leaf other "/CN=other.test" "DNS:other.test" serverAuth
leaf client "/CN=client" "URI:spiffe://cluster.local/ns/default/sa/client" clientAuth
echo "certificates in $(pwd)"

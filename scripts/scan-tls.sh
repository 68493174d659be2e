#!/usr/bin/env bash
# TLS scan of Skiff's listener TLS termination with testssl.sh (Skiff issue 6, item 7).
#
#   npm run scan:tls                       scan a default TLS listener with an RSA and one with an ECDSA certificate
#   SKIFF_BUILD=dist-x bash scripts/scan-tls.sh      scan another build (default dist)
#   bash scripts/scan-tls.sh --only rsa    scan one listener (rsa or ecdsa)
#
# Installs testssl.sh from Debian (`apt-get install -y testssl.sh`) when `testssl` is missing. Mints a test CA
# and an RSA-2048 and an ECDSA P-256 server certificate (SAN localhost + 127.0.0.1, 365 days, CRL and OCSP URIs
# so the certificate itself is not what testssl flags) with openssl in a temp dir, starts Skiff with two
# listeners on free ports that carry a default tls_context (status, cert_chain, private_key only: Skiff's
# defaults are what is scanned) in front of an HTTP/1 proxy whose one route is a direct_response (no upstream),
# and runs, per listener:
#   testssl --quiet --color 0 --add-ca ca.pem -U --std -P -S -p 127.0.0.1:<port>
# (-U vulnerabilities, --std cipher categories, -P server preferences, -S server defaults, -p protocols).
# Output: .bench-results/tls-scan-<UTC>/ (or --out DIR): testssl-<cert>.txt (full output),
# testssl-<cert>.json / .csv (every finding), findings.md (the summary printed at the end), skiff.log.
# Prints every HIGH/CRITICAL finding and the MEDIUM ones; exits 1 if any HIGH or CRITICAL, 2 if the scan could
# not run (or Skiff died during it), else 0. Progress on stderr. About 1 minute per listener.
#
# Options: --out DIR  --only rsa|ecdsa  --keep (keep the temp dir with the keys)
# Env: SKIFF_BUILD (build dir, default dist), TESTSSL (testssl binary, default testssl), TESTSSL_ARGS (extra args)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "$repo" && realpath -m "${SKIFF_BUILD:-dist}")"
TESTSSL="${TESTSSL:-testssl}"
OUT="" ONLY="rsa ecdsa" KEEP=0
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "scan-tls: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
log() { printf '[scan-tls %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "$*"; exit 2; }

SKIFF_MAIN="$BUILD/src/main.js"
[[ -f $SKIFF_MAIN ]] || die "$SKIFF_MAIN missing (build first, or set SKIFF_BUILD)"
command -v openssl >/dev/null || die "openssl missing"
if ! command -v "$TESTSSL" >/dev/null; then
  log "testssl missing: installing the Debian package testssl.sh"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q testssl.sh >&2 || { apt-get update -q >&2 && apt-get install -y -q testssl.sh >&2; } || die "could not install testssl.sh"
  command -v "$TESTSSL" >/dev/null || die "testssl still missing after installing testssl.sh"
fi
log "using $("$TESTSSL" --version 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -m1 -o 'testssl *[0-9][0-9.a-z+~-]*' | tr -s ' ' || echo "$TESTSSL"), $(openssl version)"

OUT="${OUT:-$repo/.bench-results/tls-scan-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/skiff-scan-tls.XXXXXX")"
SKIFF_PID=
cleanup() {
  if [[ -n $SKIFF_PID ]] && kill -0 "$SKIFF_PID" 2>/dev/null; then
    kill -INT "$SKIFF_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$SKIFF_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SKIFF_PID" 2>/dev/null || true
  fi
  if ((KEEP)); then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------ test PKI
log "minting a test CA, an RSA-2048 and an ECDSA P-256 server certificate in $TMP"
(
  cd "$TMP"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 730 \
    -subj "/O=Skiff/CN=Skiff TLS scan test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  cat >server.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
crlDistributionPoints=URI:http://127.0.0.1:9/skiff-test-ca.crl
authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp
EOF
  openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj "/O=Skiff/CN=localhost" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ecdsa.key -out ecdsa.csr -subj "/O=Skiff/CN=localhost" 2>/dev/null
  for k in rsa ecdsa; do
    openssl x509 -req -in "$k.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$k.pem" -days 365 -sha256 -extfile server.ext 2>/dev/null
  done
  openssl verify -CAfile ca.pem rsa.pem ecdsa.pem >/dev/null
) || die "openssl could not mint the test certificates"
cp "$TMP/ca.pem" "$OUT/ca.pem"

# ------------------------------------------------------------------------------------------ Skiff
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
declare -A PORT
for k in rsa ecdsa; do PORT[$k]=$(free_port); done
node - "$TMP" "${PORT[rsa]}" "${PORT[ecdsa]}" >"$TMP/skiff.json" <<'EOF'
// A default TLS listener per certificate: tls_context with only status/cert_chain/private_key, HTTP/1 proxy,
// one direct_response route (no upstream needed).
const [dir, rsaPort, ecPort] = process.argv.slice(2);
const listener = (name, port, cert) => ({
  name, address: `127.0.0.1:${port}`, bind_port: true,
  filter_chains: [{
    tls_context: { status: true, cert_chain: `${dir}/${cert}.pem`, private_key: `${dir}/${cert}.key` },
    filters: [{ type: 'proxy', config: { downstream_protocol: 'Http1', router_config_name: 'scan' } }],
  }],
});
console.log(JSON.stringify({
  servers: [{
    default_log_path: 'stderr', default_log_level: 'WARN', graceful_timeout: '1s',
    routers: [{ router_config_name: 'scan', virtual_hosts: [{ name: 'all', domains: ['*'],
      routers: [{ match: { prefix: '/' }, direct_response: { status: 200, body: 'hello from skiff\n' } }] }] }],
    listeners: [listener('tls_rsa', rsaPort, 'rsa'), listener('tls_ecdsa', ecPort, 'ecdsa')],
  }],
  cluster_manager: { clusters: [] },
}, null, 2));
EOF
cp "$TMP/skiff.json" "$OUT/skiff.json"
node "$SKIFF_MAIN" start -c "$TMP/skiff.json" >"$OUT/skiff.log" 2>&1 &
SKIFF_PID=$!
probe() { # cert: one HTTPS request through the listener, verified against the test CA
  local k=$1
  printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:${PORT[$k]}" -servername localhost -CAfile "$TMP/ca.pem" \
      -verify_return_error -quiet 2>/dev/null | grep -q 'hello from skiff'
}
for k in $ONLY; do
  [[ -n ${PORT[$k]:-} ]] || die "--only: unknown certificate '$k' (rsa, ecdsa)"
  ok=0
  for _ in $(seq 1 100); do
    kill -0 "$SKIFF_PID" 2>/dev/null || die "Skiff exited at start: $(tail -5 "$OUT/skiff.log")"
    if probe "$k"; then ok=1; break; fi
    sleep 0.1
  done
  ((ok)) || die "Skiff's $k listener on :${PORT[$k]} does not answer HTTPS: $(tail -5 "$OUT/skiff.log")"
done
log "Skiff pid $SKIFF_PID ($BUILD): rsa listener :${PORT[rsa]}, ecdsa listener :${PORT[ecdsa]}"

# ------------------------------------------------------------------------------------------ testssl
status=0
for k in $ONLY; do
  target="127.0.0.1:${PORT[$k]}"
  log "testssl -U --std -P -S -p $target ($k certificate; about a minute)"
  rm -f "$OUT/testssl-$k.json" "$OUT/testssl-$k.csv"
  rc=0
  # shellcheck disable=SC2086
  timeout 600 "$TESTSSL" --quiet --color 0 --warnings off --add-ca "$TMP/ca.pem" \
    --jsonfile "$OUT/testssl-$k.json" --csvfile "$OUT/testssl-$k.csv" ${TESTSSL_ARGS:-} \
    -U --std -P -S -p "$target" >"$OUT/testssl-$k.txt" 2>&1 || rc=$?
  echo "$rc" >"$OUT/testssl-$k.rc"
  [[ -s $OUT/testssl-$k.json ]] || { log "testssl wrote no JSON for $k (exit $rc): $(tail -5 "$OUT/testssl-$k.txt")"; status=2; }
  kill -0 "$SKIFF_PID" 2>/dev/null || { log "Skiff DIED during the $k scan: $(tail -5 "$OUT/skiff.log")"; status=2; break; }
  probe "$k" || { log "Skiff's $k listener stopped answering HTTPS after the scan"; status=2; }
  log "$k done (testssl exit $rc)"
done

# ------------------------------------------------------------------------------------------ summary
sum=0
node - "$OUT" "$ONLY" >"$OUT/findings.md" <<'EOF' || sum=$?
// Reads testssl-<cert>.json (flat JSON: id, ip, port, severity, finding, cve, cwe) and prints every
// CRITICAL/HIGH finding, the MEDIUM ones and testssl's own warnings; exit 1 if any CRITICAL/HIGH.
const fs = require('fs');
const [out, only] = process.argv.slice(2);
const L = ['# Skiff TLS scan (testssl.sh -U --std -P -S -p)', ''];
let bad = 0;
const counts = {};
for (const cert of only.split(' ').filter(Boolean)) {
  const file = `${out}/testssl-${cert}.json`;
  if (!fs.existsSync(file)) { L.push(`- ${cert}: no report (scan failed)`); continue; }
  let rows;
  try { rows = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { L.push(`- ${cert}: unreadable report: ${e.message}`); continue; }
  if (!Array.isArray(rows)) rows = rows.scanResult ?? [];
  const by = (s) => rows.filter((r) => r.severity === s);
  const c = {};
  for (const r of rows) c[r.severity] = (c[r.severity] ?? 0) + 1;
  counts[cert] = c;
  const line = (r) => `  - ${r.severity} \`${r.id}\`: ${r.finding}${r.cve ? ` (${r.cve})` : ''}`;
  L.push(`## ${cert} certificate (port ${rows[0]?.port ?? '?'})`, '');
  L.push(`severity counts: ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ')}`, '');
  const hi = [...by('CRITICAL'), ...by('HIGH')];
  bad += hi.length;
  L.push(`- CRITICAL/HIGH: ${hi.length === 0 ? 'none' : ''}`, ...hi.map(line));
  const med = by('MEDIUM');
  L.push(`- MEDIUM: ${med.length === 0 ? 'none' : ''}`, ...med.map(line));
  const low = by('LOW');
  L.push(`- LOW: ${low.length === 0 ? 'none' : ''}`, ...low.map(line));
  const warn = [...by('WARN'), ...by('FATAL')];
  if (warn.length) {
    L.push('- testssl warnings (checks that could not run; not findings):', ...warn.map(line));
    if (warn.some((r) => r.id === 'sessionresumption_ticket')) {
      L.push("    (sessionresumption_ticket: testssl's `openssl s_client -sess_out </dev/null` closes a TLS 1.3 connection as soon as the",
        '    handshake is done and saves no session when the NewSessionTicket has not arrived yet: a client-side race, also seen with nginx)');
    }
  }
  L.push('');
}
L.push(bad > 0 ? `RESULT: ${bad} CRITICAL/HIGH finding(s)` : 'RESULT: no CRITICAL/HIGH findings');
console.log(L.join('\n'));
process.exit(bad > 0 ? 1 : 0);
EOF
cat "$OUT/findings.md"
log "results in $OUT (findings.md, testssl-*.txt/.json/.csv, skiff.json, skiff.log)"
((status != 0)) && exit "$status"
((sum == 1)) && exit 1
((sum != 0)) && exit 2
exit 0

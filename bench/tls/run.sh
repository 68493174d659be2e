#!/usr/bin/env bash
# TLS termination benchmark (Skiff issue 6, item 9): Skiff vs nginx, one run, one machine state.
# See bench/tls/README.md.
#
#   bash bench/tls/run.sh                   full run: 3 reps of each phase (≈ 4 min)
#   bash bench/tls/run.sh --quick           smoke run: 1 rep, 3 s loads (≈ 1 min)
#   SKIFF_BUILD=dist-x bash bench/tls/run.sh   benchmark another build (default dist)
#
# Options: --quick  --out DIR  --reps N  --dur S  --phases LIST (tput,hs,reuse)  --origin nginx|direct
#          --conns N (wrk connections, default 50)  --hs-clients N (parallel `openssl s_time`, default 4)
# Env: SKIFF_BUILD (default dist), SKIFF_NODE_ARGS (default --max-semi-space-size=4, as bin/skiff),
#      TLS_PROXY_CPU (default 0), TLS_LOAD_CPU (default 1).
#
# Phases, each against Skiff and nginx alternately (same certificate: ECDSA P-256 from a test CA):
#   tput   keep-alive HTTPS throughput: wrk (1 thread, --conns connections) → proxy TLS listener → HTTP/1 to
#          the origin (--origin nginx: a separate nginx, 1 worker, keep-alive, `return 200 "hello"`, on the load
#          core; --origin direct: Skiff's direct_response / nginx's `return 200` in the proxy itself).
#   hs     full TLS 1.3 handshakes with no resumption: --hs-clients parallel `openssl s_time -new -tls1_3`.
#   reuse  resumed handshakes with a session ticket: `openssl s_time -reuse -tls1_2` (s_time closes a TLS 1.3
#          connection before the server's NewSessionTicket arrives, so it cannot resume TLS 1.3).
# The proxy runs pinned to TLS_PROXY_CPU; wrk, s_time and the origin on TLS_LOAD_CPU. Proxy CPU is utime+stime
# from /proc/<pid>/stat (nginx: master + worker). Results: DIR (default .bench-results/tls-<UTC>/):
# summary.md, results.tsv (target rep phase key value), env.txt, raw/, logs/. Progress on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
BUILD="$(cd "$repo" && realpath -m "${SKIFF_BUILD:-dist}")"
read -r -a NODE_ARGS <<<"${SKIFF_NODE_ARGS:---max-semi-space-size=4}"
PROXY_CPU=${TLS_PROXY_CPU:-0}
LOAD_CPU=${TLS_LOAD_CPU:-1}

REPS=3 DUR=10 WARM=2 CONNS=50 HS_CLIENTS=4 PHASES=tput,hs,reuse ORIGIN=nginx OUT=""
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --quick) REPS=1 DUR=3 WARM=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --dur) DUR=$2; shift 2 ;;
    --phases) PHASES=$2; shift 2 ;;
    --origin) ORIGIN=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --hs-clients) HS_CLIENTS=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "tls-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $ORIGIN == nginx || $ORIGIN == direct ]] || { echo "tls-bench: --origin nginx|direct" >&2; exit 2; }
has_phase() { [[ ",$PHASES," == *",$1,"* ]]; }
log() { printf '[tls-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "$*"; exit 2; }

SKIFF_MAIN="$BUILD/src/main.js"
[[ -f $SKIFF_MAIN ]] || die "$SKIFF_MAIN missing (build first, or set SKIFF_BUILD)"
for t in taskset openssl; do command -v "$t" >/dev/null || die "$t missing"; done
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
if ((${#need[@]})); then
  log "installing Debian packages: ${need[*]}"
  # A policy-rc.d that returns 101 keeps the nginx package from starting its system service.
  created=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${need[@]}" >&2 || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${need[@]}" >&2; } || true
  ((created)) && rm -f /usr/sbin/policy-rc.d
  for t in wrk nginx; do command -v "$t" >/dev/null || die "$t missing after apt-get install"; done
fi

OUT="${OUT:-$repo/.bench-results/tls-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT/raw" "$OUT/logs" "$OUT/run"
OUT="$(cd "$OUT" && pwd)"
RUN="$OUT/run"
RES="$OUT/results.tsv"
: >"$RES"
CLK_TCK=$(getconf CLK_TCK)
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RES"; }

# ------------------------------------------------------------------------------------------ processes
PIDS=()
LAST_PID=
start_bg() { # name cpu cmd...
  local name=$1 cpu=$2; shift 2
  taskset -c "$cpu" "$@" >"$OUT/logs/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -INT "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_nginx() { # master pid: QUIT (graceful), then TERM
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -QUIT "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
NGX_MASTERS=()
cleanup() {
  local p
  # nginx masters first, with TERM (fast shutdown: the master stops its workers), then everything else.
  for p in "${NGX_MASTERS[@]}"; do kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  # nginx workers of a killed master exit by themselves; make sure.
  for p in $(cat "$RUN"/*.workers 2>/dev/null); do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_port() { # port pid
  local port=$1 pid=$2 i
  for ((i = 0; i < 150; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
cpu_ticks() { # pid... -> sum of utime+stime in clock ticks
  local p s f t=0
  for p in "$@"; do s=$(cat "/proc/$p/stat" 2>/dev/null) || continue; s=${s##*) }; read -r -a f <<<"$s"; t=$((t + f[11] + f[12])); done
  echo "$t"
}
all_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; } # ticks, all cores (incl. steal)
corestat() { awk '/^cpu[0-9]/{t=0; for(i=2;i<=9;i++) t+=$i; print $1, t, $5+$6}' /proc/stat; }
core_busy() {
  paste -d' ' <(echo "$1") <(echo "$2") | awk '{dt=$5-$2; if(dt<=0)dt=1; printf "%s%s=%.1f", (NR>1?" ":""), $1, 100*(dt-($6-$3))/dt}'
}

# ------------------------------------------------------------------------------------------ certificates
log "minting a test CA and an ECDSA P-256 server certificate (SAN localhost, 127.0.0.1)"
PKI="$RUN/pki"
mkdir -p "$PKI"
(
  cd "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 \
    -subj "/CN=Skiff TLS bench CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 30 -sha256 -extfile server.ext 2>/dev/null
  chmod 644 server.key server.pem ca.pem
) || die "openssl could not mint the certificates"
chmod 755 "$RUN" "$PKI"

# Skiff's default cipher list (src/network/tls/tls-material.ts SAFE_CIPHERS), given to both proxies
# explicitly: TLS 1.2 ECDHE + AEAD (nginx ssl_ciphers), TLS 1.3 suites as OpenSSL has them (the default of both).
TLS12_CIPHERS='ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305'
TLS13_CIPHERS='TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'

# ------------------------------------------------------------------------------------------ configs
ORIGIN_PORT= ORIGIN_PID= SKIFF_PORT=$(free_port) NGINX_PORT=$(free_port)
nginx_common() { # name
  cat <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $RUN/$1.pid;
error_log $OUT/logs/$1.error.log warn;
events { worker_connections 10000; use epoll; }
http {
  access_log off;
  client_body_temp_path $RUN/tmp-$1/body;
  proxy_temp_path $RUN/tmp-$1/proxy;
  fastcgi_temp_path $RUN/tmp-$1/fcgi;
  uwsgi_temp_path $RUN/tmp-$1/uwsgi;
  scgi_temp_path $RUN/tmp-$1/scgi;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  tcp_nodelay on;
EOF
}
if [[ $ORIGIN == nginx ]]; then
  ORIGIN_PORT=$(free_port)
  { nginx_common origin; cat <<EOF
  server {
    listen 127.0.0.1:$ORIGIN_PORT backlog=4096;
    location / { default_type text/plain; return 200 "hello"; }
  }
}
EOF
  } >"$RUN/origin.conf"
  UPSTREAM_LOC="proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\";"
  UPSTREAM_BLOCK="upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 256; keepalive_requests 100000000; keepalive_timeout 300s; }"
else
  UPSTREAM_LOC='default_type text/plain; return 200 "hello";'
  UPSTREAM_BLOCK=""
fi
{ nginx_common nginx-tls; cat <<EOF
  $UPSTREAM_BLOCK
  server {
    listen 127.0.0.1:$NGINX_PORT ssl backlog=4096;
    ssl_certificate $PKI/server.pem;
    ssl_certificate_key $PKI/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers $TLS12_CIPHERS;
    ssl_prefer_server_ciphers on;
    ssl_session_tickets on;
    ssl_session_timeout 2h;
    location / { $UPSTREAM_LOC }
  }
}
EOF
} >"$RUN/nginx-tls.conf"
node - "$PKI" "$SKIFF_PORT" "$ORIGIN" "${ORIGIN_PORT:-0}" "$TLS12_CIPHERS" >"$RUN/skiff-tls.json" <<'EOF'
const [pki, port, origin, originPort] = process.argv.slice(2);
// Skiff's default tls_context (no cipher_suites: the default list is the one nginx gets spelled out).
const route = origin === 'nginx'
  ? { match: { prefix: '/' }, route: { cluster_name: 'origin' } }
  : { match: { prefix: '/' }, direct_response: { status: 200, body: 'hello' } };
console.log(JSON.stringify({
  servers: [{
    default_log_path: 'stderr', default_log_level: 'WARN', graceful_timeout: '1s',
    routers: [{ router_config_name: 'bench', virtual_hosts: [{ name: 'all', domains: ['*'], routers: [route] }] }],
    listeners: [{
      name: 'bench_tls', address: `127.0.0.1:${port}`, bind_port: true, connection_idle_timeout: '300s',
      filter_chains: [{
        tls_context: { status: true, cert_chain: `${pki}/server.pem`, private_key: `${pki}/server.key` },
        filters: [{ type: 'proxy', config: { downstream_protocol: 'Http1', router_config_name: 'bench' } }],
      }],
    }],
  }],
  cluster_manager: { clusters: origin === 'nginx'
    ? [{ name: 'origin', type: 'SIMPLE', lb_type: 'LB_ROUNDROBIN', connect_timeout: '1s', idle_timeout: '300s', hosts: [{ address: `127.0.0.1:${originPort}` }] }]
    : [] },
}, null, 2));
EOF

start_nginx() { # name cpu -> sets NGX_PID (master) and NGX_PIDS (master + workers)
  local name=$1 cpu=$2 i w
  mkdir -p "$RUN/tmp-$name"
  nginx -t -q -p "$RUN" -c "$RUN/$name.conf" -e "$OUT/logs/$name.error.log" >"$OUT/logs/$name.t.log" 2>&1 || die "nginx -t failed for $name: $(cat "$OUT/logs/$name.t.log")"
  start_bg "$name" "$cpu" nginx -p "$RUN" -c "$RUN/$name.conf" -e "$OUT/logs/$name.error.log"
  NGX_PID=$LAST_PID
  NGX_MASTERS+=("$NGX_PID")
  for ((i = 0; i < 50; i++)); do w=$(pgrep -P "$NGX_PID" | tr '\n' ' ' || true); [[ -n $w ]] && break; sleep 0.1; done
  [[ -n $w ]] || die "nginx $name did not start: $(tail -3 "$OUT/logs/$name.log" "$OUT/logs/$name.error.log" 2>/dev/null)"
  echo "$w" >"$RUN/$name.workers"
  NGX_PIDS="$NGX_PID $w"
}
probe_https() { # port: one verified HTTPS request
  printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost -CAfile "$PKI/ca.pem" -verify_return_error -quiet 2>/dev/null | grep -q hello
}

# ------------------------------------------------------------------------------------------ env
{
  echo "date_utc: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "node: $(node -v) (OpenSSL $(node -p process.versions.openssl)); Skiff node args: ${NODE_ARGS[*]}"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //') ($(nginx -V 2>&1 | grep -o 'running with OpenSSL [0-9.a-z]*' || nginx -V 2>&1 | grep -o 'built with OpenSSL [0-9.a-z]*'))"
  echo "wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); openssl: $(openssl version)"
  echo "build: $BUILD (repo HEAD $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "pinning: proxy cpu $PROXY_CPU; load (wrk, s_time) + origin cpu $LOAD_CPU"
  echo "origin: $ORIGIN$([[ $ORIGIN == nginx ]] && echo ' (separate nginx, 1 worker, return 200 "hello", keep-alive upstream from both proxies)' || echo ' (Skiff direct_response / nginx return 200 in the proxy)')"
  echo "certificate: ECDSA P-256 (test CA); TLS 1.2+1.3; TLS 1.2 ciphers $TLS12_CIPHERS; session tickets on"
  echo "knobs: PHASES=$PHASES REPS=$REPS DUR=$DUR WARM=$WARM CONNS=$CONNS HS_CLIENTS=$HS_CLIENTS"
  echo "loadavg_before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/env.txt"
log "results in $OUT (load average $(cut -d' ' -f1-3 /proc/loadavg))"
awk '{exit !($1 > 0.5)}' /proc/loadavg && log "warning: load average $(cut -d' ' -f1 /proc/loadavg) > 0.5: the machine is not quiet"

if [[ $ORIGIN == nginx ]]; then
  start_nginx origin "$LOAD_CPU"; ORIGIN_PID=$NGX_PID; ORIGIN_PIDS=$NGX_PIDS
  wait_port "$ORIGIN_PORT" "$ORIGIN_PID" || die "origin did not listen"
  log "origin nginx pids $ORIGIN_PIDS on :$ORIGIN_PORT (cpu $LOAD_CPU)"
else
  ORIGIN_PIDS=""
fi
start_bg skiff "$PROXY_CPU" node "${NODE_ARGS[@]}" "$SKIFF_MAIN" start -c "$RUN/skiff-tls.json"
SKIFF_PID=$LAST_PID
wait_port "$SKIFF_PORT" "$SKIFF_PID" || die "Skiff did not start: $(tail -5 "$OUT/logs/skiff.log")"
probe_https "$SKIFF_PORT" || die "Skiff does not answer HTTPS on :$SKIFF_PORT: $(tail -5 "$OUT/logs/skiff.log")"
log "Skiff pid $SKIFF_PID on :$SKIFF_PORT (cpu $PROXY_CPU)"
start_nginx nginx-tls "$PROXY_CPU"; NGINX_PIDS=$NGX_PIDS
wait_port "$NGINX_PORT" "$NGX_PID" || die "nginx did not listen"
probe_https "$NGINX_PORT" || die "nginx does not answer HTTPS on :$NGINX_PORT"
log "nginx pids $NGINX_PIDS on :$NGINX_PORT (cpu $PROXY_CPU)"

# measure target rep phase pids -- cmd...: runs cmd on LOAD_CPU, records proxy CPU ticks, per-core busy %,
# and the load generator's + origin's CPU (load_ticks, origin_ticks: to see which side saturated).
# The command's stdout goes to raw/<target>.<phase>.r<rep>.txt; sets RAW and MEAS_TICKS.
measure() {
  local target=$1 rep=$2 phase=$3 pids=$4 c0 c1 o0 o1 l0 l1 s0 s1 b0 b1 t0 t1 busy k; shift 5
  RAW="$OUT/raw/$target.$phase.r$rep.txt"
  # shellcheck disable=SC2086
  c0=$(cpu_ticks $pids); o0=$(cpu_ticks $ORIGIN_PIDS); s0=$(corestat); b0=$(all_busy); t0=$(date +%s%N); l0=$(load_children)
  taskset -c "$LOAD_CPU" "$@" >"$RAW" 2>"$RAW.err" || true
  l1=$(load_children)
  # shellcheck disable=SC2086
  c1=$(cpu_ticks $pids); o1=$(cpu_ticks $ORIGIN_PIDS); s1=$(corestat); b1=$(all_busy); t1=$(date +%s%N)
  MEAS_TICKS=$((c1 - c0))
  # other CPU %: busy CPU time of the machine used by none of the proxy, the origin and the load generators,
  # in % of one core over the run (the noise flag: above a few %, other work shared the cores).
  MEAS_OTHER=$(awk -v b=$((b1 - b0)) -v ours=$((c1 - c0 + o1 - o0 + l1 - l0)) -v hz="$CLK_TCK" -v ns=$((t1 - t0)) \
    'BEGIN{o=100*(b-ours)/hz/(ns/1e9); printf "%.1f", (o<0?0:o)}')
  rec "$target" "$rep" "$phase" other_cpu_pct "$MEAS_OTHER"
  rec "$target" "$rep" "$phase" cpu_ticks "$MEAS_TICKS"
  rec "$target" "$rep" "$phase" load_ticks $((l1 - l0))
  rec "$target" "$rep" "$phase" origin_ticks $((o1 - o0))
  rec "$target" "$rep" "$phase" wall_s "$(awk -v n=$((t1 - t0)) 'BEGIN{printf "%.3f", n/1e9}')"
  busy=$(core_busy "$s0" "$s1")
  for k in $busy; do rec "$target" "$rep" "$phase" "${k%%=*}_busy_pct" "${k#*=}"; done
  MEAS_BUSY=$busy
}
# CPU ticks (cutime+cstime) of this shell's reaped children: the load generators.
load_children() { local s f; s=$(cat /proc/$$/stat); s=${s##*) }; read -r -a f <<<"$s"; echo $((f[13] + f[14])); }

# ------------------------------------------------------------------------------------------ phases
run_tput() { # target port pids rep
  local target=$1 port=$2 pids=$3 rep=$4 rps lat total
  measure "$target" "$rep" tput "$pids" -- wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "https://127.0.0.1:$port/"
  rps=$(awk '/^Requests\/sec:/{print $2}' "$RAW")
  total=$(awk '/requests in/{print $1}' "$RAW")
  if [[ -z $rps || -z $total ]]; then log "$target tput r$rep: wrk failed: $(tail -3 "$RAW" "$RAW.err")"; rec "$target" "$rep" tput failed 1; return 0; fi
  local errs; errs=$(awk '/Socket errors|Non-2xx/{for(i=1;i<=NF;i++) if($i ~ /^[0-9]+,?$/) s+=$i} END{print s+0}' "$RAW")
  rec "$target" "$rep" tput rps "$rps"
  rec "$target" "$rep" tput requests "$total"
  rec "$target" "$rep" tput errors "$errs"
  for p in 50 99; do
    lat=$(awk -v p="$p%" '$1==p{v=$2; if(v ~ /us$/){sub(/us/,"",v); print v} else if(v ~ /ms$/){sub(/ms/,"",v); print v*1000} else if(v ~ /s$/){sub(/s/,"",v); print v*1e6}}' "$RAW")
    rec "$target" "$rep" tput "p${p}_us" "${lat:-NaN}"
  done
  rec "$target" "$rep" tput cpu_us_per_req "$(awk -v t="$MEAS_TICKS" -v hz="$CLK_TCK" -v n="$total" 'BEGIN{printf "%.2f", t*1e6/hz/n}')"
  log "$target tput r$rep: $rps req/s, $(awk -v t="$MEAS_TICKS" -v hz="$CLK_TCK" -v n="$total" 'BEGIN{printf "%.2f", t*1e6/hz/n}') proxy CPU µs/req, errors $errs; busy % $MEAS_BUSY; other CPU $MEAS_OTHER %"
}
# s_time clients in parallel, one line each: "CONNS <n> REUSED <r> NEW <s>" (s_time prints one progress character
# per connection: 'r' resumed, '*' full handshake).
s_time_par() { # port mode(new|reuse) proto(tls1_2|tls1_3) seconds clients
  local port=$1 mode=$2 proto=$3 secs=$4 n=$5 i
  for ((i = 0; i < n; i++)); do
    openssl s_time -connect "127.0.0.1:$port" "-$mode" "-$proto" -cipher "$TLS12_CIPHERS" -ciphersuites "$TLS13_CIPHERS" -time "$secs" 2>&1 |
      awk '/connections in [0-9.]+ real/{c=$1} /^[r*]+$/{r+=gsub(/r/,""); s+=gsub(/\*/,"")} END{printf "CONNS %d REUSED %d NEW %d\n", c, r, s}' &
  done
  wait
}
run_hs() { # target port pids rep phase(hs|reuse)
  local target=$1 port=$2 pids=$3 rep=$4 phase=$5 mode proto conns reused clients rate wall cpu
  if [[ $phase == hs ]]; then mode=new proto=tls1_3 clients=$HS_CLIENTS; else mode=reuse proto=tls1_2 clients=1; fi
  measure "$target" "$rep" "$phase" "$pids" -- bash -c "$(declare -f s_time_par); TLS12_CIPHERS='$TLS12_CIPHERS' TLS13_CIPHERS='$TLS13_CIPHERS' s_time_par $port $mode $proto $DUR $clients"
  conns=$(awk '{s+=$2} END{print s+0}' "$RAW")
  reused=$(awk '{s+=$4} END{print s+0}' "$RAW")
  wall=$(awk -v t="$target" -v r="$rep" -v p="$phase" -F'\t' '$1==t && $2==r && $3==p && $4=="wall_s"{print $5}' "$RES" | tail -1)
  if ((conns == 0)); then log "$target $phase r$rep: s_time made no connection: $(head -3 "$RAW.err")"; rec "$target" "$rep" "$phase" failed 1; return 0; fi
  rate=$(awk -v n="$conns" -v d="$wall" 'BEGIN{printf "%.1f", n/d}')
  cpu=$(awk -v t="$MEAS_TICKS" -v hz="$CLK_TCK" -v n="$conns" 'BEGIN{printf "%.1f", t*1e6/hz/n}')
  rec "$target" "$rep" "$phase" handshakes "$conns"
  rec "$target" "$rep" "$phase" resumed "$reused"
  rec "$target" "$rep" "$phase" resumed_pct "$(awk -v r="$reused" -v n="$conns" 'BEGIN{printf "%.1f", 100*r/n}')"
  rec "$target" "$rep" "$phase" hs_per_s "$rate"
  rec "$target" "$rep" "$phase" cpu_us_per_hs "$cpu"
  log "$target $phase r$rep: $conns handshakes ($reused resumed) in ${wall}s = $rate/s, $cpu proxy CPU µs/handshake; busy % $MEAS_BUSY; other CPU $MEAS_OTHER %"
}

SK_PIDS="$SKIFF_PID"
if has_phase tput; then
  log "phase tput: wrk -t1 -c$CONNS ${DUR}s over HTTPS (keep-alive), warm-up ${WARM}s each, $REPS rep(s)"
  for t in skiff nginx; do
    p=$([[ $t == skiff ]] && echo "$SKIFF_PORT" || echo "$NGINX_PORT")
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARM}s" "https://127.0.0.1:$p/" >/dev/null 2>&1 || true
  done
  for ((rep = 1; rep <= REPS; rep++)); do
    run_tput skiff "$SKIFF_PORT" "$SK_PIDS" "$rep"
    run_tput nginx "$NGINX_PORT" "$NGINX_PIDS" "$rep"
  done
fi
for phase in hs reuse; do
  has_phase "$phase" || continue
  log "phase $phase: openssl s_time $([[ $phase == hs ]] && echo "-new -tls1_3 × $HS_CLIENTS clients" || echo '-reuse -tls1_2 × 1 client'), ${DUR}s, $REPS rep(s)"
  for ((rep = 1; rep <= REPS; rep++)); do
    run_hs skiff "$SKIFF_PORT" "$SK_PIDS" "$rep" "$phase"
    run_hs nginx "$NGINX_PORT" "$NGINX_PIDS" "$rep" "$phase"
  done
done
kill -0 "$SKIFF_PID" 2>/dev/null || log "warning: Skiff exited during the run: $(tail -5 "$OUT/logs/skiff.log")"
stop_pid "$SKIFF_PID"
stop_nginx "$(cat "$RUN/nginx-tls.pid" 2>/dev/null || echo "${NGINX_PIDS%% *}")"
[[ -n $ORIGIN_PID ]] && stop_nginx "$ORIGIN_PID"
echo "loadavg_after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
rm -rf "$RUN/pki"

# ------------------------------------------------------------------------------------------ summary
node "$here/summary.mjs" "$OUT" "$CLK_TCK" | tee "$OUT/summary.md"
log "results in $OUT (summary.md, results.tsv, env.txt, raw/, logs/)"

#!/usr/bin/env bash
# Bolt benchmark (Skiff issue 4, item 9): Skiff's Bolt proxy against a direct connection, a bare Node pipe
# and a bare Node server, in one run on one machine state. See bench/bolt/README.md.
#
#   bash bench/bolt/run.sh                      phases tput,lat,idle (≈ 4 min)
#   bash bench/bolt/run.sh --quick              smoke run: 1 rep, 3 s loads, 1,000 idle connections (≈ 1 min)
#   bash bench/bolt/run.sh --phases tput,prof   prof = a CPU profile of Skiff under the tput load (top 15 self time)
#   SKIFF_BUILD=dist-x bash bench/bolt/run.sh   benchmark another build (default dist)
#
# Options: --quick  --phases LIST (tput,lat,idle,prof)  --out DIR  --reps N  --dur S  --lat-dur S  --idle-n N
# Env: SKIFF_BUILD (build dir, default dist), SKIFF_NODE_ARGS (default --max-semi-space-size=4, as bin/skiff),
#      BOLT_PROXY_CPU (default 0), BOLT_LOAD_CPU (default 1).
#
# The proxy under test (Skiff, the pipe, the idle baseline server) runs pinned to BOLT_PROXY_CPU; the echo
# upstream and the load generator share BOLT_LOAD_CPU. Results go to DIR (default
# .bench-results/bolt-<UTC time>/): summary.md, results.tsv (target rep phase key value), env.txt, raw/, logs/.
# Progress on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
BUILD="$(cd "$repo" && realpath -m "${SKIFF_BUILD:-dist}")"
export SKIFF_BUILD="$BUILD"
read -r -a NODE_ARGS <<<"${SKIFF_NODE_ARGS:---max-semi-space-size=4}"
PROXY_CPU=${BOLT_PROXY_CPU:-0}
LOAD_CPU=${BOLT_LOAD_CPU:-1}

REPS=3 DUR=10 WARM=2 CONNS=8 INFLIGHT=100 SIZE=64
LAT_RATE=1000 LAT_CONNS=1 LAT_DUR=10 LAT_WARM=1 LAT_REPS=3
IDLE_N=10000 IDLE_BATCH=500 IDLE_HOLD=2
PHASES=tput,lat,idle
OUT=""
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --quick) REPS=1 DUR=3 WARM=1 LAT_DUR=3 LAT_REPS=1 IDLE_N=1000; shift ;;
    --phases) PHASES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --reps) REPS=$2 LAT_REPS=$2; shift 2 ;;
    --dur) DUR=$2; shift 2 ;;
    --lat-dur) LAT_DUR=$2; shift 2 ;;
    --idle-n) IDLE_N=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bolt-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
has_phase() { [[ ",$PHASES," == *",$1,"* ]]; }

SKIFF_MAIN="$BUILD/src/main.js"
[[ -f "$SKIFF_MAIN" && -f "$BUILD/src/extensions/codecs/bolt/bolt.js" ]] || {
  echo "bolt-bench: $SKIFF_MAIN or its Bolt codec missing (build first, or set SKIFF_BUILD)" >&2; exit 2; }
command -v taskset >/dev/null || { echo "bolt-bench: taskset missing" >&2; exit 2; }

OUT="${OUT:-$repo/.bench-results/bolt-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT/raw" "$OUT/logs"
OUT="$(cd "$OUT" && pwd)"
RES="$OUT/results.tsv"
: >"$RES"
CLK_TCK=$(getconf CLK_TCK)

# 10,000 idle connections need 10,000 descriptors in Skiff and in the load generator (one process each).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDLIM=$(ulimit -n)
if has_phase idle && ((FDLIM < IDLE_N + 200)); then
  echo "bolt-bench: fd limit $FDLIM is below $IDLE_N idle connections + 200; lowering --idle-n" >&2
  IDLE_N=$((FDLIM - 200))
fi

log() { printf '[bolt-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RES"; }
kv() { sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" <<<" $1" | head -1; }

# ------------------------------------------------------------------------------------------ processes
PIDS=()
LAST_PID=
start_bg() { # name cpu cmd... : start pinned, stdout+stderr to logs/<name>.log
  local name=$1 cpu=$2; shift 2
  taskset -c "$cpu" "$@" >"$OUT/logs/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
stop_pid() { # pid: SIGINT, then SIGKILL after 5 s
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -INT "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_listening() { # name pid -> echoes the port from "LISTENING <port>" in logs/<name>.log
  local name=$1 pid=$2 i p
  for ((i = 0; i < 100; i++)); do
    p=$(sed -n 's/^LISTENING \([0-9]*\).*/\1/p' "$OUT/logs/$name.log" 2>/dev/null | head -1)
    [[ -n $p ]] && { echo "$p"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "$name did not start: $(tail -3 "$OUT/logs/$name.log" 2>/dev/null)"; return 1
}
wait_port() { # port pid
  local port=$1 pid=$2 i
  for ((i = 0; i < 150; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
cpu_ticks() { # pid -> utime+stime in clock ticks
  local s f; s=$(cat "/proc/$1/stat"); s=${s##*) }; read -r -a f <<<"$s"; echo $((f[11] + f[12]))
}
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
all_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; } # ticks, all cores (incl. steal)
corestat() { awk '/^cpu[0-9]/{t=0; for(i=2;i<=9;i++) t+=$i; print $1, t, $5+$6}' /proc/stat; }
core_busy() { # "before" "after" -> "cpu0=93.1 cpu1=99.0" (% busy of each core over the interval)
  paste -d' ' <(echo "$1") <(echo "$2") | awk '{dt=$5-$2; if(dt<=0)dt=1; printf "%s%s=%.1f", (NR>1?" ":""), $1, 100*(dt-($6-$3))/dt}'
}

ECHO_PID= ECHO_PORT= SKIFF_PID= SKIFF_PORT= PIPE_PID= PIPE_PORT=
start_echo() {
  start_bg echo "$LOAD_CPU" node "$here/echo-server.mjs"; ECHO_PID=$LAST_PID
  ECHO_PORT=$(wait_listening echo "$ECHO_PID") || exit 1
  log "echo server pid $ECHO_PID on :$ECHO_PORT (cpu $LOAD_CPU)"
}
start_skiff() { # name [extra node args...]
  local name=$1; shift
  SKIFF_PORT=$(free_port)
  node -e '
    const fs = require("fs"); const [src, dst, lp, up] = process.argv.slice(1);
    const c = JSON.parse(fs.readFileSync(src, "utf8"));
    c.servers[0].listeners[0].address = `127.0.0.1:${lp}`;
    c.cluster_manager.clusters[0].hosts[0].address = `127.0.0.1:${up}`;
    fs.writeFileSync(dst, JSON.stringify(c, null, 2));' "$here/skiff-bolt.json" "$OUT/skiff-bolt.json" "$SKIFF_PORT" "$ECHO_PORT"
  start_bg "$name" "$PROXY_CPU" node "${NODE_ARGS[@]}" "$@" "$SKIFF_MAIN" start -c "$OUT/skiff-bolt.json"; SKIFF_PID=$LAST_PID
  wait_port "$SKIFF_PORT" "$SKIFF_PID" || { log "Skiff did not start: $(tail -5 "$OUT/logs/$name.log")"; exit 1; }
  log "Skiff pid $SKIFF_PID on :$SKIFF_PORT (cpu $PROXY_CPU, node ${NODE_ARGS[*]} $*)"
}
stop_skiff() { stop_pid "$SKIFF_PID"; SKIFF_PID=; }

# run_load target rep phase port [load.mjs args...]: one load run on LOAD_CPU; records its RESULT line.
# Sets LOAD_LINE. Also recorded: CPU ticks of $CPU_PID (if set) and its µs per request, per-core busy %,
# and other_cpu_pct: busy CPU time of the machine NOT used by this benchmark's processes (the echo server,
# the proxy under test, the load generator), in % of one core over the run. It is the noise flag.
CPU_PID=
run_load() {
  local target=$1 rep=$2 phase=$3 port=$4 raw c0 c1 e0 e1 s0 s1 b0 b1 t0 t1 k busy other; shift 4
  raw="$OUT/raw/$target.$phase.r$rep.txt"
  c0=$([[ -n $CPU_PID && $CPU_PID != "$ECHO_PID" ]] && cpu_ticks "$CPU_PID" || echo 0); e0=$(cpu_ticks "$ECHO_PID")
  s0=$(corestat); b0=$(all_busy); t0=$(date +%s%N)
  taskset -c "$LOAD_CPU" node "$here/load.mjs" --port "$port" --label "$target $phase r$rep" "$@" >"$raw" 2>"$raw.err" || true
  c1=$([[ -n $CPU_PID && $CPU_PID != "$ECHO_PID" ]] && cpu_ticks "$CPU_PID" || echo 0); e1=$(cpu_ticks "$ECHO_PID")
  s1=$(corestat); b1=$(all_busy); t1=$(date +%s%N)
  [[ $CPU_PID == "$ECHO_PID" ]] && { c0=$e0; c1=$e1; e1=$e0; }
  cat "$raw.err" >&2
  LOAD_LINE=$(grep '^RESULT' "$raw" || true)
  if [[ -z $LOAD_LINE ]]; then log "$target $phase r$rep: load failed: $(tail -2 "$raw.err")"; rec "$target" "$rep" "$phase" failed 1; return 1; fi
  for k in rps requests total p50_us p90_us p99_us p999_us max_us errors status_errors unmatched content_errors lost unanswered conn_errors; do
    rec "$target" "$rep" "$phase" "$k" "$(kv "$LOAD_LINE" "$k")"
  done
  busy=$(core_busy "$s0" "$s1")
  for k in $busy; do rec "$target" "$rep" "$phase" "${k%%=*}_busy_pct" "${k#*=}"; done
  other=$(awk -v b=$((b1 - b0)) -v ours=$((c1 - c0 + e1 - e0)) -v hz="$CLK_TCK" -v load="$(kv "$LOAD_LINE" cpu_us)" -v ns=$((t1 - t0)) \
    'BEGIN{o=100*((b-ours)/hz - load/1e6)/(ns/1e9); printf "%.1f", (o<0?0:o)}')
  rec "$target" "$rep" "$phase" other_cpu_pct "$other"
  if [[ -n $CPU_PID ]]; then
    local total; total=$(kv "$LOAD_LINE" total)
    rec "$target" "$rep" "$phase" cpu_ticks $((c1 - c0))
    ((total > 0)) && rec "$target" "$rep" "$phase" cpu_us_per_req "$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$total" 'BEGIN{printf "%.2f", t*1e6/hz/n}')"
  fi
  log "$target $phase r$rep: $(kv "$LOAD_LINE" rps) req/s, p50 $(kv "$LOAD_LINE" p50_us) µs, p99 $(kv "$LOAD_LINE" p99_us) µs, errors $(kv "$LOAD_LINE" errors); busy % $busy; other CPU $other %${CPU_PID:+; measured pid CPU $((c1 - c0)) ticks}"
  return 0
}

# ------------------------------------------------------------------------------------------ env
{
  echo "date_utc: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "node: $(node -v); Skiff node args: ${NODE_ARGS[*]}"
  echo "build: $BUILD (repo HEAD $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "pinning: proxy cpu $PROXY_CPU; echo + load cpu $LOAD_CPU"
  echo "fd limit: $FDLIM"
  echo "knobs: PHASES=$PHASES REPS=$REPS DUR=$DUR WARM=$WARM CONNS=$CONNS INFLIGHT=$INFLIGHT SIZE=$SIZE LAT_RATE=$LAT_RATE LAT_CONNS=$LAT_CONNS LAT_DUR=$LAT_DUR LAT_REPS=$LAT_REPS IDLE_N=$IDLE_N IDLE_BATCH=$IDLE_BATCH IDLE_HOLD=$IDLE_HOLD"
  echo "loadavg_before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/env.txt"
log "results in $OUT (load average $(cut -d' ' -f1-3 /proc/loadavg))"
awk '{exit !($1 > 0.5)}' /proc/loadavg && log "warning: load average $(cut -d' ' -f1 /proc/loadavg) > 0.5: the machine is not quiet (see other CPU % in the summary)"

start_echo

# ------------------------------------------------------------------------------------------ tput
if has_phase tput; then
  log "phase tput: direct vs Skiff, ${CONNS}×${INFLIGHT} closed loop, ${SIZE} B, ${DUR} s (+${WARM} s warm-up), $REPS rep(s)"
  start_skiff skiff-tput
  for ((rep = 1; rep <= REPS; rep++)); do
    CPU_PID=$ECHO_PID run_load direct "$rep" tput "$ECHO_PORT" --connections "$CONNS" --inflight "$INFLIGHT" --size "$SIZE" --duration "$DUR" --warmup "$WARM" || true
    CPU_PID=$SKIFF_PID run_load skiff "$rep" tput "$SKIFF_PORT" --connections "$CONNS" --inflight "$INFLIGHT" --size "$SIZE" --duration "$DUR" --warmup "$WARM" || true
  done
  stop_skiff
fi

# ------------------------------------------------------------------------------------------ lat
if has_phase lat; then
  log "phase lat: open loop ${LAT_RATE} req/s on ${LAT_CONNS} connection(s), ${LAT_DUR} s; direct, pipe, Skiff; $LAT_REPS rep(s)"
  start_skiff skiff-lat
  start_bg pipe "$PROXY_CPU" node "${NODE_ARGS[@]}" "$here/pipe.mjs" --to-port "$ECHO_PORT"; PIPE_PID=$LAST_PID
  PIPE_PORT=$(wait_listening pipe "$PIPE_PID") || exit 1
  # Warm Skiff and the pipe (JIT, the upstream connection) before measuring.
  run_load skiff 0 warm "$SKIFF_PORT" --connections 4 --inflight 20 --duration 2 --warmup 0 >/dev/null 2>&1 || true
  run_load pipe 0 warm "$PIPE_PORT" --connections 4 --inflight 20 --duration 2 --warmup 0 >/dev/null 2>&1 || true
  for ((rep = 1; rep <= LAT_REPS; rep++)); do
    for t in direct pipe skiff; do
      case $t in direct) port=$ECHO_PORT pid=$ECHO_PID ;; pipe) port=$PIPE_PORT pid=$PIPE_PID ;; skiff) port=$SKIFF_PORT pid=$SKIFF_PID ;; esac
      CPU_PID=$pid run_load "$t" "$rep" lat "$port" --rate "$LAT_RATE" --connections "$LAT_CONNS" --size "$SIZE" --duration "$LAT_DUR" --warmup "$LAT_WARM" || true
    done
  done
  stop_pid "$PIPE_PID"; PIPE_PID=
  stop_skiff
fi

# ------------------------------------------------------------------------------------------ idle
idle_server() { # target pid port: RSS of pid before/after IDLE_N idle Bolt connections (one heartbeat each)
  local target=$1 pid=$2 port=$3 cpid i r0 r1 est line ok
  # Serve some traffic first (JIT, pools), as the HTTP harness does, then let it settle.
  run_load "$target" 0 idle-warm "$port" --connections 10 --inflight 10 --duration 2 --warmup 0 >/dev/null 2>&1 || true
  sleep 1
  r0=$(rss_kb "$pid")
  : >"$OUT/logs/idle-client-$target.log"
  start_bg "idle-client-$target" "$LOAD_CPU" node "$here/load.mjs" --port "$port" --idle "$IDLE_N" --batch "$IDLE_BATCH" --hold 600 --label "idle $target"
  cpid=$LAST_PID
  for ((i = 0; i < 1800; i++)); do
    grep -q '^READY' "$OUT/logs/idle-client-$target.log" 2>/dev/null && break
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.1
  done
  sleep "$IDLE_HOLD"
  r1=$(rss_kb "$pid")
  est=$(ss -Htn state established "( sport = :$port )" | wc -l)
  line=$(grep '^READY' "$OUT/logs/idle-client-$target.log" || true)
  stop_pid "$cpid"
  cp "$OUT/logs/idle-client-$target.log" "$OUT/raw/$target.idle.txt"
  ok=$(kv "$line" ok); ok=${ok:-0}
  rec "$target" 1 idle n "$IDLE_N"; rec "$target" 1 idle ok "$ok"; rec "$target" 1 idle established "$est"
  rec "$target" 1 idle rss_before_kb "$r0"; rec "$target" 1 idle rss_after_kb "$r1"
  ((ok > 0)) && rec "$target" 1 idle bytes_per_conn $(((r1 - r0) * 1024 / ok))
  log "$target idle: $ok/$IDLE_N connections answered a heartbeat, $est established, RSS $r0 -> $r1 kB => $(((ok > 0) ? (r1 - r0) * 1024 / ok : 0)) B/conn"
}
if has_phase idle; then
  log "phase idle: $IDLE_N idle Bolt connections (one heartbeat each) to a fresh Skiff, then to a bare Node server"
  start_skiff skiff-idle
  idle_server skiff "$SKIFF_PID" "$SKIFF_PORT"
  stop_skiff
  start_bg node-server "$PROXY_CPU" node "${NODE_ARGS[@]}" "$here/echo-server.mjs"; base_pid=$LAST_PID
  base_port=$(wait_listening node-server "$base_pid") || exit 1
  idle_server node-server "$base_pid" "$base_port"
  stop_pid "$base_pid"
fi

# ------------------------------------------------------------------------------------------ prof
if has_phase prof; then
  log "phase prof: Skiff under --cpu-prof, ${CONNS}×${INFLIGHT} closed loop, ${DUR} s (numbers not comparable: profiling costs CPU)"
  rm -rf "$OUT/prof"; mkdir -p "$OUT/prof"
  start_skiff skiff-prof --cpu-prof --cpu-prof-dir "$OUT/prof"
  CPU_PID=$SKIFF_PID run_load skiff-prof 1 prof "$SKIFF_PORT" --connections "$CONNS" --inflight "$INFLIGHT" --size "$SIZE" --duration "$DUR" --warmup "$WARM" || true
  stop_skiff
  prof=$(ls "$OUT"/prof/*.cpuprofile 2>/dev/null | head -1 || true)
  if [[ -n $prof ]]; then
    node - "$prof" "$repo" >"$OUT/profile-top.md" <<'EOF'
// Top 15 functions by self time in a V8 .cpuprofile (sample hit counts × the mean sampling interval).
const fs = require('fs');
const [file, repo] = process.argv.slice(2);
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const samples = p.samples.length;
const interval = (p.endTime - p.startTime) / Math.max(1, samples); // µs
const agg = new Map();
for (const n of p.nodes) {
  if (!n.hitCount) continue;
  const cf = n.callFrame;
  const url = cf.url.replace('file://', '').replace(repo + '/', '');
  const key = `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
  agg.set(key, (agg.get(key) ?? 0) + n.hitCount);
}
const idle = agg.get('(idle)') ?? 0;
const busy = samples - idle;
const rows = [...agg.entries()].sort((a, b) => b[1] - a[1]);
console.log(`# Skiff CPU profile: ${samples} samples, ${(samples * interval / 1e6).toFixed(1)} s, ${(100 * busy / samples).toFixed(1)} % busy`);
console.log('');
console.log('| # | self ms | % of busy | function |');
console.log('|---|--:|--:|---|');
let i = 0;
for (const [k, hits] of rows) {
  if (k === '(idle)') continue;
  if (++i > 15) break;
  console.log(`| ${i} | ${(hits * interval / 1000).toFixed(0)} | ${(100 * hits / Math.max(1, busy)).toFixed(1)} | \`${k}\` |`);
}
EOF
    log "profile: $prof"
    cat "$OUT/profile-top.md" >&2
  else
    log "prof: no .cpuprofile written (did Skiff exit cleanly? see logs/skiff-prof.log)"
  fi
fi

stop_pid "$ECHO_PID"
echo "loadavg_after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"

# ------------------------------------------------------------------------------------------ summary
node - "$OUT" <<'EOF' | tee "$OUT/summary.md"
// Medians over reps from results.tsv, the comparisons, and the issue's targets.
const fs = require('fs');
const out = process.argv[2];
const rows = fs.readFileSync(`${out}/results.tsv`, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
const env = fs.readFileSync(`${out}/env.txt`, 'utf8');
const vals = (t, ph, k) => rows.filter((r) => r[0] === t && r[2] === ph && r[3] === k && r[1] !== '0').map((r) => Number(r[4])).filter(Number.isFinite);
const med = (a) => { if (!a.length) return NaN; const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const M = (t, ph, k) => med(vals(t, ph, k));
const sum = (t, ph, k) => vals(t, ph, k).reduce((a, b) => a + b, 0);
const f = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const range = (t, ph, k) => { const a = vals(t, ph, k); return a.length > 1 ? ` [${f(Math.min(...a))}–${f(Math.max(...a))}]` : ''; };
const ok = (c) => (c === undefined ? '?' : c ? 'PASS' : 'FAIL');
const L = [];
L.push('# Skiff Bolt benchmark');
L.push('');
L.push('```');
L.push(env.trim());
L.push('```');
const targets = [];
if (rows.some((r) => r[2] === 'tput')) {
  L.push('');
  L.push('## tput: closed loop (medians over reps [min–max])');
  L.push('');
  L.push('| target | req/s | / direct | proxy CPU µs/req | p50 µs | p99 µs | errors | core busy % | other CPU % |');
  L.push('|---|--:|--:|--:|--:|--:|--:|---|--:|');
  const d = M('direct', 'tput', 'rps');
  for (const t of ['direct', 'skiff']) {
    const rps = M(t, 'tput', 'rps');
    const cores = [...new Set(rows.filter((r) => r[0] === t && r[2] === 'tput' && r[3].endsWith('_busy_pct')).map((r) => r[3]))]
      .map((k) => `${k.replace('_busy_pct', '')} ${f(M(t, 'tput', k))}`).join(', ');
    const cpu = t === 'skiff' ? f(M(t, 'tput', 'cpu_us_per_req'), 2) : `(echo ${f(M(t, 'tput', 'cpu_us_per_req'), 2)})`;
    L.push(`| ${t} | ${f(rps)}${range(t, 'tput', 'rps')} | ${f(rps / d, 2)}× | ${cpu} | ${f(M(t, 'tput', 'p50_us'))} | ${f(M(t, 'tput', 'p99_us'))} | ${f(sum(t, 'tput', 'errors'))} | ${cores} | ${f(Math.max(...vals(t, 'tput', 'other_cpu_pct')), 1)} |`);
  }
  const cpu = M('skiff', 'tput', 'cpu_us_per_req');
  const ratio = M('skiff', 'tput', 'rps') / d;
  targets.push(`- Skiff CPU per request ≤ 20 µs: ${f(cpu, 2)} µs → ${ok(Number.isFinite(cpu) ? cpu <= 20 : undefined)}`);
  targets.push(`- Skiff throughput ≥ 0.8× direct at ${'8×100'}: ${f(ratio, 2)}× → ${ok(Number.isFinite(ratio) ? ratio >= 0.8 : undefined)}`);
  L.push('');
  L.push('direct: load → echo (both on the load core); skiff: load → Skiff (proxy core) → echo. The direct row\'s CPU column is the echo server\'s own µs/req. Core busy % are medians; other CPU % (the worst rep) is CPU used by nothing this benchmark started, in % of one core: above a few %, the numbers are not worth quoting.');
}
if (rows.some((r) => r[2] === 'lat')) {
  L.push('');
  L.push('## lat: open loop (medians over reps)');
  L.push('');
  L.push('| target | req/s | p50 µs | p90 µs | p99 µs | max µs | added p50 µs | added p99 µs | errors | other CPU % |');
  L.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  const d50 = M('direct', 'lat', 'p50_us');
  const d99 = M('direct', 'lat', 'p99_us');
  const add = {};
  for (const t of ['direct', 'pipe', 'skiff']) {
    const a50 = M(t, 'lat', 'p50_us') - d50;
    const a99 = M(t, 'lat', 'p99_us') - d99;
    add[t] = { a50, a99 };
    L.push(`| ${t} | ${f(M(t, 'lat', 'rps'))} | ${f(M(t, 'lat', 'p50_us'))} | ${f(M(t, 'lat', 'p90_us'))} | ${f(M(t, 'lat', 'p99_us'))} | ${f(M(t, 'lat', 'max_us'))} | ${t === 'direct' ? '' : f(a50)} | ${t === 'direct' ? '' : f(a99)} | ${f(sum(t, 'lat', 'errors'))} | ${f(Math.max(...vals(t, 'lat', 'other_cpu_pct')), 1)} |`);
  }
  const dp50 = add.skiff.a50 - add.pipe.a50;
  const r99 = add.skiff.a99 / add.pipe.a99;
  L.push('');
  L.push(`Skiff added p50 − pipe added p50: **${f(dp50)} µs**; Skiff added p99 / pipe added p99: **${f(r99, 2)}×** (unstable when the pipe adds only a few µs: read the absolute values).`);
  targets.push(`- added p50 ≤ pipe's added p50 + 50 µs: ${f(add.skiff.a50)} vs ${f(add.pipe.a50)} + 50 → ${ok(Number.isFinite(dp50) ? dp50 <= 50 : undefined)}`);
  targets.push(`- added p99 ≤ 2× pipe's added p99: ${f(add.skiff.a99)} vs 2 × ${f(add.pipe.a99)} → ${ok(Number.isFinite(r99) ? add.skiff.a99 <= 2 * add.pipe.a99 : undefined)}`);
}
if (rows.some((r) => r[2] === 'idle')) {
  L.push('');
  L.push('## idle: RSS per idle Bolt connection (one heartbeat answered on each)');
  L.push('');
  L.push('| server | connections ok / n | established | RSS before kB | RSS after kB | bytes/conn |');
  L.push('|---|--:|--:|--:|--:|--:|');
  for (const t of ['skiff', 'node-server']) {
    if (!vals(t, 'idle', 'n').length) continue;
    L.push(`| ${t} | ${f(M(t, 'idle', 'ok'))} / ${f(M(t, 'idle', 'n'))} | ${f(M(t, 'idle', 'established'))} | ${f(M(t, 'idle', 'rss_before_kb'))} | ${f(M(t, 'idle', 'rss_after_kb'))} | ${f(M(t, 'idle', 'bytes_per_conn'))} |`);
  }
  const b = M('skiff', 'idle', 'bytes_per_conn');
  targets.push(`- ≤ 4 KiB RSS per idle Bolt connection: ${f(b)} B → ${ok(Number.isFinite(b) ? b <= 4096 : undefined)}`);
  L.push('');
  L.push('node-server: bench/bolt/echo-server.mjs (a net server with one data listener per socket, answering the heartbeat), same node flags as Skiff.');
}
if (fs.existsSync(`${out}/profile-top.md`)) {
  L.push('');
  L.push('## prof');
  L.push('');
  L.push(fs.readFileSync(`${out}/profile-top.md`, 'utf8').trim().replace(/^# /, '### '));
}
if (targets.length) {
  L.push('');
  L.push('## Targets (issue 4)');
  L.push('');
  L.push(...targets);
}
console.log(L.join('\n'));
EOF
log "results in $OUT (summary.md, results.tsv, env.txt, raw/, logs/)"

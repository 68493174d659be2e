#!/usr/bin/env bash
# `npm run bench`: Skiff in the side-by-side harness (../shared/bench), one process pinned to one core,
# beside its peers, then Skiff's ratios against each peer (bench/ratios.mjs). See bench/README.md.
#
#   npm run bench                          HTTP/1.1 L7 proxy (bench/skiff-l7.json) vs direct, nginx, haproxy,
#                                          node http-proxy, fastify; phases h1,4k,lat,idle; 3 reps (~15 min)
#   npm run bench -- --quick               smoke run (1 rep, short loads, ~2 min)
#   npm run bench -- h2                    h2load -c50 -m10: h2c downstream → HTTP/1.1 origin (bench/skiff-h2.json) vs nginx, fastify
#   npm run bench -- l4                    tcp_proxy (bench/skiff-l4.json) vs node-net, nginx-stream
#   npm run bench -- --reps 5 --phases h1,lat
#   PEERS="ours nginx" npm run bench       only these peers (direct and nginx are always added)
#   SKIFF_ENTRY=dist-x/src/main.js bash bench/run.sh --quick    another build of Skiff
#   npm run bench -- tls [--quick]        TLS termination vs nginx: keep-alive req/s, full and resumed handshakes (bench/tls/README.md)
#   npm run bench -- workers [--seconds 10] [--reps 2]   1 vs 2 worker processes: req/s and CPU per request
#                                          (direct_response and upstream routes; bench/workers/run.mjs)
#   npm run bench -- bolt [--quick] [--phases tput,lat,idle,prof]   Bolt: direct vs Skiff, added latency vs a
#                                          bare pipe, idle RSS per connection (bench/bolt/README.md)
#
# Extra arguments go to the harness (../shared/bench/run.sh --help). Results: a directory under
# ../shared/bench/results/ (or --out DIR), with summary.md and ratios.md.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ "${1:-}" == bolt ]]; then shift; exec bash "$repo/bench/bolt/run.sh" "$@"; fi
if [[ "${1:-}" == tls ]]; then shift; exec bash "$repo/bench/tls/run.sh" "$@"; fi
if [[ "${1:-}" == workers ]]; then shift; exec node "$repo/bench/workers/run.mjs" "$@"; fi
harness="${SKIFF_BENCH_HARNESS:-$repo/../shared/bench}"
[[ -d "$harness" ]] && harness="$(cd "$harness" && pwd)"
[[ -x "$harness/run.sh" ]] || { echo "bench: harness not found at $harness (set SKIFF_BENCH_HARNESS)" >&2; exit 2; }
[[ -d "$harness/node_modules" ]] || bash "$harness/setup.sh"

mode=l7
if [[ "${1:-}" == l4 || "${1:-}" == l7 || "${1:-}" == h2 ]]; then mode=$1; shift; fi

export OURS_ENTRY="${SKIFF_ENTRY:-$repo/dist/src/main.js}" OURS_PORT=18080
# The same V8 flags as bin/skiff and `npm start` (docs/adr/0009): Skiff is measured as it is launched.
export OURS_NODE_ARGS="${OURS_NODE_ARGS:---max-semi-space-size=4}"
[[ -f "$OURS_ENTRY" ]] || { echo "bench: $OURS_ENTRY missing (npm run build)" >&2; exit 2; }
if [[ $mode == l4 ]]; then
  export OURS_CONFIG="$repo/bench/skiff-l4.json" OURS_KIND=l4 OURS_TCP_PORT=18083
  default_phases=h1,4k,tcp,idle
  read -r -a peers <<<"${PEERS:-ours node-net nginx-stream}"
elif [[ $mode == h2 ]]; then
  export OURS_CONFIG="$repo/bench/skiff-h2.json" OURS_KIND=l7 OURS_H2_PORT=18082
  unset OURS_TCP_PORT
  default_phases=h2
  read -r -a peers <<<"${PEERS:-ours fastify}"
else
  # SKIFF_BENCH_CONFIG: another l7 config, e.g. bench/skiff-l7-2w.json (processor 2; the harness pins
  # Skiff and so both workers to one core: it shows what a second process costs, not a second core).
  export OURS_CONFIG="${SKIFF_BENCH_CONFIG:-$repo/bench/skiff-l7.json}" OURS_KIND=l7
  unset OURS_TCP_PORT OURS_H2_PORT
  default_phases=h1,4k,lat,idle
  read -r -a peers <<<"${PEERS:-ours haproxy http-proxy fastify}"
fi

extra=(--phases "${PHASES:-$default_phases}")
out=""
prev=""
for a in "$@"; do
  [[ "$a" == --phases ]] && extra=()
  [[ "$prev" == --out ]] && out=$a
  prev=$a
done
if [[ -z $out ]]; then
  out="$harness/results/skiff-$mode-$(date -u +%Y%m%dT%H%M%SZ)"
  extra+=(--out "$out")
fi

status=0
"$harness/run.sh" "${extra[@]}" "$@" "${peers[@]}" || status=$?
if [[ -f "$out/results.tsv" ]]; then
  echo
  node "$repo/bench/ratios.mjs" "$out" | tee "$out/ratios.md" || status=1
  echo
  echo "bench: results in $out (summary.md, ratios.md, results.tsv, raw/)"
fi
exit "$status"

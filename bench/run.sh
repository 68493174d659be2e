#!/usr/bin/env bash
# `npm run bench`: Skiff in the side-by-side harness (../shared/bench), one worker, beside its peers.
# Until the HTTP proxy lands Skiff is benchmarked as an L4 proxy (tcp_proxy) against node-net and
# nginx-stream (and direct/nginx baselines). Extra arguments go to the harness, e.g.
#   npm run bench -- --quick          npm run bench -- --reps 3 --phases h1,4k,tcp,idle
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
harness="${SKIFF_BENCH_HARNESS:-$repo/../shared/bench}"
[[ -x "$harness/run.sh" ]] || { echo "bench: harness not found at $harness (set SKIFF_BENCH_HARNESS)" >&2; exit 2; }
[[ -d "$harness/node_modules" ]] || bash "$harness/setup.sh"
export OURS_ENTRY="$repo/dist/src/main.js" OURS_CONFIG="$repo/bench/skiff-l4.json" OURS_KIND=l4 OURS_PORT=18080 OURS_TCP_PORT=18083
phases=(--phases "${PHASES:-h1,4k,tcp,idle}")
for a in "$@"; do [[ "$a" == --phases ]] && phases=(); done
exec "$harness/run.sh" "${phases[@]}" "$@" ours node-net nginx-stream

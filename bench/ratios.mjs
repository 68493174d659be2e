// Benchmark tooling: Skiff's numbers as ratios against each peer, from the shared harness's
// results.tsv (one line per number: peer, rep, phase, key, value), and the issue's targets checked.
// Usage: node bench/ratios.mjs <results dir> [more dirs, pooled] [--ours NAME]
// Every number is a median over repetitions (and over the dirs given). Ratios are ours / peer:
// below 1 is better for CPU, RSS and latency; above 1 is better for req/s.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
let ours = 'ours';
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--ours') ours = args[++i] ?? ours;
  else dirs.push(args[i]);
}
if (dirs.length === 0) {
  console.error('usage: node bench/ratios.mjs <results dir> [...] [--ours NAME]');
  process.exit(2);
}

/** peer → phase → key → values */
const data = new Map();
const peers = [];
for (const dir of dirs) {
  const file = join(dir, 'results.tsv');
  if (!existsSync(file)) {
    console.error(`ratios: no ${file}`);
    process.exit(2);
  }
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [peer, , phase, key, value] = line.split('\t');
    if (peer === undefined || value === undefined) continue;
    const v = Number(value);
    if (!Number.isFinite(v)) continue;
    if (!peers.includes(peer)) peers.push(peer);
    if (!data.has(peer)) data.set(peer, new Map());
    const byPhase = data.get(peer);
    if (!byPhase.has(phase)) byPhase.set(phase, new Map());
    const byKey = byPhase.get(phase);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(v);
  }
}

function med(peer, phase, key) {
  const a = data.get(peer)?.get(phase)?.get(key);
  if (a === undefined || a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const ok = (v) => Number.isFinite(v);
const r2 = (a, b) => (ok(a) && ok(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—');
const f1 = (v) => (ok(v) ? v.toFixed(1) : '—');
const f0 = (v) => (ok(v) ? v.toFixed(0) : '—');
const kps = (v) => (ok(v) ? `${(v / 1000).toFixed(1)}k` : '—');
const added = (peer, key) => med(peer, 'lat', key) - med('direct', 'lat', key);

if (!data.has(ours)) {
  console.error(`ratios: no results for "${ours}" in ${dirs.join(', ')} (did it fail to start? see the harness log)`);
  process.exit(1);
}

const out = [];
const o = {
  rps: med(ours, 'h1', 'rps'),
  cpu: med(ours, 'h1', 'cpu_us_per_req'),
  cpu4k: med(ours, '4k', 'cpu_us_per_req'),
  a50: added(ours, 'p50_us'),
  a99: added(ours, 'p99_us'),
  idle: med(ours, 'idle', 'bytes_per_conn'),
  rss: med(ours, 'mem', 'peak_rss_kb'),
};
out.push(`Skiff ("${ours}"): h1 ${kps(o.rps)} req/s, ${f1(o.cpu)} µs CPU/req (4 KiB: ${f1(o.cpu4k)}), ` +
  `added latency p50/p99 ${f0(o.a50)}/${f0(o.a99)} µs, idle ${f0(o.idle)} B/conn, peak RSS ${f1(o.rss / 1024)} MiB`);
out.push('');
out.push('Ratios Skiff / peer (CPU, latency, memory: lower is better for Skiff; req/s: higher is better):');
out.push('');
const h2rps = med(ours, 'h2', 'rps');
const h2cpu = med(ours, 'h2', 'cpu_us_per_req');
if (Number.isFinite(h2rps)) out.push(`HTTP/2 (h2load -c50 -m10, h2c → HTTP/1.1): ${kps(h2rps)} req/s, ${f1(h2cpu)} µs CPU/req`, '');
const head = ['peer', 'h1 req/s', 'CPU µs/req (h1)', '4 KiB req/s', 'CPU µs/req (4 KiB)', 'added p50', 'added p99', 'idle B/conn', 'peak RSS', 'h2 req/s', 'CPU µs/req (h2)'];
out.push(`| ${head.join(' | ')} |`);
out.push(`|${head.map(() => '---').join('|')}|`);
for (const p of peers) {
  if (p === ours) continue;
  const isDirect = p === 'direct';
  out.push(`| ${[
    p,
    r2(o.rps, med(p, 'h1', 'rps')),
    isDirect ? '—' : r2(o.cpu, med(p, 'h1', 'cpu_us_per_req')),
    r2(med(ours, '4k', 'rps'), med(p, '4k', 'rps')),
    isDirect ? '—' : r2(o.cpu4k, med(p, '4k', 'cpu_us_per_req')),
    isDirect ? '(base)' : r2(o.a50, added(p, 'p50_us')),
    isDirect ? '(base)' : r2(o.a99, added(p, 'p99_us')),
    r2(o.idle, med(p, 'idle', 'bytes_per_conn')),
    isDirect ? '—' : r2(o.rss, med(p, 'mem', 'peak_rss_kb')),
    r2(h2rps, med(p, 'h2', 'rps')),
    isDirect ? '—' : r2(h2cpu, med(p, 'h2', 'cpu_us_per_req')),
  ].join(' | ')} |`);
}

// The peers' kinds, from the harness's env.txt ("  ours [l7] …").
const env = existsSync(join(dirs[0], 'env.txt')) ? readFileSync(join(dirs[0], 'env.txt'), 'utf8') : '';
const oursKind = new RegExp(`^ {2}${ours} \\[(\\w+)\\]`, 'm').exec(env)?.[1] ?? 'l7';
const tcpAdded = (peer) => med(peer, 'tcp', 'p50_us') - med('direct', 'tcp', 'p50_us');
if (ok(tcpAdded(ours))) {
  out.push('');
  out.push(`TCP echo (L4) added p50: Skiff ${f0(tcpAdded(ours))} µs; ` +
    peers.filter((p) => p !== ours && p !== 'direct' && ok(tcpAdded(p))).map((p) => `${p} ${f0(tcpAdded(p))} µs (${r2(tcpAdded(ours), tcpAdded(p))})`).join(', '));
}

// The issue's performance targets (issue 3, for the L7 proxy), where the peers they name were measured.
const targets = [];
const check = (label, value, limit, unit) => {
  if (!ok(value) || !ok(limit)) return;
  targets.push(`| ${label} | ${f1(value)} ${unit} | ≤ ${f1(limit)} ${unit} | ${value <= limit ? 'met' : 'MISSED'} |`);
};
for (const [phase, name] of [['h1', '5 B'], ['4k', '4 KiB']]) {
  const mine = med(ours, phase, 'cpu_us_per_req');
  check(`CPU/req ${name} ≤ 1.5× nginx`, mine, 1.5 * med('nginx', phase, 'cpu_us_per_req'), 'µs');
  check(`CPU/req ${name} ≤ 0.4× http-proxy`, mine, 0.4 * med('http-proxy', phase, 'cpu_us_per_req'), 'µs');
}
check('added p50 ≤ nginx + 50 µs', o.a50, added('nginx', 'p50_us') + 50, 'µs');
check('added p99 ≤ 2× nginx', o.a99, 2 * added('nginx', 'p99_us'), 'µs');
check('idle conn ≤ 4 KiB', o.idle, 4096, 'B');
if (oursKind !== 'l7') {
  out.push('');
  out.push(`(Skiff ran as ${oursKind}: the issue's targets are for the HTTP/1.1 L7 proxy, not checked here.)`);
} else if (targets.length > 0) {
  out.push('');
  out.push('| target (issue 3) | Skiff | limit | |');
  out.push('|---|---|---|---|');
  out.push(...targets);
}
// Other load on the machine during the run makes every number suspect (the harness measures it).
const noisy = peers.filter((p) => med(p, 'h1', 'other_cpu_pct') > 20);
if (noisy.length > 0) {
  out.push('');
  out.push(`WARNING: something outside the harness used > 20 % of a core during h1 (${noisy.map((p) => `${p} ${f0(med(p, 'h1', 'other_cpu_pct'))} %`).join(', ')}): ` +
    'rerun on a quiet machine before quoting these numbers.');
}
console.log(out.join('\n'));

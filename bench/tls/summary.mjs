// Summary of a bench/tls/run.sh run: medians over reps from results.tsv (target rep phase key value),
// Skiff and nginx side by side with Skiff/nginx ratios. Usage: node bench/tls/summary.mjs <out dir> [CLK_TCK]
import { existsSync, readFileSync } from 'node:fs';

const out = process.argv[2];
if (out === undefined) {
  console.error('usage: node bench/tls/summary.mjs <results dir>');
  process.exit(2);
}
const rows = readFileSync(`${out}/results.tsv`, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
const env = existsSync(`${out}/env.txt`) ? readFileSync(`${out}/env.txt`, 'utf8').trim() : '';
const hz = Number(process.argv[3] ?? 100); // CLK_TCK
const vals = (t, ph, k) => rows.filter((r) => r[0] === t && r[2] === ph && r[3] === k).map((r) => Number(r[4])).filter(Number.isFinite);
const med = (a) => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const M = (t, ph, k) => med(vals(t, ph, k));
const f = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const range = (t, ph, k, d = 0) => {
  const a = vals(t, ph, k);
  return a.length > 1 ? ` [${f(Math.min(...a), d)}–${f(Math.max(...a), d)}]` : '';
};
const ratio = (ph, k) => M('skiff', ph, k) / M('nginx', ph, k);
const cores = (t, ph) => [...new Set(rows.filter((r) => r[0] === t && r[2] === ph && r[3].endsWith('_busy_pct')).map((r) => r[3]))]
  .map((k) => `${k.replace('_busy_pct', '')} ${f(M(t, ph, k))}`).join(', ');
const failed = (t, ph) => vals(t, ph, 'failed').length;

const L = ['# Skiff TLS termination benchmark: Skiff vs nginx', '', '```', env, '```', ''];
const table = [];
table.push('| phase | metric | Skiff | nginx | Skiff/nginx |', '|---|---|--:|--:|--:|');
const row = (ph, label, k, d, better) => {
  if (!vals('skiff', ph, k).length && !vals('nginx', ph, k).length) return;
  table.push(`| ${ph} | ${label} | ${f(M('skiff', ph, k), d)}${range('skiff', ph, k, d)} | ${f(M('nginx', ph, k), d)}${range('nginx', ph, k, d)} | ${f(ratio(ph, k), 2)}× ${better} |`);
};
row('tput', 'req/s (keep-alive HTTPS)', 'rps', 0, '(higher is better)');
row('tput', 'proxy CPU µs/request', 'cpu_us_per_req', 2, '(lower is better)');
row('tput', 'p50 latency µs', 'p50_us', 0, '');
row('tput', 'p99 latency µs', 'p99_us', 0, '');
row('hs', 'full handshakes/s (TLS 1.3, no resumption)', 'hs_per_s', 0, '(higher is better)');
row('hs', 'proxy CPU µs/handshake', 'cpu_us_per_hs', 1, '(lower is better)');
row('reuse', 'resumed handshakes/s (TLS 1.2 tickets)', 'hs_per_s', 0, '(higher is better)');
row('reuse', 'proxy CPU µs/resumed handshake', 'cpu_us_per_hs', 1, '(lower is better)');
row('reuse', '% of connections resumed', 'resumed_pct', 1, '');
L.push('## Results (medians over reps [min–max])', '', ...table, '');

L.push('## Machine state per phase (medians)', '', '| phase | target | core busy % | proxy CPU % of one core | load+origin CPU % of one core | other CPU % (worst rep) | errors / failed runs |', '|---|---|---|--:|--:|--:|--:|');
for (const ph of ['tput', 'hs', 'reuse']) {
  for (const t of ['skiff', 'nginx']) {
    if (!rows.some((r) => r[0] === t && r[2] === ph)) continue;
    const wall = M(t, ph, 'wall_s');
    const pct = (k) => (100 * M(t, ph, k)) / hz / wall;
    const loadPct = (100 * (M(t, ph, 'load_ticks') + M(t, ph, 'origin_ticks'))) / hz / wall;
    const errs = vals(t, ph, 'errors').reduce((a, b) => a + b, 0);
    const other = vals(t, ph, 'other_cpu_pct');
    L.push(`| ${ph} | ${t} | ${cores(t, ph)} | ${f(pct('cpu_ticks'))} | ${f(loadPct)} | ${f(other.length ? Math.max(...other) : NaN, 1)} | ${f(errs)} / ${failed(t, ph)} |`);
  }
}
L.push('');
L.push('Proxy CPU is utime+stime of the proxy process(es) from /proc/<pid>/stat (nginx: master + its one worker) over the');
L.push('measured run, divided by the requests (wrk\'s total) or handshakes (s_time\'s connection count). A proxy below ~95 %');
L.push('of its core was not the bottleneck: then its req/s or handshakes/s measure the load core (wrk, s_time, origin),');
L.push('and the CPU-per-operation ratio is the comparison to quote. Other CPU % is busy time of the machine used by none of the');
L.push('processes of this benchmark, in % of one core: above a few %, other work shared the cores and the numbers are noisy.');
console.log(L.join('\n'));

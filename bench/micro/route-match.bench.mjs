// Micro-benchmark: route matching with 5,000 rules (issue 3 item 7). 500 virtual hosts by domain
// (450 exact, 50 `*.suffix`), 10 rules each: mostly prefix and path rules, 10% header rules, 5% regex
// rules (RE2 via re2js). Random (seeded) requests: random host (some with a port, some upper-case),
// a path aimed at a random rule of that host, 10% misses. Reports p50/p99 per match (µs) and ops/s.
// Usage: npm run build && node bench/micro/route-match.bench.mjs   (SKIFF_DIST=dist-e for another build dir)
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join, dirname } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = process.env.SKIFF_DIST ?? 'dist';
const { compileRouteTable } = await import(pathToFileURL(join(root, dist, 'src/router/route-table.js')).href);

const { seededRandom } = await import(pathToFileURL(join(root, dist, 'src/base/seeded-random.js')).href);
const rand = seededRandom(0x5eed);
const pick = (n) => Math.floor(rand() * n);

const HOSTS = 500, RULES = 10;
const action = (c) => ({ clusterName: c, clusterVariable: '', weightedClusters: [], upstreamProtocol: '', timeoutMs: 0, metadataMatch: {}, prefixRewrite: '', hostRewrite: '', autoHostRewrite: false, autoHostRewriteHeader: '', requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [], hashPolicy: [] });
const hostTargets = []; // per host: list of { path, headers } that hit each rule
const virtualHosts = [];
let regexRules = 0, headerRules = 0;
for (let h = 0; h < HOSTS; h++) {
  const wildcard = h >= 450;
  const domain = wildcard ? `*.w${h}.example.com` : `svc-${h}.example.com`;
  const routers = [];
  const targets = [];
  const headerAt = pick(RULES);
  const regexAt = h % 2 === 0 ? (headerAt + 1 + pick(RULES - 1)) % RULES : -1; // 5% of all rules
  for (let r = 0; r < RULES; r++) {
    const match = { headers: [], variables: [] };
    if (r === regexAt) {
      match.regex = `^/h${h}/r${r}/v[0-9]+/items/[a-z]+$`;
      targets.push({ path: `/h${h}/r${r}/v${pick(100)}/items/abc`, headers: {} });
      regexRules++;
    } else if (r === headerAt) {
      match.prefix = `/h${h}/r${r}/`;
      match.headers = [{ name: 'x-tenant', value: `t${h}`, regex: false }];
      targets.push({ path: `/h${h}/r${r}/x`, headers: { 'x-tenant': `t${h}` } });
      headerRules++;
    } else if (r % 2 === 0) {
      match.path = `/h${h}/r${r}/exact`;
      targets.push({ path: `/h${h}/r${r}/exact`, headers: {} });
    } else {
      match.prefix = `/h${h}/r${r}/`;
      targets.push({ path: `/h${h}/r${r}/some/longer/path`, headers: {} });
    }
    routers.push({ match, perFilterConfig: {}, mirrorPolicies: [], metadata: {}, route: action(`c${h}-${r}`) });
  }
  virtualHosts.push({ name: `vh${h}`, domains: [domain], routers, perFilterConfig: {}, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] });
  hostTargets.push({ host: wildcard ? `api.w${h}.example.com` : `svc-${h}.example.com`, targets });
}
const table = compileRouteTable({ name: 'bench', virtualHosts, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] });

// Pre-built requests (the codec would hand the router a view over its own parsed request).
const N = 8192;
const requests = [];
for (let i = 0; i < N; i++) {
  const ht = hostTargets[pick(HOSTS)];
  const t = ht.targets[pick(RULES)];
  const miss = rand() < 0.1;
  let host = ht.host;
  if (rand() < 0.3) host += ':8080';
  if (rand() < 0.1) host = host.toUpperCase();
  const headers = t.headers;
  requests.push({ host, path: miss ? `/nowhere/${i}` : t.path, method: 'GET', getHeader: (n) => headers[n], getVariable: () => undefined });
}

let sink = 0;
const matchAll = (rounds) => { for (let k = 0; k < rounds; k++) for (let i = 0; i < N; i++) if (table.match(requests[i]) !== undefined) sink++; };
matchAll(30); // warm up (JIT)
const hits = (() => { let h = 0; for (const r of requests) if (table.match(r)) h++; return h; })();

// Throughput.
const rounds = 100;
let t0 = process.hrtime.bigint();
matchAll(rounds);
const ns = Number(process.hrtime.bigint() - t0);
const opsPerSec = (rounds * N) / (ns / 1e9);

// Latency per match: each call timed alone; the timer's own cost is measured and subtracted.
const SAMPLES = 400_000;
const lat = new Float64Array(SAMPLES);
const empty = new Float64Array(SAMPLES);
for (let s = 0; s < SAMPLES; s++) { const a = process.hrtime.bigint(); const b = process.hrtime.bigint(); empty[s] = Number(b - a); }
for (let s = 0; s < SAMPLES; s++) {
  const r = requests[s & (N - 1)];
  const a = process.hrtime.bigint();
  if (table.match(r) !== undefined) sink++;
  lat[s] = Number(process.hrtime.bigint() - a);
}
const q = (arr, p) => { const c = Float64Array.from(arr).sort(); return c[Math.min(c.length - 1, Math.floor(p * c.length))]; };
const overhead = q(empty, 0.5);
const us = (x) => (x / 1000).toFixed(3);
console.log(`route table: ${HOSTS} virtual hosts, ${HOSTS * RULES} rules (${headerRules} header, ${regexRules} regex); ${N} requests, ${((hits / N) * 100).toFixed(1)}% matched`);
console.log(`throughput: ${(opsPerSec / 1e6).toFixed(2)} M matches/s (${(ns / (rounds * N)).toFixed(0)} ns/match mean)`);
console.log(`per match (timer overhead ${overhead} ns subtracted): p50 ${us(q(lat, 0.5) - overhead)} µs, p90 ${us(q(lat, 0.9) - overhead)} µs, p99 ${us(q(lat, 0.99) - overhead)} µs, p99.9 ${us(q(lat, 0.999) - overhead)} µs (raw p99 ${us(q(lat, 0.99))} µs)`);
if (sink < 0) console.log(sink);

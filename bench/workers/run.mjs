#!/usr/bin/env node
// Worker processes benchmark (issue 7 point 1): Skiff with 1 and with 2 workers (`--workers N`),
// wrk against a direct_response route and an upstream route (a Node HTTP/1.1 origin in this
// process), keep-alive. Prints req/s and Skiff's CPU per request (utime+stime of the controller and
// every worker, from /proc, ÷ requests), and the 2w/1w ratios.
//
//   node bench/workers/run.mjs [--seconds 10] [--connections 64] [--reps 2]   (SKIFF_BUILD=dist; needs wrk)
//
// Nothing is pinned: Skiff's workers, wrk and the origin share the machine's cores. On a 2-core
// machine the load generator (and, on the upstream route, the origin) take one core's worth, so
// 2 workers cannot show 2× throughput here; CPU per request shows what the extra process costs.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '64' }, reps: { type: 'string', default: '2' } } });
const SECONDS = Number(opt.seconds);
const CONNS = Number(opt.connections);
const REPS = Number(opt.reps);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const build = path.resolve(repo, process.env.SKIFF_BUILD ?? 'dist');
const CLK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const log = (m) => process.stderr.write(`[workers-bench] ${m}\n`);
const cpuSeconds = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK;
  } catch {
    return 0;
  }
};
const children = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

// The origin: `hello`, keep-alive (this process; its CPU is not counted).
const origin = http.createServer({ keepAliveTimeout: 300_000 }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
  res.end('hello');
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
const originPort = origin.address().port;

const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-workers-bench-'));
writeFileSync(path.join(dir, 'c.json'), JSON.stringify({
  servers: [{
    default_log_path: 'stderr',
    default_log_level: 'INFO',
    graceful_timeout: '2s',
    routers: [{
      router_config_name: 'bench',
      virtual_hosts: [{ name: 'all', domains: ['*'], routers: [
        { match: { prefix: '/direct' }, direct_response: { status: 200, body: 'hello' } },
        { match: { prefix: '/' }, route: { cluster_name: 'origin' } },
      ] }],
    }],
    listeners: [{
      name: 'bench', address: '127.0.0.1:0', bind_port: true, connection_idle_timeout: '300s',
      filter_chains: [{ filters: [{ type: 'proxy', config: { downstream_protocol: 'Http1', router_config_name: 'bench' } }] }],
    }],
  }],
  cluster_manager: { clusters: [{ name: 'origin', type: 'SIMPLE', lb_type: 'LB_ROUNDROBIN', connect_timeout: '1s', idle_timeout: '300s', hosts: [{ address: `127.0.0.1:${originPort}` }] }] },
}));

async function startSkiff(workers) {
  const child = spawn(process.execPath, ['--max-semi-space-size=4', path.join(build, 'src/main.js'), 'start', '-c', path.join(dir, 'c.json'), '--workers', String(workers)], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Never leave a Skiff behind if this script dies (its workers follow their controller).
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  child.on('exit', () => process.off('exit', killOnExit));
  let err = '';
  const port = await new Promise((resolve, reject) => {
    let found;
    child.stderr.on('data', (d) => {
      err += d.toString();
      for (const line of err.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const l = JSON.parse(line);
          if (l.msg === 'listener bound' && found === undefined) found = Number(String(l.address).split(':').pop());
          if (l.msg === 'skiff is running' && (workers === 1 || l.role === 'controller')) resolve(found);
        } catch { /* partial line */ }
      }
      if (err.length > 1e6) err = err.slice(-1e5);
    });
    child.on('exit', (code) => reject(new Error(`skiff exited (${code}): ${err.slice(-2000)}`)));
  });
  return { child, port };
}

// wrk runs as a child process so this event loop (the origin) stays free.
function wrkAsync(port, urlPath) {
  return new Promise((resolve, reject) => {
    const c = spawn('wrk', ['-t2', `-c${CONNS}`, `-d${SECONDS}s`, `http://127.0.0.1:${port}${urlPath}`]);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('exit', () => resolve({
      requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
      errors: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
      sockErr: /Socket errors: (.*)/.exec(out)?.[1],
    }));
  });
}

async function measureAsync(workers, urlPath) {
  const { child, port } = await startSkiff(workers);
  try {
    const pids = () => [child.pid, ...children(child.pid)];
    await wrkAsync(port, urlPath); // warm-up (JIT, upstream pool), not counted
    const results = [];
    for (let rep = 0; rep < REPS; rep++) {
      const before = new Map(pids().map((p) => [p, cpuSeconds(p)]));
      const t0 = process.hrtime.bigint();
      const r = await wrkAsync(port, urlPath);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      let cpu = 0;
      for (const p of pids()) cpu += cpuSeconds(p) - (before.get(p) ?? 0);
      results.push({ rps: r.requests / secs, cpuUsPerReq: (cpu * 1e6) / r.requests, cpuPct: (cpu / secs) * 100, errors: r.errors, sockErr: r.sockErr, procs: pids().length });
    }
    return results;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const [route, urlPath] of [['direct_response', '/direct'], ['upstream', '/hello']]) {
  const by = {};
  for (const workers of [1, 2]) {
    log(`${route}, ${workers} worker(s): ${REPS} × ${SECONDS}s, wrk -c${CONNS}`);
    const rs = await measureAsync(workers, urlPath);
    by[workers] = { rps: median(rs.map((r) => r.rps)), cpu: median(rs.map((r) => r.cpuUsPerReq)), cpuPct: median(rs.map((r) => r.cpuPct)), errors: rs.reduce((s, r) => s + r.errors, 0), sockErr: rs.map((r) => r.sockErr).filter(Boolean).join('; '), procs: rs[0]?.procs };
  }
  rows.push({ route, by });
}

console.log(`\nSkiff workers bench: wrk -t2 -c${CONNS} ${SECONDS}s × ${REPS} (median), ${os.availableParallelism()} cores, nothing pinned\n`);
console.log('| route | workers | processes | req/s | Skiff CPU µs/req | Skiff CPU % | non-2xx |');
console.log('|---|---|---|---|---|---|---|');
for (const { route, by } of rows) {
  for (const w of [1, 2]) {
    const b = by[w];
    console.log(`| ${route} | ${w} | ${b.procs} | ${Math.round(b.rps)} | ${b.cpu.toFixed(1)} | ${Math.round(b.cpuPct)} | ${b.errors}${b.sockErr ? ` (${b.sockErr})` : ''} |`);
  }
}
console.log('\n| route | req/s 2w/1w | CPU µs/req 2w/1w |');
console.log('|---|---|---|');
for (const { route, by } of rows) console.log(`| ${route} | ${(by[2].rps / by[1].rps).toFixed(2)} | ${(by[2].cpu / by[1].cpu).toFixed(2)} |`);
origin.close();
origin.closeAllConnections();
process.exit(0);

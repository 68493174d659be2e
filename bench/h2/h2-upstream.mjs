#!/usr/bin/env node
// HTTP/2 upstream benchmark (issue 5 performance report): h2c → h2c and gRPC unary through Skiff, each
// beside the direct path in one run. Skiff is pinned to core 0, the upstream and the load to core 1.
//
//   node bench/h2/h2-upstream.mjs [--seconds 8]        (SKIFF_BUILD=dist by default; needs h2load)
//
// h2c → h2c: h2load -c50 -m10 against a Node http2 origin ("hello"), direct and via Skiff.
// gRPC unary: a @grpc/grpc-js client keeping 200 unary calls in flight against a grpc-js server.
// Skiff's CPU per request = utime+stime delta of its pid (/proc) / requests answered. Prints a table.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import grpc from '@grpc/grpc-js';

const { values: opt } = parseArgs({ options: { seconds: { type: 'string', default: '8' } } });
const SECONDS = Number(opt.seconds);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const build = path.resolve(repo, process.env.SKIFF_BUILD ?? 'dist');
const CLK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const log = (m) => process.stderr.write(`[h2-bench] ${m}\n`);
const cpuSeconds = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / CLK; };
const freePort = () => new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
try { os.setPriority(0); } catch { /* ignore */ }
execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });

// Upstreams (this process, core 1).
const origin = http2.createServer();
origin.on('stream', (s) => { s.respond({ ':status': 200, 'content-type': 'text/plain' }); s.end('hello'); });
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
const id = (b) => b;
const def = { unary: { path: '/b.S/Unary', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } };
const gserver = new grpc.Server();
gserver.addService(def, { unary: (call, cb) => cb(null, call.request) });
const gport = await new Promise((r, j) => gserver.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));

// Skiff (core 0).
const port = await freePort();
const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-h2b-'));
const cfg = {
  servers: [{ default_log_path: 'stderr', default_log_level: 'ERROR',
    routers: [{ router_config_name: 'r', virtual_hosts: [{ name: 'a', domains: ['*'], routers: [
      { match: { prefix: '/b.S/' }, route: { cluster_name: 'grpc', upstream_protocol: 'Http2' } },
      { match: { prefix: '/' }, route: { cluster_name: 'h2', upstream_protocol: 'Http2' } },
    ] }] }],
    listeners: [{ name: 'h2', address: `127.0.0.1:${port}`, bind_port: true,
      filter_chains: [{ filters: [{ type: 'proxy', config: { downstream_protocol: 'Http2', router_config_name: 'r' } }] }] }] }],
  cluster_manager: { clusters: [
    { name: 'h2', type: 'SIMPLE', lb_type: 'LB_ROUNDROBIN', hosts: [{ address: `127.0.0.1:${origin.address().port}` }] },
    { name: 'grpc', type: 'SIMPLE', lb_type: 'LB_ROUNDROBIN', hosts: [{ address: `127.0.0.1:${gport}` }] },
  ] },
};
writeFileSync(path.join(dir, 'c.json'), JSON.stringify(cfg));
const skiff = spawn('taskset', ['-c', '0', process.execPath, '--max-semi-space-size=4', path.join(build, 'src/main.js'), 'start', '-c', path.join(dir, 'c.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
process.on('exit', () => skiff.kill('SIGKILL'));
await new Promise((r) => setTimeout(r, 1500));
// taskset execs node in place: the spawned pid is Skiff's.
const skiffPid = skiff.pid;

// Asynchronous: the origin lives in this process and must keep serving while h2load runs.
async function h2load(target) {
  const out = await new Promise((resolve, reject) => execFile('taskset', ['-c', '1', 'h2load', '-t1', '-c50', '-m10', '-D', String(SECONDS), target], { maxBuffer: 1 << 24 }, (e, so) => (e ? reject(e) : resolve(so))));
  const rps = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(out)?.[1] ?? 0);
  return { rps, done };
}

async function grpcLoad(target) {
  const Client = grpc.makeGenericClientConstructor(def, 'S');
  const c = new Client(target, grpc.credentials.createInsecure());
  const payload = Buffer.alloc(64, 1);
  let done = 0;
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: 200 }, async () => {
    while (Date.now() < until) {
      await new Promise((r) => c.unary(payload, (e) => { if (!e) done++; r(); }));
    }
  }));
  c.close();
  return { rps: done / SECONDS, done };
}

const rows = [];
log('h2c → h2c direct');
const d1 = await h2load(`http://127.0.0.1:${origin.address().port}/`);
log('h2c → h2c via Skiff');
let c0 = cpuSeconds(skiffPid);
const s1 = await h2load(`http://127.0.0.1:${port}/`);
let cpu = cpuSeconds(skiffPid) - c0;
rows.push(['h2c → h2c (h2load -c50 -m10)', d1.rps, s1.rps, (cpu * 1e6) / Math.max(1, s1.done)]);
log('gRPC unary direct');
const d2 = await grpcLoad(`127.0.0.1:${gport}`);
log('gRPC unary via Skiff');
c0 = cpuSeconds(skiffPid);
const s2 = await grpcLoad(`127.0.0.1:${port}`);
cpu = cpuSeconds(skiffPid) - c0;
rows.push(['gRPC unary (grpc-js, 200 in flight)', d2.rps, s2.rps, (cpu * 1e6) / Math.max(1, s2.done)]);

console.log('| case | direct req/s | Skiff req/s | Skiff / direct | Skiff CPU µs/req |');
console.log('|---|--:|--:|--:|--:|');
for (const [name, d, s, c] of rows) console.log(`| ${name} | ${Math.round(d)} | ${Math.round(s)} | ${(s / d).toFixed(2)}× | ${c.toFixed(1)} |`);
skiff.kill('SIGKILL');
gserver.forceShutdown();
origin.close();
process.exit(0);

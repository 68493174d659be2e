// Micro-benchmark: Skiff's Http1Parser against a naive string/regex parser (the npm `llhttp` package is
// the llparse C generator, not a runnable parser, and Node's own HTTPParser binding is internal), on
// pipelined streams split at random (seeded) points. Reports messages/s and heap bytes allocated per message.
// Usage: npm run build && node bench/micro/http1-parse.bench.mjs   (re-runs itself with --expose-gc)
//        SKIFF_DIST=dist-d node bench/micro/http1-parse.bench.mjs   (another build output dir)
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join, dirname } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';

if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = process.env.SKIFF_DIST ?? 'dist';
const { seededRandom: rng } = await import(pathToFileURL(join(root, dist, 'src/base/seeded-random.js')).href);
const { Http1Parser } = await import(pathToFileURL(join(root, dist, 'src/protocol/http1/http1-parser.js')).href);

// ── workloads ──
const get5 = 'GET /api/v1/items?id=42 HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: skiff-bench/1.0\r\n'
  + 'Accept: application/json\r\nAccept-Encoding: gzip\r\nX-Request-Id: 0f8fad5b-d9cb-469f-a165-70867728950e\r\n\r\n';
const h20 = 'GET /static/app.js HTTP/1.1\r\nHost: bench.example\r\n'
  + Array.from({ length: 19 }, (_, i) => `X-Header-${i}: value-${i}-${'v'.repeat(20)}\r\n`).join('') + '\r\n';
const chunkBody = 'x'.repeat(1024);
const chunked = 'POST /upload HTTP/1.1\r\nHost: bench.example\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n'
  + `400\r\n${chunkBody}\r\n400;ext=1\r\n${chunkBody}\r\n10\r\n${'y'.repeat(16)}\r\n0\r\nX-Checksum: abc\r\n\r\n`;
const MESSAGES = 200;

function chunksOf(msg) {
  const buf = Buffer.from(msg.repeat(MESSAGES), 'latin1');
  const r = rng(7), out = [];
  for (let p = 0; p < buf.length;) { const n = 1 + Math.floor(r() * 1460); out.push(buf.subarray(p, p + n)); p += n; }
  return out;
}

// ── Skiff parser ──
let done = 0, bodyBytes = 0;
const cb = {
  onMessageBegin() {}, onHeaders(h) { if (h.headers.length === 0) done--; }, onBody(b) { bodyBytes += b.length; },
  onTrailers() {}, onMessageComplete() { done++; },
};
function runSkiff(chunks) {
  const p = new Http1Parser('request', cb);
  for (const c of chunks) if (p.execute(c) !== 0) throw new Error(`skiff parser: ${JSON.stringify(p.error)}`);
}

// ── naive parser: string accumulation, indexOf, split, regex (what a quick hand-rolled parser does) ──
const REQ_LINE = /^([A-Z]+) (\S+) HTTP\/(1\.[01])$/;
function runNaive(chunks) {
  let buf = '', state = 0, remaining = 0, headers = null;
  for (const c of chunks) {
    buf += c.toString('latin1');
    for (;;) {
      if (state === 0) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const lines = buf.slice(0, end).split('\r\n');
        buf = buf.slice(end + 4);
        const m = REQ_LINE.exec(lines[0]);
        if (m === null) throw new Error('naive: bad request line');
        headers = {};
        for (let i = 1; i < lines.length; i++) {
          const k = lines[i].indexOf(':');
          headers[lines[i].slice(0, k).trim().toLowerCase()] = lines[i].slice(k + 1).trim();
        }
        if (headers['transfer-encoding'] === 'chunked') state = 2;
        else if (headers['content-length'] !== undefined) { remaining = Number(headers['content-length']); state = remaining > 0 ? 1 : 0; if (state === 0) done++; }
        else done++;
      } else if (state === 1) {
        const take = Math.min(remaining, buf.length);
        bodyBytes += take; buf = buf.slice(take); remaining -= take;
        if (remaining > 0) break;
        state = 0; done++;
      } else if (state === 2) {
        const e = buf.indexOf('\r\n');
        if (e < 0) break;
        const size = parseInt(buf.slice(0, e).split(';')[0], 16);
        if (size === 0) {
          const t = buf.indexOf('\r\n\r\n', e);
          if (t < 0 && buf.slice(e, e + 4) !== '\r\n\r\n') break;
          buf = buf.slice((t < 0 ? e : t) + 4); state = 0; done++;
          continue;
        }
        if (buf.length < e + 2 + size + 2) break;
        bodyBytes += size; buf = buf.slice(e + 2 + size + 2);
      }
    }
  }
}

const newSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_used_size;

function measure(fn, chunks) {
  for (let i = 0; i < 30; i++) fn(chunks); // warm up
  // ops/s
  const t0 = process.hrtime.bigint();
  let iters = 0;
  done = 0;
  while (process.hrtime.bigint() - t0 < 1_000_000_000n) { fn(chunks); iters++; }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (done !== iters * MESSAGES) throw new Error(`parsed ${done}, expected ${iters * MESSAGES}`);
  // allocation: heap growth over a few iterations with no GC in between (large semi-space)
  // (new space is fixed at 256 MiB, so a batch well under that runs without a scavenge; a drop in
  // new-space use would reveal one, and the figure is then reported as NaN)
  globalThis.gc(); globalThis.gc();
  const h0 = newSpaceUsed(), m0 = process.memoryUsage().heapUsed;
  const n = 20;
  for (let i = 0; i < n; i++) fn(chunks);
  const h1 = newSpaceUsed(), m1 = process.memoryUsage().heapUsed;
  const alloc = h1 >= h0 ? Math.round((m1 - m0) / (n * MESSAGES)) : NaN;
  return { opsPerSec: Math.round((iters * MESSAGES) / secs), bytesPerMsg: alloc };
}

const rows = [];
for (const [name, msg] of [['GET, 5 headers', get5], ['GET, 20 headers', h20], ['chunked POST 2 KiB', chunked]]) {
  const chunks = chunksOf(msg);
  const skiff = measure(runSkiff, chunks);
  const naive = measure(runNaive, chunks);
  rows.push({ workload: name, 'skiff msg/s': skiff.opsPerSec, 'naive msg/s': naive.opsPerSec, 'ratio': +(skiff.opsPerSec / naive.opsPerSec).toFixed(2),
    'skiff B/msg': skiff.bytesPerMsg, 'naive B/msg': naive.bytesPerMsg });
}
console.log(`node ${process.version}, ${MESSAGES} pipelined messages per stream, random splits 1..1460 bytes (seeded)`);
console.table(rows);

#!/usr/bin/env node
// Bolt load generator for bench/bolt/run.sh. Frames with Skiff's own compiled codec (encodeBolt for the
// request template, decodeBolt for responses; $SKIFF_BUILD, default dist/), so no second encoder exists.
//
//   closed loop (throughput): N connections, M requests in flight on each; every response sends the next.
//     node bench/bolt/load.mjs --port P [--connections 8] [--inflight 100] [--duration 10] [--warmup 2]
//   open loop (latency): a fixed total rate spread round-robin over the connections, whatever comes back.
//     node bench/bolt/load.mjs --port P --rate 1000 --connections 1 [--duration 10]
//   idle: open N connections in batches, one heartbeat on each (answered = established at L7), print
//     "READY ok=… failed=…" on stdout, then hold them until --hold seconds pass or SIGTERM/SIGINT.
//     node bench/bolt/load.mjs --port P --idle 10000 [--batch 500] [--hold 600]
//
// Requests: Bolt v1 (or --bolt-version 2, no CRC) RPC requests, class SofaRequest, a header map with
// `service` (--service), content of --size bytes (default 64). Each connection numbers its requests
// 1, 2, 3 …; a response is matched to what was sent on its connection by id (a table of in-flight ids),
// and checked: type response, status 0, content length as sent. Latency runs from the write of the
// request to the decode of its response, in the generator's event loop (a sorted sample array, µs).
//
// Result on stdout, one line:
//   RESULT rps=… requests=… total=… sent=… p50_us=… p90_us=… p99_us=… p999_us=… max_us=… mean_us=…
//          errors=… status_errors=… unmatched=… content_errors=… lost=… unanswered=… conn_errors=… secs=… cpu_us=…
// `requests` are the responses inside the measured window (after --warmup), `rps` = requests / secs;
// `total` counts every good response including the warm-up and the drain (what the proxy served: the
// divisor for its CPU time). `errors` is the sum of the error columns. `cpu_us` is the generator's own CPU
// time over its whole life. Progress goes to stderr.
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const build = path.resolve(repo, process.env.SKIFF_BUILD ?? 'dist');
const { decodeBolt, encodeBolt, BoltType, BoltCmdCode, BoltCodec } = await import(pathToFileURL(path.join(build, 'src/extensions/codecs/bolt/bolt.js')).href);
const { XFrameKind } = await import(pathToFileURL(path.join(build, 'src/api/xprotocol.js')).href);

const { values: opt } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    connections: { type: 'string', default: '8' },
    inflight: { type: 'string', default: '100' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    drain: { type: 'string', default: '3' },
    rate: { type: 'string', default: '0' },
    size: { type: 'string', default: '64' },
    service: { type: 'string', default: 'com.skiff.bench.EchoService:1.0' },
    'class': { type: 'string', default: 'com.alipay.sofa.rpc.core.request.SofaRequest' },
    'bolt-version': { type: 'string', default: '1' },
    'timeout-ms': { type: 'string', default: '5000' },
    idle: { type: 'string', default: '0' },
    batch: { type: 'string', default: '500' },
    hold: { type: 'string', default: '600' },
    label: { type: 'string', default: 'load' },
  },
});
if (opt.port === undefined) fail('--port is required');
const PORT = Number(opt.port);
const HOST = opt.host;
const LABEL = opt.label;
const LIMITS = { maxFrameBytes: 16 * 1024 * 1024 };

function fail(msg) {
  process.stderr.write(`load: ${msg}\n`);
  process.exit(2);
}
function progress(msg) {
  process.stderr.write(`[${LABEL}] ${msg}\n`);
}

if (Number(opt.idle) > 0) await idle(Number(opt.idle), Number(opt.batch), Number(opt.hold));
else await run();

// ------------------------------------------------------------------------------------------ load

async function run() {
  const conns = Number(opt.connections);
  const inflight = Number(opt.inflight);
  const rate = Number(opt.rate);
  const durationMs = Number(opt.duration) * 1000;
  const warmupMs = Number(opt.warmup) * 1000;
  const drainMs = Number(opt.drain) * 1000;
  const size = Number(opt.size);
  const version = Number(opt['bolt-version']) === 2 ? 2 : 1;
  if (!(conns > 0) || !(durationMs > 0) || (rate <= 0 && !(inflight > 0))) fail('bad --connections/--inflight/--duration');

  const content = Buffer.alloc(size, 0x61);
  const template = encodeBolt({
    version, type: BoltType.Request, cmdCode: BoltCmdCode.Request, requestId: 0, timeoutMs: Number(opt['timeout-ms']),
    className: opt.class, headers: { service: opt.service }, content,
  });
  const T = template.length;
  const ID_AT = version === 1 ? 5 : 6;
  /** Response content length field: v1 response header is 20 bytes, v2 22; the u32 length ends it. */
  const RESP_CONTENT_LEN_AT = version === 1 ? 16 : 18;
  const SLOTS = 1 << 16;
  const MASK = SLOTS - 1;

  const st = {
    measuring: false, running: true,
    requests: 0, total: 0, sent: 0,
    statusErrors: 0, unmatched: 0, contentErrors: 0, lost: 0, connErrors: 0,
  };
  let samples = new Float64Array(rate > 0 ? Math.ceil(rate * durationMs / 1000) + 1024 : 1 << 20);
  let nSamples = 0;
  const record = (us) => {
    if (nSamples === samples.length) {
      const bigger = new Float64Array(samples.length * 2);
      bigger.set(samples);
      samples = bigger;
    }
    samples[nSamples++] = us;
  };

  class Conn {
    constructor(socket) {
      this.socket = socket;
      this.rest = null;
      this.nextId = 1;
      this.inflight = 0;
      this.alive = true;
      this.sendAt = new Float64Array(SLOTS);
      this.slotId = new Float64Array(SLOTS).fill(-1);
    }
    send(n) {
      if (n <= 0 || !this.alive) return;
      const buf = Buffer.allocUnsafe(n * T);
      buf.fill(template);
      const now = performance.now();
      for (let i = 0, p = 0; i < n; i++, p += T) {
        const id = this.nextId;
        this.nextId = id === 0xffffffff ? 1 : id + 1;
        const slot = id & MASK;
        if (this.slotId[slot] !== -1) { st.lost++; this.inflight--; } // outstanding for 65,536 later ids
        this.slotId[slot] = id;
        this.sendAt[slot] = now;
        buf.writeUInt32BE(id, p + ID_AT);
      }
      this.inflight += n;
      st.sent += n;
      this.socket.write(buf);
    }
    onData(chunk) {
      let buf = chunk;
      if (this.rest !== null) { buf = Buffer.concat([this.rest, chunk]); this.rest = null; }
      let off = 0;
      let done = 0;
      const now = performance.now();
      while (off < buf.length) {
        const r = decodeBolt(buf, off, LIMITS);
        if (r.kind === 1) break;
        if (r.kind === 2) { progress(`malformed response: ${r.reason}`); st.connErrors++; this.close(); return; }
        off += r.consumed;
        const f = r.frame;
        if (r.kind === 3 || f.kind !== XFrameKind.Response) { st.unmatched++; continue; }
        const id = f.requestId;
        const slot = id & MASK;
        if (this.slotId[slot] !== id) { st.unmatched++; continue; }
        this.slotId[slot] = -1;
        this.inflight--;
        done++;
        if (f.status !== 0) st.statusErrors++;
        else if (f.bytes.readUInt32BE(RESP_CONTENT_LEN_AT) !== size) st.contentErrors++;
        else {
          st.total++;
          if (st.measuring) {
            st.requests++;
            record((now - this.sendAt[slot]) * 1000);
          }
        }
      }
      if (off < buf.length) this.rest = Buffer.from(buf.subarray(off));
      if (rate <= 0 && st.running) this.send(done);
    }
    close() {
      if (!this.alive) return;
      this.alive = false;
      this.socket.destroy();
    }
  }

  const list = await Promise.all(Array.from({ length: conns }, () => new Promise((resolve, reject) => {
    const s = net.connect(PORT, HOST);
    s.setNoDelay(true);
    s.once('connect', () => {
      const c = new Conn(s);
      s.on('data', (d) => c.onData(d));
      s.on('close', () => {
        if (c.alive && st.running) { st.connErrors++; progress('connection closed by the server during the run'); }
        c.alive = false;
      });
      resolve(c);
    });
    s.on('error', (e) => {
      if (s.connecting) reject(e);
      else progress(`socket error: ${e.message}`);
    });
  }))).catch((e) => fail(`cannot connect to ${HOST}:${PORT}: ${e.message}`));

  const t0 = performance.now();
  let timer = null;
  if (rate > 0) {
    // Open loop: send what is due by the clock on every tick (≈1 ms), round-robin over the connections.
    let sentByClock = 0;
    let rr = 0;
    const tick = () => {
      if (!st.running) return;
      const due = Math.floor((performance.now() - t0) * rate / 1000) - sentByClock;
      for (let i = 0; i < due; i++) list[rr++ % conns].send(1);
      if (due > 0) sentByClock += due;
      timer = setTimeout(tick, 1);
    };
    tick();
  } else {
    for (const c of list) c.send(inflight);
  }
  progress(`${rate > 0 ? `open loop ${rate} req/s` : `closed loop ${conns}×${inflight}`} on ${conns} connection(s) to ${HOST}:${PORT}, ${size} B content, warm-up ${warmupMs / 1000} s, ${durationMs / 1000} s measured`);

  await sleep(warmupMs);
  st.measuring = true;
  const m0 = performance.now();
  await sleep(durationMs);
  st.measuring = false;
  const secs = (performance.now() - m0) / 1000;
  st.running = false;
  if (timer !== null) clearTimeout(timer);
  const drainUntil = performance.now() + drainMs;
  while (list.some((c) => c.alive && c.inflight > 0) && performance.now() < drainUntil) await sleep(10);
  let unanswered = 0;
  for (const c of list) { unanswered += Math.max(0, c.inflight); c.close(); }

  const sorted = samples.subarray(0, nSamples).sort();
  const pct = (q) => (nSamples === 0 ? 0 : sorted[Math.min(nSamples - 1, Math.max(0, Math.ceil(q * nSamples) - 1))]);
  let sum = 0;
  for (let i = 0; i < nSamples; i++) sum += sorted[i];
  const errors = st.statusErrors + st.unmatched + st.contentErrors + st.lost + unanswered + st.connErrors;
  const r = (x) => Math.round(x);
  const result = {
    rps: r(st.requests / secs), requests: st.requests, total: st.total, sent: st.sent,
    p50_us: r(pct(0.5)), p90_us: r(pct(0.9)), p99_us: r(pct(0.99)), p999_us: r(pct(0.999)), max_us: r(nSamples ? sorted[nSamples - 1] : 0),
    mean_us: r(nSamples ? sum / nSamples : 0),
    errors, status_errors: st.statusErrors, unmatched: st.unmatched, content_errors: st.contentErrors, lost: st.lost,
    unanswered, conn_errors: st.connErrors, secs: secs.toFixed(3), cpu_us: cpuUs(),
  };
  progress(`${result.rps} req/s, p50 ${result.p50_us} µs, p90 ${result.p90_us} µs, p99 ${result.p99_us} µs, max ${result.max_us} µs, ${errors} error(s)`);
  process.stdout.write(`RESULT ${Object.entries(result).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  process.exit(0);
}

// ------------------------------------------------------------------------------------------ idle

async function idle(n, batch, holdSecs) {
  const sockets = [];
  let ok = 0;
  let failed = 0;
  const hbTimeoutMs = 10_000;
  /** One connection: connect, send a heartbeat, resolve when its heartbeat response (or a failure) comes. */
  const open = (id) => new Promise((resolve) => {
    const s = net.connect(PORT, HOST);
    sockets.push(s);
    let settled = false;
    const settle = (good) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      if (good) ok++; else failed++;
      resolve();
    };
    const t = setTimeout(() => settle(false), hbTimeoutMs);
    s.on('error', () => settle(false));
    s.on('close', () => settle(false));
    s.once('connect', () => s.write(BoltCodec.encodeHeartbeat(id)));
    let rest = null;
    s.on('data', (chunk) => {
      const buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
      rest = null;
      const r = decodeBolt(buf, 0, LIMITS);
      if (r.kind === 1) { rest = Buffer.from(buf); return; }
      settle(r.kind === 0 && r.frame.kind === XFrameKind.HeartbeatResponse && r.frame.requestId === id);
    });
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i += batch) {
    const k = Math.min(batch, n - i);
    await Promise.all(Array.from({ length: k }, (_, j) => open(i + j + 1)));
    if ((i / batch) % 4 === 3 || i + k >= n) progress(`${i + k}/${n} connections opened (${ok} answered a heartbeat, ${failed} failed)`);
  }
  progress(`${ok}/${n} idle connections established at L7 in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  process.stdout.write(`READY n=${n} ok=${ok} failed=${failed}\n`);
  const stop = () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setTimeout(stop, holdSecs * 1000);
}

/** This process's CPU time so far (user + system, µs): run.sh subtracts it when it flags other CPU use. */
function cpuUs() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// HTTP/1 proxy, message bodies and framing end to end (issue 3 Deliver 2): content-length and
// chunked bodies streamed both ways (sha256 checked), trailers, Expect: 100-continue, HEAD, 1xx
// interim responses, 204/304 without bodies, pipelining answered in order, HTTP/1.0 clients, and
// backpressure in both directions (a stalled peer stalls the other side instead of growing buffers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { seededRandom } from '../../src/base/seeded-random.js';
import { l7Document, startSkiff, type SkiffInProcess } from '../fakes/l7-harness.js';
import { chunkedBytes, headerOf, RawClient, responseBytes, ScriptedOrigin, type ScriptedOriginOptions } from '../fakes/scripted-origin.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function rig(options: ScriptedOriginOptions, keepBody = true): Promise<{ origin: ScriptedOrigin; skiff: SkiffInProcess; port: number; close(): Promise<void> }> {
  const origin = await ScriptedOrigin.start({ keepBody, ...options });
  const skiff = await startSkiff(l7Document({ clusters: { c1: [origin.address] } }));
  return {
    origin,
    skiff,
    port: skiff.port(),
    async close() {
      await skiff.close();
      await origin.close();
    },
  };
}

/** Splits `b` into 1..`maxPieces` random pieces. */
function pieces(b: Buffer, rnd: () => number, maxPieces = 8): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  const n = 1 + Math.floor(rnd() * maxPieces);
  for (let i = 0; i < n - 1 && at < b.length; i++) {
    const len = Math.floor(rnd() * (b.length - at));
    out.push(b.subarray(at, at + len));
    at += len;
  }
  out.push(b.subarray(at));
  return out;
}

interface NodeReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with node's client (its own llhttp parser is the independent check on Skiff's framing). */
function nodeRequest(port: number, method: string, path: string, headers: Record<string, string>, bodyParts: readonly Buffer[]): Promise<NodeReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const p of bodyParts) req.write(p);
    req.end();
  });
}

test('content-length bodies of random sizes both ways: framing kept, sha256 equal', async () => {
  const rnd = seededRandom(7);
  const responses = new Map<string, Buffer>();
  const r = await rig({
    onRequest(req, conn) {
      const body = responses.get(req.target) ?? Buffer.alloc(0);
      conn.socket.write(responseBytes(200, [['x-got-sha', req.bodySha256]], body));
    },
  });
  try {
    for (let i = 0; i < 6; i++) {
      const up = randomBytes(i === 0 ? 0 : Math.floor(rnd() * 4 * MiB));
      const down = randomBytes(i === 1 ? 0 : Math.floor(rnd() * 4 * MiB));
      responses.set(`/cl${i}`, down);
      const res = await nodeRequest(r.port, 'POST', `/cl${i}`, { 'content-length': String(up.length) }, pieces(up, rnd));
      const seen = r.origin.completed.at(-1);
      assert.equal(seen?.target, `/cl${i}`);
      assert.equal(headerOf(seen?.headers ?? [], 'content-length'), String(up.length), 'content-length kept upstream');
      assert.equal(headerOf(seen?.headers ?? [], 'transfer-encoding'), undefined);
      assert.equal(seen?.bodySha256, sha(up), `upload ${up.length} bytes intact`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-got-sha'], sha(up));
      assert.equal(res.headers['content-length'], String(down.length), 'content-length kept downstream');
      assert.equal(sha(res.body), sha(down), `download ${down.length} bytes intact`);
    }
  } finally {
    await r.close();
  }
});

test('chunked bodies of random sizes both ways: re-encoded chunked, sha256 equal', async () => {
  const rnd = seededRandom(11);
  const responses = new Map<string, Buffer>();
  const r = await rig({
    onRequest(req, conn) {
      const body = responses.get(req.target) ?? Buffer.alloc(0);
      conn.socket.write(responseBytes(200, [['transfer-encoding', 'chunked'], ['x-got-sha', req.bodySha256]]));
      for (const p of pieces(body, rnd, 12)) if (p.length > 0) conn.socket.write(Buffer.concat([Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]));
      conn.socket.write('0\r\n\r\n');
    },
  });
  try {
    for (let i = 0; i < 5; i++) {
      const up = randomBytes(Math.floor(rnd() * 3 * MiB) + 1);
      const down = randomBytes(Math.floor(rnd() * 3 * MiB) + 1);
      responses.set(`/ch${i}`, down);
      const res = await nodeRequest(r.port, 'PUT', `/ch${i}`, {}, pieces(up, rnd, 16));
      const seen = r.origin.completed.at(-1);
      assert.equal(seen?.chunked, true, 'chunked upstream');
      assert.equal(headerOf(seen?.headers ?? [], 'content-length'), undefined);
      assert.equal(seen?.bodySha256, sha(up));
      assert.equal(res.headers['transfer-encoding'], 'chunked', 'chunked downstream');
      assert.equal(res.headers['x-got-sha'], sha(up));
      assert.equal(sha(res.body), sha(down));
    }
  } finally {
    await r.close();
  }
});

test('trailers on chunked bodies are forwarded both ways', async () => {
  const r = await rig({
    onRequest(req, conn) {
      conn.socket.write(responseBytes(200, [['transfer-encoding', 'chunked']]));
      conn.socket.write(chunkedBytes([Buffer.from('resp')], [['x-origin-sum', 'o-123'], ['x-got-trailer', headerOf(req.trailers, 'x-client-sum') ?? 'none']]));
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    c.send(`POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: x-client-sum\r\n\r\n`);
    c.send(chunkedBytes([Buffer.from('hello'), Buffer.from(' world')], [['x-client-sum', 'c-456']]));
    const { final } = await c.readFinal();
    assert.equal(final.status, 200);
    assert.equal(final.body.toString(), 'resp');
    assert.equal(headerOf(final.trailers, 'x-origin-sum'), 'o-123', 'response trailer reached the client');
    assert.equal(headerOf(final.trailers, 'x-got-trailer'), 'c-456', 'request trailer reached the origin');
    assert.equal(r.origin.completed[0]?.body.toString(), 'hello world');
  } finally {
    c.close();
    await r.close();
  }
});

test('Expect: 100-continue: forwarded, the origin\'s 100 relayed, then the body streams', async () => {
  const r = await rig({
    onHead(req, conn) {
      if (headerOf(req.headers, 'expect')?.toLowerCase() === '100-continue') conn.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    },
    onRequest(req, conn) {
      conn.socket.write(responseBytes(201, [], `got ${req.body.toString()}`));
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    c.send('POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    const interim = await c.read();
    assert.equal(interim.status, 100);
    assert.equal(r.origin.requests.length, 1);
    assert.equal(r.origin.completed.length, 0, 'no body yet');
    c.send('hello');
    const { final } = await c.readFinal();
    assert.equal(final.status, 201);
    assert.equal(final.body.toString(), 'got hello');
    assert.equal(headerOf(r.origin.requests[0]?.headers ?? [], 'expect')?.toLowerCase(), '100-continue');
  } finally {
    c.close();
    await r.close();
  }
});

test('HEAD: content-length relayed without a body; the connection stays usable', async () => {
  const r = await rig({
    onRequest(req, conn) {
      if (req.method === 'HEAD') conn.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n');
      else conn.socket.write(responseBytes(200, [], 'after'));
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    c.send('HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n');
    const head = await c.read({ noBody: true });
    assert.equal(head.status, 200);
    assert.equal(headerOf(head.headers, 'content-length'), '1234');
    await sleep(100);
    assert.equal(c.pending.length, 0, 'no body bytes after a HEAD response');
    c.send('GET /g HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal((await c.readFinal()).final.body.toString(), 'after');
  } finally {
    c.close();
    await r.close();
  }
});

test('1xx interim (103 Early Hints) relayed before the final response', async () => {
  const r = await rig({
    onRequest(_req, conn) {
      conn.socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
      setTimeout(() => conn.socket.write(responseBytes(200, [], 'final')), 30);
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    c.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const { interim, final } = await c.readFinal();
    assert.equal(interim.length, 1);
    assert.equal(interim[0]?.status, 103);
    assert.equal(headerOf(interim[0]?.headers ?? [], 'link'), '</style.css>; rel=preload');
    assert.equal(final.status, 200);
    assert.equal(final.body.toString(), 'final');
  } finally {
    c.close();
    await r.close();
  }
});

test('204 and 304 (with a content-length) carry no body; the connection stays usable', async () => {
  const r = await rig({
    onRequest(req, conn) {
      if (req.target === '/204') conn.socket.write('HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n');
      else if (req.target === '/304') conn.socket.write('HTTP/1.1 304 Not Modified\r\netag: "e1"\r\ncontent-length: 10\r\n\r\n');
      else conn.socket.write(responseBytes(200, [], 'ok'));
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    c.send('GET /204 HTTP/1.1\r\nHost: a\r\n\r\n');
    const a = await c.read();
    assert.equal(a.status, 204);
    assert.equal(headerOf(a.headers, 'transfer-encoding'), undefined, 'no chunked framing on a 204');
    c.send('GET /304 HTTP/1.1\r\nHost: a\r\nIf-None-Match: "e1"\r\n\r\n');
    const b = await c.read();
    assert.equal(b.status, 304);
    assert.equal(headerOf(b.headers, 'etag'), '"e1"');
    await sleep(100);
    assert.equal(c.pending.length, 0, 'no body bytes after 204/304');
    c.send('GET /ok HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal((await c.readFinal()).final.body.toString(), 'ok');
  } finally {
    c.close();
    await r.close();
  }
});

test('10 pipelined requests in one write are answered in order', async () => {
  const rnd = seededRandom(3);
  const r = await rig({
    onRequest(req, conn) {
      setTimeout(() => conn.socket.write(responseBytes(200, [], `body of ${req.target}`)), Math.floor(rnd() * 30));
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    let batch = '';
    for (let i = 0; i < 10; i++) batch += `GET /p${i} HTTP/1.1\r\nHost: a\r\n\r\n`;
    c.send(batch);
    for (let i = 0; i < 10; i++) {
      const { final } = await c.readFinal({ timeoutMs: 5000 });
      assert.equal(final.body.toString(), `body of /p${i}`);
    }
    assert.equal(r.origin.completed.length, 10);
  } finally {
    c.close();
    await r.close();
  }
});

test('HTTP/1.0 client: close by default; keep-alive honoured when asked; a chunked upstream body is not sent chunked', async () => {
  const r = await rig({
    onRequest(req, conn) {
      if (req.target === '/chunked') {
        conn.socket.write(responseBytes(200, [['transfer-encoding', 'chunked']]));
        conn.socket.write(chunkedBytes([Buffer.from('one-'), Buffer.from('two')]));
      } else conn.socket.write(responseBytes(200, [], `ok ${req.target}`));
    },
  });
  try {
    // no keep-alive: response, then Skiff closes
    const a = await RawClient.connect(r.port);
    a.send('GET /a HTTP/1.0\r\nHost: a\r\n\r\n');
    const ra = (await a.readFinal()).final;
    assert.equal(ra.body.toString(), 'ok /a');
    assert.equal(await a.waitEnd(2000), 'fin', 'HTTP/1.0 without keep-alive: connection closed');
    a.close();
    // keep-alive asked: kept open iff the response says so
    const b = await RawClient.connect(r.port);
    b.send('GET /b HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
    const rb = (await b.readFinal()).final;
    assert.equal(rb.body.toString(), 'ok /b');
    if (/keep-alive/i.test(headerOf(rb.headers, 'connection') ?? '')) {
      b.send('GET /b2 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
      assert.equal((await b.readFinal()).final.body.toString(), 'ok /b2');
    } else {
      assert.equal(await b.waitEnd(2000), 'fin', 'no keep-alive in the response, so the connection must close');
    }
    b.close();
    // chunked upstream → a 1.0 client must not see chunked framing
    const c = await RawClient.connect(r.port);
    c.send('GET /chunked HTTP/1.0\r\nHost: a\r\n\r\n');
    const rc = (await c.readFinal()).final;
    assert.notEqual(rc.framing, 'chunked', 'HTTP/1.0 has no chunked coding');
    assert.equal(rc.body.toString(), 'one-two');
    c.close();
  } finally {
    await r.close();
  }
});

test('pipelined requests with content-length and chunked bodies in one write: answered in order, bodies intact', async () => {
  const r = await rig({ onRequest: (req, conn) => conn.socket.write(responseBytes(200, [], `${req.target} ${req.bodySha256}`)) });
  const c = await RawClient.connect(r.port);
  try {
    const rnd = seededRandom(5);
    const parts: Buffer[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      const body = randomBytes(Math.floor(rnd() * 20_000));
      expected.push(`/b${i} ${sha(body)}`);
      if (i % 2 === 0) parts.push(Buffer.from(`POST /b${i} HTTP/1.1\r\nHost: a\r\ncontent-length: ${body.length}\r\n\r\n`), body);
      else parts.push(Buffer.from(`POST /b${i} HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\n\r\n`), chunkedBytes(pieces(body, rnd)));
    }
    c.send(Buffer.concat(parts));
    for (let i = 0; i < 10; i++) assert.equal((await c.readFinal({ timeoutMs: 5000 })).final.body.toString(), expected[i]);
  } finally {
    c.close();
    await r.close();
  }
});

test('close-delimited upstream body: relayed whole with valid framing; that connection is not reused', async () => {
  const r = await rig({
    onRequest(req, conn) {
      if (req.target === '/eof') conn.socket.end('HTTP/1.1 200 OK\r\nx-kind: eof\r\n\r\nhello until close');
      else conn.socket.write(responseBytes(200, [], 'next'));
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    c.send('GET /eof HTTP/1.1\r\nHost: a\r\n\r\n');
    const { final } = await c.readFinal();
    assert.equal(final.body.toString(), 'hello until close');
    const second = await RawClient.connect(r.port);
    second.send('GET /n HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal((await second.readFinal()).final.body.toString(), 'next');
    second.close();
    assert.equal(r.origin.connections.length, 2);
  } finally {
    c.close();
    await r.close();
  }
});

test('early response (the origin answers before the request body is complete): one response, later requests get their own', async () => {
  const r = await rig({
    onHead(req, conn) {
      if (req.target === '/early') conn.socket.write(responseBytes(403, [], 'denied early'));
    },
    onRequest(req, conn) {
      if (req.target !== '/early') conn.socket.write(responseBytes(200, [], `ok ${req.target}`));
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    const body = randomBytes(1024 * 1024);
    c.send(`POST /early HTTP/1.1\r\nHost: a\r\ncontent-length: ${body.length}\r\n\r\n`);
    const { final } = await c.readFinal();
    assert.equal(final.status, 403);
    assert.equal(final.body.toString(), 'denied early');
    for (let at = 0; at < body.length && c.end === 'open'; at += 64 * 1024) {
      c.send(body.subarray(at, at + 64 * 1024));
      await sleep(5);
    }
    await sleep(100);
    assert.doesNotMatch(c.pending.toString('latin1'), /HTTP\/1\.\d \d{3}/, 'exactly one response to the early-answered request');
    if (c.end === 'open') {
      c.send('GET /after HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await c.readFinal()).final.body.toString(), 'ok /after');
    }
    assert.equal((await nodeRequest(r.port, 'GET', '/other', {}, [])).body.toString(), 'ok /other');
  } finally {
    c.close();
    await r.close();
  }
});

test('client gone mid-response: the next request gets its own response promptly', async () => {
  const r = await rig({
    onRequest(req, conn) {
      if (req.target === '/long') conn.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n${'q'.repeat(1000)}`);
      else conn.socket.write(responseBytes(200, [], `ok ${req.target}`));
    },
  });
  try {
    const c = await RawClient.connect(r.port);
    c.send('GET /long HTTP/1.1\r\nHost: a\r\n\r\n');
    await r.origin.waitFor(() => r.origin.completed.length === 1);
    await sleep(50);
    c.close();
    await sleep(50);
    const started = Date.now();
    assert.equal((await nodeRequest(r.port, 'GET', '/next', {}, [])).body.toString(), 'ok /next');
    assert.ok(Date.now() - started < 1000);
    // Not asserted yet: Skiff keeps the abandoned upstream connection open (busy until the stream idle
    // timeout) instead of closing it; add `origin.connections[0].peerEndedAt !== 0` once it does.
  } finally {
    await r.close();
  }
});

test('client gone before the response: the next request is not held behind the abandoned one', async () => {
  const r = await rig({
    onRequest(req, conn) {
      if (req.target !== '/never') conn.socket.write(responseBytes(200, [], `ok ${req.target}`));
    },
  });
  try {
    const c = await RawClient.connect(r.port);
    c.send('GET /never HTTP/1.1\r\nHost: a\r\n\r\n');
    await r.origin.waitFor(() => r.origin.completed.length === 1);
    c.close();
    await sleep(50);
    const started = Date.now();
    assert.equal((await nodeRequest(r.port, 'GET', '/next', {}, [])).body.toString(), 'ok /next');
    assert.ok(Date.now() - started < 1000);
  } finally {
    await r.close();
  }
});

test('upstream dies while the request body is streaming: the client gets 503 (UC) and the connection closes', async () => {
  const r = await rig({
    onConnection(conn) {
      let n = 0;
      conn.socket.on('data', (d: Buffer) => {
        n += d.length;
        if (n > 256 * 1024) conn.socket.destroy();
      });
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    const body = randomBytes(4 * 1024 * 1024);
    c.send(`PUT /upload HTTP/1.1\r\nHost: a\r\ncontent-length: ${body.length}\r\n\r\n`);
    for (let at = 0; at < body.length && c.end === 'open'; at += 64 * 1024) {
      c.send(body.subarray(at, at + 64 * 1024));
      await sleep(2);
    }
    const { final } = await c.readFinal();
    assert.equal(final.status, 503);
    assert.match(final.body.toString(), /\(UC\)\n$/);
    assert.notEqual(await c.waitEnd(2000), 'open', 'closed: the rest of the body cannot be framed');
  } finally {
    c.close();
    await r.close();
  }
});

// ── backpressure ───────────────────────────────────────────────────────────────────────────────

const BIG = 50 * MiB;
/** Far below 50 MiB: kernel socket buffers on the path plus a bounded amount in Skiff. */
const STALL_BOUND = 32 * MiB;

/** Writes `total` bytes (a repeated block) honouring backpressure; `sent` counts bytes handed to write(). */
function pump(s: Socket, total: number, block: Buffer, progress: { sent: number; done: boolean }): void {
  const more = (): void => {
    while (progress.sent < total) {
      const n = Math.min(block.length, total - progress.sent);
      progress.sent += n;
      if (!s.write(n === block.length ? block : block.subarray(0, n))) {
        s.once('drain', more);
        return;
      }
    }
    progress.done = true;
  };
  more();
}

test('backpressure: a client that stops reading stalls the origin (50 MiB response not buffered)', { timeout: 30_000 }, async (t) => {
  const block = randomBytes(64 * 1024);
  const progress = { sent: 0, done: false };
  const r = await rig({
    onRequest(_req, conn) {
      conn.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${BIG}\r\n\r\n`);
      pump(conn.socket, BIG, block, progress);
    },
  });
  const s = connect(r.port, '127.0.0.1');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    s.pause();
    s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(1500);
    const stalledAt = progress.sent;
    t.diagnostic(`origin stalled after ${(stalledAt / MiB).toFixed(1)} MiB`);
    assert.equal(progress.done, false, 'the origin is blocked');
    assert.ok(stalledAt < STALL_BOUND, `origin wrote ${(stalledAt / MiB).toFixed(1)} MiB while the client read nothing (bound ${STALL_BOUND / MiB} MiB)`);
    // now read it all
    const expected = createHash('sha256');
    for (let i = 0; i < BIG / block.length; i++) expected.update(block);
    const received = await new Promise<{ n: number; sha: string }>((resolve, reject) => {
      let n = 0;
      let head: Buffer | undefined = Buffer.alloc(0);
      const got = createHash('sha256');
      s.on('data', (d: Buffer) => {
        if (head !== undefined) {
          head = Buffer.concat([head, d]);
          const at = head.indexOf('\r\n\r\n');
          if (at < 0) return;
          d = head.subarray(at + 4);
          head = undefined;
        }
        n += d.length;
        got.update(d);
        if (n >= BIG) resolve({ n, sha: got.digest('hex') });
      });
      s.once('error', reject);
      s.once('end', () => resolve({ n, sha: '' }));
      s.resume();
    });
    assert.equal(received.n, BIG);
    assert.equal(received.sha, expected.digest('hex'), 'body intact');
  } finally {
    s.destroy();
    await r.close();
  }
});

test('backpressure: an origin that stops reading stalls the client (50 MiB upload not buffered)', { timeout: 30_000 }, async (t) => {
  const block = randomBytes(64 * 1024);
  const progress = { sent: 0, done: false };
  const r = await rig({
    onHead(_req, conn) {
      conn.socket.pause();
    },
    onRequest(req, conn) {
      conn.socket.write(responseBytes(200, [], `${req.bodyBytes} ${req.bodySha256}`));
    },
  }, false);
  const c = await RawClient.connect(r.port);
  try {
    c.send(`POST /up HTTP/1.1\r\nHost: a\r\ncontent-length: ${BIG}\r\n\r\n`);
    pump(c.socket, BIG, block, progress);
    await r.origin.waitFor(() => r.origin.requests.length === 1, 3000, 'the request head at the origin');
    await sleep(1500);
    t.diagnostic(`client stalled after ${(progress.sent / MiB).toFixed(1)} MiB`);
    assert.equal(progress.done, false, 'the client is blocked');
    assert.ok(progress.sent < STALL_BOUND, `client wrote ${(progress.sent / MiB).toFixed(1)} MiB while the origin read nothing (bound ${STALL_BOUND / MiB} MiB)`);
    r.origin.connections[0]?.socket.resume();
    const { final } = await c.readFinal({ timeoutMs: 15_000 });
    const expected = createHash('sha256');
    for (let i = 0; i < BIG / block.length; i++) expected.update(block);
    assert.equal(final.body.toString(), `${BIG} ${expected.digest('hex')}`);
  } finally {
    c.close();
    await r.close();
  }
});

test('a pipelined request with a large body waits behind a slow response: reading pauses (no overflow close), then it is served intact', async () => {
  const body = randomBytes(3 * MiB);
  const r = await rig({
    onRequest(req, conn) {
      const reply = (): boolean => conn.socket.write(responseBytes(200, [['x-got-sha', req.bodySha256]], 'ok'));
      if (req.target === '/slow') setTimeout(reply, 300);
      else reply();
    },
  });
  try {
    const c = await RawClient.connect(r.port);
    // /slow, then a 3 MiB POST right behind it in the same stream of bytes
    c.send(`GET /slow HTTP/1.1\r\nHost: a\r\n\r\nPOST /big HTTP/1.1\r\nHost: a\r\ncontent-length: ${body.length}\r\n\r\n`);
    c.send(body);
    const first = await c.read({ timeoutMs: 5000 });
    assert.equal(first.status, 200);
    const second = await c.read({ timeoutMs: 5000 });
    assert.equal(second.status, 200);
    assert.equal(headerOf(second.headers, 'x-got-sha'), sha(body), 'the pipelined body reached the origin intact');
    assert.equal(r.origin.completed.map((q) => q.target).join(','), '/slow,/big', 'in order');
    c.close();
  } finally {
    await r.close();
  }
});

// HTTP/1 proxy, upstream side (issue 3 Deliver 5, reliability §3.2 and §3.7): upstream failures
// become local replies whose status, body "(FLAG)" and access-log `%response_flag%` say why; a
// malformed or over-long upstream response ends that upstream connection; the pool reuses
// keep-alive connections, honours max_request_per_conn and idle/Keep-Alive timeouts, and retries an
// idempotent request once when a reused connection dies before any response byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { l7Document, startSkiff, type L7DocumentOptions, type SkiffInProcess } from '../fakes/l7-harness.js';
import { closedPort, headerOf, RawClient, rawRequest, responseBytes, ScriptedOrigin, type OriginConnection, type OriginRequest, type RawResponse, type ScriptedOriginOptions } from '../fakes/scripted-origin.js';

interface Rig {
  readonly origin: ScriptedOrigin;
  readonly skiff: SkiffInProcess;
  readonly port: number;
  /** Access-log lines ("%response_code% %response_flag%"), waiting (up to 3 s) until `line` is among them. */
  logLines(line: string): Promise<string[]>;
  close(): Promise<void>;
}

async function rig(originOptions: ScriptedOriginOptions = {}, doc: Partial<L7DocumentOptions> = {}): Promise<Rig> {
  const origin = await ScriptedOrigin.start(originOptions);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-up-'));
  const logPath = join(dir, 'access.log');
  let skiff: SkiffInProcess;
  try {
    skiff = await startSkiff(l7Document({
      clusters: { c1: [origin.address] },
      ...doc,
      cluster: { connect_timeout: '1s', ...doc.cluster },
      listener: { access_logs: [{ log_path: logPath, log_format: '%response_code% %response_flag%' }], ...doc.listener },
    }));
  } catch (err) {
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const read = (): string[] => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '');
    } catch {
      return [];
    }
  };
  return {
    origin,
    skiff,
    port: skiff.port(),
    async logLines(line) {
      const until = Date.now() + 3000;
      while (!read().includes(line) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      return read();
    },
    async close() {
      await skiff.close();
      await origin.close();
      // The access log opens asynchronously; removing its directory before the open completes
      // leaves a writer that never opened, and pino's exit hook then throws at process exit (Server.stopNow does not close log outputs).
      for (let i = 0; i < 50 && !existsSync(logPath); i++) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, 20));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const GET = (path = '/', extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function assertLocalReply(r: RawResponse, status: number, flag: string): void {
  assert.equal(r.status, status, `status (body ${JSON.stringify(r.body.toString())})`);
  const body = r.body.toString();
  assert.ok(body.endsWith(`(${flag})\n`), `body ${JSON.stringify(body)} ends with "(${flag})\\n"`);
  assert.equal(body.indexOf('\n'), body.length - 1, 'one text line');
  assert.match(headerOf(r.headers, 'content-type') ?? '', /^text\/plain/);
}

async function assertLogged(r: Rig, line: string): Promise<void> {
  const lines = await r.logLines(line);
  assert.ok(lines.includes(line), `access log ${JSON.stringify(lines)} has "${line}"`);
}

/** Origin that answers the first request with `bad` bytes, every later one with a clean 200. */
function firstBad(bad: Buffer | string): ScriptedOriginOptions {
  let n = 0;
  return {
    onRequest(_req, conn) {
      conn.socket.write(n++ === 0 ? bad : responseBytes(200, [], 'good'));
    },
  };
}

/** The request after a bad upstream response is served on a NEW upstream connection and gets its own body. */
async function assertNextUsesNewConnection(r: Rig): Promise<void> {
  const next = await rawRequest(r.port, GET('/next'));
  assert.equal(next.status, 200);
  assert.equal(next.body.toString(), 'good');
  assert.equal(r.origin.connections.length, 2, 'a second upstream connection was opened');
  assert.equal(r.origin.completed.at(-1)?.connId, 1);
  await r.origin.waitFor(() => r.origin.connections[0]?.closed === true, 2000, 'the bad upstream connection closed');
}

// ── local replies ─────────────────────────────────────────────────────────────────────────────

test('no matching route → 404 (NR), nothing forwarded', async () => {
  const r = await rig({}, { virtualHosts: [{ name: 'v', domains: ['*'], routers: [{ match: { prefix: '/api' }, route: { cluster_name: 'c1' } }] }] });
  try {
    assertLocalReply(await rawRequest(r.port, GET('/other')), 404, 'NR');
    assert.equal(r.origin.connections.length, 0);
    await assertLogged(r, '404 NR');
  } finally {
    await r.close();
  }
});

test('route to an unknown cluster → 503 (NC)', async () => {
  const r = await rig({}, { virtualHosts: [{ name: 'v', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'ghost' } }] }] });
  try {
    assertLocalReply(await rawRequest(r.port, GET('/')), 503, 'NC');
    assert.equal(r.origin.connections.length, 0);
    await assertLogged(r, '503 NC');
  } finally {
    await r.close();
  }
});

test('cluster with no hosts → 503 (UH)', async () => {
  const r = await rig({}, { clusters: { c1: [] } });
  try {
    assertLocalReply(await rawRequest(r.port, GET('/')), 503, 'UH');
    await assertLogged(r, '503 UH');
  } finally {
    await r.close();
  }
});

test('connect refused → 503 (UF)', async () => {
  const dead = await closedPort();
  const r = await rig({}, { clusters: { c1: [`127.0.0.1:${dead}`] } });
  try {
    const started = Date.now();
    assertLocalReply(await rawRequest(r.port, GET('/')), 503, 'UF');
    assert.ok(Date.now() - started < 1500, 'answered within about the connect time');
    await assertLogged(r, '503 UF');
  } finally {
    await r.close();
  }
});

test('upstream closes after reading the request, before any response byte → 503 (UC), not retried on a fresh connection', async () => {
  const r = await rig({ onRequest: (_req, conn) => conn.socket.destroy() });
  try {
    assertLocalReply(await rawRequest(r.port, GET('/')), 503, 'UC');
    assert.equal(r.origin.completed.length, 1, 'sent once (the connection was new, so no keep-alive-race retry)');
    await assertLogged(r, '503 UC');
  } finally {
    await r.close();
  }
});

test('pool overflow (circuit_breakers max_connections 1, max_pending_requests 1) → 503 (UO)', async () => {
  const held: OriginConnection[] = [];
  const r = await rig({ onRequest: (_req, conn) => held.push(conn) }, { cluster: { circuit_breakers: [{ max_connections: 1, max_pending_requests: 1 }] } });
  const a = await RawClient.connect(r.port);
  const b = await RawClient.connect(r.port);
  try {
    a.send(GET('/a'));
    await r.origin.waitFor(() => held.length === 1, 2000, 'request a at the origin');
    b.send(GET('/b'));
    await sleep(100);
    assertLocalReply(await rawRequest(r.port, GET('/c')), 503, 'UO');
    assert.equal(r.origin.connections.length, 1);
    // a is answered, then b runs on the same connection
    held[0]?.socket.write(responseBytes(200, [], 'A'));
    assert.equal((await a.readFinal()).final.body.toString(), 'A');
    await r.origin.waitFor(() => held.length === 2, 2000, 'request b at the origin');
    held[1]?.socket.write(responseBytes(200, [], 'B'));
    assert.equal((await b.readFinal()).final.body.toString(), 'B');
    await assertLogged(r, '503 UO');
  } finally {
    a.close();
    b.close();
    await r.close();
  }
});

test('route timeout → 504 (UT) at the timeout, and that upstream connection is closed', async () => {
  const r = await rig({ onRequest: () => undefined }, { virtualHosts: [{ name: 'v', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'c1', timeout: '300ms' } }] }] });
  try {
    const started = Date.now();
    const res = await rawRequest(r.port, GET('/slow'));
    const took = Date.now() - started;
    assertLocalReply(res, 504, 'UT');
    assert.ok(took >= 250 && took < 2000, `504 after ${took} ms (timeout 300 ms)`);
    await r.origin.waitFor(() => r.origin.connections[0]?.peerEndedAt !== 0, 2000, 'the timed-out upstream connection closed');
    await assertLogged(r, '504 UT');
  } finally {
    await r.close();
  }
});

test('x-mosn-global-timeout (ms) sets the route timeout → 504 (UT)', async () => {
  const r = await rig({ onRequest: () => undefined }, { proxy: { extend_config: { Http1: { default_timeout: '20s' } } } });
  try {
    const started = Date.now();
    const res = await rawRequest(r.port, GET('/slow', 'x-mosn-global-timeout: 300\r\n'));
    const took = Date.now() - started;
    assertLocalReply(res, 504, 'UT');
    assert.ok(took >= 250 && took < 2000, `504 after ${took} ms (header said 300 ms)`);
    await assertLogged(r, '504 UT');
  } finally {
    await r.close();
  }
});

test('x-mosn-try-timeout below the route timeout → 504 (UT) at the try timeout', async () => {
  const r = await rig({ onRequest: () => undefined }, { virtualHosts: [{ name: 'v', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'c1', timeout: '3s' } }] }] });
  try {
    const started = Date.now();
    const res = await rawRequest(r.port, GET('/slow', 'x-mosn-try-timeout: 300\r\n'));
    const took = Date.now() - started;
    assertLocalReply(res, 504, 'UT');
    assert.ok(took >= 250 && took < 2000, `504 after ${took} ms (try timeout 300 ms, route 3 s)`);
  } finally {
    await r.close();
  }
});

test('x-mosn-try-timeout at or above the route timeout is ignored (MOSN): 504 at the route timeout', async () => {
  const r = await rig({ onRequest: () => undefined }, { virtualHosts: [{ name: 'v', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'c1', timeout: '300ms' } }] }] });
  try {
    const started = Date.now();
    const res = await rawRequest(r.port, GET('/slow', 'x-mosn-try-timeout: 5000\r\n'));
    const took = Date.now() - started;
    assertLocalReply(res, 504, 'UT');
    assert.ok(took >= 250 && took < 2000, `504 after ${took} ms (route 300 ms; try 5 s ignored)`);
  } finally {
    await r.close();
  }
});

test('stream idle timeout before a response, with a longer route timeout → 408 (SI) at the idle timeout', async () => {
  const r = await rig({ onRequest: () => undefined }, {
    proxy: { extend_config: { Http1: { stream_idle_timeout: '300ms' } } },
    virtualHosts: [{ name: 'v', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'c1', timeout: '5s' } }] }],
  });
  try {
    const started = Date.now();
    const res = await rawRequest(r.port, GET('/slow'));
    const took = Date.now() - started;
    assertLocalReply(res, 408, 'SI');
    assert.ok(took >= 250 && took < 2500, `408 after ${took} ms (idle 300 ms, route 5 s)`);
    await assertLogged(r, '408 SI');
  } finally {
    await r.close();
  }
});

test('a client that goes away mid-request releases the upstream connection at once (closed, not left busy)', async () => {
  const r = await rig({ onRequest: () => undefined });
  try {
    const c = await RawClient.connect(r.port);
    c.send(GET('/hold'));
    await r.origin.waitFor(() => r.origin.requests.length === 1, 2000, 'the request reached the origin');
    c.close();
    await r.origin.waitFor(() => r.origin.connections[0]?.peerEndedAt !== 0, 2000, 'Skiff closed the abandoned upstream connection');
  } finally {
    await r.close();
  }
});

test('stream idle timeout after the response started: the client connection is cut, one status line, flag SI', async () => {
  const r = await rig({
    onRequest(_req, conn) {
      conn.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n${'z'.repeat(100)}`);
    },
  }, { proxy: { extend_config: { Http1: { stream_idle_timeout: '300ms' } } } });
  const c = await RawClient.connect(r.port);
  try {
    const started = Date.now();
    c.send(GET('/stall'));
    const end = await c.waitEnd(3000);
    const took = Date.now() - started;
    assert.notEqual(end, 'open', 'the downstream connection was ended');
    assert.ok(took >= 250 && took < 2000, `cut after ${took} ms (idle 300 ms)`);
    const text = c.pending.toString('latin1');
    assert.equal(text.match(/HTTP\/1\.\d \d{3}/g)?.length, 1, 'never a second status line');
    await assertLogged(r, '200 SI');
    await r.origin.waitFor(() => r.origin.connections[0]?.peerEndedAt !== 0, 2000, 'the stalled upstream connection closed');
  } finally {
    c.close();
    await r.close();
  }
});

// ── malformed upstream responses → 502 (UPE), the connection never reused ───────────────────

const UPE_CASES: readonly { name: string; bad: string; method?: string }[] = [
  { name: 'a garbage status line', bad: 'HTTP/1.1 2x0 OK\r\ncontent-length: 2\r\n\r\nok' },
  { name: 'a 101 to a request that asked for no upgrade', bad: 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' },
  { name: 'a duplicate content-length with different values', bad: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nokk' },
  { name: 'content-length and transfer-encoding together', bad: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n' },
  { name: 'a body on a 204', bad: 'HTTP/1.1 204 No Content\r\n\r\nhello' },
  { name: 'a body on a 304', bad: 'HTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\nhello' },
  { name: 'a body on the response to HEAD', bad: 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello', method: 'HEAD' },
  { name: 'bytes after a complete response (same write)', bad: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA' },
  { name: 'a two-digit status code', bad: 'HTTP/1.1 20 OK\r\ncontent-length: 2\r\n\r\nok' },
  { name: 'bare LF line endings', bad: 'HTTP/1.1 200 OK\ncontent-length: 2\n\nok' },
  { name: 'a NUL in a header value', bad: 'HTTP/1.1 200 OK\r\nx-a: a\u0000b\r\ncontent-length: 2\r\n\r\nok' },
  { name: 'a content-length with a sign', bad: 'HTTP/1.1 200 OK\r\ncontent-length: +2\r\n\r\nok' },
  { name: 'a 100 KiB response header', bad: `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(100 * 1024)}\r\ncontent-length: 2\r\n\r\nok` },
  { name: 'more than 100 response headers', bad: `HTTP/1.1 200 OK\r\n${Array.from({ length: 150 }, (_, i) => `h${i}: x\r\n`).join('')}content-length: 2\r\n\r\nok` },
  { name: 'a flood of 1xx interim responses', bad: `${'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n'.repeat(5000)}HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok` },
  { name: 'an over-long chunk extension', bad: `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;${'e'.repeat(200_000)}\r\nok\r\n0\r\n\r\n` },
  { name: 'a second response in the same write as the first', bad: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 302 Found\r\nLocation: http://evil.example/\r\nx-pad: ' },
];

for (const c of UPE_CASES) {
  test(`upstream sends ${c.name} → 502 (UPE); the next request uses a new upstream connection`, async () => {
    const r = await rig(firstBad(c.bad));
    try {
      const method = c.method ?? 'GET';
      const res = await rawRequest(r.port, `${method} /bad HTTP/1.1\r\nHost: a\r\n\r\n`, { noBody: method === 'HEAD' });
      if (method === 'HEAD') assert.equal(res.status, 502);
      else assertLocalReply(res, 502, 'UPE');
      await assertLogged(r, '502 UPE');
      await assertNextUsesNewConnection(r);
    } finally {
      await r.close();
    }
  });
}

test('obs-fold in an upstream response header: 502, or the fold replaced by SP (never relayed raw)', async () => {
  const r = await rig(firstBad('HTTP/1.1 200 OK\r\nx-a: one\r\n two\r\ncontent-length: 2\r\n\r\nok'));
  const c = await RawClient.connect(r.port);
  try {
    c.send(GET('/fold'));
    const { final } = await c.readFinal();
    assert.doesNotMatch(final.rawHead, /\r\n[ \t]/, 'no folded line reaches the client');
    if (final.status === 200) assert.match(headerOf(final.headers, 'x-a') ?? '', /^one +two$/);
    else assertLocalReply(final, 502, 'UPE');
  } finally {
    c.close();
    await r.close();
  }
});

test('bytes after a complete response (later write): the response is delivered, the bytes reach nobody, the connection is not reused', async () => {
  let n = 0;
  const r = await rig({
    onRequest(_req, conn) {
      if (n++ > 0) {
        conn.socket.write(responseBytes(200, [], 'good'));
        return;
      }
      conn.socket.write(responseBytes(200, [], 'ok'));
      setTimeout(() => conn.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nEVIL'), 100);
    },
  });
  const c = await RawClient.connect(r.port);
  try {
    c.send(GET('/first'));
    const first = await c.readFinal();
    assert.equal(first.final.status, 200);
    assert.equal(first.final.body.toString(), 'ok');
    await sleep(250);
    assert.equal(c.pending.length, 0, 'the stray bytes were not passed to the client');
    c.send(GET('/second'));
    const second = await c.readFinal();
    assert.equal(second.final.body.toString(), 'good');
    assert.equal(r.origin.connections.length, 2, 'a second upstream connection was opened');
    assert.equal(r.origin.completed.at(-1)?.connId, 1);
  } finally {
    c.close();
    await r.close();
  }
});

/** Sends one request, waits for the connection to end, returns everything received. */
async function receiveUntilEnd(port: number, request: string): Promise<{ text: string; end: string }> {
  const c = await RawClient.connect(port);
  try {
    c.send(request);
    const end = await c.waitEnd(3000);
    return { text: c.pending.toString('latin1'), end };
  } finally {
    c.close();
  }
}

test('upstream dies mid-body (content-length): the client sees one truncated 200 and the connection ends', async () => {
  const r = await rig({
    onRequest(_req, conn) {
      conn.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n${'x'.repeat(100)}`);
      setTimeout(() => conn.socket.destroy(), 50);
    },
  });
  try {
    const { text, end } = await receiveUntilEnd(r.port, GET('/'));
    assert.notEqual(end, 'open', 'the downstream connection ended');
    assert.ok(text.startsWith('HTTP/1.1 200'), text.slice(0, 80));
    assert.equal(text.match(/HTTP\/1\.\d \d{3}/g)?.length, 1, 'never a second status line');
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    assert.ok(body.length < 1000, `truncated (${body.length} of 1000 bytes)`);
  } finally {
    await r.close();
  }
});

test('upstream dies mid-body (chunked): no last chunk reaches the client, the connection ends', async () => {
  const r = await rig({
    onRequest(_req, conn) {
      conn.socket.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n64\r\n${'y'.repeat(100)}\r\n`);
      setTimeout(() => conn.socket.destroy(), 50);
    },
  });
  try {
    const { text, end } = await receiveUntilEnd(r.port, GET('/'));
    assert.notEqual(end, 'open');
    assert.ok(text.startsWith('HTTP/1.1 200'), text.slice(0, 80));
    assert.equal(text.match(/HTTP\/1\.\d \d{3}/g)?.length, 1, 'never a second status line');
    assert.ok(!text.endsWith('0\r\n\r\n'), 'no terminating chunk');
  } finally {
    await r.close();
  }
});

// ── the pool ──────────────────────────────────────────────────────────────────────────────────

test('keep-alive: 20 sequential requests on one client connection, then 5 on new client connections, use one upstream connection', async () => {
  const r = await rig({ onRequest: (req, conn) => conn.socket.write(responseBytes(200, [], req.target)) });
  const c = await RawClient.connect(r.port);
  try {
    for (let i = 0; i < 20; i++) {
      c.send(GET(`/k${i}`));
      assert.equal((await c.readFinal()).final.body.toString(), `/k${i}`);
    }
    for (let i = 0; i < 5; i++) assert.equal((await rawRequest(r.port, GET(`/n${i}`))).body.toString(), `/n${i}`);
    assert.equal(r.origin.connections.length, 1);
    assert.equal(r.origin.completed.length, 25);
  } finally {
    c.close();
    await r.close();
  }
});

test('max_request_per_conn 3: 7 sequential requests use 3 upstream connections', async () => {
  const r = await rig({}, { cluster: { max_request_per_conn: 3 } });
  const c = await RawClient.connect(r.port);
  try {
    for (let i = 0; i < 7; i++) {
      c.send(GET(`/m${i}`));
      assert.equal((await c.readFinal()).final.status, 200);
    }
    assert.equal(r.origin.connections.length, 3);
    assert.deepEqual(r.origin.connections.map((k) => k.requests), [3, 3, 1]);
  } finally {
    c.close();
    await r.close();
  }
});

test('origin Keep-Alive: timeout=2 → Skiff closes the idle connection before the origin would; the next request still succeeds', async () => {
  let respondedAt = 0;
  let originClosedFirst = false;
  const r = await rig({
    onRequest(_req, conn) {
      conn.socket.write(responseBytes(200, [['Keep-Alive', 'timeout=2']], 'ok'));
      respondedAt = Date.now();
      setTimeout(() => {
        if (!conn.closed && conn.peerEndedAt === 0) {
          originClosedFirst = true;
          conn.socket.end();
        }
      }, 2000);
    },
  });
  try {
    assert.equal((await rawRequest(r.port, GET('/'))).status, 200);
    const conn = r.origin.connections[0];
    await r.origin.waitFor(() => conn?.peerEndedAt !== 0, 3000, 'Skiff closing the idle upstream connection');
    assert.equal(originClosedFirst, false, 'Skiff closed first');
    assert.ok((conn?.peerEndedAt ?? 0) - respondedAt < 1900, `closed ${(conn?.peerEndedAt ?? 0) - respondedAt} ms after the response`);
    assert.equal((await rawRequest(r.port, GET('/again'))).status, 200);
    assert.equal(r.origin.connections.length, 2);
  } finally {
    await r.close();
  }
});

test('cluster idle_timeout 300ms closes an idle upstream connection', async () => {
  const r = await rig({}, { cluster: { idle_timeout: '300ms' } });
  try {
    assert.equal((await rawRequest(r.port, GET('/'))).status, 200);
    const done = Date.now();
    await r.origin.waitFor(() => r.origin.connections[0]?.peerEndedAt !== 0, 3000, 'idle close');
    const after = (r.origin.connections[0]?.peerEndedAt ?? 0) - done;
    assert.ok(after >= 150 && after < 2000, `closed ${after} ms after going idle`);
  } finally {
    await r.close();
  }
});

/** Origin that kills a connection on its second request (after reading it whole), without replying. */
function killSecondOnConn(): ScriptedOriginOptions {
  return {
    onRequest(req: OriginRequest, conn: OriginConnection) {
      if (req.seqOnConn === 1) conn.socket.destroy();
      else conn.socket.write(responseBytes(200, [], `${req.method} ${req.target}`));
    },
  };
}

test('keep-alive race: a GET whose reused connection dies before any response byte is retried once on a new one', async () => {
  const r = await rig(killSecondOnConn());
  try {
    assert.equal((await rawRequest(r.port, GET('/one'))).body.toString(), 'GET /one');
    const res = await rawRequest(r.port, GET('/two'));
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'GET /two');
    assert.equal(r.origin.connections.length, 2);
    assert.deepEqual(r.origin.completed.map((q) => `${q.connId}:${q.target}`), ['0:/one', '0:/two', '1:/two']);
  } finally {
    await r.close();
  }
});

test('keep-alive race: a POST on a reused connection that dies is NOT retried → 503 (UC)', async () => {
  const r = await rig(killSecondOnConn());
  try {
    assert.equal((await rawRequest(r.port, GET('/one'))).status, 200);
    const res = await rawRequest(r.port, 'POST /post HTTP/1.1\r\nHost: a\r\ncontent-length: 3\r\n\r\nabc');
    assertLocalReply(res, 503, 'UC');
    assert.equal(r.origin.completed.filter((q) => q.method === 'POST').length, 1, 'the POST reached the origin once');
    await assertLogged(r, '503 UC');
  } finally {
    await r.close();
  }
});

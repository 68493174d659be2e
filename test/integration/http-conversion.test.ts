// Protocol conversion by the route's `upstream_protocol` (issue 5, items 4 and 5), over real sockets:
// HTTP/1.1 client → Skiff (Http1 listener) → "Http2" → an h2c origin (node:http2), and HTTP/2 client
// (node:http2, curl --http2-prior-knowledge) → Skiff (Http2 listener) → "Http1" → an HTTP/1.1 origin
// (node:http): methods, paths, bodies both ways, response headers and trailers mapped. And an h2c
// upstream that sends GOAWAY below some in-flight streams: those are retried on a new session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { l7Document, startSkiff, type SkiffInProcess } from '../fakes/l7-harness.js';

// ── origins ─────────────────────────────────────────────────────────────────────────────────────

interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly trailers: Readonly<Record<string, string | string[] | undefined>>;
  /** Origin session / connection number (1-based, in accept order). */
  readonly conn: number;
  /** HTTP version the origin saw. */
  readonly version: string;
}

/**
 * Responses by path, the same for both origins:
 *   /hello     200, x-origin, set-cookie ×2, text body
 *   /echo      200, the request body back, x-body-bytes, x-saw-method
 *   /trailers  200, no content-length, body then trailers x-checksum / x-count
 *   /status    418, content-length body
 */
function respondPlan(path: string, body: Buffer): { status: number; headers: Record<string, string | string[]>; body: Buffer; trailers?: Record<string, string> } {
  if (path.startsWith('/echo')) return { status: 200, headers: { 'x-body-bytes': String(body.length), 'content-type': 'application/octet-stream' }, body };
  if (path === '/trailers') return { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('part one, part two'), trailers: { 'x-checksum': 'abc123', 'x-count': '2' } };
  if (path === '/status') return { status: 418, headers: { 'content-type': 'text/plain', 'content-length': '6' }, body: Buffer.from('teapot') };
  return { status: 200, headers: { 'x-origin': 'yes', 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' }, body: Buffer.from(`hello ${path}`) };
}

interface Origin {
  readonly address: string;
  readonly seen: SeenRequest[];
  /** Sessions (h2) or connections (h1) accepted. */
  readonly accepted: number;
  close(): Promise<void>;
}

async function listen(server: http.Server | http2.Http2Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An h2c (prior knowledge) origin. */
async function startH2Origin(): Promise<Origin & { readonly sessions: http2.ServerHttp2Session[] }> {
  const server = http2.createServer();
  const seen: SeenRequest[] = [];
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => { sessions.push(s); s.on('error', () => undefined); });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const conn = sessions.indexOf(stream.session as http2.ServerHttp2Session) + 1;
    const parts: Buffer[] = [];
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('trailers', (t) => { trailers = t; });
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(parts);
      const path = String(headers[':path']);
      seen.push({ method: String(headers[':method']), path, headers: { ...headers }, body, trailers: { ...trailers }, conn, version: '2.0' });
      const plan = respondPlan(path, body);
      if (stream.destroyed) return;
      stream.respond({ ':status': plan.status, ...plan.headers, 'x-saw-method': String(headers[':method']) }, plan.trailers ? { waitForTrailers: true } : {});
      if (plan.trailers) stream.once('wantTrailers', () => stream.sendTrailers(plan.trailers!));
      stream.end(plan.body);
    });
  });
  const address = await listen(server);
  return {
    address, seen, sessions,
    get accepted() { return sessions.length; },
    close: () => new Promise<void>((resolve) => { for (const s of sessions) s.destroy(); server.close(() => resolve()); }),
  };
}

/** An HTTP/1.1 origin. */
async function startH1Origin(): Promise<Origin> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  let accepted = 0;
  const server = http.createServer((req, res) => {
    const conn = (req.socket as unknown as { connNo: number }).connNo;
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const path = req.url ?? '';
      seen.push({ method: req.method ?? '', path, headers: { ...req.headers }, body, trailers: { ...req.trailers }, conn, version: req.httpVersion });
      const plan = respondPlan(path, body);
      res.writeHead(plan.status, { ...plan.headers, 'x-saw-method': req.method ?? '', ...(plan.trailers ? { trailer: Object.keys(plan.trailers).join(', ') } : {}) });
      if (plan.trailers) {
        res.write(plan.body);
        res.addTrailers(plan.trailers);
        res.end();
      } else {
        res.end(plan.body);
      }
    });
  });
  server.on('connection', (s) => { accepted++; (s as unknown as { connNo: number }).connNo = accepted; sockets.add(s); s.on('close', () => sockets.delete(s)); });
  const address = await listen(server);
  return {
    address, seen,
    get accepted() { return accepted; },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

// ── Skiff ───────────────────────────────────────────────────────────────────────────────────────

function skiffFor(origin: Origin, downstream: 'Http1' | 'Http2', upstream: 'Http1' | 'Http2' | ''): Promise<SkiffInProcess> {
  return startSkiff(l7Document({
    clusters: { o: [origin.address] },
    proxy: { downstream_protocol: downstream },
    cluster: { connect_timeout: '1s' },
    virtualHosts: [{ name: 'all', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'o', ...(upstream !== '' ? { upstream_protocol: upstream } : {}) } }] }],
  }));
}

// ── clients ─────────────────────────────────────────────────────────────────────────────────────

interface H1Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  readonly trailers: NodeJS.Dict<string>;
}

function h1Request(port: number, method: string, path: string, o: { body?: Buffer | Buffer[]; headers?: http.OutgoingHttpHeaders; trailers?: Record<string, string> } = {}): Promise<H1Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: { te: 'trailers', ...o.headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(parts), trailers: res.trailers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const chunks = o.body === undefined ? [] : Array.isArray(o.body) ? o.body : [o.body];
    for (const c of chunks) req.write(c);
    if (o.trailers) req.addTrailers(o.trailers);
    req.end();
  });
}

interface H2Response {
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
}

function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, o: { body?: Buffer; trailers?: Record<string, string> } = {}): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const hasBody = o.body !== undefined || o.trailers !== undefined;
    const req = session.request(headers, hasBody ? (o.trailers ? { waitForTrailers: true } : {}) : { endStream: true });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const parts: Buffer[] = [];
    req.on('response', (h) => { head = h; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve({ headers: head, body: Buffer.concat(parts), trailers }));
    req.on('error', reject);
    if (o.trailers) req.once('wantTrailers', () => req.sendTrailers(o.trailers!));
    if (hasBody) req.end(o.body);
  });
}

function h2Connect(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

function closeSession(s: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => { if (s.closed) resolve(); else s.close(() => resolve()); });
}

const payload = (n: number): Buffer => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff; return b; };

// ── HTTP/1.1 → HTTP/2 ───────────────────────────────────────────────────────────────────────────

test('HTTP/1.1 → h2c origin: GET, response status/headers/body mapped, the origin sees HTTP/2 pseudo headers', async () => {
  const origin = await startH2Origin();
  const skiff = await skiffFor(origin, 'Http1', 'Http2');
  try {
    const res = await h1Request(skiff.port(), 'GET', '/hello?x=1', { headers: { host: 'svc.example', 'x-client': 'c1', connection: 'keep-alive' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello /hello?x=1');
    assert.equal(res.headers['x-origin'], 'yes');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.headers['x-saw-method'], 'GET');
    assert.equal(origin.seen.length, 1);
    const seen = origin.seen[0]!;
    assert.equal(seen.version, '2.0');
    assert.equal(seen.method, 'GET');
    assert.equal(seen.path, '/hello?x=1');
    assert.equal(seen.headers[':authority'], 'svc.example', 'Host becomes :authority');
    assert.equal(seen.headers[':scheme'], 'http');
    assert.equal(seen.headers['x-client'], 'c1');
    assert.equal(seen.headers['host'], undefined);
    assert.equal(seen.headers['connection'], undefined, 'connection-specific headers are not sent over HTTP/2');
    // A non-200 status and its body.
    const t = await h1Request(skiff.port(), 'GET', '/status');
    assert.equal(t.status, 418);
    assert.equal(t.body.toString(), 'teapot');
  } finally {
    await skiff.close();
    await origin.close();
  }
});

test('HTTP/1.1 → h2c origin: POST bodies (content-length, and chunked with request trailers) reach the origin whole', async () => {
  const origin = await startH2Origin();
  const skiff = await skiffFor(origin, 'Http1', 'Http2');
  try {
    const big = payload(300_000);
    const res = await h1Request(skiff.port(), 'POST', '/echo', { body: big, headers: { 'content-length': String(big.length) } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-body-bytes'], String(big.length));
    assert.ok(res.body.equals(big), 'the echoed body is the request body');
    assert.equal(origin.seen[0]!.method, 'POST');
    assert.ok(origin.seen[0]!.body.equals(big));
    // Chunked request with trailers → HTTP/2 DATA frames and a trailing HEADERS frame.
    const parts = [Buffer.from('one,'), Buffer.from('two,'), Buffer.from('three')];
    const c = await h1Request(skiff.port(), 'POST', '/echo2', { body: parts, headers: { 'transfer-encoding': 'chunked', trailer: 'x-req-sum' }, trailers: { 'x-req-sum': '42' } });
    assert.equal(c.status, 200);
    assert.equal(c.body.toString(), 'one,two,three');
    const seen = origin.seen[1]!;
    assert.equal(seen.headers['transfer-encoding'], undefined);
    assert.equal(seen.trailers['x-req-sum'], '42', 'request trailers reach the h2 origin');
  } finally {
    await skiff.close();
    await origin.close();
  }
});

test('HTTP/1.1 → h2c origin: response trailers become chunked trailers', async () => {
  const origin = await startH2Origin();
  const skiff = await skiffFor(origin, 'Http1', 'Http2');
  try {
    const res = await h1Request(skiff.port(), 'GET', '/trailers');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'part one, part two');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.deepEqual({ ...res.trailers }, { 'x-checksum': 'abc123', 'x-count': '2' });
  } finally {
    await skiff.close();
    await origin.close();
  }
});

// ── HTTP/2 → HTTP/1.1 ───────────────────────────────────────────────────────────────────────────

test('HTTP/2 → HTTP/1.1 origin: GET and POST mapped both ways, several streams over one client session', async () => {
  const origin = await startH1Origin();
  const skiff = await skiffFor(origin, 'Http2', 'Http1');
  const session = await h2Connect(skiff.port());
  try {
    const get = await h2Request(session, { ':method': 'GET', ':path': '/hello?y=2', ':authority': 'svc.example', 'x-client': 'c2' });
    assert.equal(get.headers[':status'], 200);
    assert.equal(get.body.toString(), 'hello /hello?y=2');
    assert.equal(get.headers['x-origin'], 'yes');
    assert.deepEqual(get.headers['set-cookie'], ['a=1', 'b=2']);
    const seen = origin.seen[0]!;
    assert.equal(seen.version, '1.1');
    assert.equal(seen.method, 'GET');
    assert.equal(seen.path, '/hello?y=2');
    assert.equal(seen.headers['host'], 'svc.example', ':authority becomes Host');
    assert.equal(seen.headers['x-client'], 'c2');

    const big = payload(200_000);
    const post = await h2Request(session, { ':method': 'POST', ':path': '/echo', ':authority': 'svc.example', 'content-length': String(big.length) }, { body: big });
    assert.equal(post.headers[':status'], 200);
    assert.ok(post.body.equals(big));
    assert.equal(origin.seen[1]!.method, 'POST');
    assert.ok(origin.seen[1]!.body.equals(big));

    // No content-length: the HTTP/1.1 request is chunked; the origin still gets every byte.
    const streamed = payload(70_000);
    const nolen = await h2Request(session, { ':method': 'PUT', ':path': '/echo-nolen', ':authority': 'svc.example' }, { body: streamed });
    assert.equal(nolen.headers[':status'], 200);
    assert.ok(nolen.body.equals(streamed));
    assert.equal(origin.seen[2]!.method, 'PUT');

    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => h2Request(session, { ':method': 'GET', ':path': `/hello/${i}`, ':authority': 'svc.example' })));
    assert.deepEqual(many.map((r) => r.body.toString()), Array.from({ length: 20 }, (_, i) => `hello /hello/${i}`));
    const t = await h2Request(session, { ':method': 'GET', ':path': '/status', ':authority': 'svc.example' });
    assert.equal(t.headers[':status'], 418);
    assert.equal(t.body.toString(), 'teapot');
  } finally {
    await closeSession(session);
    await skiff.close();
    await origin.close();
  }
});

test('HTTP/2 → HTTP/1.1 origin: chunked response trailers become HTTP/2 trailers; request trailers reach the origin', async () => {
  const origin = await startH1Origin();
  const skiff = await skiffFor(origin, 'Http2', 'Http1');
  const session = await h2Connect(skiff.port());
  try {
    const res = await h2Request(session, { ':method': 'GET', ':path': '/trailers', ':authority': 'a', te: 'trailers' });
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.body.toString(), 'part one, part two');
    assert.equal(res.trailers?.['x-checksum'], 'abc123');
    assert.equal(res.trailers?.['x-count'], '2');
    const up = await h2Request(session, { ':method': 'POST', ':path': '/echo', ':authority': 'a' }, { body: Buffer.from('with trailers'), trailers: { 'x-req-sum': '7' } });
    assert.equal(up.headers[':status'], 200);
    assert.equal(up.body.toString(), 'with trailers');
    assert.equal(origin.seen[1]!.trailers['x-req-sum'], '7');
  } finally {
    await closeSession(session);
    await skiff.close();
    await origin.close();
  }
});

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const curlVersion = await curl(['--version']);
const curlHasHttp2 = curlVersion.code === 0 && /\bHTTP2\b/.test(curlVersion.stdout);

test('curl --http2-prior-knowledge → Skiff (Http2) → HTTP/1.1 origin and → h2c origin', { skip: curlHasHttp2 ? false : 'curl with HTTP/2 not installed' }, async () => {
  const h1 = await startH1Origin();
  const h2 = await startH2Origin();
  const toH1 = await skiffFor(h1, 'Http2', 'Http1');
  const toH2 = await skiffFor(h2, 'Http2', '');
  try {
    for (const [skiff, origin, version] of [[toH1, h1, '1.1'], [toH2, h2, '2.0']] as const) {
      const r = await curl(['-sS', '-i', '--http2-prior-knowledge', '-H', 'x-curl: 1', '--data-binary', 'curl body', `http://127.0.0.1:${skiff.port()}/echo`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^HTTP\/2 200 ?\r?\n/);
      assert.match(r.stdout, /\r?\nx-saw-method: POST\r?\n/);
      assert.ok(r.stdout.endsWith('\r\n\r\ncurl body'), JSON.stringify(r.stdout));
      assert.equal(origin.seen[0]!.version, version);
      assert.equal(origin.seen[0]!.headers['x-curl'], '1');
    }
  } finally {
    await toH1.close();
    await toH2.close();
    await h1.close();
    await h2.close();
  }
});

// ── GOAWAY from an h2c upstream ─────────────────────────────────────────────────────────────────

test('h2c upstream GOAWAY below in-flight streams: those streams are retried on a new session and succeed', async () => {
  const server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  /** Streams per session: [session no, stream id, path]. */
  const streams: [number, number, string][] = [];
  const held: http2.ServerHttp2Stream[] = [];
  const N = 4;
  server.on('session', (s) => { sessions.push(s); s.on('error', () => undefined); });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const no = sessions.indexOf(stream.session as http2.ServerHttp2Session) + 1;
    streams.push([no, stream.id!, String(headers[':path'])]);
    const answer = (st: http2.ServerHttp2Stream): void => {
      if (st.destroyed) return;
      st.respond({ ':status': 200, 'x-session': String(no) });
      st.end(`session ${no} stream ${st.id}`);
    };
    if (no !== 1) { answer(stream); return; }
    held.push(stream);
    if (held.length < N) return;
    // Every request is in flight on session 1: GOAWAY naming the lowest stream as the last processed.
    const lastId = Math.min(...held.map((h) => h.id!));
    stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, lastId);
    for (const h of held) if (h.id === lastId) answer(h);
  });
  const address = await listen(server);
  const skiff = await startSkiff(l7Document({ clusters: { o: [address] }, proxy: { downstream_protocol: 'Http2' }, cluster: { connect_timeout: '1s' } }));
  const client = await h2Connect(skiff.port());
  try {
    const results = await Promise.all(Array.from({ length: N }, (_, i) => h2Request(client, { ':method': 'GET', ':path': `/g/${i}`, ':authority': 'a' })));
    for (const r of results) assert.equal(r.headers[':status'], 200, r.body.toString());
    const bySession = results.map((r) => r.headers['x-session']);
    assert.equal(bySession.filter((s) => s === '1').length, 1, `one stream answered before the GOAWAY: ${bySession.join(',')}`);
    assert.equal(bySession.filter((s) => s === '2').length, N - 1, 'the others were retried on a second session');
    assert.equal(sessions.length, 2, 'the upstream saw two sessions');
    // Every path reached session 2 exactly once, except the one answered on session 1.
    const paths1 = streams.filter(([no]) => no === 1).map(([, , p]) => p).sort();
    const paths2 = streams.filter(([no]) => no === 2).map(([, , p]) => p).sort();
    assert.equal(paths1.length, N);
    assert.equal(paths2.length, N - 1);
    const answered1 = results.findIndex((r) => r.headers['x-session'] === '1');
    assert.deepEqual(paths2, paths1.filter((p) => p !== `/g/${answered1}`));
  } finally {
    await closeSession(client);
    await skiff.close();
    for (const s of sessions) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

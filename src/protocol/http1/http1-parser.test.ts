// Conformance (every split point, byte by byte, random chunkings, pause/resume) and acceptance tests
// for Http1Parser: valid edge cases parse to the expected events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runParser, byteChunks, randomChunks, seededRandom, type Http1Event, type RunOptions } from './http1-test-kit.js';
import { BodyFraming, TargetForm, type Http1Head } from './http1-types.js';
import { resolveHttp1Limits } from './http1-limits.js';
import { Http1Parser } from './http1-parser.js';
import { ParseStatus } from './http1-types.js';
import { encodeChunk } from './http1-encoder.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const heads = (ev: Http1Event[]) => ev.filter((e): e is { ev: 'headers'; head: Http1Head } => e.ev === 'headers').map((e) => e.head);
const kinds = (ev: Http1Event[]) => ev.map((e) => e.ev).join(',');

interface Fixture { name: string; wire: string; o: RunOptions }
const FIXTURES: Fixture[] = [
  { name: 'GET 5 headers', o: { mode: 'request' },
    wire: 'GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\nX-Trace: a\r\nCookie: c=1\r\n\r\n' },
  { name: 'pipelined', o: { mode: 'request' },
    wire: 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /3 HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'chunked + extensions + trailers', o: { mode: 'request' },
    wire: 'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip-not, chunked\r\n\r\n'.replace('gzip-not, ', '')
      + '5;name=val;q="a \\"b\\""\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Sum: abc\r\nX-Other: 1\r\n\r\n' },
  { name: 'expect 100-continue', o: { mode: 'request' },
    wire: 'PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc' },
  { name: 'websocket upgrade', o: { mode: 'request' },
    wire: 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x05hello' },
  { name: 'absolute-form', o: { mode: 'request' },
    wire: 'GET http://Example.com:8080?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n' },
  { name: 'HTTP/1.0 keep-alive', o: { mode: 'request' }, wire: 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' },
  { name: 'leading CRLF', o: { mode: 'request' }, wire: '\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'case and order', o: { mode: 'request' },
    wire: 'GET / HTTP/1.1\r\nhOsT: a\r\nX-b: 2\r\nx-A:  1 \t\r\nX-b: 3\r\nempty:\r\n\r\n' },
  { name: 'CONNECT', o: { mode: 'request' }, wire: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nTLS' },
  { name: 'OPTIONS *', o: { mode: 'request' }, wire: 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'underscore dropped', o: { mode: 'request' }, wire: 'GET / HTTP/1.1\r\nHost: a\r\nX_Y: 1\r\nX-Z: 2\r\n\r\n' },
  { name: 'response CL', o: { mode: 'response', requests: [['GET']] }, wire: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' },
  { name: 'HEAD response then GET', o: { mode: 'response', requests: [['HEAD'], ['GET']] },
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' },
  { name: '100 then chunked 200 with trailers', o: { mode: 'response', requests: [['POST']] },
    wire: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nGrpc-Status: 0\r\n\r\n' },
  { name: '204, 304, 200', o: { mode: 'response', requests: [['GET'], ['GET'], ['GET']] },
    wire: 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200\r\nContent-Length: 1\r\n\r\nz' },
  { name: 'until close', o: { mode: 'response', requests: [['GET']], eof: true }, wire: 'HTTP/1.1 200 OK\r\n\r\nstream of bytes' },
  { name: '101 switching', o: { mode: 'response', requests: [['GET', true]] },
    wire: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x82\x01x' },
  { name: '103 then 200', o: { mode: 'response', requests: [['GET']] },
    wire: 'HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' },
];

test('conformance: identical events at every split point, byte by byte, random chunkings and with pauses', () => {
  for (const f of FIXTURES) {
    const wire = b(f.wire);
    const base = runParser([wire], f.o);
    assert.ok(!base.some((e) => e.ev === 'error'), `${f.name}: ${JSON.stringify(base)}`);
    assert.deepEqual(runParser(byteChunks(wire), f.o), base, `${f.name}: byte by byte`);
    for (let i = 1; i < wire.length; i++) {
      assert.deepEqual(runParser([wire.subarray(0, i), wire.subarray(i)], f.o), base, `${f.name}: split at ${i}`);
    }
    const rnd = seededRandom(42);
    for (let k = 0; k < 30; k++) assert.deepEqual(runParser(randomChunks(wire, rnd, 1 + k), f.o), base, `${f.name}: random ${k}`);
    assert.deepEqual(runParser([wire], { ...f.o, pauseOnHeaders: true }), base, `${f.name}: paused`);
  }
});

test('conformance: rejected inputs give the same error at every split point', () => {
  for (const wire of [b('GET / HTTP/1.1\nHost: a\n\n'), b('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n'),
    b('GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n')]) {
    const base = runParser([wire], { mode: 'request' });
    assert.equal(base[base.length - 1]?.ev, 'error');
    for (let i = 1; i < wire.length; i++) {
      assert.deepEqual(runParser([wire.subarray(0, i), wire.subarray(i)], { mode: 'request' }), base);
    }
    assert.deepEqual(runParser(byteChunks(wire), { mode: 'request' }), base);
  }
});

const run1 = (name: string) => { const f = FIXTURES.find((x) => x.name === name)!; return runParser([b(f.wire)], f.o); };

test('request head: method, target, version, headers flat, framing, keep-alive', () => {
  const [h] = heads(run1('GET 5 headers'));
  assert.equal(h!.method, 'GET');
  assert.equal(h!.target, '/index.html?q=1');
  assert.equal(h!.path, '/index.html?q=1');
  assert.equal(h!.targetForm, TargetForm.Origin);
  assert.equal(h!.versionMinor, 1);
  assert.equal(h!.host, 'example.com');
  assert.equal(h!.headers.length, 10);
  assert.equal(h!.framing, BodyFraming.None);
  assert.equal(h!.keepAlive, true);
});

test('pipelined requests: three messages in order, body bytes never parsed as a request', () => {
  const ev = run1('pipelined');
  assert.equal(kinds(ev), 'begin,headers,complete,begin,headers,body,complete,begin,headers,complete');
  assert.deepEqual(heads(ev).map((h) => h.target), ['/1', '/2', '/3']);
  assert.deepEqual(ev.filter((e) => e.ev === 'body'), [{ ev: 'body', data: 'hello' }]);
});

test('chunked body with extensions and trailers', () => {
  const ev = run1('chunked + extensions + trailers');
  assert.equal(heads(ev)[0]!.framing, BodyFraming.Chunked);
  assert.deepEqual(ev.filter((e) => e.ev === 'body'), [{ ev: 'body', data: 'hello world' }]);
  assert.deepEqual(ev.find((e) => e.ev === 'trailers'), { ev: 'trailers', trailers: ['X-Sum', 'abc', 'X-Other', '1'] });
  assert.equal(ev[ev.length - 1]!.ev, 'complete');
});

test('Expect: 100-continue is reported on the head', () => {
  const h = heads(run1('expect 100-continue'))[0]!;
  assert.equal(h.expectContinue, true);
  assert.equal(h.contentLength, 3);
});

test('Upgrade: websocket stops after the head and hands back the tunnel bytes', () => {
  const ev = run1('websocket upgrade');
  assert.equal(heads(ev)[0]!.upgrade, true);
  assert.deepEqual(ev[ev.length - 1], { ev: 'upgraded', rest: '\x81\x05hello' });
  const conn = runParser([b('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n')], { mode: 'request' });
  assert.equal(heads(conn)[0]!.upgrade, false, 'Upgrade without Connection: upgrade is not an upgrade');
  const connect = run1('CONNECT');
  assert.equal(heads(connect)[0]!.targetForm, TargetForm.Authority);
  assert.deepEqual(connect[connect.length - 1], { ev: 'upgraded', rest: 'TLS' });
});

test('absolute-form target: authority and path split, Host must agree', () => {
  const h = heads(run1('absolute-form'))[0]!;
  assert.equal(h.targetForm, TargetForm.Absolute);
  assert.equal(h.authority, 'Example.com:8080');
  assert.equal(h.path, '/?x=1');
  const bad = runParser([b('GET http://a.com/ HTTP/1.1\r\nHost: b.com\r\n\r\n')], { mode: 'request' });
  assert.deepEqual(bad[bad.length - 1], { ev: 'error', code: 'E_HOST_MISMATCH', status: 400 });
});

test('HTTP/1.0: no Host needed, keep-alive only when asked; leading CRLF ignored; OPTIONS *', () => {
  const h = heads(run1('HTTP/1.0 keep-alive'))[0]!;
  assert.equal(h.versionMinor, 0);
  assert.equal(h.keepAlive, true);
  assert.equal(heads(runParser([b('GET / HTTP/1.0\r\n\r\n')], { mode: 'request' }))[0]!.keepAlive, false);
  assert.equal(heads(runParser([b('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')], { mode: 'request' }))[0]!.keepAlive, false);
  assert.equal(kinds(run1('leading CRLF')), 'begin,headers,complete');
  assert.equal(heads(run1('OPTIONS *'))[0]!.targetForm, TargetForm.Asterisk);
});

test('header names keep case and order; values OWS-trimmed; repeated names kept', () => {
  assert.deepEqual(heads(run1('case and order'))[0]!.headers, ['hOsT', 'a', 'X-b', '2', 'x-A', '1', 'X-b', '3', 'empty', '']);
});

test('underscore policy: drop (default), allow, reject', () => {
  assert.deepEqual(heads(run1('underscore dropped'))[0]!.headers, ['Host', 'a', 'X-Z', '2']);
  const wire = [b('GET / HTTP/1.1\r\nHost: a\r\nX_Y: 1\r\n\r\n')];
  assert.deepEqual(heads(runParser(wire, { mode: 'request', limits: resolveHttp1Limits({ underscores: 'allow' }) }))[0]!.headers,
    ['Host', 'a', 'X_Y', '1']);
  const rej = runParser(wire, { mode: 'request', limits: resolveHttp1Limits({ underscores: 'reject' }) });
  assert.deepEqual(rej[rej.length - 1], { ev: 'error', code: 'E_HEADER_UNDERSCORE', status: 400 });
});

test('responses: HEAD has no body, 1xx then final, 204/304 without body, until close, 101', () => {
  const head = run1('HEAD response then GET');
  assert.equal(kinds(head), 'begin,headers,complete,begin,headers,body,complete');
  const cont = run1('100 then chunked 200 with trailers');
  assert.deepEqual(heads(cont).map((h) => h.statusCode), [100, 200]);
  assert.deepEqual(cont.find((e) => e.ev === 'trailers'), { ev: 'trailers', trailers: ['Grpc-Status', '0'] });
  const nb = run1('204, 304, 200');
  assert.equal(kinds(nb), 'begin,headers,complete,begin,headers,complete,begin,headers,body,complete');
  assert.equal(heads(nb)[2]!.reason, '');
  const uc = run1('until close');
  assert.equal(heads(uc)[0]!.framing, BodyFraming.UntilClose);
  assert.equal(heads(uc)[0]!.keepAlive, false);
  assert.equal(kinds(uc), 'begin,headers,body,complete');
  const up = run1('101 switching');
  assert.deepEqual(up[up.length - 1], { ev: 'upgraded', rest: '\x82\x01x' });
  assert.equal(kinds(run1('103 then 200')), 'begin,headers,complete,begin,headers,complete');
});

test('responses: truncation on EOF is an error, clean EOF between messages is not', () => {
  const cut = runParser([b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')], { mode: 'response', requests: [['GET']], eof: true });
  assert.deepEqual(cut[cut.length - 1], { ev: 'error', code: 'E_TRUNCATED', status: 502 });
  const chunkCut = runParser([b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n')],
    { mode: 'response', requests: [['GET']], eof: true });
  assert.equal(chunkCut[chunkCut.length - 1]!.ev, 'error');
  const clean = runParser([b('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na')], { mode: 'response', requests: [['GET']], eof: true });
  assert.equal(clean[clean.length - 1]!.ev, 'complete');
});

test('header section limit: exactly maxHeaderBytes passes, one byte more is 431 (whole and split)', () => {
  const limits = resolveHttp1Limits({ maxHeaderBytes: 200 });
  const prefix = 'GET / HTTP/1.1\r\nHost: a\r\nX: ';
  const at = prefix + 'v'.repeat(200 - prefix.length - 4) + '\r\n\r\n';
  assert.equal(at.length, 200);
  const over = prefix + 'v'.repeat(200 - prefix.length - 3) + '\r\n\r\n';
  for (const chunks of [(s: string) => [b(s)], (s: string) => byteChunks(b(s)), (s: string) => [b(s).subarray(0, 50), b(s).subarray(50)]]) {
    assert.equal(kinds(runParser(chunks(at), { mode: 'request', limits })), 'begin,headers,complete');
    assert.deepEqual(runParser(chunks(over), { mode: 'request', limits }).pop(), { ev: 'error', code: 'E_HEADER_SIZE', status: 431 });
  }
  const countLimits = resolveHttp1Limits({ maxHeaderCount: 3 });
  assert.equal(kinds(runParser([b('GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n')], { mode: 'request', limits: countLimits })),
    'begin,headers,complete');
  assert.deepEqual(runParser([b('GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n')], { mode: 'request', limits: countLimits }).pop(),
    { ev: 'error', code: 'E_HEADER_COUNT', status: 431 });
});

test('defaults: 100 headers pass, 101 headers and 60 KiB + 1 are 431', () => {
  const hs = (n: number) => Array.from({ length: n }, (_, i) => `h${i}: x\r\n`).join('');
  assert.equal(kinds(runParser([b(`GET / HTTP/1.1\r\nHost: a\r\n${hs(99)}\r\n`)], { mode: 'request' })), 'begin,headers,complete');
  assert.deepEqual(runParser([b(`GET / HTTP/1.1\r\nHost: a\r\n${hs(100)}\r\n`)], { mode: 'request' }).pop(),
    { ev: 'error', code: 'E_HEADER_COUNT', status: 431 });
  const big = `GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(60 * 1024)}\r\n\r\n`;
  assert.deepEqual(runParser(randomChunks(b(big), seededRandom(1), 4000), { mode: 'request' }).pop(),
    { ev: 'error', code: 'E_HEADER_SIZE', status: 431 });
});

test('a large Content-Length body streams through in pieces', () => {
  const body = Buffer.alloc(64 * 1024, 0x61);
  let total = 0;
  const ev = runParser([b('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 655360\r\n\r\n'), ...Array.from({ length: 10 }, () => body)],
    { mode: 'request' });
  for (const e of ev) if (e.ev === 'body') total += e.data.length;
  assert.equal(total, 655360);
  assert.equal(ev[ev.length - 1]!.ev, 'complete');
});

test('256 MiB of chunked body through one parser: heap stays flat (views, no buffering)', () => {
  let bytes = 0, completes = 0;
  const p = new Http1Parser('request', {
    onMessageBegin() {}, onHeaders() {}, onBody(b) { bytes += b.length; }, onTrailers() {}, onMessageComplete() { completes++; },
  });
  assert.equal(p.execute(b('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n')), ParseStatus.Ok);
  const chunk = encodeChunk(Buffer.alloc(256 * 1024, 0x61));
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1024; i++) {
    // split each chunk unevenly so the framing crosses chunk boundaries
    assert.equal(p.execute(chunk.subarray(0, 3)), ParseStatus.Ok);
    assert.equal(p.execute(chunk.subarray(3)), ParseStatus.Ok);
  }
  assert.equal(p.execute(b('0\r\n\r\n')), ParseStatus.Ok);
  const growth = process.memoryUsage().heapUsed - before;
  assert.equal(bytes, 256 * 1024 * 1024);
  assert.equal(completes, 1);
  assert.ok(growth < 32 * 1024 * 1024, `heap grew ${growth} bytes`);
});

test('reset() after a refused upgrade parses the following bytes as HTTP again', () => {
  const events: string[] = [];
  const p = new Http1Parser('request', {
    onMessageBegin() {}, onHeaders(h) { events.push(h.target); }, onBody() {}, onTrailers() {}, onMessageComplete() { events.push('done'); },
  });
  const wire = b('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(p.execute(wire), ParseStatus.Upgraded);
  const rest = wire.subarray(p.consumed);
  p.reset();
  assert.equal(p.execute(rest), ParseStatus.Ok);
  assert.deepEqual(events, ['/ws', 'done', '/next', 'done']);
  assert.equal(p.isIdle, true);
});

test('responses may carry any Host header; pendingResponses counts down', () => {
  const ev = runParser([b('HTTP/1.1 200 OK\r\nHost: x\r\nHost: y\r\nContent-Length: 0\r\n\r\n')], { mode: 'response', requests: [['GET']] });
  assert.equal(kinds(ev), 'begin,headers,complete');
  const p = new Http1Parser('response', { onMessageBegin() {}, onHeaders() {}, onBody() {}, onTrailers() {}, onMessageComplete() {} });
  p.expectResponse('GET'); p.expectResponse('HEAD');
  assert.equal(p.pendingResponses, 2);
  assert.equal(p.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx')), ParseStatus.Ok);
  assert.equal(p.pendingResponses, 1);
  assert.equal(p.execute(b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n')), ParseStatus.Ok);
  assert.equal(p.pendingResponses, 0);
});

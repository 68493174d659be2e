// Strict request framing through the proxy (issue 3 Deliver 3; reliability.md, HTTP/1 hostile input):
// every malformed, ambiguous or oversized request gets its status, `connection: close` and a closed
// client connection, and NOT ONE BYTE of it reaches the origin. The origin below counts every byte
// it ever receives; each case asserts the count did not move.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { l7Document, startSkiff, type SkiffInProcess } from '../fakes/l7-harness.js';
import { headerOf, RawClient, type RawResponse } from '../fakes/scripted-origin.js';

interface CountingOrigin {
  readonly port: number;
  bytes: number;
  requests: number;
  close(): Promise<void>;
}

/** Answers every request head with 200 "ok" (bodies are not expected here) and counts all bytes. */
async function countingOrigin(): Promise<CountingOrigin> {
  const sockets = new Set<net.Socket>();
  const o = { port: 0, bytes: 0, requests: 0, close: async () => undefined as void };
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let buf = '';
    s.on('data', (d: Buffer) => {
      o.bytes += d.length;
      buf += d.toString('latin1');
      let at: number;
      while ((at = buf.indexOf('\r\n\r\n')) >= 0) {
        buf = buf.slice(at + 4);
        o.requests++;
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  o.port = (server.address() as net.AddressInfo).port;
  o.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return o;
}

let origin: CountingOrigin;
let skiff: SkiffInProcess;
let small: SkiffInProcess; // max_header_size 8192, underscores rejected, short headers timeout, 1000-byte bodies

before(async () => {
  origin = await countingOrigin();
  const clusters = { c1: [`127.0.0.1:${origin.port}`] };
  skiff = await startSkiff(l7Document({ clusters }));
  small = await startSkiff(l7Document({
    clusters,
    proxy: { extend_config: { Http1: { max_header_size: 8192, headers_with_underscores_action: 'reject', request_headers_timeout: '300ms', max_request_body_size: 1000 } } },
  }));
});

after(async () => {
  await skiff.close();
  await small.close();
  await origin.close();
});

/** Sends `bytes`, reads the reply, waits for the close; asserts status and that the origin saw nothing. */
async function rejects(port: number, bytes: string | Buffer, status: number | readonly number[], what: string): Promise<RawResponse> {
  const before = origin.bytes;
  const c = await RawClient.connect(port);
  try {
    c.send(bytes);
    const r = (await c.readFinal({ timeoutMs: 3000 })).final;
    const want = typeof status === 'number' ? [status] : status;
    assert.ok(want.includes(r.status), `${what}: status ${r.status}, expected ${want.join(' or ')} (body ${JSON.stringify(r.body.toString())})`);
    assert.equal(headerOf(r.headers, 'connection')?.toLowerCase(), 'close', `${what}: connection: close`);
    const end = await c.waitEnd(3000);
    assert.notEqual(end, 'open', `${what}: the client connection is closed after the reply`);
    await new Promise((res) => setTimeout(res, 30)); // anything forwarded would have arrived by now
    assert.equal(origin.bytes, before, `${what}: nothing reached the origin`);
    return r;
  } finally {
    c.close();
  }
}

const H = 'Host: a\r\n';

test('the harness itself: a valid request reaches the origin (so "nothing reached" can fail)', async () => {
  const before = origin.bytes;
  const c = await RawClient.connect(skiff.port());
  c.send(`GET /ok HTTP/1.1\r\n${H}\r\n`);
  const r = (await c.readFinal({ timeoutMs: 3000 })).final;
  c.close();
  assert.equal(r.status, 200);
  assert.ok(origin.bytes > before);
});

test('request smuggling vectors: CL.TE, TE.CL, TE.TE obfuscations, bad Content-Length → 400/501, nothing forwarded', async () => {
  const p = skiff.port();
  const smuggled = 'GET /admin HTTP/1.1\r\nHost: a\r\n\r\n';
  await rejects(p, `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`, 400, 'CL.TE');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`, 400, 'TE.CL');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, 501, 'TE: xchunked (unknown coding)');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`, [400, 501], 'TE: chunked, identity (chunked not last)');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nabc`, [400, 501], 'TE: gzip without chunked');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'TE: chunked twice');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n`, 400, 'TE: malformed list');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, 400, 'space before the colon');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, 400, 'Content-Length: +5');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`, 400, 'Content-Length list');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, 400, 'Content-Length twice');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Content-Length: 0x10\r\n\r\n`, 400, 'Content-Length hex');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`, 400, 'Content-Length overflow');
  await rejects(p, `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: 5\r\n\r\n${smuggled}`, 400, 'differing Content-Lengths with a smuggled request behind');
});

test('malformed heads: bare LF, obs-fold, invalid characters, Host problems, bad versions → 400/505, nothing forwarded', async () => {
  const p = skiff.port();
  await rejects(p, 'GET / HTTP/1.1\nHost: a\n\n', 400, 'bare LF line endings');
  await rejects(p, `GET / HTTP/1.1\r\n${H}X-A: one\r\n two\r\n\r\n`, 400, 'obs-fold');
  await rejects(p, Buffer.from(`GET / HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n`, 'latin1'), 400, 'NUL in a value');
  await rejects(p, `GET / HTTP/1.1\r\n${H}X-(A): v\r\n\r\n`, 400, 'invalid character in a name');
  await rejects(p, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'Host twice');
  await rejects(p, 'GET / HTTP/1.1\r\n\r\n', 400, 'no Host on HTTP/1.1');
  await rejects(p, 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, 'invalid Host');
  await rejects(p, 'GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n', 400, 'absolute-form authority disagreeing with Host');
  await rejects(p, 'GET /\r\n\r\n', [400, 505], 'HTTP/0.9 request line');
  await rejects(p, `GET / HTTP/1.2\r\n${H}\r\n`, [400, 505], 'HTTP/1.2');
  await rejects(p, `GET / HTTP/2.0\r\n${H}\r\n`, [400, 505], 'HTTP/2.0 in an HTTP/1 request line');
  await rejects(p, `GET / HTTP/1.1 \r\n${H}\r\n`, 400, 'trailing space after the version');
  await rejects(p, `GET  / HTTP/1.1\r\n${H}\r\n`, 400, 'double space in the request line');
  await rejects(p, `G@T / HTTP/1.1\r\n${H}\r\n`, 400, 'invalid method token');
});

test('oversized header sections: 431 at Envoy\'s defaults (60 KiB, 100 headers) and at MOSN\'s max_header_size', async () => {
  await rejects(skiff.port(), `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(61 * 1024)}\r\n\r\n`, 431, '61 KiB header, default limit');
  let many = '';
  for (let i = 0; i < 101; i++) many += `X-H${i}: v\r\n`;
  await rejects(skiff.port(), `GET / HTTP/1.1\r\n${H}${many}\r\n`, 431, '102 header fields, default limit 100');
  await rejects(small.port(), `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(9 * 1024)}\r\n\r\n`, 431, '9 KiB header, max_header_size 8192');
  // just under the configured limit still works
  const before = origin.bytes;
  const c = await RawClient.connect(small.port());
  c.send(`GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(7 * 1024)}\r\n\r\n`);
  const r = (await c.readFinal({ timeoutMs: 3000 })).final;
  c.close();
  assert.equal(r.status, 200);
  assert.ok(origin.bytes > before);
});

test('underscore header names: rejected with 400 when configured so, nothing forwarded', async () => {
  await rejects(small.port(), `GET / HTTP/1.1\r\n${H}X_Forwarded_Evil: 1\r\n\r\n`, 400, 'underscore in a name (reject)');
});

test('slowloris: a head trickling in past request_headers_timeout gets 408 and a close', async () => {
  const before = origin.bytes;
  const c = await RawClient.connect(small.port());
  try {
    const head = `GET / HTTP/1.1\r\n${H}X-Slow: ${'a'.repeat(40)}`;
    const started = Date.now();
    let i = 0;
    const trickle = setInterval(() => { if (i < head.length) c.send(head[i++]!); }, 20);
    const r = (await c.readFinal({ timeoutMs: 3000 })).final;
    clearInterval(trickle);
    assert.equal(r.status, 408);
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 2000, `408 after ${took} ms (timeout 300 ms)`);
    assert.notEqual(await c.waitEnd(3000), 'open');
    assert.equal(origin.bytes, before, 'nothing reached the origin');
  } finally {
    c.close();
  }
});

test('a bad chunk after a forwarded head: 400, the upstream exchange is abandoned, no complete request at the origin', async () => {
  const reqsBefore = origin.requests;
  const c = await RawClient.connect(skiff.port());
  try {
    c.send(`POST /chunky HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`);
    const r = (await c.readFinal({ timeoutMs: 3000 })).final;
    assert.equal(r.status, 400);
    assert.notEqual(await c.waitEnd(3000), 'open');
  } finally {
    c.close();
  }
  // The origin may have seen the head (it was forwarded before the body), but never a body end.
  assert.ok(origin.requests <= reqsBefore + 1);
});

test('max_request_body_size: a declared Content-Length over it → 413 before anything is forwarded; a chunked body that grows over it → 413 and the upstream exchange is dropped', async () => {
  await rejects(small.port(), `POST /big HTTP/1.1\r\n${H}Content-Length: 1001\r\n\r\n${'x'.repeat(1001)}`, 413, 'Content-Length 1001 > 1000');
  const c = await RawClient.connect(small.port());
  try {
    c.send(`POST /grow HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`);
    for (let i = 0; i < 3; i++) c.send(`190\r\n${'y'.repeat(400)}\r\n`); // 1,200 bytes in 400-byte chunks
    const r = (await c.readFinal({ timeoutMs: 3000 })).final;
    assert.equal(r.status, 413);
    assert.notEqual(await c.waitEnd(3000), 'open');
  } finally {
    c.close();
  }
  // within the limit still works
  const ok = await RawClient.connect(small.port());
  ok.send(`POST /fits HTTP/1.1\r\n${H}Content-Length: 1000\r\n\r\n${'z'.repeat(1000)}`);
  const r = (await ok.readFinal({ timeoutMs: 3000 })).final;
  ok.close();
  assert.equal(r.status, 200);
});

// Tests for the HTTP/1 encoder (heads, chunk framing) and hop-by-hop header removal; encoded output is
// parsed back with Http1Parser to prove the two agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_END, encodeChunk, encodeChunkHeader, encodeLastChunk, encodeRequestHead, encodeResponseHead } from './http1-encoder.js';
import { stripHopByHop } from './hop-by-hop.js';
import { runParser } from './http1-test-kit.js';
import { isValidFieldName, isValidFieldValue } from './http1-chars.js';

test('request head: one buffer, case and order preserved, parses back', () => {
  const h = ['Host', 'a.example', 'x-Custom', 'V', 'X-Dup', '1', 'X-Dup', '2'];
  const buf = encodeRequestHead('GET', '/p?q=1', h);
  assert.equal(buf.toString('latin1'), 'GET /p?q=1 HTTP/1.1\r\nHost: a.example\r\nx-Custom: V\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n');
  const ev = runParser([buf], { mode: 'request' });
  const head = ev.find((e) => e.ev === 'headers');
  assert.ok(head?.ev === 'headers');
  assert.deepEqual(head.head.headers, h);
  assert.equal(encodeRequestHead('GET', '/', [], 0).toString('latin1'), 'GET / HTTP/1.0\r\n\r\n');
});

test('response head: status, reason, headers, latin1 values', () => {
  assert.equal(encodeResponseHead(404, 'Not Found', ['Content-Length', '0', 'X', 'caf\u00e9']).toString('latin1'),
    'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX: caf\u00e9\r\n\r\n');
  assert.equal(encodeResponseHead(200, '', []).toString('latin1'), 'HTTP/1.1 200 \r\n\r\n');
});

test('chunk framing: header + data + end, whole chunk, last chunk with trailers; parses back', () => {
  assert.equal(encodeChunkHeader(26).toString(), '1a\r\n');
  assert.equal(CHUNK_END.toString(), '\r\n');
  assert.equal(encodeChunk(Buffer.from('hello')).toString(), '5\r\nhello\r\n');
  assert.equal(encodeChunk(Buffer.alloc(0)).length, 0);
  assert.equal(encodeLastChunk().toString(), '0\r\n\r\n');
  assert.equal(encodeLastChunk(['X-Sum', '1']).toString(), '0\r\nX-Sum: 1\r\n\r\n');
  const wire = Buffer.concat([encodeRequestHead('POST', '/', ['Host', 'a', 'Transfer-Encoding', 'chunked']),
    encodeChunkHeader(3), Buffer.from('abc'), CHUNK_END, encodeChunk(Buffer.alloc(300, 0x62)), encodeLastChunk(['T', 'v'])]);
  const ev = runParser([wire], { mode: 'request' });
  assert.deepEqual(ev.filter((e) => e.ev !== 'headers' && e.ev !== 'begin'),
    [{ ev: 'body', data: 'abc' + 'b'.repeat(300) }, { ev: 'trailers', trailers: ['T', 'v'] }, { ev: 'complete' }]);
});

test('hop-by-hop: standard set and Connection-listed names removed, case-insensitively, order kept', () => {
  const h = ['Host', 'a', 'Connection', 'keep-alive, X-Secret', 'Keep-Alive', 'timeout=5', 'x-secret', '1', 'Proxy-Connection', 'x',
    'TE', 'trailers', 'Trailer', 'X', 'Transfer-Encoding', 'chunked', 'Upgrade', 'websocket', 'Accept', '*/*'];
  assert.deepEqual(stripHopByHop(h), ['Host', 'a', 'Accept', '*/*']);
  assert.deepEqual(stripHopByHop(h, ['upgrade']), ['Host', 'a', 'Upgrade', 'websocket', 'Accept', '*/*']);
  const clean = ['Host', 'a', 'X-A', '1'];
  assert.equal(stripHopByHop(clean), clean, 'nothing removed: the same array');
  assert.deepEqual(stripHopByHop(['CONNECTION', 'close', 'Foo', '1', 'X', '2', 'connection', 'foo']), ['X', '2']);
});

test('field validators for headers a proxy adds itself', () => {
  assert.equal(isValidFieldValue('ok value\t1'), true);
  assert.equal(isValidFieldValue('a\r\nInjected: 1'), false);
  assert.equal(isValidFieldValue('a\0'), false);
  assert.equal(isValidFieldName('X-Forwarded-For'), true);
  assert.equal(isValidFieldName('bad name'), false);
  assert.equal(isValidFieldName(''), false);
});

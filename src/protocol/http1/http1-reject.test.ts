// One test per rejection rule of Http1Parser (issue 3 item 3, reliability.md §3.1/§3.2): status and code,
// whole and byte by byte, and nothing after the bad message is ever reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runParser, byteChunks, type RunOptions } from './http1-test-kit.js';
import { resolveHttp1Limits } from './http1-limits.js';

const H = 'Host: a\r\n';
interface Case { name: string; wire: string; code: string; status: number; o?: RunOptions }
const REQ: Case[] = [
  { name: 'CL.TE (H1-a)', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`, code: 'E_CL_TE', status: 400 },
  { name: 'TE.CL (H1-b)', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`, code: 'E_CL_TE', status: 400 },
  { name: 'repeated Content-Length', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`, code: 'E_CL_DUPLICATE', status: 400 },
  { name: 'identical repeated Content-Length', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`, code: 'E_CL_DUPLICATE', status: 400 },
  { name: 'Content-Length +3', wire: `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`, code: 'E_CL_INVALID', status: 400 },
  { name: 'Content-Length 0x3', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc`, code: 'E_CL_INVALID', status: 400 },
  { name: 'Content-Length list', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`, code: 'E_CL_INVALID', status: 400 },
  { name: 'Content-Length x then pipelined (H1-h)', wire: `POST / HTTP/1.1\r\n${H}Content-Length: x\r\n\r\nGET /second HTTP/1.1\r\n${H}\r\n`, code: 'E_CL_INVALID', status: 400 },
  { name: 'Content-Length overflow', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 1234567890123456\r\n\r\n`, code: 'E_CL_INVALID', status: 400 },
  { name: 'TE last coding not chunked', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, code: 'E_TE_NOT_CHUNKED', status: 400 },
  { name: 'TE chunked twice', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, code: 'E_TE_NOT_CHUNKED', status: 400 },
  { name: 'TE unknown coding', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: foo, chunked\r\n\r\n`, code: 'E_TE_UNKNOWN', status: 501 },
  { name: 'TE known but unsupported coding', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: GZIP, Chunked\r\n\r\n`, code: 'E_TE_UNSUPPORTED', status: 501 },
  { name: 'TE empty leading element (N2)', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: , chunked\r\n\r\n`, code: 'E_TE_MALFORMED', status: 400 },
  { name: 'TE malformed token', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n`, code: 'E_TE_MALFORMED', status: 400 },
  { name: 'TE in HTTP/1.0', wire: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', code: 'E_TE_HTTP10', status: 400 },
  { name: 'bare LF (H1-e)', wire: 'GET / HTTP/1.1\nHost: a\n\n', code: 'E_BARE_LF', status: 400 },
  { name: 'bare LF in a header line', wire: `GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n`, code: 'E_BARE_LF', status: 400 },
  { name: 'bare CR in a value (H1-e)', wire: `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, code: 'E_HEADER_VALUE', status: 400 },
  { name: 'NUL in a value', wire: `GET / HTTP/1.1\r\n${H}X: a\0b\r\n\r\n`, code: 'E_HEADER_VALUE', status: 400 },
  { name: 'obs-fold (H1-d)', wire: `GET / HTTP/1.1\r\n${H}X-A: one\r\n two\r\n\r\n`, code: 'E_OBS_FOLD', status: 400 },
  { name: 'space before colon', wire: `GET / HTTP/1.1\r\n${H}X-A : one\r\n\r\n`, code: 'E_HEADER_WS', status: 400 },
  { name: 'invalid header name char', wire: `GET / HTTP/1.1\r\n${H}X(A): one\r\n\r\n`, code: 'E_HEADER_NAME', status: 400 },
  { name: 'empty header name', wire: `GET / HTTP/1.1\r\n${H}: one\r\n\r\n`, code: 'E_HEADER_NAME', status: 400 },
  { name: 'invalid method char', wire: `G(T / HTTP/1.1\r\n${H}\r\n`, code: 'E_REQUEST_LINE', status: 400 },
  { name: 'double space in request line', wire: `GET  / HTTP/1.1\r\n${H}\r\n`, code: 'E_TARGET', status: 400 },
  { name: 'control byte in target', wire: `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, code: 'E_TARGET', status: 400 },
  { name: 'fragment in target', wire: `GET /a#b HTTP/1.1\r\n${H}\r\n`, code: 'E_TARGET', status: 400 },
  { name: 'asterisk-form on GET', wire: `GET * HTTP/1.1\r\n${H}\r\n`, code: 'E_TARGET', status: 400 },
  { name: 'absolute-form with userinfo', wire: `GET http://u@a/ HTTP/1.1\r\n${H}\r\n`, code: 'E_TARGET', status: 400 },
  { name: 'absolute-form with bad port', wire: `GET http://a:99999/ HTTP/1.1\r\n${H}\r\n`, code: 'E_TARGET', status: 400 },
  { name: 'missing Host', wire: 'GET / HTTP/1.1\r\nX: 1\r\n\r\n', code: 'E_HOST_MISSING', status: 400 },
  { name: 'duplicate Host (N1)', wire: `GET / HTTP/1.1\r\n${H}Host: b\r\n\r\n`, code: 'E_HOST_DUPLICATE', status: 400 },
  { name: 'invalid Host', wire: 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', code: 'E_HOST_INVALID', status: 400 },
  { name: 'empty Host', wire: 'GET / HTTP/1.1\r\nHost: \r\n\r\n', code: 'E_HOST_INVALID', status: 400 },
  { name: 'Host with userinfo', wire: 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', code: 'E_HOST_INVALID', status: 400 },
  { name: 'HTTP/2.0 version (N3)', wire: `GET / HTTP/2.0\r\n${H}\r\n`, code: 'E_VERSION', status: 505 },
  { name: 'HTTP/1.2 version', wire: `GET / HTTP/1.2\r\n${H}\r\n`, code: 'E_VERSION', status: 505 },
  { name: 'malformed version', wire: `GET / HTTP/1.1x\r\n${H}\r\n`, code: 'E_REQUEST_LINE', status: 400 },
  { name: 'lower-case version', wire: `GET / http/1.1\r\n${H}\r\n`, code: 'E_REQUEST_LINE', status: 400 },
  { name: 'HTTP/0.9', wire: 'GET /\r\n\r\n', code: 'E_REQUEST_LINE', status: 400 },
  { name: 'chunk size not hex', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nZ\r\n`, code: 'E_CHUNK_SIZE', status: 400 },
  { name: 'chunk size overflow', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n`, code: 'E_CHUNK_SIZE', status: 400 },
  { name: 'chunk size line bare LF', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n`, code: 'E_CHUNK_SIZE', status: 400 },
  { name: 'chunk-size line bare CR', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\rabc\r\n`, code: 'E_CHUNK', status: 400 },
  { name: 'chunk data ended by bare CR', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\rx`, code: 'E_CHUNK_DATA', status: 400 },
  { name: 'chunk data longer than size', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n`, code: 'E_CHUNK_DATA', status: 400 },
  { name: 'bad chunk extension', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;=x\r\nabc\r\n`, code: 'E_CHUNK_EXT', status: 400 },
  { name: 'chunk extension with control byte', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a\x01\r\nabc\r\n`, code: 'E_CHUNK_EXT', status: 400 },
  { name: 'chunk extension too long', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=${'b'.repeat(5000)}\r\nabc\r\n`, code: 'E_CHUNK_EXT_TOO_LONG', status: 413 },
  { name: 'obs-fold in trailers', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n`, code: 'E_OBS_FOLD', status: 400 },
  { name: 'too many Connection tokens', wire: `GET / HTTP/1.1\r\n${H}Connection: ${Array.from({ length: 40 }, (_, i) => `t${i}`).join(', ')}\r\n\r\n`, code: 'E_CONNECTION', status: 400 },
  { name: 'TE on CONNECT', wire: 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n', code: 'E_TE_UNSUPPORTED', status: 501 },
  { name: 'CONNECT without port', wire: 'CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n', code: 'E_TARGET', status: 400 },
  { name: 'underscore with reject policy', wire: `GET / HTTP/1.1\r\n${H}X_A: 1\r\n\r\n`, code: 'E_HEADER_UNDERSCORE', status: 400,
    o: { mode: 'request', limits: resolveHttp1Limits({ underscores: 'reject' }) } },
  { name: 'truncated request body at EOF', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nab`, code: 'E_TRUNCATED', status: 400, o: { mode: 'request', eof: true } },
];

const RSP = (requests: Array<[string, boolean?]> = [['GET']]): RunOptions => ({ mode: 'response', requests });
const RES: Case[] = [
  { name: 'response CL+TE', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', code: 'E_CL_TE', status: 502 },
  { name: 'response CL 2 + CL 3', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n', code: 'E_CL_DUPLICATE', status: 502 },
  { name: 'response obs-fold', wire: 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', code: 'E_OBS_FOLD', status: 502 },
  { name: 'response bare LF', wire: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', code: 'E_BARE_LF', status: 502 },
  { name: 'response bare CR', wire: 'HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n', code: 'E_HEADER_VALUE', status: 502 },
  { name: 'response two-digit status', wire: 'HTTP/1.1 20 OK\r\n\r\n', code: 'E_STATUS_LINE', status: 502 },
  { name: 'response 100 KiB header', wire: `HTTP/1.1 200 OK\r\nX: ${'v'.repeat(100 * 1024)}\r\n\r\n`, code: 'E_HEADER_SIZE', status: 502 },
  { name: 'response HTTP/2.0', wire: 'HTTP/2.0 200 OK\r\n\r\n', code: 'E_VERSION', status: 502 },
  { name: 'response TE gzip only', wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', code: 'E_TE_NOT_CHUNKED', status: 502 },
  { name: '101 without upgrade request', wire: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', code: 'E_UNEXPECTED_101', status: 502 },
  { name: 'bytes after a complete response (N5)', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n\r\n', code: 'E_UNSOLICITED_RESPONSE', status: 502 },
  { name: 'body on a 204 is unsolicited', wire: 'HTTP/1.1 204 No Content\r\n\r\nxyz\r\n\r\n', code: 'E_UNSOLICITED_RESPONSE', status: 502 },
  { name: 'too many interim responses', wire: 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(11), code: 'E_TOO_MANY_INTERIM', status: 502 },
  { name: 'truncated chunked response', wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', code: 'E_TRUNCATED', status: 502,
    o: { ...RSP(), eof: true } },
];

for (const c of [...REQ, ...RES]) {
  test(`rejects: ${c.name} → ${c.status} ${c.code}`, () => {
    const o = c.o ?? (REQ.includes(c) ? { mode: 'request' as const } : RSP());
    const wire = Buffer.from(c.wire, 'latin1');
    for (const chunks of [[wire], byteChunks(wire)]) {
      const ev = runParser(chunks, o);
      assert.deepEqual(ev[ev.length - 1], { ev: 'error', code: c.code, status: c.status }, JSON.stringify(ev.slice(-2)));
      assert.ok(ev.filter((e) => e.ev === 'headers').length <= (c.code === 'E_UNSOLICITED_RESPONSE' || c.code === 'E_TOO_MANY_INTERIM' ? 10 : 1));
      if (c.name.includes('H1-h') || c.name.startsWith('CL.TE') || c.name.startsWith('TE.CL')) {
        assert.ok(!ev.some((e) => e.ev === 'headers' || e.ev === 'body'), 'nothing of a rejected request is reported');
      }
    }
  });
}

test('after an error the parser stays stopped', () => {
  const ev = runParser([Buffer.from('GET / HTTP/1.1\nHost: a\n\n'), Buffer.from(`GET / HTTP/1.1\r\n${H}\r\n`)], { mode: 'request' });
  assert.deepEqual(ev, [{ ev: 'error', code: 'E_BARE_LF', status: 400 }]);
});

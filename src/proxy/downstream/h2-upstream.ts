/**
 * Proxy layer: one request sent upstream over HTTP/2 (a stream on the host's shared session), for a
 * route whose upstream protocol is Http2 (MOSN's route `upstream_protocol`; an HTTP/2 downstream defaults
 * to it). It turns the proxy's request (method, path, flat headers, body chunks, trailers) into an HTTP/2
 * stream and the stream's events back into the phase machine's upstream events, with the response head
 * shaped as the HTTP/1 one the rest of the proxy expects.
 */
import http2 from 'node:http2';
import { BodyFraming, TargetForm, type Http1Head } from '../../protocol/http1/http1-types.js';
import type { Http2SessionPool } from '../../upstream/conn-pool/http2-session-pool.js';

/** The phase machine's side (ActiveStream). */
export interface H2UpstreamEvents {
  /** The stream exists: queued request body may be written now. */
  onH2Ready(): void;
  onResponseHeaders(head: Http1Head): void;
  onResponseBody(chunk: Buffer): void;
  onResponseTrailers(trailers: string[]): void;
  onResponseEnd(reusable: boolean): void;
  /** No stream, or it was reset before the response ended. `refused`: it never reached the application. */
  onUpstreamReset(reason: string): void;
  onUpstreamWritable(): void;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;
const FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

/** Request headers for HTTP/2: pseudo headers from the request line, `te` only as `trailers`. */
export function h2RequestHeaders(method: string, target: string, authority: string, scheme: string, list: readonly string[]): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ':method': method, ':path': target, ':scheme': scheme, ':authority': authority };
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    if (FORBIDDEN.has(name) || name.charCodeAt(0) === 58) continue;
    const value = list[i + 1]!;
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [String(prev), value];
  }
  return out;
}

function flat(h: http2.IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(h)) {
    if (name.charCodeAt(0) === 58) continue;
    const v = h[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.push(name, one);
    else out.push(name, v);
  }
  return out;
}

export class Http2UpstreamRequest {
  readonly #events: H2UpstreamEvents;
  #stream: http2.ClientHttp2Stream | undefined;
  #cancel: () => void;
  #done = false;
  /** The request ended with its headers (END_STREAM), or `end()` was called. */
  #ended = false;
  #endOnAttach = false;
  #readDisables = 0;
  /** Bytes of response received (a reset after some bytes is not retryable). */
  responseBytes = 0;

  constructor(pool: Http2SessionPool, headers: http2.OutgoingHttpHeaders, endStream: boolean, events: H2UpstreamEvents) {
    this.#events = events;
    this.#ended = endStream;
    this.#cancel = pool.request(headers, { endStream, waitForTrailers: !endStream }, (stream, error) => {
      if (this.#done) { stream?.close(NGHTTP2_CANCEL); return; }
      if (stream === undefined) { this.#done = true; events.onUpstreamReset(error); return; }
      this.#attach(stream);
    });
  }

  #trailers: readonly string[] | undefined;

  #attach(s: http2.ClientHttp2Stream): void {
    this.#stream = s;
    const ev = this.#events;
    s.on('wantTrailers', () => {
      const t = this.#trailers;
      const out: http2.OutgoingHttpHeaders = {};
      if (t !== undefined) for (let i = 0; i + 1 < t.length; i += 2) out[t[i]!.toLowerCase()] = t[i + 1]!;
      s.sendTrailers(out);
    });
    s.on('response', (h: http2.IncomingHttpHeaders, flags: number) => {
      const status = Number(h[':status'] ?? 0);
      const cl = h['content-length'];
      const length = cl === undefined ? -1 : Number(cl);
      const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      const head: Http1Head = {
        method: '', target: '', targetForm: TargetForm.None, path: '', authority: '', host: '', versionMinor: 1,
        statusCode: status, reason: '', headers: flat(h),
        framing: endStream && status >= 200 ? BodyFraming.None : length >= 0 ? BodyFraming.Length : BodyFraming.Chunked,
        contentLength: Number.isFinite(length) ? length : -1, keepAlive: true, upgrade: false, expectContinue: false,
      };
      ev.onResponseHeaders(head);
    });
    s.on('headers', (h: http2.IncomingHttpHeaders) => {
      // 1xx interim responses arrive as 'headers' before 'response'.
      const status = Number(h[':status'] ?? 0);
      if (status >= 100 && status < 200) {
        ev.onResponseHeaders({
          method: '', target: '', targetForm: TargetForm.None, path: '', authority: '', host: '', versionMinor: 1,
          statusCode: status, reason: '', headers: flat(h), framing: BodyFraming.None, contentLength: -1,
          keepAlive: true, upgrade: false, expectContinue: false,
        });
      }
    });
    s.on('data', (chunk: Buffer) => { this.responseBytes += chunk.length; ev.onResponseBody(chunk); });
    s.on('trailers', (t: http2.IncomingHttpHeaders) => ev.onResponseTrailers(flat(t)));
    s.on('end', () => {
      if (this.#done) return;
      this.#done = true;
      ev.onResponseEnd(true);
    });
    s.on('drain', () => ev.onUpstreamWritable());
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.#done) return;
      this.#done = true;
      const code = s.rstCode;
      ev.onUpstreamReset(code === NGHTTP2_REFUSED_STREAM ? 'refused' : `rst_stream_${code ?? 0}`);
    });
    ev.onH2Ready();
    if (this.#endOnAttach && !s.destroyed) s.end();
  }

  get ready(): boolean { return this.#stream !== undefined; }

  /** Request body bytes; false when the stream's window/buffer is full (wait for onUpstreamWritable). */
  write(chunk: Buffer): boolean {
    const s = this.#stream;
    if (s === undefined || this.#ended || s.destroyed) return true;
    return s.write(chunk);
  }

  end(trailers?: readonly string[]): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#trailers = trailers !== undefined && trailers.length > 0 ? trailers : undefined;
    if (this.#stream !== undefined) this.#stream.end();
    else this.#endOnAttach = true;
  }

  readDisable(disabled: boolean): void {
    const s = this.#stream;
    if (disabled) { if (this.#readDisables++ === 0) s?.pause(); }
    else if (this.#readDisables > 0 && --this.#readDisables === 0) s?.resume();
  }

  /** Gives the exchange up (downstream gone, timeout): RST_STREAM(CANCEL) upstream. */
  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.#cancel();
    const s = this.#stream;
    if (s !== undefined && !s.destroyed) s.close(NGHTTP2_CANCEL);
  }
}

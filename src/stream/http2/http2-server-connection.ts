/**
 * Stream layer, HTTP/2 server side (h2c with prior knowledge, and h2 over TLS once ALPN picks it): the
 * connection's socket is handed to Node's HTTP/2 engine (nghttp2: framing, HPACK, flow control,
 * SETTINGS/PING handling and its flood and rapid-reset limits), through one unlistened `http2.Server`
 * per listener. Each request stream becomes an `Http2ServerStream`, a `DownstreamStream` the proxy's
 * phase machine drives exactly as an HTTP/1 exchange: pseudo headers map to method, path and host;
 * the body streams with HTTP/2 flow control as backpressure; trailers and RST_STREAM go both ways.
 *
 * Abuse limits (reliability.md HTTP/2): `maxConcurrentStreams` (default 100; more are refused with
 * REFUSED_STREAM), `maxHeaderListSize` (HPACK bombs and CONTINUATION floods end at this size),
 * `maxSessionInvalidFrames`, `maxSessionRejectedStreams` (rapid reset), `maxOutstandingPings` and
 * `maxOutstandingSettings` (floods): the offending session is closed, other connections are untouched.
 */
import http2 from 'node:http2';
import type { Connection, ConnectionCallbacks, ReadFilter } from '../../api/network.js';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import { BodyFraming, TargetForm, type Http1Head } from '../../protocol/http1/http1-types.js';
import { httpDate } from '../../protocol/http1/http-date.js';
import type { DownstreamOwner, DownstreamStream, ServerStreamEvents } from '../downstream-stream.js';

export interface Http2ServerOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (default 100). */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE in bytes (default 60 KiB, as the HTTP/1 header limit). */
  readonly maxHeaderListSize: number;
  /** Close a session with no stream activity for this long (0 disables). */
  readonly idleTimeoutMs: number;
}

export const DEFAULT_HTTP2_SERVER_OPTIONS: Http2ServerOptions = Object.freeze({
  maxConcurrentStreams: 100, maxHeaderListSize: 60 * 1024, idleTimeoutMs: 90_000,
});

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
/**
 * Ends a session that nghttp2 (or Skiff) gave up on, whatever the peer does: a second for its GOAWAY to
 * be read (closing at once would reset the connection and the peer would lose the GOAWAY), then FIN.
 */
function destroySoon(session: http2.Http2Session, code: number): void {
  const s = session as http2.Http2Session & { [kCutOff]?: boolean };
  if (s[kCutOff] === true) return;
  s[kCutOff] = true;
  // destroy() sends a last GOAWAY: it must repeat the error, not say NO_ERROR.
  setTimeout(() => { if (!session.destroyed) session.destroy(undefined, code); }, CUT_OFF_GRACE_MS).unref();
}
const kCutOff = Symbol('skiff.h2.cutOff');
const CUT_OFF_GRACE_MS = 1000;

/** Client-cancelled streams tolerated per window before the connection is closed (rapid reset). */
const MAX_CLIENT_RESETS_PER_WINDOW = 200;
const RESET_WINDOW_MS = 1000;

const NOOP_EVENTS: ServerStreamEvents = {
  onBody() {}, onTrailers() {}, onEnd() {}, onTunnelData() {}, onReset() {}, onWritable() {},
};

/** Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2); the proxy already strips hop-by-hop ones. */
const FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** A flat HTTP/1-style list → an HTTP/2 header object (lower-case names, repeated names as arrays). */
function toH2Headers(list: readonly string[], into: http2.OutgoingHttpHeaders): http2.OutgoingHttpHeaders {
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    if (FORBIDDEN.has(name) || name.startsWith(':')) continue;
    const value = list[i + 1]!;
    const prev = into[name];
    if (prev === undefined) into[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else into[name] = [String(prev), value];
  }
  return into;
}

/** HTTP/2 request headers → the flat list the proxy routes on (pseudo headers dropped, `host` added). */
function fromH2Headers(h: http2.IncomingHttpHeaders, authority: string): string[] {
  const out: string[] = [];
  let hasHost = false;
  for (const name of Object.keys(h)) {
    if (name.charCodeAt(0) === 58 /* : */) continue;
    const v = h[name];
    if (v === undefined) continue;
    if (name === 'host') hasHost = true;
    if (Array.isArray(v)) for (const one of v) out.push(name, one);
    else out.push(name, v);
  }
  if (!hasHost && authority !== '') out.unshift('host', authority);
  return out;
}

export class Http2ServerStream implements DownstreamStream {
  readonly head: Http1Head;
  events: ServerStreamEvents = NOOP_EVENTS;
  readonly connection: Connection;
  readonly protocol = 'HTTP/2';
  headersSent = false;
  statusCode = 0;
  bytesSent = 0;
  readonly #stream: http2.ServerHttp2Stream;
  #trailers: readonly string[] | undefined;
  #ended = false;
  #readDisables = 0;

  constructor(connection: Connection, stream: http2.ServerHttp2Stream, head: Http1Head) {
    this.connection = connection;
    this.#stream = stream;
    this.head = head;
    stream.on('wantTrailers', () => {
      const t = this.#trailers;
      stream.sendTrailers(t === undefined ? {} : toH2Headers(t, {}));
    });
    stream.on('drain', () => this.events.onWritable());
  }

  /** Wires the request body events (after the owner set `events`). */
  start(): void {
    const s = this.#stream;
    s.on('data', (chunk: Buffer) => this.events.onBody(chunk));
    s.on('trailers', (t: http2.IncomingHttpHeaders) => this.events.onTrailers(fromH2Headers(t, '')));
    s.on('end', () => this.events.onEnd());
    s.on('aborted', () => this.#onGone('client_reset'));
    s.on('close', () => { if (!this.#ended) this.#onGone(s.rstCode !== undefined && s.rstCode !== 0 ? `rst_stream_${s.rstCode}` : 'stream_closed'); });
    s.on('error', () => undefined); // reported through 'close'
  }

  #gone = false;
  #onGone(reason: string): void {
    if (this.#gone || this.#ended) return;
    this.#gone = true;
    this.events.onReset(reason);
  }

  setCloseAfter(): void { /* HTTP/2 keeps the connection */ }

  sendInterim(statusCode: number, _reason: string, headers: readonly string[]): void {
    if (this.headersSent || this.#stream.destroyed || statusCode === 101) return;
    try { this.#stream.additionalHeaders(toH2Headers(headers, { ':status': statusCode })); } catch { /* stream gone */ }
  }

  sendHeaders(statusCode: number, _reason: string, headers: string[], _bodyLength: number, bodyless: boolean): void {
    if (this.headersSent || this.#stream.destroyed) return;
    this.headersSent = true;
    this.statusCode = statusCode;
    const h = toH2Headers(headers, { ':status': statusCode });
    try {
      this.#stream.respond(h, bodyless ? { endStream: true } : { waitForTrailers: true });
    } catch {
      this.#onGone('respond_failed');
      return;
    }
    if (bodyless) this.#ended = true;
  }

  sendData(chunk: Buffer): boolean {
    if (this.#ended || chunk.length === 0 || this.#stream.destroyed) return true;
    this.bytesSent += chunk.length;
    return this.#stream.write(chunk);
  }

  sendEnd(trailers?: readonly string[]): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#trailers = trailers !== undefined && trailers.length > 0 ? trailers : undefined;
    if (!this.#stream.destroyed) this.#stream.end();
  }

  localReply(statusCode: number, body: string, extraHeaders?: readonly string[]): void {
    if (this.#ended) return;
    if (this.headersSent) { this.reset('local_reply_after_headers'); return; }
    const bytes = Buffer.from(body, 'utf8');
    const headers = ['date', httpDate(), 'content-type', 'text/plain; charset=utf-8', 'content-length', String(bytes.length)];
    if (extraHeaders !== undefined) for (const x of extraHeaders) headers.push(x);
    const bodyless = this.head.method === 'HEAD' || statusCode === 204 || statusCode === 304;
    this.sendHeaders(statusCode, '', headers, bytes.length, bodyless);
    if (!bodyless) this.sendData(bytes);
    this.sendEnd();
  }

  reset(reason: string): void {
    if (this.#stream.destroyed) return;
    this.#ended = true;
    this.#stream.close(reason === 'stream_idle_timeout' || reason.startsWith('upstream') ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL);
  }

  acceptUpgrade(): void { /* HTTP/2 has no Upgrade */ }
  tunnelWrite(): boolean { return false; }
  tunnelEnd(): void {}

  readDisable(disabled: boolean): void {
    if (disabled) { if (this.#readDisables++ === 0) this.#stream.pause(); }
    else if (this.#readDisables > 0 && --this.#readDisables === 0) this.#stream.resume();
  }
}

/** One listener's HTTP/2 engine: sessions for every connection that speaks HTTP/2. */
export class Http2ServerEngine {
  readonly #server: http2.Http2Server;
  readonly #owner: DownstreamOwner;

  constructor(owner: DownstreamOwner, options: Http2ServerOptions = DEFAULT_HTTP2_SERVER_OPTIONS) {
    this.#owner = owner;
    this.#server = http2.createServer({
      settings: { maxConcurrentStreams: options.maxConcurrentStreams, maxHeaderListSize: options.maxHeaderListSize, enablePush: false },
      maxHeaderListPairs: 512,
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
      maxOutstandingPings: 10,
      maxSettings: 32,
      peerMaxConcurrentStreams: options.maxConcurrentStreams,
    });
    // Streams are dispatched per session (below); the server only creates sessions.
    this.#server.on('sessionError', (_err: Error, session: http2.ServerHttp2Session) => destroySoon(session, NGHTTP2_PROTOCOL_ERROR));
    this.#server.on('timeout', () => undefined);
    this.#idleTimeoutMs = options.idleTimeoutMs;
  }

  readonly #idleTimeoutMs: number;

  /** Takes over `connection` (its socket, with the bytes already read) as an HTTP/2 session. */
  serve(connection: Connection, held: Buffer): Http2ServerConnection {
    return new Http2ServerConnection(this, connection, held);
  }

  /** @internal */
  attach(conn: Http2ServerConnection, connection: Connection, held: Buffer): void {
    const socket = connection.detachSocket(held);
    // The server creates the session synchronously inside 'connection' (its `socket` is a proxy object,
    // so identity cannot be compared): the next 'session' is this one.
    let bound = false;
    this.#server.once('session', (session: http2.ServerHttp2Session) => {
      bound = true;
      conn.bind(session, this.#owner, this.#idleTimeoutMs);
    });
    this.#server.emit('connection', socket);
    if (!bound) socket.destroy();
  }
}

/**
 * The read filter of an HTTP/2 connection: installed by protocol detection, it hands the socket to the
 * engine on the first bytes and from then on only follows the connection's lifecycle (drain → GOAWAY).
 */
export class Http2ServerConnection implements ReadFilter, ConnectionCallbacks {
  readonly connection: Connection;
  readonly #engine: Http2ServerEngine;
  #session: http2.ServerHttp2Session | undefined;
  #pending: Buffer | null;
  #draining = false;

  constructor(engine: Http2ServerEngine, connection: Connection, held: Buffer) {
    this.#engine = engine;
    this.connection = connection;
    this.#pending = held;
    connection.addConnectionCallbacks(this);
  }

  onData(data: Buffer, _endStream: boolean): FilterStatus {
    const held = this.#pending === null ? data : this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    if (this.#session === undefined && this.#pending !== null) {
      this.#pending = null;
      this.#engine.attach(this, this.connection, held);
    }
    return FilterStatus.Stop;
  }

  /** @internal The engine created our session. */
  bind(session: http2.ServerHttp2Session, owner: DownstreamOwner, idleTimeoutMs: number): void {
    this.#session = session;
    if (idleTimeoutMs > 0) session.setTimeout(idleTimeoutMs, () => session.destroy());
    // A session error (nghttp2 gave up on the peer: flood limits, protocol errors) ends the connection,
    // once its GOAWAY had a moment to leave.
    session.on('error', () => destroySoon(session, NGHTTP2_PROTOCOL_ERROR));
    session.on('frameError', (_type: number, _code: number, id: number) => { if (id === 0) destroySoon(session, NGHTTP2_PROTOCOL_ERROR); });
    // nghttp2 ends a flooding peer's session with GOAWAY but leaves the socket open: close it after it.
    session.on('close', () => { if (!this.connection.closed) this.connection.close('flush', 'h2_session_closed'); });
    session.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number) => {
      // Rapid reset (CVE-2023-44487) and MadeYouReset: every stream that ends in RST_STREAM, sent by the
      // client or provoked by its bad frames (a bad HPACK block, a window overflow), counts against the
      // connection; too many in a second closes it (nghttp2's own limit only sends GOAWAY).
      stream.once('close', () => { if (stream.rstCode !== undefined && stream.rstCode !== 0) this.#onClientReset(session); });
      const method = String(headers[':method'] ?? '');
      const path = String(headers[':path'] ?? '');
      const authority = String(headers[':authority'] ?? headers['host'] ?? '');
      const list = fromH2Headers(headers, authority);
      const cl = headers['content-length'];
      const contentLength = cl === undefined ? -1 : Number(cl);
      const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      const head: Http1Head = {
        method, target: path, targetForm: method === 'CONNECT' ? TargetForm.Authority : path === '*' ? TargetForm.Asterisk : TargetForm.Origin,
        path, authority: '', host: authority, versionMinor: 1, statusCode: 0, reason: '', headers: list,
        framing: endStream ? BodyFraming.None : contentLength >= 0 ? BodyFraming.Length : BodyFraming.Chunked,
        contentLength: Number.isFinite(contentLength) ? contentLength : -1, keepAlive: true, upgrade: false, expectContinue: false,
      };
      const s = new Http2ServerStream(this.connection, stream, head);
      s.events = owner.newStream(s, head);
      s.start();
    });
    if (this.#draining) session.goaway();
  }

  #cutOff = false;
  #resetWindowStart = 0;
  #resetsInWindow = 0;

  #onClientReset(session: http2.ServerHttp2Session): void {
    const now = Date.now();
    if (now - this.#resetWindowStart > RESET_WINDOW_MS) { this.#resetWindowStart = now; this.#resetsInWindow = 0; }
    if (++this.#resetsInWindow > MAX_CLIENT_RESETS_PER_WINDOW && !session.destroyed && !this.#cutOff) {
      this.#cutOff = true;
      try { session.goaway(NGHTTP2_ENHANCE_YOUR_CALM); } catch { /* closed */ }
      destroySoon(session, NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }

  /** Graceful drain: GOAWAY; the connection closes once its streams finish. */
  onDrain(): void {
    this.#draining = true;
    const s = this.#session;
    if (s === undefined) { this.connection.close('flush', 'draining'); return; }
    try { s.goaway(); } catch { /* closed */ }
    s.close();
  }

  onEvent(event: ConnectionEvent): void {
    if (event === ConnectionEvent.Connected) return;
    const s = this.#session;
    if (s !== undefined && !s.destroyed) s.destroy();
  }
}

/**
 * Stream layer, HTTP/1 server side: binds the HTTP/1 parser to one downstream connection and turns its
 * bytes into per-request streams (`Http1ServerStream`), and the proxy's responses back into bytes.
 *
 *   bytes ─▶ parser ─▶ onHeaders ─▶ owner.newStream(stream, head) ─▶ events.onBody/onTrailers/onEnd
 *   proxy ─▶ stream.sendHeaders/sendData/sendEnd | localReply ─▶ encoder ─▶ connection.write
 *
 * One request is served at a time (as Envoy's HTTP/1 codec does): a pipelined request waits, parsed no
 * further than its predecessor's end, until that response is complete, so responses go out in order
 * and a client cannot make Skiff buffer unboundedly. Framing to the client is Skiff's own: a body of
 * unknown length is re-chunked for HTTP/1.1 clients and close-delimited for HTTP/1.0 ones.
 *
 * Malformed input never reaches the proxy: the parser's error becomes a local reply (400/431/501/505)
 * and the connection closes. A head that does not arrive within `requestHeadersTimeoutMs` (counted from
 * its first byte, armed only when a head spans reads) gets 408 and a close.
 */
import type { DownstreamOwner, DownstreamStream, ServerStreamEvents } from '../downstream-stream.js';
import type { Connection, ConnectionCallbacks, HandoffState, ReadFilter } from '../../api/network.js';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import { Http1Parser } from '../../protocol/http1/http1-parser.js';
import type { Http1Limits } from '../../protocol/http1/http1-limits.js';
import { BodyFraming, ParseStatus, type Http1Callbacks, type Http1Head } from '../../protocol/http1/http1-types.js';
import { CHUNK_END, encodeChunkHeader, encodeLastChunk, encodeResponseHead } from '../../protocol/http1/http1-encoder.js';
import { reasonPhrase } from '../../protocol/http1/reason-phrase.js';
import { httpDate } from '../../protocol/http1/http-date.js';

const NOTHING = Buffer.alloc(0);

/** What the proxy receives for one request (its per-request object). */
export type { ServerStreamEvents } from '../downstream-stream.js';
/** The proxy side of an HTTP/1 server connection. */
export type Http1ServerOwner = DownstreamOwner;

export interface Http1ServerOptions {
  readonly limits: Http1Limits;
  readonly requestHeadersTimeoutMs: number;
}

/** How the response body is framed towards the client. */
const Out = { None: 0, Length: 1, Chunked: 2, Close: 3 } as const;
type Out = (typeof Out)[keyof typeof Out];

/** Pipelined bytes held (waiting for the response before them) above which reading pauses. */
const HELD_PAUSE_BYTES = 64 * 1024;

const NOOP_EVENTS: ServerStreamEvents = {
  onBody() {}, onTrailers() {}, onEnd() {}, onTunnelData() {}, onReset() {}, onWritable() {},
};

/** One request/response exchange on a downstream HTTP/1 connection. */
export class Http1ServerStream implements DownstreamStream {
  readonly head: Http1Head;
  events: ServerStreamEvents = NOOP_EVENTS;
  requestComplete = false;
  headersSent = false;
  responseComplete = false;
  /** Status sent (0 before headers). */
  statusCode = 0;
  bytesSent = 0;
  readonly #conn: Http1ServerConnection;
  #out: Out = Out.None;
  #closeAfter: boolean;
  #tunnel = false;

  constructor(conn: Http1ServerConnection, head: Http1Head) {
    this.#conn = conn;
    this.head = head;
    this.#closeAfter = !head.keepAlive;
    // A bodyless request is complete with its head (the parser reports the end right after).
    this.requestComplete = head.framing === BodyFraming.None;
  }

  get connection(): Connection { return this.#conn.connection; }
  get protocol(): string { return this.head.versionMinor === 1 ? 'HTTP/1.1' : 'HTTP/1.0'; }
  get tunnelling(): boolean { return this.#tunnel; }
  /** The connection will close after this response. */
  get closeAfter(): boolean { return this.#closeAfter; }

  /** Ask for the connection to close after this response (drain, an upstream that failed mid-way…). */
  setCloseAfter(): void { this.#closeAfter = true; }

  /** A 1xx interim response (100 Continue, 103 Early Hints); ignored once final headers went out. */
  sendInterim(statusCode: number, reason: string, headers: readonly string[]): void {
    if (this.headersSent || this.#conn.closed) return;
    this.#conn.write(encodeResponseHead(statusCode, reason, headers));
  }

  /**
   * Final response head. `headers` must hold no hop-by-hop or framing fields other than the upstream's
   * Content-Length (kept when `bodyLength >= 0`). `bodyLength`: -1 = unknown (chunked / close), 0+ = the
   * declared length. `bodyless`: HEAD, 204, 304 (no body whatever the headers say).
   */
  sendHeaders(statusCode: number, reason: string, headers: string[], bodyLength: number, bodyless: boolean, upgrade = false): void {
    if (this.headersSent || this.#conn.closed) return;
    this.headersSent = true;
    this.statusCode = statusCode;
    if (upgrade) {
      this.#tunnel = true;
      this.#out = Out.None;
    } else if (bodyless) {
      this.#out = Out.None;
    } else if (bodyLength >= 0) {
      this.#out = Out.Length;
    } else if (this.head.versionMinor === 1) {
      this.#out = Out.Chunked;
      headers.push('transfer-encoding', 'chunked');
    } else {
      this.#out = Out.Close;
      this.#closeAfter = true;
    }
    if (this.#conn.draining) this.#closeAfter = true;
    if (!upgrade) {
      if (this.#closeAfter) headers.push('connection', 'close');
      else if (this.head.versionMinor === 0) headers.push('connection', 'keep-alive');
    }
    this.#conn.write(encodeResponseHead(statusCode, reason !== '' ? reason : reasonPhrase(statusCode), headers));
  }

  /** Response body bytes. Returns false when the client's buffer is full (wait for `onWritable`). */
  sendData(chunk: Buffer): boolean {
    if (this.responseComplete || chunk.length === 0) return true;
    this.bytesSent += chunk.length;
    if (this.#out === Out.Chunked) {
      this.#conn.write(encodeChunkHeader(chunk.length));
      this.#conn.write(chunk);
      return this.#conn.write(CHUNK_END);
    }
    return this.#conn.write(chunk);
  }

  /** Ends the response (trailers only with chunked framing). */
  sendEnd(trailers?: readonly string[]): void {
    if (this.responseComplete) return;
    if (this.#out === Out.Chunked) this.#conn.write(encodeLastChunk(trailers));
    this.responseComplete = true;
    this.#conn.responseComplete(this, this.#closeAfter || this.#out === Out.Close);
  }

  /** A complete locally generated response. Resets the stream instead when headers already went out. */
  localReply(statusCode: number, body: string, extraHeaders?: readonly string[], close = false): void {
    if (this.responseComplete) return;
    if (this.headersSent) { this.reset('local_reply_after_headers'); return; }
    if (close) this.#closeAfter = true;
    const bytes = Buffer.from(body, 'utf8');
    const headers = ['date', httpDate(), 'content-type', 'text/plain; charset=utf-8', 'content-length', String(bytes.length)];
    if (extraHeaders !== undefined) for (const h of extraHeaders) headers.push(h);
    const bodyless = this.head.method === 'HEAD' || statusCode === 204 || statusCode === 304;
    this.sendHeaders(statusCode, '', headers, bytes.length, bodyless);
    if (!bodyless) this.sendData(bytes);
    this.sendEnd();
  }

  /** Abort: the client connection is closed at once (a response that cannot be completed). */
  reset(reason: string): void {
    this.responseComplete = true;
    this.#conn.connection.close('now', reason);
  }

  /** Upgrade accepted (the 101 went out): client bytes now flow to `events.onTunnelData`. */
  acceptUpgrade(): void { this.#conn.startTunnel(this); }
  tunnelWrite(chunk: Buffer): boolean { return this.#conn.write(chunk); }
  tunnelEnd(): void { this.#conn.connection.endWrite(); }

  /** Pause/resume reading the client (backpressure from the upstream); calls must pair. */
  readDisable(disabled: boolean): void { this.#conn.connection.readDisable(disabled); }
}

export class Http1ServerConnection implements ReadFilter, ConnectionCallbacks, Http1Callbacks {
  readonly connection: Connection;
  readonly #owner: Http1ServerOwner;
  readonly #parser: Http1Parser;
  readonly #headersTimeoutMs: number;
  #stream: Http1ServerStream | null = null;
  /** Bytes read but not parsed yet (a pipelined request waiting, or bytes after an upgrade request). */
  #held: Buffer | null = null;
  #feeding = false;
  #resumeAsked = false;
  /** Reading paused because too many pipelined bytes are held. */
  #heldPaused = false;
  /** The parser is paused until the active stream's response completes. */
  #waiting = false;
  #inHead = false;
  #headTimer: NodeJS.Timeout | undefined;
  #peerEnded = false;
  #closed = false;
  draining = false;
  /** A hot upgrade waits for the request boundary (see prepareHandoff). */
  #handoff: ((state: HandoffState | null) => void) | undefined;

  constructor(connection: Connection, owner: Http1ServerOwner, options: Http1ServerOptions) {
    this.connection = connection;
    this.#owner = owner;
    this.#parser = new Http1Parser('request', this, options.limits);
    this.#headersTimeoutMs = options.requestHeadersTimeoutMs;
    connection.addConnectionCallbacks(this);
  }

  get closed(): boolean { return this.#closed || this.connection.closed; }
  /** The stream being served (null between requests). */
  get activeStream(): Http1ServerStream | null { return this.#stream; }

  write(data: Buffer): boolean { return this.connection.write(data); }

  // ── ReadFilter ────────────────────────────────────────────────────────────────────────────────
  onData(data: Buffer, endStream: boolean): FilterStatus {
    const s = this.#stream;
    if (s !== null && s.tunnelling) {
      s.events.onTunnelData(data, endStream);
      return FilterStatus.Stop;
    }
    if (data.length > 0) {
      if (this.#held !== null) {
        // A pipelined request waits for the response before it: hold its bytes, and stop reading
        // once a little is held (backpressure instead of buffering a client's whole pipeline).
        this.#held = this.#held.length === 0 ? data : Buffer.concat([this.#held, data]);
        if (this.#held.length > HELD_PAUSE_BYTES && !this.#heldPaused) {
          this.#heldPaused = true;
          this.connection.readDisable(true);
        }
      } else {
        this.#feed(data);
      }
    }
    if (endStream) this.#onPeerEnd();
    return FilterStatus.Stop;
  }

  // ── ConnectionCallbacks ───────────────────────────────────────────────────────────────────────
  onEvent(event: ConnectionEvent): void {
    if (event !== ConnectionEvent.RemoteClose && event !== ConnectionEvent.LocalClose) return;
    this.#closed = true;
    this.#clearHeadTimer();
    const s = this.#stream;
    this.#stream = null;
    this.#held = null;
    if (s !== null && !s.responseComplete) {
      s.responseComplete = true;
      s.events.onReset(event === ConnectionEvent.RemoteClose ? 'downstream_remote_close' : this.connection.closeReason || 'downstream_local_close');
    }
  }

  onBelowWriteBufferLowWatermark(): void {
    this.#stream?.events.onWritable();
  }

  // ── Http1Callbacks (inside parser.execute) ────────────────────────────────────────────────────
  onMessageBegin(): void {
    this.#inHead = false;
    this.#clearHeadTimer();
  }

  onHeaders(head: Http1Head): void {
    const s = new Http1ServerStream(this, head);
    this.#stream = s;
    s.events = this.#owner.newStream(s, head);
  }

  onBody(body: Buffer): void {
    this.#stream?.events.onBody(body);
  }

  onTrailers(trailers: string[]): void {
    this.#stream?.events.onTrailers(trailers);
  }

  onMessageComplete(): void {
    const s = this.#stream;
    if (s === null) return;
    s.requestComplete = true;
    // The next pipelined request waits for this response (unless it is already complete).
    if (!s.responseComplete) { this.#parser.pause(); this.#waiting = true; }
    s.events.onEnd();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────
  #feed(data: Buffer): void {
    this.#feeding = true;
    let buf: Buffer | null = data;
    while (buf !== null && !this.closed) {
      if (this.#parser.isIdle && this.#stream === null) this.#inHead = true;
      const st = this.#parser.execute(buf);
      if (st === ParseStatus.Ok) {
        buf = null;
        break;
      }
      const rest: Buffer = buf.subarray(this.#parser.consumed);
      if (st === ParseStatus.Paused) {
        if (this.#resumeAsked && this.#handoff !== undefined) {
          // The response completed inside this parse, and a hot upgrade waits: the rest moves unparsed.
          this.#resumeAsked = false;
          this.#waiting = false;
          this.#feeding = false;
          this.#handOff(rest);
          return;
        }
        if (this.#resumeAsked) { this.#resumeAsked = false; this.#parser.resume(); buf = rest; continue; }
        this.#held = rest.length > 0 ? rest : Buffer.alloc(0);
        buf = null;
        break;
      }
      if (st === ParseStatus.Upgraded) {
        const s = this.#stream;
        if (s !== null && s.tunnelling) {
          buf = null;
          if (rest.length > 0) s.events.onTunnelData(rest, false);
          break;
        }
        // The upgrade is not (or not yet) accepted: keep the bytes until the response decides.
        this.#held = rest;
        buf = null;
        break;
      }
      // Error: reply and close; nothing of this request reached the proxy.
      buf = null;
      this.#rejectMalformed();
    }
    this.#feeding = false;
    if (this.#inHead && !this.closed && this.#headersTimeoutMs > 0 && this.#headTimer === undefined && !this.#parser.isIdle) {
      this.#headTimer = setTimeout(() => this.#onHeadTimeout(), this.#headersTimeoutMs);
    }
  }

  #rejectMalformed(): void {
    const e = this.#parser.error;
    const status = e?.status ?? 400;
    const body = `${e?.reason ?? 'bad request'}\n`;
    const s = this.#stream;
    if (s !== null && s.headersSent) { this.connection.close('now', 'malformed_request'); return; }
    if (s !== null) s.events.onReset('malformed_request');
    this.#stream = null;
    this.#writeRaw(status, body);
  }

  #writeRaw(status: number, body: string): void {
    const bytes = Buffer.from(body, 'utf8');
    this.connection.write(encodeResponseHead(status, reasonPhrase(status),
      ['date', httpDate(), 'content-type', 'text/plain; charset=utf-8', 'content-length', String(bytes.length), 'connection', 'close']));
    this.connection.write(bytes);
    this.connection.close('flush', 'malformed_request');
  }

  #onHeadTimeout(): void {
    this.#headTimer = undefined;
    if (this.closed || !this.#inHead) return;
    this.#writeRaw(408, 'request headers timeout\n');
  }

  #clearHeadTimer(): void {
    if (this.#headTimer !== undefined) { clearTimeout(this.#headTimer); this.#headTimer = undefined; }
  }

  #onPeerEnd(): void {
    this.#peerEnded = true;
    const s = this.#stream;
    if (s === null) {
      // Between requests (or mid-head): nothing to answer.
      this.connection.close('flush', 'downstream_closed');
      return;
    }
    if (!s.requestComplete) {
      const st = this.#parser.finish();
      if (st !== ParseStatus.Ok || !s.requestComplete) {
        // Truncated request: the response cannot matter any more.
        this.#stream = null;
        s.responseComplete = true;
        s.events.onReset('downstream_truncated');
        this.connection.close('now', 'downstream_truncated');
        return;
      }
    }
    // Request complete, response pending: a client that closed its side has gone away (Envoy and
    // nginx abort here too). The stream is reset so the upstream exchange is abandoned at once
    // instead of holding a pooled connection until a timeout.
    this.#stream = null;
    s.responseComplete = true;
    s.events.onReset('downstream_half_closed');
    this.connection.close('flush', 'downstream_closed');
  }

  /** Called by a stream when its response ended. */
  responseComplete(s: Http1ServerStream, close: boolean): void {
    if (this.#stream !== s) return;
    this.#stream = null;
    if (close || this.#peerEnded || this.draining || !s.requestComplete) {
      // A response before the request body ended (413, an early error) leaves the framing unknown: close.
      this.connection.close('flush', 'response_complete');
      return;
    }
    if (s.head.upgrade) {
      // An upgrade request answered without upgrading: the bytes after it are not trustworthy HTTP.
      this.connection.close('flush', 'upgrade_declined');
      return;
    }
    if (!this.#waiting) return;
    this.#waiting = false;
    if (this.#feeding) { this.#resumeAsked = true; return; }
    if (this.#handoff !== undefined) {
      const held = this.#held;
      this.#held = null;
      this.#handOff(held ?? NOTHING);
      return;
    }
    this.#parser.resume();
    const held = this.#held;
    this.#held = null;
    if (held !== null && held.length > 0) this.#feed(held);
    if (this.#heldPaused && this.#held === null && !this.closed) {
      this.#heldPaused = false;
      this.connection.readDisable(false);
    }
  }

  startTunnel(s: Http1ServerStream): void {
    if (this.#stream !== s) return;
    this.connection.setIdleTimeout(0);
    const held = this.#held;
    this.#held = null;
    if (held !== null && held.length > 0) s.events.onTunnelData(held, false);
  }

  /**
   * Hot upgrade: the connection moves between requests — at once when idle, else when the current
   * response is complete (the pipelined bytes behind it move unparsed). A tunnel cannot move.
   */
  prepareHandoff(ready: (state: HandoffState | null) => void): void {
    const s = this.#stream;
    if (this.#closed || this.#handoff !== undefined || (s !== null && s.tunnelling) || this.draining) { ready(null); return; }
    this.#handoff = ready;
    if (s !== null || this.#waiting) return; // mid-exchange: the boundary comes in responseComplete
    // Idle, or a head begun: its raw bytes move unparsed.
    this.#handOff(this.#parser.isIdle ? (this.#held ?? NOTHING) : (this.#parser.partialHead() ?? NOTHING));
  }

  #handOff(unread: Buffer): void {
    const ready = this.#handoff;
    this.#handoff = undefined;
    this.#held = null;
    this.#clearHeadTimer();
    if (ready !== undefined) ready({ unread, protocol: 'Http1' });
  }

  /** Graceful drain: idle connections close now, busy ones after their response. */
  onDrain(): void {
    this.draining = true;
    if (this.#stream === null) this.connection.close('flush', 'draining');
  }
}


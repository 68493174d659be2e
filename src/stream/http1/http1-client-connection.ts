/**
 * Stream layer, HTTP/1 client side: the codec on one pooled upstream connection. Created once per
 * connection (kept in the pool handle's `attachment`), it serves one request at a time:
 *
 *   begin(events, method, upgrade) ─▶ write(head/body) ─▶ parser(response) ─▶ events.onResponse*
 *
 * Upstream responses are validated by the same strict parser (a 101 nobody asked for, bad framing →
 * `onResponseError`, the caller answers 502 and never reuses the connection). The events of one read
 * are queued and delivered only after the whole read has been parsed, so bytes after a complete
 * response (a body on HEAD/204/304, response smuggling) are seen before any of that response went out:
 * the client gets a clean 502 and the connection is closed. (When the head came in an earlier read,
 * the response already started; it is completed and the connection is closed, never pooled.)
 */
import type { Connection, ConnectionCallbacks, ReadFilter } from '../../api/network.js';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import { Http1Parser } from '../../protocol/http1/http1-parser.js';
import type { Http1Limits } from '../../protocol/http1/http1-limits.js';
import { ParseStatus, type Http1Callbacks, type Http1Head } from '../../protocol/http1/http1-types.js';

const EMPTY = Buffer.alloc(0);

export interface ClientStreamEvents {
  /** A response head: interim (1xx other than 101) or final. */
  onResponseHeaders(head: Http1Head): void;
  onResponseBody(chunk: Buffer): void;
  onResponseTrailers(trailers: string[]): void;
  /** The response is complete; `reusable` = the connection may serve another request. */
  onResponseEnd(reusable: boolean): void;
  /** The upstream broke HTTP/1 (→ 502 before a response started, else a reset). */
  onResponseError(code: string, reason: string): void;
  /** The connection closed before the response completed. */
  onUpstreamReset(reason: string): void;
  /** Bytes from the upstream after a 101 (`end` = upstream half-closed; `closed` = the connection is gone). */
  onUpstreamTunnelData(chunk: Buffer, end: boolean, closed: boolean): void;
  /** The upstream write buffer drained. */
  onUpstreamWritable(): void;
}

const K_HEAD = 0, K_BODY = 1, K_TRAILERS = 2, K_END = 3;

export class Http1ClientConnection implements ReadFilter, ConnectionCallbacks, Http1Callbacks {
  readonly connection: Connection;
  readonly #parser: Http1Parser;
  #events: ClientStreamEvents | null = null;
  /** Events of the current read, delivered after it is parsed: kinds and payloads side by side. */
  readonly #qKind: number[] = [];
  readonly #qData: (Http1Head | Buffer | string[] | null)[] = [];
  #completed = false;
  #tunnel = false;
  #upgrading = false;
  /** The response asked for `Connection: close` or the framing ends at close. */
  #keepAlive = true;
  /** Any response byte of the current request (a failure before one may be a keep-alive race). */
  responseBytes = 0;

  constructor(connection: Connection, limits: Http1Limits) {
    this.connection = connection;
    this.#parser = new Http1Parser('response', this, limits);
    connection.addReadFilter(this);
    connection.addConnectionCallbacks(this);
  }

  /** Starts one request/response exchange. */
  begin(events: ClientStreamEvents, method: string, upgrade: boolean): void {
    this.#events = events;
    this.#completed = false;
    this.#keepAlive = true;
    this.responseBytes = 0;
    this.#parser.expectResponse(method, upgrade);
  }

  /** Stops delivering events (the request was abandoned; the caller closes or releases the connection). */
  detach(): void {
    this.#events = null;
  }

  write(data: Buffer): boolean {
    return this.connection.write(data);
  }

  // ── ReadFilter ────────────────────────────────────────────────────────────────────────────────
  onData(data: Buffer, endStream: boolean): FilterStatus {
    const ev = this.#events;
    if (this.#tunnel) {
      ev?.onUpstreamTunnelData(data, endStream, false);
      return FilterStatus.Stop;
    }
    if (ev === null) {
      // Nobody is waiting: a late byte on an abandoned exchange.
      if (data.length > 0 || endStream) this.connection.close('now', 'unexpected_upstream_data');
      return FilterStatus.Stop;
    }
    if (data.length > 0) {
      this.responseBytes += data.length;
      this.#execute(data);
    }
    if (endStream && this.#events !== null && !this.#tunnel) {
      const st = this.#parser.finish();
      if (st === ParseStatus.Error) this.#fail();
      else this.#deliver();
      if (this.#events !== null && !this.#completed) {
        const e = this.#events;
        this.#events = null;
        e.onUpstreamReset('upstream_closed');
      }
      this.connection.close('flush', 'upstream_closed');
    }
    return FilterStatus.Stop;
  }

  #execute(data: Buffer): void {
    const st = this.#parser.execute(data);
    if (st === ParseStatus.Error) {
      this.#fail();
      return;
    }
    if (st === ParseStatus.Upgraded) {
      this.#tunnel = true;
      this.#deliver();
      const rest = data.subarray(this.#parser.consumed);
      if (rest.length > 0) this.#events?.onUpstreamTunnelData(rest, false, false);
      return;
    }
    if (this.#completed && !this.#parser.isIdle) {
      // Part of another response with no request outstanding: response smuggling or a stray body.
      this.#fail();
      return;
    }
    this.#deliver();
  }

  /** The parser rejected the bytes (or bytes followed a complete response). */
  #fail(): void {
    const e = this.#parser.error;
    const ev = this.#events;
    const headQueued = this.#qKind.includes(K_HEAD);
    if (ev !== null && this.#completed && !headQueued) {
      // The response started in an earlier read and is complete: let it finish, but end the connection.
      this.#keepAlive = false;
      this.#deliver();
      this.connection.close('now', 'bytes_after_response');
      return;
    }
    this.#qKind.length = 0;
    this.#qData.length = 0;
    this.#events = null;
    this.connection.close('now', 'upstream_protocol_error');
    const reason = this.#completed ? 'bytes after a complete response' : e?.reason ?? 'invalid upstream response';
    ev?.onResponseError(this.#completed ? 'E_BYTES_AFTER_RESPONSE' : e?.code ?? 'E_UPSTREAM', reason);
  }

  #deliver(): void {
    const kinds = this.#qKind;
    const data = this.#qData;
    const n = kinds.length;
    if (n === 0) return;
    for (let i = 0; i < n; i++) {
      const ev = this.#events;
      if (ev === null) break;
      switch (kinds[i]) {
        case K_HEAD: ev.onResponseHeaders(data[i] as Http1Head); break;
        case K_BODY: ev.onResponseBody(data[i] as Buffer); break;
        case K_TRAILERS: ev.onResponseTrailers(data[i] as string[]); break;
        default:
          this.#events = null;
          ev.onResponseEnd(this.#keepAlive && !this.connection.closed);
      }
    }
    kinds.length = 0;
    data.length = 0;
  }

  // ── ConnectionCallbacks ───────────────────────────────────────────────────────────────────────
  onEvent(event: ConnectionEvent): void {
    if (event !== ConnectionEvent.RemoteClose && event !== ConnectionEvent.LocalClose) return;
    const ev = this.#events;
    this.#events = null;
    if (ev === null) return;
    if (this.#tunnel) { ev.onUpstreamTunnelData(EMPTY, true, true); return; }
    if (!this.#completed) ev.onUpstreamReset(this.connection.closeReason || (event === ConnectionEvent.RemoteClose ? 'upstream_reset' : 'upstream_local_close'));
  }

  onBelowWriteBufferLowWatermark(): void {
    this.#events?.onUpstreamWritable();
  }

  // ── Http1Callbacks (queued; see #deliver) ─────────────────────────────────────────────────────
  onMessageBegin(): void {}

  onHeaders(head: Http1Head): void {
    if (head.upgrade) this.#upgrading = true;
    if ((head.statusCode >= 200 || head.upgrade) && !head.keepAlive) this.#keepAlive = false;
    this.#qKind.push(K_HEAD);
    this.#qData.push(head);
  }

  onBody(body: Buffer): void {
    this.#qKind.push(K_BODY);
    this.#qData.push(body);
  }

  onTrailers(trailers: string[]): void {
    this.#qKind.push(K_TRAILERS);
    this.#qData.push(trailers);
  }

  onMessageComplete(): void {
    if (this.#parser.pendingResponses > 0) return; // an interim response ended; the final one follows
    if (this.#upgrading) return; // a 101: the bytes after it are the tunnel (execute returns Upgraded)
    this.#completed = true;
    this.#qKind.push(K_END);
    this.#qData.push(null);
  }
}

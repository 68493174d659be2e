/**
 * Stream layer, HTTP/1 client side: the codec on one pooled upstream connection. Created once per
 * connection (kept in the pool handle's `attachment`), it serves one request at a time:
 *
 *   begin(events, method, upgrade) ─▶ write(head/body) ─▶ parser(response) ─▶ events.onResponse*
 *
 * Upstream responses are validated by the same strict parser (a 101 nobody asked for, bad framing →
 * `onResponseError`, the caller answers 502 and never reuses the connection). A bodyless final
 * response (HEAD, 204, 304) is delivered only after the rest of its read has been checked, so bytes
 * after it (a body where none may be, response smuggling) still turn into a clean 502. Bytes after a
 * complete response with a body end the connection (never returned to the pool).
 */
import type { Connection, ConnectionCallbacks, ReadFilter } from '../../api/network.js';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import { Http1Parser } from '../../protocol/http1/http1-parser.js';
import type { Http1Limits } from '../../protocol/http1/http1-limits.js';
import { BodyFraming, ParseStatus, type Http1Callbacks, type Http1Head } from '../../protocol/http1/http1-types.js';

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

export class Http1ClientConnection implements ReadFilter, ConnectionCallbacks, Http1Callbacks {
  readonly connection: Connection;
  readonly #parser: Http1Parser;
  #events: ClientStreamEvents | null = null;
  #deferredHead: Http1Head | null = null;
  #completed = false;
  #tunnel = false;
  #upgrading = false;
  #executing = false;
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
    this.#deferredHead = null;
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
      else if (!this.#completed && this.#events !== null) this.#events.onUpstreamReset('upstream_closed');
      this.connection.close('flush', 'upstream_closed');
    }
    return FilterStatus.Stop;
  }

  #execute(data: Buffer): void {
    this.#executing = true;
    const st = this.#parser.execute(data);
    this.#executing = false;
    if (st === ParseStatus.Error) {
      this.#fail();
      return;
    }
    if (st === ParseStatus.Upgraded) {
      this.#tunnel = true;
      const rest = data.subarray(this.#parser.consumed);
      if (rest.length > 0) this.#events?.onUpstreamTunnelData(rest, false, false);
      return;
    }
    this.#flushDeferred();
  }

  #fail(): void {
    const e = this.#parser.error;
    const ev = this.#events;
    this.#events = null;
    if (this.#completed && this.#deferredHead === null) {
      // Bytes after a complete response: the response stands; the connection is finished.
      this.connection.close('now', 'bytes_after_response');
      return;
    }
    this.#deferredHead = null;
    this.connection.close('now', 'upstream_protocol_error');
    ev?.onResponseError(e?.code ?? 'E_UPSTREAM', e?.reason ?? 'invalid upstream response');
  }

  #flushDeferred(): void {
    const head = this.#deferredHead;
    if (head === null) return;
    this.#deferredHead = null;
    const ev = this.#events;
    if (ev === null) return;
    ev.onResponseHeaders(head);
    if (this.#completed && this.#events === ev) {
      this.#events = null;
      ev.onResponseEnd(this.#keepAlive && !this.connection.closed);
    }
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

  // ── Http1Callbacks ────────────────────────────────────────────────────────────────────────────
  onMessageBegin(): void {}

  onHeaders(head: Http1Head): void {
    const ev = this.#events;
    if (ev === null) return;
    if (head.upgrade) this.#upgrading = true;
    if (head.statusCode >= 200 || head.upgrade) {
      if (!head.keepAlive) this.#keepAlive = false;
      if (head.framing === BodyFraming.None && !head.upgrade && this.#executing) {
        this.#deferredHead = head;
        return;
      }
    }
    ev.onResponseHeaders(head);
  }

  onBody(body: Buffer): void {
    this.#events?.onResponseBody(body);
  }

  onTrailers(trailers: string[]): void {
    this.#events?.onResponseTrailers(trailers);
  }

  onMessageComplete(): void {
    const ev = this.#events;
    if (ev === null) return;
    if (this.#parser.pendingResponses > 0) return; // an interim response ended; the final one follows
    if (this.#upgrading) return; // a 101: the bytes after it are the tunnel (execute returns Upgraded)
    this.#completed = true;
    if (this.#deferredHead !== null) return; // delivered with its end after the read is checked
    this.#events = null;
    ev.onResponseEnd(this.#keepAlive && !this.connection.closed);
  }
}

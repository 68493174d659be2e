/**
 * Stream layer, XProtocol client side: one multiplexed upstream connection. Many requests share it;
 * each gets a connection-unique request id written into its frame in place (`codec.setRequestId`),
 * and the response with that id is handed back to the request's handler. The handler restores the
 * downstream id on the response before forwarding it.
 *
 *   request(frame, handler) ─▶ id = next ─▶ setRequestId(bytes, id) ─▶ write
 *   bytes ─▶ decode ─▶ Response(id) ─▶ pending.get(id).onResponse(frame)
 *                   └▶ GoAway ─▶ no new requests here; pending responses still delivered
 *
 * A closed or malformed connection resets every pending request (`onReset`), never leaves one
 * waiting. When the codec has heartbeats, an idle connection is probed (`XKeepAlive`: 15 s, backoff
 * up to 90 s, 6 failures close it); requests and responses count as activity.
 */
import type { Connection, ConnectionCallbacks, ReadFilter } from '../../api/network.js';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import { XFrameKind, type XCodecLimits, type XFrame, type XProtocolCodec } from '../../api/xprotocol.js';
import { DEFAULT_KEEPALIVE, XKeepAlive, type KeepAliveClock, type KeepAliveOptions } from './x-keepalive.js';

export interface XResponseHandler {
  onResponse(frame: XFrame): void;
  /** The connection failed or closed before the response arrived. */
  onReset(reason: string): void;
}

const MAX_ID = 0xffffffff;

export class XClientConnection implements ReadFilter, ConnectionCallbacks {
  readonly connection: Connection;
  readonly codec: XProtocolCodec;
  readonly #limits: XCodecLimits;
  readonly #pending = new Map<number, XResponseHandler>();
  #nextId = 1;
  #rest: Buffer | null = null;
  #goingAway = false;
  #closed = false;
  /** Called with each heartbeat response (the pool's keepalive tracker). */
  onHeartbeatResponse: ((frame: XFrame) => void) | undefined;

  readonly keepAlive: XKeepAlive | undefined;

  constructor(connection: Connection, codec: XProtocolCodec, limits: XCodecLimits,
    keepAlive: KeepAliveOptions | false = DEFAULT_KEEPALIVE, clock?: KeepAliveClock) {
    this.connection = connection;
    this.codec = codec;
    this.#limits = limits;
    connection.addReadFilter(this);
    connection.addConnectionCallbacks(this);
    if (keepAlive !== false && codec.encodeHeartbeat !== undefined) {
      this.keepAlive = new XKeepAlive({
        sendHeartbeat: () => this.sendHeartbeat(),
        close: (reason) => this.connection.close('now', reason),
      }, keepAlive, clock);
    }
  }

  /** Requests waiting for their response. */
  get inFlight(): number { return this.#pending.size; }
  /** The peer sent GoAway, or the connection closed: send no new requests here. */
  get unusable(): boolean { return this.#goingAway || this.#closed || this.connection.closed; }

  /**
   * Sends `frame` (its bytes are rewritten in place with a connection-unique id). Oneway frames get
   * no handler. Returns the id used, or -1 when the connection cannot take requests (the caller picks
   * another one).
   */
  request(frame: XFrame, handler: XResponseHandler | undefined): number {
    if (this.unusable) return -1;
    const id = this.#allocateId();
    this.codec.setRequestId(frame.bytes, id);
    if (handler !== undefined) this.#pending.set(id, handler);
    this.connection.write(frame.bytes);
    this.keepAlive?.onActivity();
    return id;
  }

  /** Forgets a request (its downstream went away or timed out); a late response is dropped. */
  cancel(id: number): void {
    this.#pending.delete(id);
  }

  /** Sends a heartbeat request; false when the codec has none or the connection is unusable. */
  sendHeartbeat(): boolean {
    if (this.unusable || this.codec.encodeHeartbeat === undefined) return false;
    this.connection.write(this.codec.encodeHeartbeat(this.#allocateId()));
    return true;
  }

  #allocateId(): number {
    // Skip ids still pending after a wrap-around (u32 ids wrap, as MOSN's do).
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    if (data.length > 0) {
      const buf = this.#rest === null ? data : Buffer.concat([this.#rest, data]);
      this.#rest = null;
      this.#decode(buf);
    }
    if (endStream && !this.connection.closed) this.connection.close('flush', 'upstream_closed');
    return FilterStatus.Stop;
  }

  #decode(buf: Buffer): void {
    let off = 0;
    while (off < buf.length && !this.connection.closed) {
      const r = this.codec.decode(buf, off, this.#limits);
      if (r.kind === 1) break;
      if (r.kind === 2) {
        this.connection.close('now', `${this.codec.name}_malformed_response: ${r.reason}`);
        return;
      }
      off += r.consumed;
      const f = r.frame;
      if (r.kind === 3) {
        // A frame from upstream the codec cannot make sense of: the request it answers fails.
        const h = this.#pending.get(f.requestId);
        if (h !== undefined) { this.#pending.delete(f.requestId); h.onReset(`${this.codec.name}_refused_response: ${r.reason}`); }
        continue;
      }
      switch (f.kind) {
        case XFrameKind.Response: {
          const h = this.#pending.get(f.requestId);
          if (h === undefined) break; // cancelled, or an id we never sent: dropped
          this.#pending.delete(f.requestId);
          this.keepAlive?.onActivity();
          h.onResponse(f);
          break;
        }
        case XFrameKind.HeartbeatResponse:
          this.keepAlive?.onHeartbeatResponse();
          this.onHeartbeatResponse?.(f);
          break;
        case XFrameKind.HeartbeatRequest:
          // An upstream that probes us: answer, as a server would.
          this.connection.write(this.codec.encodeHeartbeatResponse(f));
          break;
        case XFrameKind.GoAway:
          this.#goingAway = true;
          break;
        default:
          break;
      }
    }
    if (off < buf.length && !this.connection.closed) this.#rest = Buffer.from(buf.subarray(off));
  }

  onEvent(event: ConnectionEvent): void {
    if (event === ConnectionEvent.Connected) return;
    if (this.#closed) return;
    this.#closed = true;
    this.#rest = null;
    this.keepAlive?.stop();
    const reason = this.connection.closeReason || event;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const h of pending) h.onReset(reason);
  }
}

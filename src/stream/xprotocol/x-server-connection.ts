/**
 * Stream layer, XProtocol server side: binds one multiplexed RPC codec (Bolt, Dubbo, a private one)
 * to a downstream connection. Bytes are decoded into frames; heartbeats are answered here and never
 * routed (MOSN pkg/stream/xprotocol/conn.go); requests and oneways go to the owner (the proxy), which
 * may answer them in any order with `sendResponse`. Malformed input (a bad frame, one over the size
 * limit, a command the codec does not know) closes this connection only.
 *
 *   bytes ─▶ codec.decode (loop) ─▶ HeartbeatRequest → encodeHeartbeatResponse (written here)
 *                                 └─▶ Request / Oneway → owner.onRequest(frame)
 *
 * A read that ends inside a frame keeps the tail (copied once, joined with the next read); frames are
 * views of the read buffers, valid for as long as the caller keeps them.
 */
import type { Connection, ConnectionCallbacks, ReadFilter } from '../../api/network.js';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import { XFrameKind, type XCodecLimits, type XFrame, type XProtocolCodec } from '../../api/xprotocol.js';

export interface XServerOwner {
  /** A request or oneway frame arrived (its `bytes` stay valid). */
  onRequest(conn: XServerConnection, frame: XFrame): void;
  /** The connection closed; requests still in flight on it can be abandoned. */
  onClose?(conn: XServerConnection, reason: string): void;
}

export interface XServerStats {
  heartbeatsAnswered: number;
  requests: number;
}

export class XServerConnection implements ReadFilter, ConnectionCallbacks {
  readonly connection: Connection;
  readonly codec: XProtocolCodec;
  readonly stats: XServerStats = { heartbeatsAnswered: 0, requests: 0 };
  readonly #owner: XServerOwner;
  readonly #limits: XCodecLimits;
  /** Undecoded tail of the previous read. */
  #rest: Buffer | null = null;
  #closed = false;

  constructor(connection: Connection, codec: XProtocolCodec, limits: XCodecLimits, owner: XServerOwner) {
    this.connection = connection;
    this.codec = codec;
    this.#limits = limits;
    this.#owner = owner;
    connection.addConnectionCallbacks(this);
  }

  /** Writes a response (or any frame) to the client. False when its buffer is full. */
  sendResponse(bytes: Buffer): boolean {
    return this.connection.write(bytes);
  }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    if (data.length > 0) {
      const buf = this.#rest === null ? data : Buffer.concat([this.#rest, data]);
      this.#rest = null;
      this.#decode(buf);
    }
    if (endStream && !this.#closed) this.connection.close('flush', 'downstream_closed');
    return FilterStatus.Stop;
  }

  #decode(buf: Buffer): void {
    let off = 0;
    while (off < buf.length && !this.#closed && !this.connection.closed) {
      const r = this.codec.decode(buf, off, this.#limits);
      if (r.kind === 1) break;
      if (r.kind === 2) {
        this.connection.close('now', `${this.codec.name}_malformed: ${r.reason}`);
        return;
      }
      off += r.consumed;
      const f = r.frame;
      switch (f.kind) {
        case XFrameKind.HeartbeatRequest:
          this.stats.heartbeatsAnswered++;
          this.connection.write(this.codec.encodeHeartbeatResponse(f));
          break;
        case XFrameKind.Request:
        case XFrameKind.Oneway:
          this.stats.requests++;
          this.#owner.onRequest(this, f);
          break;
        default:
          // Responses, heartbeat responses or GoAway from a client: nothing to do with them.
          break;
      }
    }
    if (off < buf.length && !this.connection.closed) this.#rest = Buffer.from(buf.subarray(off));
  }

  onEvent(event: ConnectionEvent): void {
    if (event !== ConnectionEvent.RemoteClose && event !== ConnectionEvent.LocalClose) return;
    if (this.#closed) return;
    this.#closed = true;
    this.#rest = null;
    this.#owner.onClose?.(this, this.connection.closeReason);
  }
}

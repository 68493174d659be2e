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
import type { Connection, ConnectionCallbacks, HandoffState, ReadFilter } from '../../api/network.js';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import { XFrameKind, type XCodecLimits, type XFrame, type XProtocolCodec } from '../../api/xprotocol.js';

export interface XServerOwner {
  /** A request or oneway frame arrived (its `bytes` stay valid). */
  onRequest(conn: XServerConnection, frame: XFrame): void;
  /** The connection closed; requests still in flight on it can be abandoned. */
  onClose?(conn: XServerConnection, reason: string): void;
}

const NOTHING = Buffer.alloc(0);

export interface XServerStats {
  heartbeatsAnswered: number;
  requests: number;
  /** Frames answered with a codec error (decode kind 3). */
  refused: number;
}

export interface XServerOptions {
  readonly limits: XCodecLimits;
  /** Send the codec's GoAway before closing on a graceful drain (Bolt: `enable_bolt_goaway`). */
  readonly goAwayOnDrain: boolean;
}

export class XServerConnection implements ReadFilter, ConnectionCallbacks {
  readonly connection: Connection;
  readonly codec: XProtocolCodec;
  readonly stats: XServerStats = { heartbeatsAnswered: 0, requests: 0, refused: 0 };
  readonly #owner: XServerOwner;
  readonly #limits: XCodecLimits;
  readonly #goAwayOnDrain: boolean;
  /** Requests answered-to-be (oneways excluded): a drain waits for them. */
  #inFlight = 0;
  #draining = false;
  /** A protocol error ended reading: the connection closes once the requests before it are answered. */
  #broken = '';
  /** Undecoded tail of the previous read. */
  #rest: Buffer | null = null;
  #closed = false;
  /** A hot upgrade waits for the in-flight requests to be answered. */
  #handoff: ((state: HandoffState | null) => void) | undefined;

  constructor(connection: Connection, codec: XProtocolCodec, options: XServerOptions, owner: XServerOwner) {
    this.connection = connection;
    this.codec = codec;
    this.#limits = options.limits;
    this.#goAwayOnDrain = options.goAwayOnDrain && codec.encodeGoAway !== undefined;
    this.#owner = owner;
    connection.addConnectionCallbacks(this);
  }

  /** Writes the response of a request handed to the owner. False when the write buffer is full. */
  sendResponse(bytes: Buffer): boolean {
    const ok = this.connection.write(bytes);
    this.requestDone();
    return ok;
  }

  /** A request handed to the owner ended (answered, or abandoned); a drain may now finish. */
  requestDone(): void {
    if (this.#inFlight > 0) this.#inFlight--;
    if (this.#inFlight !== 0) return;
    if (this.#broken !== '') this.connection.close('flush', this.#broken);
    else if (this.#handoff !== undefined) this.#handOff();
    else if (this.#draining) this.#finishDrain();
  }

  /**
   * Hot upgrade: no new frame is read; once every in-flight request is answered, the connection moves
   * with its undecoded tail. Oneways already forwarded finish upstream on their own.
   */
  prepareHandoff(ready: (state: HandoffState | null) => void): void {
    if (this.#broken !== '' || this.#closed || this.#handoff !== undefined) { ready(null); return; }
    this.#handoff = ready;
    this.connection.readDisable(true);
    if (this.#inFlight === 0) this.#handOff();
  }

  #handOff(): void {
    const ready = this.#handoff;
    this.#handoff = undefined;
    if (ready === undefined) return;
    const rest = this.#rest ?? NOTHING;
    this.#rest = null;
    ready({ unread: rest, protocol: this.codec.name });
  }

  /**
   * Malformed input: nothing after it is read, and the connection closes — at once when no request is
   * in flight, else as soon as the requests that came before the bad bytes are answered (they were
   * already sent upstream; their answers are not dropped).
   */
  #protocolError(reason: string): void {
    this.#broken = reason;
    this.#rest = null;
    if (this.#inFlight === 0) this.connection.close('now', reason);
  }

  /** Requests handed to the owner and not yet answered. */
  get inFlight(): number { return this.#inFlight; }

  /**
   * Graceful drain (listener stopping): once every in-flight request is answered, the client gets the
   * codec's GoAway when enabled (MOSN: Bolt `enable_bolt_goaway`), then the connection closes after
   * its writes flush. Requests that still arrive meanwhile are served.
   */
  onDrain(): void {
    if (this.#draining) return;
    this.#draining = true;
    if (this.#inFlight === 0) this.#finishDrain();
  }

  #finishDrain(): void {
    if (this.#closed || this.connection.closed) return;
    if (this.#goAwayOnDrain) this.connection.write(this.codec.encodeGoAway!());
    this.connection.close('flush', 'draining');
  }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    if (this.#broken !== '') return FilterStatus.Stop;
    if (data.length > 0) {
      const buf = this.#rest === null ? data : Buffer.concat([this.#rest, data]);
      this.#rest = null;
      this.#decode(buf);
    }
    if (endStream && !this.#closed && this.#broken === '') this.connection.close('flush', 'downstream_closed');
    return FilterStatus.Stop;
  }

  #decode(buf: Buffer): void {
    let off = 0;
    while (off < buf.length && !this.#closed && !this.connection.closed) {
      const r = this.codec.decode(buf, off, this.#limits);
      if (r.kind === 1) break;
      if (r.kind === 2) {
        this.#protocolError(`${this.codec.name}_malformed: ${r.reason}`);
        return;
      }
      off += r.consumed;
      const f = r.frame;
      if (r.kind === 3) {
        // Sound framing, but nothing to serve (unknown command, undecodable body): answered, never forwarded.
        this.stats.refused++;
        if (f.kind !== XFrameKind.Oneway) this.connection.write(this.codec.encodeLocalReply(f, r.status, r.reason));
        continue;
      }
      switch (f.kind) {
        case XFrameKind.HeartbeatRequest:
          this.stats.heartbeatsAnswered++;
          this.connection.write(this.codec.encodeHeartbeatResponse(f));
          break;
        case XFrameKind.Request:
        case XFrameKind.Oneway:
          this.stats.requests++;
          if (f.kind === XFrameKind.Request) this.#inFlight++;
          this.#owner.onRequest(this, f);
          break;
        case XFrameKind.Response:
          // A client does not answer requests: a protocol error (reliability.md: Dubbo "Direction").
          this.#protocolError(`${this.codec.name}_protocol_error: a response from the client`);
          return;
        default:
          // Heartbeat responses or GoAway from a client: logged by MOSN and ignored.
          break;
      }
    }
    if (off < buf.length && !this.connection.closed && this.#broken === '') this.#rest = Buffer.from(buf.subarray(off));
  }

  onEvent(event: ConnectionEvent): void {
    if (event !== ConnectionEvent.RemoteClose && event !== ConnectionEvent.LocalClose) return;
    if (this.#closed) return;
    this.#closed = true;
    this.#rest = null;
    this.#owner.onClose?.(this, this.connection.closeReason);
  }
}

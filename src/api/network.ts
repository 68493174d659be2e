/**
 * API layer (plug-in SDK): the network-layer contracts. A `Connection` is one accepted (downstream)
 * or initiated (upstream) byte stream; network filters sit on it in a read chain and a write chain.
 * Envoy's model (envoy/network/filter.h) with Node's buffers. No runtime imports except constants.
 */
import type { Duplex } from 'node:stream';
import type { ListenerConfig } from './config.js';

/** What a filter returns from a callback. `Stop` = "I consumed this; later filters do not see it". */
export const FilterStatus = { Continue: 0, Stop: 1 } as const;
export type FilterStatus = (typeof FilterStatus)[keyof typeof FilterStatus];

/** Connection lifecycle events, delivered to `ConnectionCallbacks.onEvent`. */
export const ConnectionEvent = {
  /** Upstream only: the TCP connect succeeded. */
  Connected: 'connected',
  /** Upstream only: the connect failed (refused, unreachable) or timed out; see `closeReason`. */
  ConnectFailed: 'connect_failed',
  /** The peer closed or reset the connection. */
  RemoteClose: 'remote_close',
  /** Skiff closed the connection (filter, idle timeout, drain, limit). */
  LocalClose: 'local_close',
} as const;
export type ConnectionEvent = (typeof ConnectionEvent)[keyof typeof ConnectionEvent];

/** How to close: `flush` writes what is buffered then FINs; `now` destroys (RST if data was pending). */
export type CloseMode = 'flush' | 'now';

/**
 * Observer of one connection. Called synchronously from the event loop; may call back into the
 * connection (re-entrant). Every callback is optional.
 */
export interface ConnectionCallbacks {
  onEvent?(event: ConnectionEvent): void;
  /** The write buffer went above the connection's buffer limit: stop producing (backpressure). */
  onAboveWriteBufferHighWatermark?(): void;
  /** The write buffer drained: producing may resume. */
  onBelowWriteBufferLowWatermark?(): void;
  /** The peer half-closed its side (FIN) while our side is still writable. */
  onHalfClose?(): void;
  /**
   * The listener is draining (graceful stop, listener removed): finish what is in flight and close.
   * An HTTP/1 connection closes at once when idle, else after its current response.
   */
  onDrain?(): void;
}

/** Per-connection counters, read by stats and access logs. */
export interface ConnectionCounters {
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly startTimeMs: number;
}

/** A downstream or upstream connection. All methods are safe to call after close (no-ops). */
export interface Connection {
  /** Process-unique id (MOSN `connection_id`). */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Downstream: the accepting listener's name; upstream: the cluster name. */
  readonly ownerName: string;
  readonly counters: ConnectionCounters;
  readonly closed: boolean;
  /** Why the connection closed (`idle_timeout`, `reset`, `connect_timeout`, `ECONNREFUSED`, …); '' while open. */
  readonly closeReason: string;
  /** The TLS session of a TLS connection (undefined: plaintext). Read lazily; cheap after the first read. */
  readonly tls: ConnectionTlsInfo | undefined;

  /**
   * Write through the write-filter chain, then to the socket. Returns false when the write buffer
   * is above the high watermark; `onBelowWriteBufferLowWatermark` follows when it drains.
   */
  write(data: Buffer): boolean;
  /** Half-close: FIN after buffered data; reads continue until the peer closes too. */
  endWrite(): void;
  close(mode: CloseMode, reason?: string): void;
  /** Stop (true) or resume (false) reading from the socket. Counted: n disables need n enables. */
  readDisable(disabled: boolean): void;
  addConnectionCallbacks(cb: ConnectionCallbacks): void;
  addReadFilter(filter: ReadFilter): void;
  addWriteFilter(filter: WriteFilter): void;
  /** Idle timeout in ms (0 disables); reset by every read or write. */
  setIdleTimeout(ms: number): void;
  /**
   * Hands the socket to a protocol engine that reads and writes it itself (Node's HTTP/2 session):
   * this connection stops reading and writing (its filters see nothing more, `write` returns false),
   * `held` bytes already read are put back in front of the stream, and the socket's close still closes
   * this connection (stats, drain and listener accounting keep working).
   */
  detachSocket(held: Buffer): Duplex;
  /**
   * Hot upgrade: the protocol the process that handed this connection over had detected on it
   * (`Http1`, `bolt`, …), so detection is skipped; '' for a connection accepted here.
   */
  readonly adoptedProtocol: string;
}

/** What a TLS connection negotiated and who the peer proved to be (access-log variables, filters). */
export interface ConnectionTlsInfo {
  /** `TLSv1.3`, `TLSv1.2`. */
  readonly version: string;
  /** OpenSSL cipher name. */
  readonly cipher: string;
  /** The SNI the client sent (server side) or Skiff sent (client side); '' when none. */
  readonly sni: string;
  /** The ALPN protocol negotiated; '' when none. */
  readonly alpn: string;
  /** The peer certificate was verified against the configured CA. */
  readonly peerVerified: boolean;
  /** Peer certificate subject as `CN=client,O=…` ('' without a certificate). */
  readonly peerSubject: string;
  readonly peerIssuer: string;
  /** Peer certificate serial (hex). */
  readonly peerSerial: string;
  /** URI SANs (SPIFFE ids), comma-joined. */
  readonly peerUriSan: string;
  /** DNS SANs, comma-joined. */
  readonly peerDnsSan: string;
  /** This side's certificate subject. */
  readonly localSubject: string;
  /** Whether the session was resumed (ticket). */
  readonly resumed: boolean;
}

/** Handed to a read filter once, before `onNewConnection`. */
export interface ReadFilterCallbacks {
  readonly connection: Connection;
  /**
   * Passes `data` to the filters after this one, as if it had just been read (Envoy's
   * injectReadDataToFilterChain): e.g. bytes a detecting filter held back, handed on in one piece.
   */
  injectReadDataToFilterChain(data: Buffer, endStream: boolean): void;
  /**
   * This filter returned Stop from `onNewConnection` and is done deciding: run `onNewConnection`
   * of the filters after it now (Envoy's continueReading), e.g. a protocol detector falling back.
   */
  continueReading(): void;
}

/** A network read filter. Called for each chunk read, in chain order, until one returns `Stop`. */
export interface ReadFilter {
  initializeReadFilterCallbacks?(callbacks: ReadFilterCallbacks): void;
  /** Once per connection, after the chain is built. `Stop` ends iteration (a terminal filter's setup). */
  onNewConnection?(): FilterStatus;
  /**
   * One chunk read from the socket. `endStream` = the peer half-closed (the chunk is then empty).
   * The buffer may be kept (it is not reused), so it can be forwarded without a copy.
   */
  onData(data: Buffer, endStream: boolean): FilterStatus;
  /**
   * Hot upgrade: stop starting new work and call `ready` once the connection sits between requests
   * with none in flight (at once, or when the last response has been written). The connection then
   * moves synchronously, so nothing is read after `ready`. `ready(null)`: this connection cannot move
   * (a tunnel, a fallback to tcp_proxy…) and is drained instead. A chain whose first filter lacks
   * this method cannot move.
   */
  prepareHandoff?(ready: (state: HandoffState | null) => void): void;
}

/** Where a connection stands when it leaves this process (see `ReadFilter.prepareHandoff`). */
export interface HandoffState {
  /** Bytes read from the socket but not processed (a partial request or frame); may be empty. */
  readonly unread: Buffer;
  /** The protocol the connection speaks (`Http1`, `bolt`, …); '' = not detected yet. */
  readonly protocol: string;
}

/** A network write filter: sees every chunk written, in chain order; `Stop` swallows the chunk. */
export interface WriteFilter {
  onWrite(data: Buffer): FilterStatus;
}

/** Given to a listener filter: the raw accepted socket before any network filter exists. */
export interface ListenerFilterCallbacks {
  readonly socket: import('node:net').Socket;
  readonly listener: ListenerConfig;
  /** Continue with the next listener filter (or build the filter chain); `false` closes the socket. */
  continueFilterChain(success: boolean): void;
}

/** A listener filter runs on accept (TLS inspector, original-dst, PROXY protocol). */
export interface ListenerFilter {
  /** `Continue` = done, run the next one now; `Stop` = the filter calls `continueFilterChain` later. */
  onAccept(callbacks: ListenerFilterCallbacks): FilterStatus;
}

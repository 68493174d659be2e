/**
 * Network layer: `SocketConnection`, the one `Connection` implementation, over a `net.Socket` opened
 * with `allowHalfOpen`. It owns the read and write filter chains, the connection callbacks, the
 * write-buffer watermarks, counted read-disable, half-close, the idle timer and the byte counters.
 * Downstream connections are built by `ActiveListener`; upstream ones by `ClientConnection`.
 *
 *   socket 'data' ─▶ read filters (in order, until Stop) ─▶ terminal filter (tcp_proxy, proxy)
 *   write(data)   ─▶ write filters (in order, until Stop) ─▶ socket.write ─▶ watermark check
 *
 * Containment rule: every socket error is caught here and becomes a close with `closeReason`;
 * every filter or callback invocation is wrapped, so a throwing plug-in closes only its own
 * connection and is logged. Nothing escapes an event handler.
 */
import { TLSSocket } from 'node:tls';
import { coarseNow } from '../../base/coarse-clock.js';
import { readTlsInfo } from '../tls/tls-info.js';
import { idleSweeper, type IdleTracked } from './idle-sweeper.js';
import type { Socket } from 'node:net';
import {
  ConnectionEvent,
  FilterStatus,
  type CloseMode,
  type Connection,
  type ConnectionCallbacks,
  type ConnectionCounters,
  type ConnectionTlsInfo,
  type HandoffState,
  type ReadFilter,
  type WriteFilter,
} from '../../api/network.js';
import type { Address } from '../../api/config.js';
import type { Counter, Logger } from '../../api/observability.js';

/**
 * A connection ready to leave this process (hot upgrade): reading has stopped and every byte written
 * has reached the kernel. In one synchronous step the caller reads `fd` and `unread()`, sends them,
 * and calls `done()` (our descriptor closes; the peer sees nothing) or `fail()` (closed cleanly).
 */
export interface SocketHandover {
  readonly protocol: string;
  readonly fd: number;
  /** The bytes read but not processed: the filter's, then whatever the socket buffered since. */
  unread(): Buffer;
  done(): void;
  fail(): void;
}

/** Process-unique connection ids (MOSN `connection_id`), shared by downstream and upstream. */
let nextConnectionId = 1;

const EMPTY = Buffer.alloc(0);

/** How long a `close('flush')` may wait for the peer to take the buffered bytes before a hard close. */
const FLUSH_TIMEOUT_MS = 15_000;

export interface SocketConnectionOptions {
  /** Listener name (downstream) or cluster name (upstream). */
  readonly ownerName: string;
  /** Write-buffer high watermark; the low watermark is half of it. */
  readonly bufferLimitBytes: number;
  readonly logger: Logger;
  /** Bumped by the number of bytes read (listener, cluster and host counters). */
  readonly bytesReadCounters?: readonly Counter[];
  readonly bytesWrittenCounters?: readonly Counter[];
  /** Called once, after the close (or connect-failure) event reached every callback. */
  readonly onClose?: (connection: SocketConnection, event: ConnectionEvent) => void;
  /** Upstream: connect the (fresh) socket to this address; `Connected`/`ConnectFailed` follow. */
  readonly connectTo?: Address;
  readonly connectTimeoutMs?: number;
  /** Local address text to report when the socket has none (unix listeners: the path). */
  readonly localAddressFallback?: string;
  /**
   * Upstream TLS: the socket is a `TLSSocket` already connecting (`tls.connect`); `Connected` follows its
   * handshake (`secureConnect`) instead of the TCP connect, and a handshake failure is a `ConnectFailed`.
   */
  readonly connecting?: 'secureConnect';
}

class MutableCounters implements ConnectionCounters {
  bytesRead = 0;
  bytesWritten = 0;
  readonly startTimeMs = Date.now();
}

const State = { Connecting: 0, Open: 1, Closed: 2 } as const;
const NO_READ_FILTERS: readonly ReadFilter[] = Object.freeze([]);
const NO_WRITE_FILTERS: readonly WriteFilter[] = Object.freeze([]);
const NO_CALLBACKS: readonly ConnectionCallbacks[] = Object.freeze([]);
type State = (typeof State)[keyof typeof State];

const kConnection = Symbol('skiff.connection');
type OwnedSocket = Socket & { [kConnection]?: SocketConnection };

/** Socket event handlers shared by every connection (set in SocketConnection's static block). */
interface SocketHandlers {
  data(this: OwnedSocket, chunk: Buffer): void;
  end(this: OwnedSocket): void;
  finish(this: OwnedSocket): void;
  error(this: OwnedSocket, err: Error): void;
  close(this: OwnedSocket, hadError: boolean): void;
  connect(this: OwnedSocket): void;
  connectTimeout(c: SocketConnection): void;
}
let handlers: SocketHandlers;

export class SocketConnection implements Connection, IdleTracked {
  static {
    handlers = {
      data(chunk) { const c = this[kConnection]; if (c !== undefined) c.#onData(chunk); },
      end() { const c = this[kConnection]; if (c !== undefined) c.#onEnd(); },
      finish() { const c = this[kConnection]; if (c !== undefined) c.#onFinish(); },
      error(err) { const c = this[kConnection]; if (c !== undefined) c.#onError(err); },
      close(hadError) { const c = this[kConnection]; if (c !== undefined) c.#onSocketClose(hadError); },
      connect() { const c = this[kConnection]; if (c !== undefined) c.#onConnect(); },
      connectTimeout(c) { c.#onConnectTimeout(); },
    };
  }

  readonly id = nextConnectionId++;
  readonly ownerName: string;
  readonly counters = new MutableCounters();
  remoteAddress = '';
  remotePort = 0;
  localAddress = '';
  localPort = 0;
  adoptedProtocol = '';

  readonly #socket: Socket;
  readonly #logger: Logger;
  readonly #limitBytes: number;
  readonly #lowWatermarkBytes: number;
  readonly #bytesReadCounters: readonly Counter[];
  readonly #bytesWrittenCounters: readonly Counter[];
  readonly #onCloseHook: ((connection: SocketConnection, event: ConnectionEvent) => void) | undefined;
  readonly #localFallback: string;

  // Exact-size arrays, replaced on add (adds happen at setup): a pushed-to array would reserve ~17 slots.
  #readFilters: readonly ReadFilter[] = NO_READ_FILTERS;
  #writeFilters: readonly WriteFilter[] = NO_WRITE_FILTERS;
  #callbacks: readonly ConnectionCallbacks[] = NO_CALLBACKS;

  #state: State;
  #started = false;
  #readDisableCount = 0;
  /** The peer sent FIN (socket 'end'). */
  #readEnded = false;
  /** Write-completion callback, made the first time a write goes over the buffer limit. */
  #flushedCallback: ((err?: Error | null) => void) | undefined;
  /** Writes of this tick are being gathered (see `write`). */
  #corked = false;
  /** Small writes of this tick, sent as one buffer at its end. */
  #gather: Buffer[] | null = null;
  #gatherBytes = 0;
  /** We called `endWrite()` / `end()`. */
  #writeEnded = false;
  /** Our FIN went out (socket 'finish'). */
  #writeFinished = false;
  #aboveHighWatermark = false;
  #closeReason = '';
  /** 0 = no idle timeout. Read by the idle sweeper. */
  idleTimeoutMs = 0;
  /** Last read or write (ms), stamped only while an idle timeout is set. Read by the idle sweeper. */
  lastActivityMs = 0;
  #idleTracked = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, options: SocketConnectionOptions) {
    this.#socket = socket;
    this.ownerName = options.ownerName;
    this.#logger = options.logger;
    this.#limitBytes = Math.max(1, options.bufferLimitBytes);
    this.#lowWatermarkBytes = Math.floor(this.#limitBytes / 2);
    this.#bytesReadCounters = options.bytesReadCounters ?? [];
    this.#bytesWrittenCounters = options.bytesWrittenCounters ?? [];
    this.#onCloseHook = options.onClose;
    this.#localFallback = options.localAddressFallback ?? '';

    (socket as OwnedSocket)[kConnection] = this;
    socket.on('error', handlers.error);
    socket.on('end', handlers.end);
    socket.on('finish', handlers.finish);
    socket.on('close', handlers.close);

    if (options.connectTo === undefined) {
      this.#state = State.Open;
      this.#captureAddresses();
      socket.setNoDelay(true);
      return;
    }
    this.#state = State.Connecting;
    const target = options.connectTo;
    this.remoteAddress = target.kind === 'tcp' ? target.host : target.path;
    this.remotePort = target.kind === 'tcp' ? target.port : 0;
    socket.once(options.connecting ?? 'connect', handlers.connect);
    const timeoutMs = options.connectTimeoutMs ?? 0;
    if (timeoutMs > 0) {
      this.#connectTimer = setTimeout(handlers.connectTimeout, timeoutMs, this);
      this.#connectTimer.unref();
    }
    if (options.connecting !== undefined) return; // tls.connect is already connecting it
    try {
      if (target.kind === 'tcp') socket.connect({ host: target.host, port: target.port });
      else socket.connect({ path: target.path });
    } catch (err) {
      // Bad arguments throw synchronously; report asynchronously so callers can attach callbacks first.
      const reason = errorReason(err);
      process.nextTick(() => this.#failConnect(reason));
    }
  }

  get closed(): boolean {
    return this.#state === State.Closed;
  }

  #tlsInfo: ConnectionTlsInfo | undefined;

  /** @internal The TLS socket of an upstream TLS connection (to keep its session for resumption). */
  socketForSession(): TLSSocket | undefined {
    return this.#socket instanceof TLSSocket ? this.#socket : undefined;
  }

  get tls(): ConnectionTlsInfo | undefined {
    if (this.#tlsInfo !== undefined) return this.#tlsInfo;
    const s = this.#socket;
    if (!(s instanceof TLSSocket) || this.#state === State.Connecting) return undefined;
    this.#tlsInfo = readTlsInfo(s);
    return this.#tlsInfo;
  }

  get closeReason(): string {
    return this.#closeReason;
  }

  /** Bytes accepted by `write()` but not yet handed to the kernel. */
  get writeBufferedBytes(): number {
    return this.#socket.writableLength + this.#gatherBytes;
  }

  get readDisabled(): boolean {
    return this.#readDisableCount > 0;
  }

  addConnectionCallbacks(cb: ConnectionCallbacks): void {
    this.#callbacks = [...this.#callbacks, cb];
  }

  addReadFilter(filter: ReadFilter): void {
    const index = this.#readFilters.length;
    this.#readFilters = [...this.#readFilters, filter];
    if (filter.initializeReadFilterCallbacks) {
      try {
        filter.initializeReadFilterCallbacks({
          connection: this,
          injectReadDataToFilterChain: (data: Buffer, endStream: boolean) => {
            if (this.#state === State.Open) this.#dispatchRead(data, endStream, index + 1);
          },
          continueReading: () => {
            if (this.#state === State.Open) this.#runNewConnection(index + 1);
          },
        });
      } catch (err) {
        this.#pluginFailed(err, 'initializeReadFilterCallbacks');
      }
    }
  }

  addWriteFilter(filter: WriteFilter): void {
    this.#writeFilters = [...this.#writeFilters, filter];
  }

  /**
   * Runs `onNewConnection` on the read filters (until one returns `Stop`) and starts reading,
   * honouring any `readDisable(true)` issued so far. Called once: by the listener after the chain
   * is built (downstream), or on connect (upstream).
   */
  start(initial?: Buffer): void {
    if (this.#started || this.#state !== State.Open || this.#detached) return;
    this.#started = true;
    if (!this.#runNewConnection(0)) return;
    if (this.#readDisableCount > 0) this.#socket.pause();
    // Attaching 'data' switches the socket to flowing mode unless it was paused just above.
    this.#socket.on('data', handlers.data);
    this.#refreshIdle();
    // A connection handed over by another process: the bytes it had read come first.
    if (initial !== undefined && initial.length > 0) this.#dispatchRead(initial, false);
  }

  /**
   * Hot upgrade: asks the first read filter that can tell (`prepareHandoff`) to bring the connection to
   * a request boundary, then stops reading and waits for its writes to reach the kernel. Resolves null
   * when it cannot move (TLS, detached to an HTTP/2 session, half-closed, no such filter) or closed
   * meanwhile.
   */
  prepareHandover(): Promise<SocketHandover | null> {
    const socket = this.#socket;
    if (this.#state !== State.Open || this.#detached || !this.#started || this.#readEnded || this.#writeEnded || socket instanceof TLSSocket) return Promise.resolve(null);
    const filter = this.#readFilters.find((f) => f.prepareHandoff !== undefined);
    if (filter === undefined) return Promise.resolve(null);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (h: SocketHandover | null): void => { if (!settled) { settled = true; resolve(h); } };
      this.addConnectionCallbacks({ onEvent: (e) => { if (e === ConnectionEvent.LocalClose || e === ConnectionEvent.RemoteClose) settle(null); } });
      const onReady = (state: HandoffState | null): void => {
        if (settled) return;
        if (state === null || this.#state !== State.Open) { settle(null); return; }
        // Nothing more is read here: the rest stays in the kernel (or the stream buffer) for the new owner.
        this.#detached = true;
        socket.off('data', handlers.data);
        socket.pause();
        this.setIdleTimeout(0);
        this.#flushGather();
        const fd = handleFd(socket);
        if (fd === undefined) { this.#detached = false; this.close('flush', 'handover_failed'); settle(null); return; }
        let unread = state.unread;
        const handover: SocketHandover = {
          protocol: state.protocol,
          fd,
          // Accumulates: asking again (a send retried) returns everything read so far.
          unread: () => {
            const rest = socket.read() as Buffer | null;
            if (rest !== null && rest.length > 0) unread = unread.length === 0 ? rest : Buffer.concat([unread, rest]);
            return unread;
          },
          done: () => {
            socket.destroy();
            this.#finish(ConnectionEvent.LocalClose, 'handed_over');
          },
          fail: () => { this.#detached = false; this.close('flush', 'handover_failed'); },
        };
        if (socket.writableLength === 0) { settle(handover); return; }
        socket.once('drain', () => settle(this.#state === State.Open ? handover : null));
      };
      try {
        filter.prepareHandoff!(onReady);
      } catch (err) {
        this.#pluginFailed(err, 'prepareHandoff');
        settle(null);
      }
    });
  }

  #detached = false;

  detachSocket(held: Buffer): Socket {
    const socket = this.#socket;
    this.#detached = true;
    socket.off('data', handlers.data);
    socket.pause();
    if (held.length > 0) socket.unshift(held);
    this.setIdleTimeout(0);
    return socket;
  }

  write(data: Buffer): boolean {
    if (this.#state === State.Closed || this.#writeEnded || this.#detached) return false;
    for (const f of this.#writeFilters) {
      let status: FilterStatus;
      try {
        status = f.onWrite(data);
      } catch (err) {
        this.#pluginFailed(err, 'onWrite');
        return false;
      }
      if (this.closed) return false;
      if (status === FilterStatus.Stop) return !this.#aboveHighWatermark;
    }
    const n = data.length;
    if (n === 0) return !this.#aboveHighWatermark;
    this.counters.bytesWritten += n;
    for (const c of this.#bytesWrittenCounters) c.inc(n);
    if (this.idleTimeoutMs > 0) this.lastActivityMs = coarseNow();
    if (!this.#corked) {
      // Writes of one event-loop tick (a response head and its body, many RPC frames of one read) leave
      // together at the end of the tick: small ones copied into one buffer (one syscall, and none of
      // Node's per-chunk writev bookkeeping), big ones as they are, in order.
      this.#corked = true;
      process.nextTick(uncork, this);
    }
    if (n >= COALESCE_MAX_BYTES) {
      this.#flushGather();
      this.#writeOut(data);
    } else {
      (this.#gather ??= []).push(data);
      this.#gatherBytes += n;
    }
    if (!this.#aboveHighWatermark && this.#socket.writableLength + this.#gatherBytes > this.#limitBytes) {
      this.#aboveHighWatermark = true;
      this.#emitWatermark(true);
    }
    return !this.#aboveHighWatermark;
  }

  /** Tells the connection's observers that its listener is draining (`ConnectionCallbacks.onDrain`). */
  notifyDrain(): void {
    if (this.#state === State.Closed) return;
    for (const cb of [...this.#callbacks]) {
      if (!cb.onDrain) continue;
      try {
        cb.onDrain();
      } catch (err) {
        this.#pluginFailed(err, 'onDrain');
        return;
      }
    }
  }

  /** @internal Flushes the writes batched during this tick. */
  uncorkTick(): void {
    if (!this.#corked) return;
    this.#corked = false;
    if (this.#state !== State.Closed) this.#flushGather();
  }

  #flushGather(): void {
    const g = this.#gather;
    if (g === null) return;
    const bytes = this.#gatherBytes;
    this.#gather = null;
    this.#gatherBytes = 0;
    this.#writeOut(g.length === 1 ? g[0]! : Buffer.concat(g, bytes));
  }

  #writeOut(data: Buffer): void {
    // Completion callbacks are needed only to see the buffer drain once it went over the limit
    // (a callback per write costs a closure call per chunk on the hot path).
    if (this.#aboveHighWatermark || this.#socket.writableLength + data.length > this.#limitBytes) this.#socket.write(data, this.#flushedCallback ??= (err?: Error | null) => this.#onFlushed(err));
    else this.#socket.write(data);
  }

  endWrite(): void {
    if (this.#state === State.Closed || this.#writeEnded) return;
    this.#writeEnded = true;
    this.#flushGather();
    this.#socket.end();
  }

  close(mode: CloseMode, reason = 'local'): void {
    if (this.#state === State.Closed) return;
    const socket = this.#socket;
    if (mode === 'flush' && this.#state === State.Open && !socket.destroyed && !this.#writeFinished) {
      // Stop reading, FIN after the buffered bytes, destroy on 'finish' (or at the flush timeout).
      socket.pause();
      if (!this.#writeEnded) {
        this.#writeEnded = true;
        this.#flushGather();
        socket.end();
      }
      this.#flushTimer = setTimeout(() => socket.destroy(), FLUSH_TIMEOUT_MS);
      this.#flushTimer.unref();
    } else {
      socket.destroy();
    }
    this.#finish(ConnectionEvent.LocalClose, reason);
  }

  readDisable(disabled: boolean): void {
    if (this.#state === State.Closed) return;
    if (disabled) {
      if (++this.#readDisableCount === 1 && this.#started) this.#socket.pause();
      return;
    }
    if (this.#readDisableCount === 0) return;
    if (--this.#readDisableCount === 0 && this.#started) this.#socket.resume();
  }

  setIdleTimeout(ms: number): void {
    this.idleTimeoutMs = ms > 0 ? ms : 0;
    this.lastActivityMs = coarseNow();
    const track = this.idleTimeoutMs > 0 && this.#state !== State.Closed;
    if (track && !this.#idleTracked) idleSweeper.add(this);
    else if (!track && this.#idleTracked) idleSweeper.delete(this);
    this.#idleTracked = track;
  }


  // ── socket events: module-level handlers (no closures per connection) find the connection
  //    through the socket's kConnection slot and call these ──

  #onData(chunk: Buffer): void {
    if (this.#state !== State.Open) return;
    const n = chunk.length;
    this.counters.bytesRead += n;
    for (const c of this.#bytesReadCounters) c.inc(n);
    if (this.idleTimeoutMs > 0) this.lastActivityMs = coarseNow();
    this.#dispatchRead(chunk, false);
  }

  #onEnd(): void {
    this.#readEnded = true;
    if (this.#state !== State.Open) return;
    if (this.#readFilters.length === 0) {
      // Nobody consumes this connection: the peer is done, so are we.
      this.close('flush', 'eof');
      return;
    }
    this.#dispatchRead(EMPTY, true);
    if (this.#state !== State.Open) return;
    for (const cb of this.#callbacks) {
      if (!cb.onHalfClose) continue;
      try {
        cb.onHalfClose();
      } catch (err) {
        this.#pluginFailed(err, 'onHalfClose');
        return;
      }
      if (this.#state !== State.Open) return;
    }
    if (this.#writeFinished) this.#closeBothDone(ConnectionEvent.RemoteClose);
  }

  #onFinish(): void {
    this.#writeFinished = true;
    if (this.#state === State.Closed) {
      // A flushing close: everything went out.
      this.#socket.destroy();
      return;
    }
    if (this.#readEnded) this.#closeBothDone(ConnectionEvent.LocalClose);
  }

  #onFlushed(err?: Error | null): void {
    if (err || !this.#aboveHighWatermark || this.#state === State.Closed) return;
    if (this.#socket.writableLength <= this.#lowWatermarkBytes) {
      this.#aboveHighWatermark = false;
      this.#emitWatermark(false);
    }
  }

  #onError(err: Error): void {
    if (this.#state === State.Connecting) {
      this.#failConnect(errorReason(err));
      return;
    }
    this.#socket.destroy();
    if (this.#state === State.Closed) return;
    this.#finish(ConnectionEvent.RemoteClose, errorReason(err));
  }

  #onSocketClose(hadError: boolean): void {
    this.#clearTimers();
    if (this.#state === State.Closed) return;
    if (this.#state === State.Connecting) {
      this.#failConnect('closed');
      return;
    }
    this.#finish(ConnectionEvent.RemoteClose, hadError ? 'reset' : 'eof');
  }

  #onConnect(): void {
    if (this.#state !== State.Connecting) return;
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#state = State.Open;
    this.#captureAddresses();
    this.#socket.setNoDelay(true);
    this.#emitEvent(ConnectionEvent.Connected);
    this.start();
  }

  #onConnectTimeout(): void {
    this.#connectTimer = undefined;
    if (this.#state === State.Connecting) this.#failConnect('connect_timeout');
  }

  /** @internal The idle sweeper found this connection quiet for its idle timeout. */
  onIdleExpired(): void {
    if (this.#state === State.Closed) return;
    this.close('now', 'idle_timeout');
  }


  // ── internals ──

  /** `onNewConnection` on the read filters from `from` until one returns Stop; false once closed. */
  #runNewConnection(from: number): boolean {
    const filters = this.#readFilters;
    for (let i = from; i < filters.length; i++) {
      const f = filters[i]!;
      if (!f.onNewConnection) continue;
      let status: FilterStatus;
      try {
        status = f.onNewConnection();
      } catch (err) {
        this.#pluginFailed(err, 'onNewConnection');
        return false;
      }
      if (this.#state !== State.Open) return false;
      if (status === FilterStatus.Stop) break;
    }
    return this.#state === State.Open;
  }

  #dispatchRead(data: Buffer, endStream: boolean, from = 0): void {
    const filters = this.#readFilters;
    for (let i = from; i < filters.length; i++) {
      const f = filters[i]!;
      let status: FilterStatus;
      try {
        status = f.onData(data, endStream);
      } catch (err) {
        this.#pluginFailed(err, 'onData');
        return;
      }
      if (status === FilterStatus.Stop || this.#state !== State.Open) return;
    }
  }

  #closeBothDone(event: ConnectionEvent): void {
    this.#socket.destroy();
    this.#finish(event, 'eof');
  }

  #failConnect(reason: string): void {
    if (this.#state !== State.Connecting) return;
    this.#socket.destroy();
    this.#finish(ConnectionEvent.ConnectFailed, reason);
  }

  #finish(event: ConnectionEvent, reason: string): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#closeReason = reason;
    if (this.#idleTracked) { this.#idleTracked = false; idleSweeper.delete(this); }
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#emitEvent(event);
    if (this.#onCloseHook) {
      try {
        this.#onCloseHook(this, event);
      } catch (err) {
        this.#logger.error({ err, connectionId: this.id }, 'connection close hook threw');
      }
    }
  }

  #emitEvent(event: ConnectionEvent): void {
    for (const cb of this.#callbacks) {
      if (!cb.onEvent) continue;
      try {
        cb.onEvent(event);
      } catch (err) {
        this.#pluginFailed(err, 'onEvent');
      }
    }
  }

  #emitWatermark(above: boolean): void {
    for (const cb of this.#callbacks) {
      try {
        if (above) cb.onAboveWriteBufferHighWatermark?.();
        else cb.onBelowWriteBufferLowWatermark?.();
      } catch (err) {
        this.#pluginFailed(err, above ? 'onAboveWriteBufferHighWatermark' : 'onBelowWriteBufferLowWatermark');
        return;
      }
    }
  }

  /** A plug-in threw: log it and close this connection only. */
  #pluginFailed(err: unknown, where: string): void {
    this.#logger.error({ err, connectionId: this.id, owner: this.ownerName, where }, 'network filter threw; closing its connection');
    if (this.#state !== State.Closed) {
      this.#socket.destroy();
      this.#finish(ConnectionEvent.LocalClose, 'filter_error');
    }
  }

  #refreshIdle(): void {
    if (this.idleTimeoutMs > 0) this.setIdleTimeout(this.idleTimeoutMs);
  }

  #clearTimers(): void {
    if (this.#idleTracked) { this.#idleTracked = false; idleSweeper.delete(this); }
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#connectTimer = this.#flushTimer = undefined;
  }

  #captureAddresses(): void {
    const s = this.#socket;
    if (s.remoteAddress !== undefined) {
      this.remoteAddress = s.remoteAddress;
      this.remotePort = s.remotePort ?? 0;
    }
    this.localAddress = s.localAddress ?? this.#localFallback;
    this.localPort = s.localPort ?? 0;
  }
}

/**
 * The OS descriptor behind a Node socket or server. Node has no public accessor; the handle's `fd`
 * (Unix TCPWrap/PipeWrap) is the one place Skiff reads it — only for a hot upgrade's handover.
 */
export function handleFd(owner: object): number | undefined {
  const handle = (owner as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** `ECONNRESET` → `reset`; other errno codes as they are (`ECONNREFUSED`, `EPIPE`, `ETIMEDOUT`). */
export function errorReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ECONNRESET') return 'reset';
  return typeof code === 'string' ? code : 'error';
}

/** Ends a tick's write batch (module function: no closure per write). */
/** Writes at least this big are not copied into the tick's gathered buffer. */
const COALESCE_MAX_BYTES = 8 * 1024;

function uncork(c: SocketConnection): void {
  c.uncorkTick();
}

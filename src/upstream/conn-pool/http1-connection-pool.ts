/**
 * Upstream layer: `Http1ConnectionPool`, the keep-alive pool of HTTP/1.1 connections to ONE
 * upstream host, one request at a time per connection (no pipelining). The future proxy asks for a
 * connection with `acquire`, writes one request, reads one response, and gives it back with
 * `release`, saying whether the connection is still in a known state (`reusable`).
 *
 *   acquire ──▶ idle (LIFO) ──▶ onReady(reused) ──┐
 *      │        ▲                                   │ release(reusable)
 *      │        └─────── idle timer / FIN ──▶ close ◀┘ release(!reusable) / max_request_per_conn
 *      └─▶ pending (FIFO index queue, bounded) ──▶ new connection (≤ maxConnections) ──▶ onReady(!reused)
 *
 * Keep-alive races (reliability §3.7): an idle connection is closed on Skiff's side before the
 * upstream's own idle timer (min of `idleTimeoutMs` and the response's `Keep-Alive: timeout=` minus a
 * safety margin); a FIN, RST or any unsolicited byte on an idle connection removes it at once. The
 * remaining race (the upstream closes while our request is in flight) is the caller's to retry with
 * `isRetryableOnReused`. Callbacks may run synchronously inside `acquire`/`release`; nothing throws.
 */
import type { Connection, ConnectionCallbacks, ReadFilter } from '../../api/network.js';
import { ConnectionEvent, FilterStatus } from '../../api/network.js';
import type { ClusterManager, Host } from '../../api/upstream.js';
import type { Counter, Logger } from '../../api/observability.js';

export type PoolFailureReason = 'connect_failure' | 'overflow' | 'timeout' | 'closed';

/** One connection lent to one request. Valid until `release`; its `connection` may close any time. */
export interface PooledConnection {
  readonly connection: Connection;
  readonly host: Host;
  /** The connection served an earlier request (a failure before any response byte may be a keep-alive race). */
  readonly reused: boolean;
  /** Requests this connection has been lent for, the current one included. */
  readonly requestsServed: number;
  /**
   * Free slot for the user's per-connection state (e.g. its codec and read filter, which can be
   * added to a `Connection` only once). Kept across reuse; the pool never reads it.
   */
  attachment: unknown;
}

/** Result of `acquire`. Exactly one of the two is called, once, unless the request is cancelled first. */
export interface PoolCallbacks {
  onReady(handle: PooledConnection): void;
  onFailure(reason: PoolFailureReason, detail: string): void;
}

/** A request waiting for a connection. `cancel` is a no-op once a callback ran. */
export interface PendingRequest {
  cancel(): void;
}

export interface AcquireOptions {
  /**
   * Open a new connection for this request instead of taking an idle one (the keep-alive race
   * retry). Within `maxConnections`; at the limit the request waits like any other.
   */
  readonly newConnection?: boolean;
}

export interface ReleaseOptions {
  /** The response ended exactly at its framing end and both sides allow keep-alive. */
  readonly reusable: boolean;
  /** The upstream's `Keep-Alive: timeout=` in ms (see `parseKeepAliveTimeoutMs`), if it sent one. */
  readonly keepAliveTimeoutMs?: number;
}

export interface Http1ConnectionPoolDeps {
  readonly clusterManager: ClusterManager;
  readonly connectTimeoutMs: number;
  /** MOSN `max_request_per_conn`; 0 = unlimited. Default 1024. */
  readonly maxRequestsPerConnection?: number;
  /** Close a connection idle this long; 0 = never. Default 50 s (below common upstream keep-alive of 60 s). */
  readonly idleTimeoutMs?: number;
  /** Connections (connecting + busy + idle) to this host; 0 = unlimited. */
  readonly maxConnections?: number;
  /** Requests waiting for a connection; over it `acquire` fails with `overflow`. 0 = unlimited. Default 1024 (MOSN `max_pending_requests`). */
  readonly maxPendingRequests?: number;
  /** Subtracted from the upstream's `Keep-Alive: timeout=`. Default 1000 ms. */
  readonly keepAliveSafetyMarginMs?: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

export const DEFAULT_MAX_REQUESTS_PER_CONNECTION = 1024;
export const DEFAULT_POOL_IDLE_TIMEOUT_MS = 50_000;
export const DEFAULT_MAX_PENDING_REQUESTS = 1024;
export const DEFAULT_KEEP_ALIVE_SAFETY_MARGIN_MS = 1000;

/** Counts of the pool's connections and waiters (admin, tests). */
export interface PoolCounts {
  readonly connecting: number;
  readonly busy: number;
  readonly idle: number;
  readonly pending: number;
}

const ClientState = { Connecting: 0, Busy: 1, Idle: 2, Closed: 3 } as const;
type ClientState = (typeof ClientState)[keyof typeof ClientState];

const NOOP_PENDING: PendingRequest = Object.freeze({ cancel(): void {} });

/** One pooled upstream connection: the handle users see, and the pool's observer on it. */
class ActiveClient implements PooledConnection, ReadFilter, ConnectionCallbacks {
  readonly connection: Connection;
  readonly host: Host;
  reused = false;
  requestsServed = 0;
  attachment: unknown = undefined;
  state: ClientState = ClientState.Connecting;
  /** The caller this connection is being opened for (`acquire` with `newConnection`). */
  reservedFor: PendingEntry | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  idleSinceMs = 0;
  /** Idle cap for this connection (the pool's, shortened by the upstream's Keep-Alive timeout). */
  idleTimeoutMs: number;
  readonly #pool: Http1ConnectionPool;

  constructor(pool: Http1ConnectionPool, connection: Connection, host: Host, idleTimeoutMs: number) {
    this.#pool = pool;
    this.connection = connection;
    this.host = host;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  /** First read filter: a busy connection's bytes go on to the user's filters; an idle one must be silent. */
  onData(_data: Buffer, endStream: boolean): FilterStatus {
    if (this.state === ClientState.Busy) return FilterStatus.Continue;
    // FIN or bytes nobody asked for (response-queue poisoning, reliability N5): never reuse.
    this.#pool.onIdleViolation(this, endStream ? 'upstream_closed_idle' : 'unsolicited_data');
    return FilterStatus.Stop;
  }

  onEvent(event: ConnectionEvent): void {
    this.#pool.onClientEvent(this, event);
  }
}

export class Http1ConnectionPool {
  readonly host: Host;
  readonly #cm: ClusterManager;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #connectTimeoutMs: number;
  readonly #maxRequestsPerConnection: number;
  readonly #idleTimeoutMs: number;
  readonly #maxConnections: number;
  readonly #maxPending: number;
  readonly #keepAliveMarginMs: number;
  readonly #overflowCounters: readonly Counter[];

  /** Most recently used last (LIFO: pop from the end). */
  readonly #idle: ActiveClient[] = [];
  #connecting = 0;
  #busy = 0;
  /** FIFO index queue: live entries are `#queue[#head..]` minus cancelled ones. */
  #queue: (PendingEntry | undefined)[] = [];
  #head = 0;
  #pending = 0;
  /** Every open client (connecting, busy, idle), for `close()`. */
  readonly #clients = new Set<ActiveClient>();
  #draining = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];

  constructor(host: Host, deps: Http1ConnectionPoolDeps) {
    this.host = host;
    this.#cm = deps.clusterManager;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
    this.#connectTimeoutMs = deps.connectTimeoutMs;
    this.#maxRequestsPerConnection = deps.maxRequestsPerConnection ?? DEFAULT_MAX_REQUESTS_PER_CONNECTION;
    this.#idleTimeoutMs = deps.idleTimeoutMs ?? DEFAULT_POOL_IDLE_TIMEOUT_MS;
    this.#maxConnections = deps.maxConnections ?? 0;
    this.#maxPending = deps.maxPendingRequests ?? DEFAULT_MAX_PENDING_REQUESTS;
    this.#keepAliveMarginMs = deps.keepAliveSafetyMarginMs ?? DEFAULT_KEEP_ALIVE_SAFETY_MARGIN_MS;
    const counters = [host.stats.counter('request_pending_overflow')];
    const clusterStats = this.#cm.handle(host.clusterName).snapshot?.stats;
    if (clusterStats) counters.push(clusterStats.counter('request_pending_overflow'));
    this.#overflowCounters = counters;
  }

  get counts(): PoolCounts {
    return { connecting: this.#connecting, busy: this.#busy, idle: this.#idle.length, pending: this.#pending };
  }

  /**
   * Asks for a connection. An idle one is handed out synchronously (`onReady` before this returns);
   * otherwise the request waits (FIFO) for a new or released connection. Fails synchronously with
   * `overflow` when the wait queue is full and `closed` after `drain()` / `close()`.
   */
  acquire(cb: PoolCallbacks, options?: AcquireOptions): PendingRequest {
    if (this.#closed || this.#draining) {
      safeCall(this.#logger, () => cb.onFailure('closed', this.#closed ? 'connection pool closed' : 'connection pool draining'));
      return NOOP_PENDING;
    }
    if (options?.newConnection === true && (this.#maxConnections === 0 || this.#connecting + this.#busy + this.#idle.length < this.#maxConnections)) {
      // A connection opened for this caller alone (the keep-alive race retry must not meet another idle one).
      const entry = new PendingEntry(this, cb, true);
      const client = this.#open();
      client.reservedFor = entry;
      return entry;
    }
    for (let client = this.#idle.pop(); client; client = this.#idle.pop()) {
      if (this.#isStale(client)) {
        this.#closeClient(client, 'flush', 'idle_timeout');
        continue;
      }
      this.#handOut(client, cb, true);
      return NOOP_PENDING;
    }
    if (this.#maxPending > 0 && this.#pending >= this.#maxPending) {
      for (const c of this.#overflowCounters) c.inc();
      safeCall(this.#logger, () => cb.onFailure('overflow', `upstream ${this.host.addressText}: ${this.#pending} requests already waiting for a connection`));
      return NOOP_PENDING;
    }
    const entry = new PendingEntry(this, cb);
    this.#queue.push(entry);
    this.#pending++;
    this.#maybeConnect();
    return entry;
  }

  /**
   * Gives a connection back after its response. `reusable: false` (unknown state: error, early
   * response, `Connection: close`, bytes past the body) closes it; so do draining and reaching
   * `maxRequestsPerConnection`. Releasing twice, or a handle of another pool, is ignored.
   */
  release(handle: PooledConnection, options: ReleaseOptions): void {
    if (!(handle instanceof ActiveClient) || handle.state !== ClientState.Busy || !this.#clients.has(handle)) return;
    this.#busy--;
    if (!options.reusable) {
      this.#closeClient(handle, 'now', 'not_reusable');
    } else if (this.#closed || this.#draining) {
      this.#closeClient(handle, 'flush', 'pool_draining');
    } else if (this.#maxRequestsPerConnection > 0 && handle.requestsServed >= this.#maxRequestsPerConnection) {
      this.#closeClient(handle, 'flush', 'max_request_per_conn');
    } else if (handle.connection.closed) {
      this.#forget(handle);
    } else {
      if (options.keepAliveTimeoutMs !== undefined) {
        const capMs = options.keepAliveTimeoutMs - this.#keepAliveMarginMs;
        if (capMs <= 0) {
          this.#closeClient(handle, 'flush', 'keep_alive_timeout');
          this.#afterSlotFreed();
          return;
        }
        handle.idleTimeoutMs = this.#idleTimeoutMs > 0 ? Math.min(this.#idleTimeoutMs, capMs) : capMs;
      }
      this.#dispatchFree(handle);
      return;
    }
    this.#afterSlotFreed();
  }

  /** Stops lending: idle connections close now, busy ones when released. Resolves when none is left. */
  drain(): Promise<void> {
    this.#draining = true;
    for (let client = this.#idle.pop(); client; client = this.#idle.pop()) this.#closeClient(client, 'flush', 'pool_draining');
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      this.#checkDrained();
    });
  }

  /** Closes every connection now and fails every waiting request with `closed`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAllPending('closed', 'connection pool closed');
    for (const client of [...this.#clients]) this.#closeClient(client, 'now', 'pool_closed');
    this.#idle.length = 0;
    this.#busy = 0;
    this.#connecting = 0;
    this.#checkDrained();
  }

  // ── called by ActiveClient / PendingEntry ──

  /** @internal */
  onIdleViolation(client: ActiveClient, reason: string): void {
    if (client.state !== ClientState.Idle) return;
    this.#removeIdle(client);
    this.#closeClient(client, 'now', reason);
    this.#checkDrained();
  }

  /** @internal */
  onClientEvent(client: ActiveClient, event: ConnectionEvent): void {
    switch (event) {
      case ConnectionEvent.Connected: {
        if (client.state !== ClientState.Connecting) return;
        this.#connecting--;
        const reserved = client.reservedFor;
        client.reservedFor = undefined;
        if (reserved !== undefined && !reserved.done && !this.#closed) this.#handOut(client, reserved.claim(), false);
        else this.#dispatchFree(client);
        return;
      }
      case ConnectionEvent.ConnectFailed: {
        if (client.state !== ClientState.Connecting) return;
        this.#connecting--;
        this.#forget(client);
        const reason = client.connection.closeReason;
        const reserved = client.reservedFor;
        client.reservedFor = undefined;
        const entry = reserved !== undefined ? (reserved.done ? undefined : reserved) : this.#takePending();
        if (entry) {
          const detail = `upstream ${this.host.addressText}: connect failed (${reason || 'unknown'})`;
          entry.fail(reason === 'connect_timeout' ? 'timeout' : 'connect_failure', detail, this.#logger);
        }
        this.#afterSlotFreed();
        return;
      }
      case ConnectionEvent.RemoteClose:
      case ConnectionEvent.LocalClose:
        // A close the pool did not start (peer FIN/RST, the user's close, an idle timeout of the connection itself).
        if (client.state === ClientState.Closed) return;
        if (client.state === ClientState.Idle) this.#removeIdle(client);
        else if (client.state === ClientState.Busy) this.#busy--;
        else this.#connecting--;
        this.#forget(client);
        if (client.reservedFor !== undefined) {
          const reserved = client.reservedFor;
          client.reservedFor = undefined;
          if (!reserved.done) reserved.fail('closed', `upstream ${this.host.addressText}: connection closed before it connected`, this.#logger);
        }
        this.#afterSlotFreed();
        return;
      default:
        return;
    }
  }

  /** @internal */
  onCancel(): void {
    this.#pending--;
    // The connection opened for it (if any) will go idle when it connects: cheap, and likely reused soon.
    this.#checkDrained();
  }

  // ── internals ──

  #maybeConnect(): void {
    while (
      this.#connecting < this.#pending &&
      (this.#maxConnections === 0 || this.#connecting + this.#busy + this.#idle.length < this.#maxConnections)
    ) {
      this.#open();
    }
  }

  #open(): ActiveClient {
    const connection = this.#cm.connect(this.host, { connectTimeoutMs: this.#connectTimeoutMs });
    const client = new ActiveClient(this, connection, this.host, this.#idleTimeoutMs);
    connection.addReadFilter(client);
    connection.addConnectionCallbacks(client);
    this.#clients.add(client);
    this.#connecting++;
    return client;
  }

  /** A connected or released connection: serve the oldest waiter, else park it as idle. */
  #dispatchFree(client: ActiveClient): void {
    if (this.#closed || this.#draining) {
      // Draining still serves requests that were already waiting.
      const entry = this.#closed ? undefined : this.#takePending();
      if (entry) this.#handOut(client, entry.claim(), client.requestsServed > 0);
      else {
        this.#closeClient(client, 'flush', 'pool_draining');
        this.#checkDrained();
      }
      return;
    }
    const entry = this.#takePending();
    if (entry) {
      this.#handOut(client, entry.claim(), client.requestsServed > 0);
      return;
    }
    client.state = ClientState.Idle;
    client.idleSinceMs = this.#now();
    if (client.idleTimeoutMs > 0) {
      client.idleTimer = setTimeout(() => this.#onIdleTimeout(client), client.idleTimeoutMs);
      client.idleTimer.unref();
    }
    this.#idle.push(client);
  }

  #handOut(client: ActiveClient, cb: PoolCallbacks, reused: boolean): void {
    if (client.idleTimer) clearTimeout(client.idleTimer);
    client.idleTimer = undefined;
    client.state = ClientState.Busy;
    client.reused = reused;
    client.requestsServed++;
    this.#busy++;
    safeCall(this.#logger, () => cb.onReady(client));
  }

  #onIdleTimeout(client: ActiveClient): void {
    client.idleTimer = undefined;
    if (client.state !== ClientState.Idle) return;
    this.#removeIdle(client);
    this.#closeClient(client, 'flush', 'idle_timeout');
    this.#checkDrained();
  }

  /** A timer that fired late (a blocked event loop) must not let a too-old connection out. */
  #isStale(client: ActiveClient): boolean {
    return client.connection.closed || (client.idleTimeoutMs > 0 && this.#now() - client.idleSinceMs >= client.idleTimeoutMs);
  }

  #removeIdle(client: ActiveClient): void {
    const i = this.#idle.lastIndexOf(client);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  #closeClient(client: ActiveClient, mode: 'flush' | 'now', reason: string): void {
    // Marked first: the close event fires synchronously and must not be counted twice.
    this.#forget(client);
    if (this.#logger.isLevelEnabled('debug')) {
      this.#logger.debug({ upstream_host: this.host.addressText, connection_id: client.connection.id, reason }, 'pool closes upstream connection');
    }
    client.connection.close(mode, reason);
  }

  #forget(client: ActiveClient): void {
    client.state = ClientState.Closed;
    if (client.idleTimer) clearTimeout(client.idleTimer);
    client.idleTimer = undefined;
    this.#clients.delete(client);
  }

  /** A connection slot opened up: waiters may get a new connection. */
  #afterSlotFreed(): void {
    if (!this.#closed) this.#maybeConnect();
    this.#checkDrained();
  }

  #takePending(): PendingEntry | undefined {
    while (this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined;
      if (entry && !entry.done) {
        this.#pending--;
        this.#compactQueue();
        return entry;
      }
    }
    this.#compactQueue();
    return undefined;
  }

  #compactQueue(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #failAllPending(reason: PoolFailureReason, detail: string): void {
    for (let entry = this.#takePending(); entry; entry = this.#takePending()) entry.fail(reason, detail, this.#logger);
  }

  #checkDrained(): void {
    if (this.#drainWaiters.length === 0) return;
    if (this.#connecting + this.#busy + this.#idle.length + this.#pending > 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** One waiting `acquire`. */
class PendingEntry implements PendingRequest {
  done = false;
  readonly #pool: Http1ConnectionPool;
  readonly #cb: PoolCallbacks;
  /** Waits for a connection opened for it alone (not in the queue, not counted as pending). */
  readonly #reserved: boolean;

  constructor(pool: Http1ConnectionPool, cb: PoolCallbacks, reserved = false) {
    this.#pool = pool;
    this.#cb = cb;
    this.#reserved = reserved;
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    if (!this.#reserved) this.#pool.onCancel();
  }

  claim(): PoolCallbacks {
    this.done = true;
    return this.#cb;
  }

  fail(reason: PoolFailureReason, detail: string, logger: Logger): void {
    this.done = true;
    const cb = this.#cb;
    safeCall(logger, () => cb.onFailure(reason, detail));
  }
}

/** Runs a user callback; a throw is logged, never propagated into the pool or the event loop. */
function safeCall(logger: Logger, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    logger.error({ err }, 'connection pool callback threw');
  }
}

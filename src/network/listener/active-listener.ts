/**
 * Network layer: `ActiveListener`, the runtime wrapper of one `ListenerConfig` (TCP v4/v6 or unix
 * path). It accepts sockets, enforces the connection limit, runs the listener filters, builds each
 * connection's network filter chain from the creators it was given, and keeps the per-listener
 * `downstream` stats. The server stage code (src/server/) owns its lifecycle:
 *
 *   new ActiveListener(config, deps) ─▶ listen() ─▶ [update(config, deps)]* ─▶ drain(ms) | closeAll()
 *
 *   accept ─▶ limit check ─▶ listener filters (Continue/Stop + continueFilterChain)
 *          ─▶ SocketConnection + filterCreators(conn) ─▶ conn.start() (onNewConnection, reading)
 *
 * `update` swaps the chain and limits for connections accepted afterwards; live connections keep
 * the chain they were built with. Accept errors (EMFILE…) are logged; the listener keeps running.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { removeSocketFile, socketFileAnswers } from '../../base/unix-socket-file.js';
import type { Address, ListenerConfig } from '../../api/config.js';
import type { NetworkFilterCreator } from '../../api/extension.js';
import { FilterStatus, type Connection, type ListenerFilter } from '../../api/network.js';
import type { Counter, Gauge, Logger, Stats } from '../../api/observability.js';
import { ErrorCode, SkiffError } from '../../base/errors.js';
import { handleFd, SocketConnection } from '../connection/socket-connection.js';
import { ServerTls } from '../tls/server-tls.js';
import type { TLSSocket } from 'node:tls';

export interface ListenerDeps {
  readonly filterCreators: readonly NetworkFilterCreator[];
  readonly listenerFilters: readonly (() => ListenerFilter)[];
  readonly stats: Stats;
  readonly logger: Logger;
  /** ALPN protocols the listener's filters can serve (TLS offers only these). Default `http/1.1`. */
  readonly alpnSupported?: ReadonlySet<string>;
}

/** The `downstream` stats of one listener, resolved once per config. */
interface ListenerStats {
  readonly connectionTotal: Counter;
  readonly connectionActive: Gauge;
  readonly connectionDestroy: Counter;
  readonly bytesRead: Counter;
  readonly bytesWrite: Counter;
  readonly refusedLimit: Counter;
  /** TLS handshakes completed / failed (wrong CA, expired, no client certificate, plaintext to a TLS port, timeout). */
  readonly tlsHandshakeOk: Counter;
  readonly tlsHandshakeError: Counter;
  /** Inspector listeners: connections served in plaintext. */
  readonly tlsInspectorPlaintext: Counter;
}

function resolveStats(stats: Stats, name: string): ListenerStats {
  const s = stats.scope('downstream', { listener: name });
  return {
    connectionTotal: s.counter('connection_total'),
    connectionActive: s.gauge('connection_active'),
    connectionDestroy: s.counter('connection_destroy'),
    bytesRead: s.counter('bytes_read_total'),
    bytesWrite: s.counter('bytes_write_total'),
    refusedLimit: s.counter('connection_refused_limit'),
    tlsHandshakeOk: s.counter('tls_handshake_total'),
    tlsHandshakeError: s.counter('tls_handshake_error'),
    tlsInspectorPlaintext: s.counter('tls_inspector_plaintext'),
  };
}

/** Everything a new connection is built from; swapped as one object by `update`. */
interface Generation {
  readonly config: ListenerConfig;
  readonly deps: ListenerDeps;
  readonly stats: ListenerStats;
  readonly logger: Logger;
  /** The listener's TLS termination (undefined: plaintext). */
  readonly tls: ServerTls | undefined;
}

export class ActiveListener {
  #gen: Generation;
  #server: Server | undefined;
  #boundAddress: Address;
  #accepting = false;
  /** Sockets still in the listener-filter phase (count toward the limit). */
  readonly #pending = new Set<Socket>();
  readonly #connections = new Set<SocketConnection>();
  #unixPathOwned: string | undefined;
  #drainWaiters: (() => void)[] = [];

  /** Throws (SkiffError) when the listener's certificates cannot be loaded. */
  constructor(config: ListenerConfig, deps: ListenerDeps) {
    this.#gen = this.#makeGeneration(config, deps);
    this.#boundAddress = config.address;
  }

  #makeGeneration(config: ListenerConfig, deps: ListenerDeps): Generation {
    const stats = resolveStats(deps.stats, config.name);
    let tls: ServerTls | undefined;
    if (config.tls.length > 0) {
      try {
        tls = new ServerTls(config.tls, {
          listenerName: config.name,
          handshakeTimeoutMs: config.tlsHandshakeTimeoutMs,
          logger: deps.logger,
          alpnSupported: deps.alpnSupported ?? DEFAULT_ALPN,
          onSecure: (socket) => this.#onTlsSecure(socket),
          onHandshakeError: () => stats.tlsHandshakeError.inc(),
        });
      } catch (err) {
        if (!config.tls.some((t) => t.fallBack)) {
          throw new SkiffError(ErrorCode.Config, `listener "${config.name}": tls_context: ${(err as Error).message}`, { cause: err });
        }
        // MOSN `fall_back`: a listener whose certificate cannot be loaded serves plaintext instead of failing.
        deps.logger.warn({ listener: config.name, err: (err as Error).message }, 'TLS certificate not loaded; fall_back is set: serving plaintext');
        tls = undefined;
      }
    }
    return { config, deps, stats, logger: deps.logger, tls };
  }

  get name(): string {
    return this.#gen.config.name;
  }

  get config(): ListenerConfig {
    return this.#gen.config;
  }

  /** The address actually bound: the real port when the config asked for port 0. */
  get boundAddress(): Address {
    return this.#boundAddress;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  connections(): Iterable<Connection> {
    return this.#connections.values();
  }

  /** The live connections themselves (a hot upgrade moves them). */
  socketConnections(): Iterable<SocketConnection> {
    return this.#connections.values();
  }

  /**
   * Binds the configured address, or — with `fd` — serves an already-listening socket handed in
   * (a worker's share of the controller's socket, or one inherited in a hot upgrade).
   */
  listen(fd?: number): Promise<void> {
    if (this.#server) return Promise.resolve();
    const { config } = this.#gen;
    const address = config.address;
    const prepare = address.kind === 'unix' && fd === undefined ? removeStaleUnixSocket(address.path) : Promise.resolve('free' as const);
    return prepare.then((state) => {
      if (state === 'live') throw inUse(config);
      return new Promise<void>((resolve, reject) => {
        const server = createServer({ allowHalfOpen: true }, this.#onAccept);
        const onListenError = (err: NodeJS.ErrnoException): void => {
          server.close();
          if (err.code === 'EADDRINUSE') reject(inUse(config, err));
          else reject(new SkiffError(ErrorCode.Bind, `listener "${config.name}": cannot bind ${address.text}: ${err.message}`, { cause: err }));
        };
        server.once('error', onListenError);
        server.once('listening', () => {
          server.off('error', onListenError);
          server.on('error', this.#onServerError);
          this.#server = server;
          this.#accepting = true;
          if (address.kind === 'unix') {
            // A socket handed in (a worker's share, an inherited one) belongs to whoever bound it.
            if (fd === undefined) this.#unixPathOwned = address.path;
            this.#boundAddress = address;
          } else {
            const info = server.address();
            const port = typeof info === 'object' && info !== null ? info.port : address.port;
            const text = address.host.includes(':') ? `[${address.host}]:${port}` : `${address.host}:${port}`;
            this.#boundAddress = { kind: 'tcp', host: address.host, port, text };
          }
          resolve();
        });
        if (fd !== undefined) server.listen({ fd });
        else if (address.kind === 'unix') server.listen({ path: address.path });
        else server.listen({ host: address.host, port: address.port });
      });
    });
  }

  /** New connections use the new chain, limits and timeouts; live ones are untouched. */
  update(config: ListenerConfig, deps: ListenerDeps): void {
    if (config.address.text !== this.#gen.config.address.text) {
      throw new SkiffError(ErrorCode.Update, `listener "${config.name}": address change ${this.#gen.config.address.text} → ${config.address.text} needs a remove and an add`);
    }
    const next = this.#makeGeneration(config, deps);
    this.#gen.tls?.close();
    this.#gen = next;
  }

  /**
   * Stops accepting (the port or path is released); live connections continue. `handedOver`: another
   * process serves the same socket now, so a unix path is left in place.
   */
  stopAccepting(handedOver = false): Promise<void> {
    this.#accepting = false;
    const server = this.#server;
    this.#server = undefined;
    if (handedOver) this.#unixPathOwned = undefined;
    if (!server) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // server.close()'s callback waits for every connection; the handle itself closes at once.
      server.close();
      this.#removeOwnedUnixPath();
      setImmediate(resolve);
    });
  }

  /** The listening socket's file descriptor (hot upgrade hands it to the new process); undefined when not listening. */
  listeningFd(): number | undefined {
    return this.#server === undefined ? undefined : handleFd(this.#server);
  }

  /** Stops accepting, waits for connections to close by themselves, force-closes the rest at the timeout. */
  async drain(timeoutMs: number): Promise<void> {
    await this.stopAccepting();
    for (const c of [...this.#connections]) c.notifyDrain();
    if (this.#connections.size === 0 && this.#pending.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.closeAll();
        resolve();
      }, Math.max(0, timeoutMs));
      this.#drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Fast stop: stop accepting and close every connection now. */
  closeAll(): void {
    this.#gen.tls?.close();
    void this.stopAccepting();
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
    for (const c of [...this.#connections]) c.close('now', 'listener_closed');
    this.#notifyDrained();
  }

  // ── accept path ──

  readonly #onAccept = (socket: Socket): void => {
    const gen = this.#gen;
    // Until the connection owns it, any socket error just destroys the socket.
    socket.on('error', destroyOnError);
    if (!this.#accepting) {
      socket.destroy();
      return;
    }
    const max = gen.config.maxConnections;
    if (max > 0 && this.#connections.size + this.#pending.size >= max) {
      gen.stats.refusedLimit.inc();
      socket.destroy();
      return;
    }
    const factories = gen.deps.listenerFilters;
    if (factories.length === 0) {
      this.#secureThenBuild(socket, gen);
      return;
    }
    this.#pending.add(socket);
    this.#runListenerFilters(socket, gen, 0);
  };

  #runListenerFilters(socket: Socket, gen: Generation, from: number): void {
    const factories = gen.deps.listenerFilters;
    for (let i = from; i < factories.length; i++) {
      if (socket.destroyed || !this.#pending.has(socket)) return;
      let settled = false;
      const next = i + 1;
      const callbacks = {
        socket,
        listener: gen.config,
        continueFilterChain: (success: boolean): void => {
          if (settled) return;
          settled = true;
          if (!success || socket.destroyed) {
            this.#pending.delete(socket);
            socket.destroy();
            this.#notifyDrained();
            return;
          }
          this.#runListenerFilters(socket, gen, next);
        },
      };
      let status: FilterStatus;
      try {
        const filter = (factories[i] as () => ListenerFilter)();
        status = filter.onAccept(callbacks);
      } catch (err) {
        gen.logger.error({ err, listener: gen.config.name }, 'listener filter threw; closing the socket');
        settled = true;
        this.#pending.delete(socket);
        socket.destroy();
        this.#notifyDrained();
        return;
      }
      if (status === FilterStatus.Stop) return; // the filter calls continueFilterChain later
      if (settled) return; // it already continued (or closed) synchronously
      settled = true;
    }
    this.#pending.delete(socket);
    if (socket.destroyed) {
      this.#notifyDrained();
      return;
    }
    this.#secureThenBuild(socket, gen);
  }

  /** After the listener filters: TLS handshake (or the inspector's choice), then the connection. */
  #secureThenBuild(socket: Socket, gen: Generation): void {
    const tls = gen.tls;
    if (tls === undefined) { this.#buildConnection(socket, gen); return; }
    this.#pending.add(socket);
    socket.once('close', () => { if (this.#pending.delete(socket)) this.#notifyDrained(); });
    if (!gen.config.inspector) { this.#generationOf.set(socket, gen); tls.accept(socket); return; }
    // TLS inspector: a TLS record starts with 0x16 (handshake); anything else is served in plaintext.
    const timer = setTimeout(() => socket.destroy(), gen.config.tlsHandshakeTimeoutMs);
    timer.unref();
    socket.once('data', (first: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      socket.unshift(first);
      if (first[0] === 0x16) {
        this.#generationOf.set(socket, gen);
        tls.accept(socket);
        return;
      }
      gen.stats.tlsInspectorPlaintext.inc();
      this.#pending.delete(socket);
      this.#buildConnection(socket, gen);
      // It was paused to put the first bytes back; the connection's reader is attached now.
      if (!socket.destroyed && socket.listenerCount('data') > 0) socket.resume();
    });
  }

  /** Raw sockets in a TLS handshake → the generation they were accepted under. */
  readonly #generationOf = new WeakMap<Socket, Generation>();

  #onTlsSecure(tlsSocket: TLSSocket): void {
    const raw = (tlsSocket as TLSSocket & { _parent?: Socket })._parent;
    const gen = raw === undefined ? undefined : this.#generationOf.get(raw);
    if (raw === undefined || gen === undefined || !this.#pending.delete(raw)) {
      tlsSocket.destroy(); // the listener closed meanwhile
      return;
    }
    gen.stats.tlsHandshakeOk.inc();
    this.#buildConnection(tlsSocket, gen);
  }

  /**
   * Hot upgrade: serves a connection another process handed over (plaintext, already past the listener
   * filters there): `protocol` skips detection, `unread` is processed before anything read here.
   */
  adopt(socket: Socket, unread: Buffer, protocol: string): void {
    socket.on('error', destroyOnError);
    this.#buildConnection(socket, this.#gen, unread, protocol);
  }

  #buildConnection(socket: Socket, gen: Generation, unread?: Buffer, protocol?: string): void {
    socket.off('error', destroyOnError);
    const { stats } = gen;
    const fallback = gen.config.address.kind === 'unix' ? gen.config.address.path : '';
    const conn = new SocketConnection(socket, {
      ownerName: gen.config.name,
      bufferLimitBytes: gen.config.bufferLimitBytes,
      logger: gen.logger,
      bytesReadCounters: [stats.bytesRead],
      bytesWrittenCounters: [stats.bytesWrite],
      localAddressFallback: fallback,
      onClose: this.#onConnectionClose,
    });
    this.#connections.add(conn);
    connStats.set(conn, stats);
    stats.connectionTotal.inc();
    stats.connectionActive.inc();
    conn.setIdleTimeout(gen.config.connectionIdleTimeoutMs);
    if (protocol !== undefined) conn.adoptedProtocol = protocol;
    for (const create of gen.deps.filterCreators) {
      try {
        create(conn);
      } catch (err) {
        gen.logger.error({ err, listener: gen.config.name, connectionId: conn.id }, 'network filter creator threw; closing the connection');
        conn.close('now', 'filter_error');
        return;
      }
      if (conn.closed) return;
    }
    conn.start(unread);
  }

  readonly #onConnectionClose = (conn: SocketConnection): void => {
    if (!this.#connections.delete(conn)) return;
    const stats = connStats.get(conn);
    if (stats) {
      stats.connectionActive.dec();
      stats.connectionDestroy.inc();
    }
    this.#notifyDrained();
  };

  readonly #onServerError = (err: NodeJS.ErrnoException): void => {
    this.#gen.logger.error({ err, listener: this.#gen.config.name, code: err.code }, 'accept failed; listener keeps running');
  };

  #notifyDrained(): void {
    if (this.#connections.size !== 0 || this.#pending.size !== 0 || this.#drainWaiters.length === 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  #removeOwnedUnixPath(): void {
    const path = this.#unixPathOwned;
    this.#unixPathOwned = undefined;
    // (libuv may have unlinked a path it bound already.)
    if (path !== undefined) removeSocketFile(path);
  }
}

/** The stats generation a connection was accepted under (the listener may have been updated since). */
const connStats = new WeakMap<SocketConnection, ListenerStats>();

const DEFAULT_ALPN: ReadonlySet<string> = new Set(['http/1.1']);

function destroyOnError(this: Socket): void {
  this.destroy();
}

function inUse(config: ListenerConfig, cause?: unknown): SkiffError {
  return new SkiffError(ErrorCode.AddressInUse, `listener "${config.name}": address ${config.address.text} is already in use`, { cause });
}

/**
 * A unix socket file left by a dead process blocks bind. Remove it only if nothing answers on it:
 * a live socket means another process is serving there ('live' → E_ADDR_IN_USE).
 */
async function removeStaleUnixSocket(path: string): Promise<'free' | 'live'> {
  if (await socketFileAnswers(path)) return 'live';
  removeSocketFile(path); // a regular file is left alone: bind reports EADDRINUSE for it
  return 'free';
}

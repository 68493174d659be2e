/**
 * Upstream layer: the HTTP/2 (h2c, or h2 over the cluster's TLS) sessions to one host, shared by every
 * downstream connection of every listener (MOSN's multiplex pool). A request takes a stream on a session
 * with room under the peer's SETTINGS_MAX_CONCURRENT_STREAMS, else a new session is opened. Sessions are
 * made on Skiff's own upstream connections (`ClusterManager.connect`: stats, connect timeout, TLS) whose
 * sockets are handed to Node's HTTP/2 engine once connected.
 *
 * An upstream GOAWAY stops new streams on that session; streams above its last stream id never reached
 * the application and fail with `refused` (the caller may retry them on a new session), the others
 * finish. A session that closes resets its streams.
 */
import http2 from 'node:http2';
import type { ClusterConfig } from '../../api/config.js';
import { ConnectionEvent } from '../../api/network.js';
import type { ClusterManager, Host } from '../../api/upstream.js';

/** What a caller gets: a stream, or why there is none. */
export type Http2StreamCallback = (stream: http2.ClientHttp2Stream | undefined, error: string) => void;

interface Waiter {
  readonly headers: http2.OutgoingHttpHeaders;
  readonly options: http2.ClientSessionRequestOptions;
  readonly cb: Http2StreamCallback;
  cancelled: boolean;
}

const DEFAULT_PEER_MAX_STREAMS = 100;

class PooledSession {
  session: http2.ClientHttp2Session | undefined;
  active = 0;
  goingAway = false;
  closed = false;
  readonly waiting: Waiter[] = [];

  get maxStreams(): number {
    const m = this.session?.remoteSettings.maxConcurrentStreams;
    return m === undefined || m <= 0 ? DEFAULT_PEER_MAX_STREAMS : Math.min(m, 1000);
  }

  get usable(): boolean { return !this.goingAway && !this.closed; }
}

export class Http2SessionPool {
  readonly #cm: ClusterManager;
  readonly #host: Host;
  readonly #config: ClusterConfig;
  readonly #sessions: PooledSession[] = [];

  constructor(cm: ClusterManager, host: Host, config: ClusterConfig) {
    this.#cm = cm;
    this.#host = host;
    this.#config = config;
  }

  /** Opens a stream for `headers` (now, or once a session is ready); `cb` gets it or the failure. Returns a canceller. */
  request(headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions, cb: Http2StreamCallback): () => void {
    const w: Waiter = { headers, options, cb, cancelled: false };
    for (const ps of this.#sessions) {
      if (ps.usable && ps.session !== undefined && ps.active < ps.maxStreams) {
        this.#open(ps, w);
        return () => { w.cancelled = true; };
      }
      if (ps.usable && ps.session === undefined && ps.waiting.length < ps.maxStreams) {
        ps.waiting.push(w);
        return () => { w.cancelled = true; };
      }
    }
    const ps = this.#connect();
    ps.waiting.push(w);
    return () => { w.cancelled = true; };
  }

  #connect(): PooledSession {
    const ps = new PooledSession();
    this.#sessions.push(ps);
    const conn = this.#cm.connect(this.#host, { connectTimeoutMs: this.#config.connectTimeoutMs, bufferLimitBytes: this.#config.connBufferLimitBytes });
    const fail = (reason: string): void => {
      ps.closed = true;
      this.#remove(ps);
      const waiting = ps.waiting.splice(0);
      for (const w of waiting) if (!w.cancelled) w.cb(undefined, reason);
    };
    conn.addConnectionCallbacks({
      onEvent: (event) => {
        if (event === ConnectionEvent.Connected) {
          const socket = conn.detachSocket(Buffer.alloc(0));
          const authority = `http://${this.#host.address.kind === 'tcp' ? this.#host.addressText : 'localhost'}`;
          let session: http2.ClientHttp2Session;
          try {
            session = http2.connect(authority, { createConnection: () => socket as never, settings: { enablePush: false } });
          } catch (err) {
            fail(`h2_session: ${(err as Error).message}`);
            return;
          }
          ps.session = session;
          // The socket never started reading (it was handed over on connect): the session's engine
          // consumes its handle; reading must be switched on.
          socket.resume();
          session.on('error', () => undefined);
          session.on('goaway', () => { ps.goingAway = true; });
          session.on('close', () => {
            ps.closed = true;
            this.#remove(ps);
            const waiting = ps.waiting.splice(0);
            for (const w of waiting) if (!w.cancelled) w.cb(undefined, 'upstream_closed');
          });
          const flush = (): void => {
            const waiting = ps.waiting.splice(0);
            for (const w of waiting) {
              if (w.cancelled) continue;
              if (ps.usable && ps.active < ps.maxStreams) this.#open(ps, w);
              else this.#requeue(w);
            }
          };
          // Streams open once the peer's SETTINGS (its MAX_CONCURRENT_STREAMS) are known.
          session.once('remoteSettings', flush);
        } else if (event === ConnectionEvent.ConnectFailed) {
          fail(conn.closeReason || 'connect_failed');
        }
      },
    });
    return ps;
  }

  #requeue(w: Waiter): void {
    const cancel = this.request(w.headers, w.options, w.cb);
    if (w.cancelled) cancel();
  }

  #open(ps: PooledSession, w: Waiter): void {
    const session = ps.session!;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(w.headers, w.options);
    } catch (err) {
      w.cb(undefined, `h2_request: ${(err as Error).message}`);
      return;
    }
    ps.active++;
    stream.once('close', () => { ps.active--; });
    w.cb(stream, '');
  }

  #remove(ps: PooledSession): void {
    const i = this.#sessions.indexOf(ps);
    if (i >= 0) this.#sessions.splice(i, 1);
  }

  /** Sessions open or opening (tests, stats). */
  get sessionCount(): number { return this.#sessions.length; }
}

const pools = new WeakMap<ClusterManager, WeakMap<Host, Http2SessionPool>>();

/** The HTTP/2 pool of `host` (one per host, shared by every listener). */
export function http2PoolFor(cm: ClusterManager, host: Host, config: ClusterConfig): Http2SessionPool {
  let byHost = pools.get(cm);
  if (byHost === undefined) { byHost = new WeakMap(); pools.set(cm, byHost); }
  let p = byHost.get(host);
  if (p === undefined) { p = new Http2SessionPool(cm, host, config); byHost.set(host, p); }
  return p;
}

/**
 * Test fake: real SOFARPC peers from `sofa-rpc-node` (the Node implementation of SOFARPC, Bolt v1 +
 * hessian2), for the Bolt end-to-end tests. `startSofaServer` runs an `RpcServer` (port 0 or a given
 * port) whose services answer `echo` / `whoami` / `fail` / `sleep` and record every call;
 * `startSofaClient` runs an `RpcClient` pointed straight at one address (`serverHost`, no registry) and
 * taps its socket so tests can see the Bolt frames it receives (status, command code), which the
 * library's errors do not expose. sofa-rpc-node is CommonJS without types: the few members used are
 * declared here. Both helpers quiet the library's logger and close every handle they opened.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

// ── the parts of sofa-rpc-node used here ────────────────────────────────────────────────────────────
interface SofaLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}
type SofaMethod = (...args: unknown[]) => Promise<unknown>;
interface SofaRpcServer {
  readonly publishPort: number;
  addService(info: { interfaceName: string; version?: string }, delegate: Record<string, SofaMethod>): void;
  start(): Promise<void>;
  close(): Promise<void>;
  on(event: 'connection', fn: (conn: unknown) => void): void;
}
interface SofaRpcConnection {
  readonly _socket?: Socket;
  /** sofa-bolt-node's ProtocolEncoder (its setters pick the Bolt version of what it writes). */
  readonly _encoder?: { protocolType: string; boltVersion: number; crcEnable: boolean };
  heartbeat(): void;
  /** Destroys the socket; pending calls fail at once (`close()` first waits for them to finish or time out). */
  forceClose(): Promise<void>;
}
interface SofaConsumer {
  ready(): Promise<void>;
  invoke(method: string, args: unknown[], options?: { responseTimeout?: number }): Promise<unknown>;
}
interface SofaRpcClient {
  readonly connectionManager: { readonly connections: Map<string, SofaRpcConnection> };
  createConsumer(options: { interfaceName: string; version?: string; serverHost: string }): SofaConsumer;
  on(event: 'error', fn: (err: Error) => void): void;
  close(): Promise<void>;
}
interface SofaModule {
  server: { RpcServer: new (options: Record<string, unknown>) => SofaRpcServer };
  client: { RpcClient: new (options: Record<string, unknown>) => SofaRpcClient };
}

const sofa = createRequire(import.meta.url)('sofa-rpc-node') as SofaModule;

const noop = (): void => undefined;
/** The library logs every business exception and every late response; tests assert on results instead. */
export const quietSofaLogger: SofaLogger = { info: noop, warn: noop, error: noop, debug: noop };

// ── server ──────────────────────────────────────────────────────────────────────────────────────────
export interface SofaCall {
  readonly service: string;
  readonly method: string;
  readonly args: readonly unknown[];
}

export interface SofaServerOptions {
  /** Returned by `whoami` and prefixed to `echo` answers ("A" → "A:7"). */
  readonly name: string;
  /** Interface names served (version 1.0, so the Bolt `service` header is "<interface>:1.0"). */
  readonly interfaces: readonly string[];
  /** Default 0 (any free port); a restart passes the port it had. */
  readonly port?: number;
}

export interface SofaServerPeer {
  readonly name: string;
  readonly port: number;
  /** Every call that reached a method, in arrival order. */
  readonly calls: SofaCall[];
  /** TCP connections accepted (Skiff's upstream connections). */
  connections: number;
  /** Calls to `sleep` that have started and not yet returned. */
  sleeping: number;
  /** Stops listening, closes every accepted connection, then ends sleeping calls (they send nothing). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts an RpcServer. Methods of every interface:
 *   echo(x)     → "<name>:<x>"
 *   echoAfter(x, ms) → "<name>:<x>" after ms (answers out of order)
 *   whoami()    → "<name>"
 *   fail(msg)   → throws Error(msg) (the library answers with a server exception carrying msg)
 *   sleep(ms)   → "<name>:slept" after ms (the library sends nothing when the caller's timeout has passed)
 */
export async function startSofaServer(o: SofaServerOptions): Promise<SofaServerPeer> {
  // RpcServer.start() installs a process-wide uncaughtException handler (the `graceful` package) that
  // prints and swallows errors; the test runner has its own, so it is removed again right after start.
  const before = new Set(process.listeners('uncaughtException'));
  const server = new sofa.server.RpcServer({ appName: `skiff-test-${o.name}`, logger: quietSofaLogger, port: o.port ?? 0 });
  const wakers = new Set<() => void>();
  let closed: Promise<void> | undefined;
  const peer: SofaServerPeer = {
    name: o.name,
    port: 0,
    calls: [],
    connections: 0,
    sleeping: 0,
    close: () => {
      closed ??= (async () => {
        // Connections first, so a sleeping call that is woken finds its connection closed and answers nothing.
        await server.close();
        for (const w of wakers) w();
        wakers.clear();
      })();
      return closed;
    },
  };
  const pause = (ms: number): Promise<void> => new Promise<void>((resolve) => {
    const wake = (): void => { clearTimeout(t); wakers.delete(wake); resolve(); };
    const t = setTimeout(wake, ms);
    wakers.add(wake);
  });
  for (const service of o.interfaces) {
    const record = (method: string, args: unknown[]): void => { peer.calls.push({ service, method, args }); };
    server.addService({ interfaceName: service, version: '1.0' }, {
      async echo(...args: unknown[]) { record('echo', args); return `${o.name}:${String(args[0])}`; },
      async echoAfter(...args: unknown[]) { record('echoAfter', args); await pause(Number(args[1])); return `${o.name}:${String(args[0])}`; },
      async whoami(...args: unknown[]) { record('whoami', args); return o.name; },
      async fail(...args: unknown[]) { record('fail', args); throw new Error(String(args[0])); },
      async sleep(...args: unknown[]) {
        record('sleep', args);
        peer.sleeping++;
        try {
          await pause(Number(args[0]));
        } finally {
          peer.sleeping--;
        }
        return `${o.name}:slept`;
      },
    });
  }
  server.on('connection', () => { peer.connections++; });
  try {
    await server.start();
  } finally {
    for (const l of process.listeners('uncaughtException')) if (!before.has(l)) process.removeListener('uncaughtException', l);
  }
  (peer as { port: number }).port = server.publishPort;
  return peer;
}

// ── client ──────────────────────────────────────────────────────────────────────────────────────────
/** A Bolt frame the client received, as read off its socket (header fields only). */
export interface TappedBoltFrame {
  readonly version: 1 | 2;
  /** 0 response, 1 request, 2 oneway. */
  readonly type: number;
  /** 0 heartbeat, 1 request, 2 response, 100 GoAway. */
  readonly cmdCode: number;
  readonly requestId: number;
  /** Responses only (else -1). */
  readonly status: number;
}

export interface SofaClientOptions {
  /** Per-call timeout when a call gives none (the library's default is 3000 ms). */
  readonly responseTimeoutMs?: number;
  /**
   * The library sends a heartbeat from `heartbeat()` only once the connection has been idle this long
   * (its default is 30 s); 0 lets a test send one at will.
   */
  readonly heartbeatIdleMs?: number;
  /**
   * Bolt v2 requests ("bolt2"), optionally with a CRC32 the peers check. sofa-rpc-node has no client
   * option for it, so the setters of its connection's encoder are used before the first request.
   * Default v1, the library's default.
   */
  readonly boltV2?: { readonly crc: boolean };
}

export interface SofaClientPeer {
  /** Calls `method` of `<interfaceName>:1.0` through the address given at start. */
  invoke(interfaceName: string, method: string, args: unknown[], timeoutMs?: number): Promise<unknown>;
  /** Every Bolt frame received on the client's connection(s), in order. */
  readonly received: TappedBoltFrame[];
  /** Resolves with the first received frame (from now on or already seen) that `pred` accepts, or rejects after `withinMs`. */
  waitFor(pred: (f: TappedBoltFrame) => boolean, withinMs: number): Promise<TappedBoltFrame>;
  /** Asks the library to send a Bolt heartbeat on its connection (see `heartbeatIdleMs`). */
  heartbeat(): void;
  /** Errors the client emitted outside calls (socket errors). */
  readonly errors: Error[];
  close(): Promise<void>;
}

/**
 * Reads Bolt frame headers off a byte stream (v1 and v2, request and response). Test-side only: it
 * copies, because it must not share a parser with the codec under test.
 */
class BoltTap {
  #buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (f: TappedBoltFrame) => void) {}
  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const b = this.#buf;
      if (b.length < 3) return;
      const version = b[0] === 2 ? 2 : 1;
      const off = version === 2 ? 1 : 0; // v2 has a ver1 byte after the protocol byte
      const type = b[1 + off]!;
      const isResponse = type === 0;
      const header = (isResponse ? 20 : 22) + off + (version === 2 ? 1 : 0); // v2 also has a switch byte
      if (b.length < header) return;
      const crc = version === 2 && (b[11]! & 1) === 1 ? 4 : 0;
      const total = header + b.readUInt16BE(header - 8) + b.readUInt16BE(header - 6) + b.readUInt32BE(header - 4) + crc;
      if (b.length < total) return;
      const statusAt = version === 2 ? 12 : 10;
      this.onFrame({
        version,
        type,
        cmdCode: b.readUInt16BE(2 + off),
        requestId: b.readUInt32BE(5 + off),
        status: isResponse ? b.readUInt16BE(statusAt) : -1,
      });
      this.#buf = b.subarray(total);
    }
  }
}

/** Starts an RpcClient whose consumers all connect straight to `address` ("127.0.0.1:port"). */
export function startSofaClient(address: string, o: SofaClientOptions = {}): SofaClientPeer {
  const client = new sofa.client.RpcClient({
    logger: quietSofaLogger,
    responseTimeout: o.responseTimeoutMs ?? 3000,
    // The address group re-tries failed addresses in a loop that sleeps this long between rounds and is
    // only left after a sleep: the default 30 s would keep the test process alive after close().
    retryFaultInterval: 100,
    ...(o.heartbeatIdleMs === undefined ? {} : { connectionOpts: { maxIdleTime: o.heartbeatIdleMs } }),
  });
  const errors: Error[] = [];
  client.on('error', (err) => { errors.push(err); });
  const received: TappedBoltFrame[] = [];
  const waiters = new Set<{ pred: (f: TappedBoltFrame) => boolean; resolve: (f: TappedBoltFrame) => void }>();
  const tapped = new WeakSet<Socket>();
  const tapConnections = (): void => {
    for (const conn of client.connectionManager.connections.values()) {
      const s = conn._socket;
      if (s === undefined || tapped.has(s)) continue;
      tapped.add(s);
      if (o.boltV2 !== undefined && conn._encoder !== undefined) {
        conn._encoder.protocolType = 'bolt2';
        conn._encoder.boltVersion = 2;
        conn._encoder.crcEnable = o.boltV2.crc;
      }
      const tap = new BoltTap((f) => {
        received.push(f);
        for (const w of waiters) if (w.pred(f)) { waiters.delete(w); w.resolve(f); }
      });
      // A second 'data' listener beside the library's pipe sees the same chunks.
      s.on('data', (chunk: Buffer) => tap.push(chunk));
    }
  };
  const consumers = new Map<string, SofaConsumer>();
  const pending = new Set<Promise<unknown>>();
  let closed: Promise<void> | undefined;
  const consumerFor = async (interfaceName: string): Promise<SofaConsumer> => {
    let c = consumers.get(interfaceName);
    if (c === undefined) {
      c = client.createConsumer({ interfaceName, version: '1.0', serverHost: address });
      consumers.set(interfaceName, c);
    }
    await c.ready();
    tapConnections();
    return c;
  };
  return {
    received,
    errors,
    async invoke(interfaceName, method, args, timeoutMs) {
      const c = await consumerFor(interfaceName);
      const p = c.invoke(method, args, timeoutMs === undefined ? {} : { responseTimeout: timeoutMs });
      tapConnections(); // a connection opened by this call (after a close) is tapped before its answer
      pending.add(p);
      const forget = (): void => { pending.delete(p); };
      p.then(forget, forget);
      return p;
    },
    waitFor(pred, withinMs) {
      const seen = received.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (f: TappedBoltFrame) => { clearTimeout(timer); resolve(f); },
        };
        const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`no matching Bolt frame within ${withinMs} ms`)); }, withinMs);
        waiters.add(w);
      });
    },
    heartbeat() {
      for (const conn of client.connectionManager.connections.values()) conn.heartbeat();
    },
    close() {
      closed ??= (async () => {
        // Calls still pending (a failed test) would make the library's close() wait for their timeouts.
        for (const conn of client.connectionManager.connections.values()) await conn.forceClose();
        await client.close();
        await Promise.allSettled([...pending]);
        // A call that ends during close() re-creates its health counter, whose interval lives in the
        // library's process-wide scheduler and would keep the test process alive; a second close()
        // clears that scheduler again (it holds nothing else once the first close is done).
        await client.close();
      })();
      return closed;
    },
  };
}

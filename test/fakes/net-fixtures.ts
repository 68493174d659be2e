/**
 * Test fakes for the network layer, upstream and tcp_proxy tests: config builders with MOSN's
 * defaults, a seeded random, a recording access-log sink, a parse context, and small TCP peers
 * (echo and collecting servers) on port 0. Every server helper returns a `close()`.
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import type { Address, ClusterConfig, HostConfig, ListenerConfig, TcpAddress } from '../../src/api/config.js';
import type { ParseContext } from '../../src/api/extension.js';
import type { AccessLogSink, VariableGetter } from '../../src/api/observability.js';

export function tcp(host: string, port: number): TcpAddress {
  return { kind: 'tcp', host, port, text: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

export function unix(path: string): Address {
  return { kind: 'unix', path, text: `unix:${path}` };
}

export function listenerConfig(over: Partial<ListenerConfig> = {}): ListenerConfig {
  return {
    name: 'l1',
    type: 'ingress',
    address: tcp('127.0.0.1', 0),
    bindPort: true,
    filterChains: [],
    streamFilters: [],
    listenerFilters: [],
    accessLogs: [],
    connectionIdleTimeoutMs: 90_000,
    tls: [],
    inspector: false,
    tlsHandshakeTimeoutMs: 10_000,
    maxConnections: 0,
    bufferLimitBytes: 32 * 1024,
    ...over,
  };
}

export function hostConfig(address: Address, over: Partial<HostConfig> = {}): HostConfig {
  return { address, hostname: '', weight: 1, metadata: {}, tlsDisable: false, ...over };
}

export function clusterConfig(name: string, hosts: readonly HostConfig[], over: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name,
    type: 'SIMPLE',
    lbType: 'LB_ROUNDROBIN',
    connectTimeoutMs: 2_000,
    idleTimeoutMs: 0,
    maxRequestPerConn: 1024,
    connBufferLimitBytes: 32 * 1024,
    circuitBreakers: { maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0 },
    hosts,
    ...over,
  };
}

export { seededRandom } from '../../src/base/seeded-random.js';

export class RecordingAccessLog implements AccessLogSink {
  readonly enabled = true;
  readonly entries: Record<string, string | undefined>[] = [];
  static readonly VARS = [
    'start_time', 'duration', 'bytes_sent', 'bytes_received', 'downstream_remote_address', 'downstream_local_address',
    'upstream_host', 'upstream_cluster', 'connection_id', 'upstream_connection_id', 'listener_name', 'response_flag',
  ];
  log(vars: VariableGetter): void {
    const e: Record<string, string | undefined> = {};
    for (const v of RecordingAccessLog.VARS) e[v] = vars(v);
    this.entries.push(e);
  }
}

export const disabledAccessLog: AccessLogSink = { enabled: false, log() {} };

export function parseContext(path = 'filter.config'): ParseContext & { warnings: string[]; notes: string[] } {
  const warnings: string[] = [];
  const notes: string[] = [];
  return { path, baseDir: '.', warnings, notes, warn: (p, m) => warnings.push(`${p}: ${m}`), note: (p, m) => notes.push(`${p}: ${m}`) };
}

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  readonly address: TcpAddress;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A server on 127.0.0.1:0 (or `host`) that hands each socket to `onSocket`. */
export async function startServer(onSocket: (s: Socket) => void, host = '127.0.0.1'): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    address: tcp(host, port),
    sockets,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** Echo server: writes back what it reads; FIN → FIN. */
export function startEchoServer(host = '127.0.0.1'): Promise<TestServer> {
  return startServer((s) => s.pipe(s), host);
}

/** A port that refuses connections (bound then closed). */
export async function refusedAddress(): Promise<TcpAddress> {
  const srv = await startServer(() => {});
  await srv.close();
  return srv.address;
}

export function connectTo(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads everything until close (a FIN is answered with our FIN); resolves with the bytes and whether a FIN came. */
export function readAll(s: Socket): Promise<{ data: Buffer; ended: boolean; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    // allowHalfOpen peers do not close on FIN: finish our side too, so the socket closes.
    s.on('end', () => { ended = true; s.end(); });
    s.on('close', () => resolve({ data: Buffer.concat(chunks), ended }));
  });
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Resolves when `cond()` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const once = <T = unknown>(emitter: { once(ev: string, f: (...a: unknown[]) => void): unknown }, ev: string): Promise<T> =>
  new Promise((r) => emitter.once(ev, (...a: unknown[]) => r(a[0] as T)));

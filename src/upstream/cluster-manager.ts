/**
 * Upstream layer: `ClusterManagerImpl`, the owner of every cluster's lifecycle. For each cluster it
 * starts discovery through the cluster-type plug-in, and on every host list builds an immutable
 * snapshot (config + `HostSet` + the LB built for it) that is swapped in by assignment: pickers
 * never see a half-built state (grpc-js's picker model). Hosts that did not change keep their
 * `Host` object (and so their stats) across updates.
 *
 *   addOrUpdateCluster(config) ─▶ clusterTypes.get(type).start(config, update)
 *        update(hosts) ─▶ Host objects (reused by identity key) ─▶ HostSet ─▶ lbPolicies.get(lbType).create
 *                      ─▶ handle.snapshot = new snapshot          (hot path reads handle.snapshot)
 *
 * `connect(host)` opens a `ClientConnection` and keeps MOSN's `upstream` connection stats, per
 * cluster and per host.
 */
import type { ClusterConfig, HostConfig } from '../api/config.js';
import { ConnectionEvent, type Connection } from '../api/network.js';
import type { Counter, Gauge, Logger, Stats, StatsScope } from '../api/observability.js';
import type { Registries } from '../api/registry.js';
import type {
  ClusterHandle,
  ClusterManager,
  ClusterSnapshot,
  Host,
  HostSet,
  LoadBalancerFactory,
  UpstreamConnectOptions,
} from '../api/upstream.js';
import { ErrorCode, SkiffError } from '../base/errors.js';
import { ClientConnection } from '../network/connection/client-connection.js';
import type { SocketConnection } from '../network/connection/socket-connection.js';
import { ClientTls } from '../network/tls/client-tls.js';

export interface ClusterManagerDeps {
  readonly registries: Registries;
  readonly stats: Stats;
  readonly logger: Logger;
  /** Injected into LB policies; tests pass a seeded one. */
  readonly random?: () => number;
}

/** MOSN's upstream connection stats for one scope (cluster, or cluster + host). */
interface ConnStats {
  readonly total: Counter;
  readonly active: Gauge;
  readonly conFail: Counter;
  readonly close: Counter;
  readonly bytesRead: Counter;
  readonly bytesWrite: Counter;
}

function resolveConnStats(scope: StatsScope): ConnStats {
  return {
    total: scope.counter('connection_total'),
    active: scope.gauge('connection_active'),
    conFail: scope.counter('connection_con_fail'),
    close: scope.counter('connection_close'),
    bytesRead: scope.counter('connection_bytes_read_total'),
    bytesWrite: scope.counter('connection_bytes_write_total'),
  };
}

/** Default upstream write-buffer limit (MOSN `conn_buffer_limit_bytes` default). */
const DEFAULT_UPSTREAM_BUFFER_BYTES = 16 * 1024;

class UpstreamHost implements Host {
  readonly clusterName: string;
  readonly address: HostConfig['address'];
  readonly addressText: string;
  readonly hostname: string;
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly healthy = true;
  /** The host opts out of its cluster's TLS (`tls_disable`). */
  readonly tlsDisable: boolean;
  activeRequests = 0;
  readonly stats: StatsScope;
  /** [cluster, host] stats, resolved once: `connect` only bumps them. */
  readonly clusterConnStats: ConnStats;
  readonly hostConnStats: ConnStats;
  readonly identity: string;

  constructor(clusterName: string, config: HostConfig, identity: string, clusterStats: ConnStats, stats: Stats) {
    this.clusterName = clusterName;
    this.address = config.address;
    this.addressText = config.address.text;
    this.hostname = config.hostname;
    this.weight = config.weight;
    this.metadata = config.metadata;
    this.tlsDisable = config.tlsDisable;
    this.identity = identity;
    this.stats = stats.scope('upstream', { cluster: clusterName, host: config.address.text });
    this.clusterConnStats = clusterStats;
    this.hostConnStats = resolveConnStats(this.stats);
  }
}

/** What identifies "the same host" across updates: every field a `Host` exposes. */
function hostIdentity(h: HostConfig): string {
  const meta = Object.keys(h.metadata).sort().map((k) => `${k}=${h.metadata[k]}`).join(',');
  return `${h.address.text}|${h.hostname}|${h.weight}|${h.tlsDisable ? 1 : 0}|${meta}`;
}

class MutableClusterHandle implements ClusterHandle {
  readonly name: string;
  snapshot: ClusterSnapshot | undefined = undefined;
  constructor(name: string) {
    this.name = name;
  }
}

interface ActiveCluster {
  config: ClusterConfig;
  lbFactory: LoadBalancerFactory;
  stopDiscovery: () => void;
  hostsByIdentity: Map<string, UpstreamHost>;
  readonly handle: MutableClusterHandle;
  readonly scope: StatsScope;
  readonly connStats: ConnStats;
  /** Upstream TLS of the cluster (its `tls_context`), rebuilt with the config. */
  tls: ClientTls | undefined;
}

export class ClusterManagerImpl implements ClusterManager {
  readonly #registries: Registries;
  readonly #stats: Stats;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #clusters = new Map<string, ActiveCluster>();
  readonly #handles = new Map<string, MutableClusterHandle>();

  constructor(deps: ClusterManagerDeps) {
    this.#registries = deps.registries;
    this.#stats = deps.stats;
    this.#logger = deps.logger.child({ component: 'cluster_manager' });
    this.#random = deps.random ?? Math.random;
  }

  /** Adds a cluster or replaces its config; discovery restarts, unchanged hosts keep their objects. */
  addOrUpdateCluster(config: ClusterConfig): void {
    const lbFactory = this.#registries.lbPolicies.get(config.lbType);
    if (!lbFactory) throw new SkiffError(ErrorCode.Config, `cluster "${config.name}": unknown lb_type "${config.lbType}" (known: ${this.#registries.lbPolicies.names().join(', ')})`);
    const typeFactory = this.#registries.clusterTypes.get(config.type);
    if (!typeFactory) throw new SkiffError(ErrorCode.Config, `cluster "${config.name}": unknown cluster type "${config.type}" (known: ${this.#registries.clusterTypes.names().join(', ')})`);

    let tls: ClientTls | undefined;
    if (config.tls !== undefined) {
      try {
        tls = new ClientTls(config.name, config.tls, this.#logger);
      } catch (err) {
        throw new SkiffError(ErrorCode.Config, `cluster "${config.name}": tls_context: ${(err as Error).message}`, { cause: err });
      }
    }
    let cluster = this.#clusters.get(config.name);
    if (cluster) {
      cluster.stopDiscovery();
      cluster.config = config;
      cluster.lbFactory = lbFactory;
      cluster.tls?.close();
      cluster.tls = tls;
    } else {
      const scope = this.#stats.scope('upstream', { cluster: config.name });
      cluster = {
        config,
        lbFactory,
        stopDiscovery: noop,
        hostsByIdentity: new Map(),
        handle: this.#handleFor(config.name),
        scope,
        connStats: resolveConnStats(scope),
        tls,
      };
      this.#clusters.set(config.name, cluster);
    }
    const active = cluster;
    // Until discovery reports, the cluster exists with the hosts it had (none if new).
    this.#publish(active, [...active.hostsByIdentity.values()]);
    let stopped = false;
    const update = (hosts: readonly HostConfig[]): void => {
      if (stopped || this.#clusters.get(config.name) !== active || active.config !== config) return;
      this.#onHosts(active, hosts);
    };
    let stop: () => void;
    try {
      stop = typeFactory.start(config, update, { logger: this.#logger });
    } catch (err) {
      throw new SkiffError(ErrorCode.Config, `cluster "${config.name}": ${typeFactory.name} discovery failed to start: ${(err as Error).message}`, { cause: err });
    }
    active.stopDiscovery = () => {
      stopped = true;
      try {
        stop();
      } catch (err) {
        this.#logger.error({ err, cluster: config.name }, 'cluster discovery stop threw');
      }
    };
  }

  /** Removes a cluster: its handle reads `undefined` from now on; open connections are untouched. */
  removeCluster(name: string): void {
    const cluster = this.#clusters.get(name);
    if (!cluster) return;
    cluster.stopDiscovery();
    cluster.tls?.close();
    this.#clusters.delete(name);
    cluster.handle.snapshot = undefined;
  }

  handle(name: string): ClusterHandle {
    return this.#handleFor(name);
  }

  snapshot(name: string): ClusterSnapshot | undefined {
    return this.#clusters.get(name)?.handle.snapshot;
  }

  clusterNames(): string[] {
    return [...this.#clusters.keys()];
  }

  connect(host: Host, options: UpstreamConnectOptions): Connection {
    const { clusterStats, hostStats } = this.#connStatsFor(host);
    clusterStats.total.inc();
    hostStats.total.inc();
    clusterStats.active.inc();
    hostStats.active.inc();
    const onClose = (c: SocketConnection, event: ConnectionEvent): void => {
      this.#live.delete(c);
      clusterStats.active.dec();
      hostStats.active.dec();
      if (event === ConnectionEvent.ConnectFailed) {
        clusterStats.conFail.inc();
        hostStats.conFail.inc();
      } else {
        clusterStats.close.inc();
        hostStats.close.inc();
      }
    };
    const cluster = this.#clusters.get(host.clusterName);
    const tls = cluster?.tls !== undefined && !(host as Partial<UpstreamHost>).tlsDisable ? cluster.tls : undefined;
    const conn = new ClientConnection(host.address, {
      ...(tls !== undefined ? { tls: tls.options(host.address.kind === 'tcp' ? host.address.host : '', host.hostname) } : {}),
      ownerName: host.clusterName,
      connectTimeoutMs: options.connectTimeoutMs,
      bufferLimitBytes: options.bufferLimitBytes ?? (this.#clusters.get(host.clusterName)?.config.connBufferLimitBytes || DEFAULT_UPSTREAM_BUFFER_BYTES),
      logger: this.#logger,
      bytesReadCounters: [clusterStats.bytesRead, hostStats.bytesRead],
      bytesWrittenCounters: [clusterStats.bytesWrite, hostStats.bytesWrite],
      onClose,
    });
    this.#live.add(conn);
    if (tls !== undefined) {
      const target = host.address.kind === 'tcp' ? host.address.host : '';
      conn.socketForSession()?.once('session', (session: Buffer) => tls.rememberSession(target, host.hostname, session));
    }
    return conn;
  }

  /** Upstream connections open now (closed with the process). */
  readonly #live = new Set<SocketConnection>();

  /** Stops every cluster's discovery and certificate watch, and closes every upstream connection (process stop). */
  close(): void {
    for (const c of this.#clusters.values()) { c.stopDiscovery(); c.tls?.close(); }
    for (const c of [...this.#live]) c.close('now', 'shutdown');
  }

  #handleFor(name: string): MutableClusterHandle {
    let h = this.#handles.get(name);
    if (!h) this.#handles.set(name, (h = new MutableClusterHandle(name)));
    return h;
  }

  #onHosts(cluster: ActiveCluster, hostConfigs: readonly HostConfig[]): void {
    const next = new Map<string, UpstreamHost>();
    const hosts: UpstreamHost[] = [];
    for (const hc of hostConfigs) {
      const id = hostIdentity(hc);
      if (next.has(id)) continue; // a duplicate entry would skew the LB
      const host = cluster.hostsByIdentity.get(id) ?? new UpstreamHost(cluster.config.name, hc, id, cluster.connStats, this.#stats);
      next.set(id, host);
      hosts.push(host);
    }
    cluster.hostsByIdentity = next;
    this.#publish(cluster, hosts);
  }

  #publish(cluster: ActiveCluster, hosts: readonly UpstreamHost[]): void {
    const frozen = Object.freeze([...hosts]);
    const hostSet: HostSet = Object.freeze({ hosts: frozen, healthyHosts: Object.freeze(frozen.filter((h) => h.healthy)) });
    const lb = cluster.lbFactory.create(hostSet, cluster.config, this.#random);
    cluster.handle.snapshot = Object.freeze({ config: cluster.config, hostSet, lb, stats: cluster.scope });
  }

  #connStatsFor(host: Host): { clusterStats: ConnStats; hostStats: ConnStats } {
    if (host instanceof UpstreamHost) return { clusterStats: host.clusterConnStats, hostStats: host.hostConnStats };
    // A host built elsewhere (a test, a future dynamic LB): resolve by labels.
    return {
      clusterStats: resolveConnStats(this.#stats.scope('upstream', { cluster: host.clusterName })),
      hostStats: resolveConnStats(this.#stats.scope('upstream', { cluster: host.clusterName, host: host.addressText })),
    };
  }
}

function noop(): void {}

/**
 * API layer (plug-in SDK): clusters, hosts, load balancers and the cluster manager as plug-ins see
 * them. Host sets are immutable snapshots: a config or discovery update builds a new `HostSet` and
 * swaps it in; pickers keep the one they were built from (grpc-js's picker model).
 */
import type { Address, ClusterConfig } from './config.js';
import type { Connection } from './network.js';
import type { Logger, StatsScope } from './observability.js';

export interface Host {
  readonly clusterName: string;
  readonly address: Address;
  /** `ip:port` or `unix:/path`: MOSN's `upstream_host`. */
  readonly addressText: string;
  readonly hostname: string;
  readonly weight: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Health as seen by checks and outlier detection (always true until those land). */
  readonly healthy: boolean;
  /** `upstream` stats with labels `cluster` + `host`. */
  readonly stats: StatsScope;
  /**
   * Requests in flight to this host (the L7 proxy increments it when a request is sent upstream and
   * decrements it when the request ends). Read by `LB_LEAST_REQUEST`; survives host-set updates.
   */
  activeRequests: number;
}

/** An immutable set of hosts; a new one is built on every update. */
export interface HostSet {
  readonly hosts: readonly Host[];
  readonly healthyHosts: readonly Host[];
}

/** What a pick may depend on. Allocated per pick only by callers that need the fields. */
export interface LoadBalancerContext {
  /** Hosts already tried for this connection/request (retries pick a different host). */
  readonly excludedHosts?: ReadonlySet<Host>;
  readonly downstreamConnection?: Connection;
}

/** Built from one `HostSet`; `chooseHost` is on the hot path and must not allocate. */
export interface LoadBalancer {
  chooseHost(ctx: LoadBalancerContext | undefined): Host | undefined;
}

/** Registry entry for an LB policy, keyed by MOSN's `lb_type` name. */
export interface LoadBalancerFactory {
  readonly name: string;
  /** `random()` is injectable so tests are deterministic. */
  create(hostSet: HostSet, cluster: ClusterConfig, random: () => number): LoadBalancer;
}

/** What the cluster manager hands a cluster type besides the config (optional for compatibility). */
export interface ClusterTypeContext {
  /** For discovery events (a failed DNS lookup, a changed address set); bound to the cluster manager. */
  readonly logger: Logger;
}

/** Registry entry for a cluster type (`SIMPLE`, `STRICT_DNS`, later `EDS`, …). */
export interface ClusterTypeFactory {
  readonly name: string;
  /**
   * Starts host discovery for one cluster and reports every host list it learns through `update`
   * (the first one synchronously for static clusters; later, from timers, for discovered ones:
   * until the first report the cluster keeps the hosts it had, none when new). Returns a stop
   * function that cancels every timer and pending report.
   */
  start(cluster: ClusterConfig, update: (hosts: readonly import('./config.js').HostConfig[]) => void, context?: ClusterTypeContext): () => void;
}

/** The current state of one cluster: config, host set and the LB built for that host set. */
export interface ClusterSnapshot {
  readonly config: ClusterConfig;
  readonly hostSet: HostSet;
  readonly lb: LoadBalancer;
  /** `upstream` stats with label `cluster`. */
  readonly stats: StatsScope;
}

/**
 * A stable reference to a cluster by name, resolved once at config time; `snapshot` is read on the
 * hot path and follows every update (undefined while the cluster does not exist).
 */
export interface ClusterHandle {
  readonly name: string;
  readonly snapshot: ClusterSnapshot | undefined;
}

export interface UpstreamConnectOptions {
  readonly connectTimeoutMs: number;
  /** Write-buffer high watermark for the new connection. */
  readonly bufferLimitBytes?: number;
}

export interface ClusterManager {
  /** Same handle for the same name; valid before the cluster exists and after it is removed. */
  handle(name: string): ClusterHandle;
  /**
   * Opens an upstream connection to `host` (stats counted under its cluster and host). Completion is
   * reported as `Connected` or `ConnectFailed` to the connection's callbacks, never thrown.
   */
  connect(host: Host, options: UpstreamConnectOptions): Connection;
}

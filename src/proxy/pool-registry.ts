/**
 * Proxy layer: the HTTP/1 connection pools, one per upstream host, shared by every listener's proxy.
 * Keyed by the `Host` object (the cluster manager keeps it across host-set updates) and by the
 * cluster config it was built from: when a cluster's config changes, the old pool drains and a new one
 * takes its settings. A host that leaves its cluster takes its pool with it once idle connections close
 * (WeakMap; the pool's idle timer bounds how long that takes).
 */
import type { ClusterConfig } from '../api/config.js';
import type { Logger } from '../api/observability.js';
import type { ClusterManager, Host } from '../api/upstream.js';
import { DEFAULT_POOL_IDLE_TIMEOUT_MS, Http1ConnectionPool } from '../upstream/conn-pool/http1-connection-pool.js';

interface Entry {
  readonly pool: Http1ConnectionPool;
  readonly config: ClusterConfig;
}

const registries = new WeakMap<ClusterManager, WeakMap<Host, Entry>>();

/** The pool for `host` under `config`; created on first use. */
export function http1PoolFor(cm: ClusterManager, host: Host, config: ClusterConfig, logger: Logger): Http1ConnectionPool {
  let byHost = registries.get(cm);
  if (byHost === undefined) { byHost = new WeakMap(); registries.set(cm, byHost); }
  const e = byHost.get(host);
  if (e !== undefined && e.config === config) return e.pool;
  if (e !== undefined) void e.pool.drain();
  const pool = new Http1ConnectionPool(host, {
    clusterManager: cm,
    connectTimeoutMs: config.connectTimeoutMs,
    maxRequestsPerConnection: config.maxRequestPerConn,
    // MOSN's idle_timeout 0 means "keep open"; Skiff closes before a typical upstream (60 s) does.
    idleTimeoutMs: config.idleTimeoutMs > 0 ? config.idleTimeoutMs : DEFAULT_POOL_IDLE_TIMEOUT_MS,
    maxConnections: config.circuitBreakers.maxConnections,
    ...(config.circuitBreakers.maxPendingRequests > 0 ? { maxPendingRequests: config.circuitBreakers.maxPendingRequests } : {}),
    logger,
  });
  byHost.set(host, { pool, config });
  return pool;
}

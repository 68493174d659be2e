/**
 * Proxy layer: the multiplexed upstream connections of XProtocol clusters, one per host and codec,
 * shared by every listener (MOSN's multiplex pool). A connection that closed or received GoAway is
 * replaced by a new one on the next request; the old one keeps delivering its pending responses.
 * Heartbeats follow the cluster's `keepalive` (interval, timeout, fail_count, backoff); a connection
 * that carried only heartbeats for the cluster's `idle_timeout` (default 90 s) is closed (idle-free).
 */
import type { ClusterConfig } from '../../api/config.js';
import type { ClusterManager, Host } from '../../api/upstream.js';
import type { XProtocolCodec } from '../../api/xprotocol.js';
import { XClientConnection } from '../../stream/xprotocol/x-client-connection.js';
import { DEFAULT_IDLE_FREE_MS, DEFAULT_KEEPALIVE, type KeepAliveOptions } from '../../stream/xprotocol/x-keepalive.js';

type ByCodec = Map<XProtocolCodec, XClientConnection>;
const registries = new WeakMap<ClusterManager, WeakMap<Host, ByCodec>>();

/** The usable shared connection to `host` for `codec`, opened when there is none. */
/** Upstream frames (responses) are capped at the codec's default frame size. */
export function xClientFor(cm: ClusterManager, host: Host, config: ClusterConfig, codec: XProtocolCodec): XClientConnection {
  let byHost = registries.get(cm);
  if (byHost === undefined) { byHost = new WeakMap(); registries.set(cm, byHost); }
  let byCodec = byHost.get(host);
  if (byCodec === undefined) { byCodec = new Map(); byHost.set(host, byCodec); }
  const existing = byCodec.get(codec);
  if (existing !== undefined && !existing.unusable) return existing;
  const conn = cm.connect(host, { connectTimeoutMs: config.connectTimeoutMs, bufferLimitBytes: config.connBufferLimitBytes });
  const client = new XClientConnection(conn, codec, { maxFrameBytes: codec.defaultMaxFrameBytes }, keepAliveOf(config));
  byCodec.set(codec, client);
  return client;
}

/** The keepalive options of a cluster (MOSN `keepalive` + `idle_timeout`). */
export function keepAliveOf(config: ClusterConfig): KeepAliveOptions {
  const ka = config.keepalive;
  const idleFreeMs = config.idleTimeoutMs > 0 ? config.idleTimeoutMs : DEFAULT_IDLE_FREE_MS;
  if (ka === undefined) return idleFreeMs === DEFAULT_KEEPALIVE.idleFreeMs ? DEFAULT_KEEPALIVE : { ...DEFAULT_KEEPALIVE, idleFreeMs };
  return { ...DEFAULT_KEEPALIVE, intervalMs: ka.intervalMs, stepMs: ka.intervalMs, timeoutMs: ka.timeoutMs, maxFailures: ka.maxFailures, backoff: ka.backoff, idleFreeMs };
}

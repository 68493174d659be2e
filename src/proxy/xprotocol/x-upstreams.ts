/**
 * Proxy layer: the multiplexed upstream connections of XProtocol clusters, one per host and codec,
 * shared by every listener (MOSN's multiplex pool). A connection that closed or received GoAway is
 * replaced by a new one on the next request; the old one keeps delivering its pending responses.
 */
import type { ClusterConfig } from '../../api/config.js';
import type { ClusterManager, Host } from '../../api/upstream.js';
import type { XCodecLimits, XProtocolCodec } from '../../api/xprotocol.js';
import { XClientConnection } from '../../stream/xprotocol/x-client-connection.js';

type ByCodec = Map<XProtocolCodec, XClientConnection>;
const registries = new WeakMap<ClusterManager, WeakMap<Host, ByCodec>>();

/** The usable shared connection to `host` for `codec`, opened when there is none. */
export function xClientFor(cm: ClusterManager, host: Host, config: ClusterConfig, codec: XProtocolCodec, limits: XCodecLimits): XClientConnection {
  let byHost = registries.get(cm);
  if (byHost === undefined) { byHost = new WeakMap(); registries.set(cm, byHost); }
  let byCodec = byHost.get(host);
  if (byCodec === undefined) { byCodec = new Map(); byHost.set(host, byCodec); }
  const existing = byCodec.get(codec);
  if (existing !== undefined && !existing.unusable) return existing;
  const conn = cm.connect(host, { connectTimeoutMs: config.connectTimeoutMs, bufferLimitBytes: config.connBufferLimitBytes });
  const client = new XClientConnection(conn, codec, limits);
  byCodec.set(codec, client);
  return client;
}

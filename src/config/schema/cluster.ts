/**
 * Config layer (schema): `cluster_manager` and its clusters (MOSN pkg/config/v2/upstream.go). Defaults
 * as MOSN's parser sets them: connect_timeout 10 s, max_request_per_conn 1024, conn_buffer_limit_bytes
 * 16384, host weight clamped to 1..128. The cluster `type` and `lb_type` are resolved against the
 * registries by `resolveClusterType` / `resolveLbType` (MOSN maps unknown values to SIMPLE /
 * LB_ROUNDROBIN; Skiff says so in a warning).
 */
import { z } from 'zod';
import type { CircuitBreakersConfig, ClusterConfig, HostConfig } from '../../api/config.js';
import { tryParseAddress } from '../../base/address.js';
import { suggestion } from '../../base/did-you-mean.js';
import { duration, ignored } from '../../base/schema.js';
import { policyShape } from '../feature-policy.js';
import { lbMetadataSchema } from './router.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_REQUEST_PER_CONN = 1024;
export const DEFAULT_CONN_BUFFER_LIMIT_BYTES = 16_384;
export const MAX_HOST_WEIGHT = 128;

/** Every `lb_type` MOSN knows (pkg/types/loadbalancer.go). */
export const MOSN_LB_TYPES: readonly string[] = [
  'LB_RANDOM', 'LB_ROUNDROBIN', 'LB_WEIGHTED_ROUNDROBIN', 'LB_LEAST_REQUEST', 'LB_LEAST_CONNECTION',
  'LB_REQUEST_ROUNDROBIN', 'LB_MAGLEV', 'LB_PEAK_EWMA', 'LB_ORIGINAL_DST',
];
export const DEFAULT_LB_TYPE = 'LB_ROUNDROBIN';
/** MOSN cluster types; everything but the last two is served as SIMPLE. */
export const MOSN_CLUSTER_TYPES: readonly string[] = ['SIMPLE', 'STATIC', 'EDS', 'DYNAMIC', 'STRICT_DNS', 'ORIGINAL_DST'];
export const DEFAULT_CLUSTER_TYPE = 'SIMPLE';

const hostSchema = z.object({
  address: z.string(),
  hostname: z.string().default(''),
  weight: z.number().int().nonnegative().default(1),
  metadata: lbMetadataSchema.optional(),
  tls_disable: z.boolean().default(false),
}).transform((h, ctx): HostConfig => {
  const address = tryParseAddress(h.address);
  if (typeof address === 'string') {
    ctx.issues.push({ code: 'custom', message: address, input: h.address, path: ['address'] });
    return z.NEVER;
  }
  return { address, hostname: h.hostname, weight: Math.min(MAX_HOST_WEIGHT, Math.max(1, h.weight)), metadata: h.metadata ?? {}, tlsDisable: h.tls_disable };
});

const circuitBreakerSchema = z.object({
  max_connections: z.number().int().nonnegative().default(0),
  max_pending_requests: z.number().int().nonnegative().default(0),
  max_requests: z.number().int().nonnegative().default(0),
  max_retries: z.number().int().nonnegative().default(0),
}).transform((c): CircuitBreakersConfig => ({ maxConnections: c.max_connections, maxPendingRequests: c.max_pending_requests, maxRequests: c.max_requests, maxRetries: c.max_retries }));

/** A cluster before `type`/`lbType` are resolved against the registries. */
export type ClusterDraft = ClusterConfig;

export const clusterSchema = z.object({
  ...policyShape('cluster'),
  name: z.string().min(1, 'a cluster needs a name'),
  type: z.string().default(''),
  sub_type: ignored('cluster sub_type is unused by MOSN'),
  lb_type: z.string().default(''),
  lbconfig: ignored('lbconfig tunes LB types Skiff does not implement yet'),
  max_request_per_conn: z.number().int().nonnegative().default(DEFAULT_MAX_REQUEST_PER_CONN),
  conn_buffer_limit_bytes: z.number().int().nonnegative().default(DEFAULT_CONN_BUFFER_LIMIT_BYTES),
  connect_timeout: duration().default(DEFAULT_CONNECT_TIMEOUT_MS),
  idle_timeout: duration().default(0),
  circuit_breakers: z.array(circuitBreakerSchema).default([]),
  hosts: z.array(hostSchema).default([]),
  cluster_pool_enable: ignored('cluster_pool_enable: Skiff keeps one pool per cluster'),
}).transform((c): ClusterDraft => ({
  name: c.name,
  type: c.type,
  lbType: c.lb_type,
  connectTimeoutMs: c.connect_timeout,
  idleTimeoutMs: c.idle_timeout,
  maxRequestPerConn: c.max_request_per_conn === 0 ? DEFAULT_MAX_REQUEST_PER_CONN : c.max_request_per_conn,
  connBufferLimitBytes: c.conn_buffer_limit_bytes === 0 ? DEFAULT_CONN_BUFFER_LIMIT_BYTES : c.conn_buffer_limit_bytes,
  circuitBreakers: c.circuit_breakers[0] ?? { maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0 },
  hosts: c.hosts,
}));

export const clusterManagerSchema = z.object({
  ...policyShape('cluster_manager'),
  clusters: z.array(clusterSchema).default([]),
  cluster_pool_enable: ignored('cluster_pool_enable: Skiff keeps one pool per cluster'),
});

type Warn = (message: string) => void;

/** The cluster-type registry key: a registered type is used as written; MOSN's others → SIMPLE. */
export function resolveClusterType(type: string, registered: readonly string[], warn: Warn): string {
  if (type === '') return DEFAULT_CLUSTER_TYPE;
  if (registered.includes(type)) return type;
  if (!MOSN_CLUSTER_TYPES.includes(type)) warn(`unknown cluster type "${type}"; using ${DEFAULT_CLUSTER_TYPE} as MOSN does${suggestion(type, MOSN_CLUSTER_TYPES)}`);
  return DEFAULT_CLUSTER_TYPE;
}

/** The LB-policy registry key: registered → as written; anything else → LB_ROUNDROBIN with a warning. */
export function resolveLbType(lbType: string, registered: readonly string[], warn: Warn): string {
  if (lbType === '') return DEFAULT_LB_TYPE;
  if (registered.includes(lbType)) return lbType;
  if (MOSN_LB_TYPES.includes(lbType)) warn(`lb_type ${lbType} is not implemented yet; using ${DEFAULT_LB_TYPE}`);
  else warn(`unknown lb_type "${lbType}"; using ${DEFAULT_LB_TYPE} as MOSN does${suggestion(lbType, MOSN_LB_TYPES)}`);
  return DEFAULT_LB_TYPE;
}

/**
 * Config layer (schema): `cluster_manager` and its clusters (MOSN pkg/config/v2/upstream.go). Defaults
 * as MOSN's parser sets them: connect_timeout 10 s, max_request_per_conn 1024, conn_buffer_limit_bytes
 * 16384, host weight clamped to 1..128, lbconfig choice_count 2 and active_request_bias 1.0,
 * dns_refresh_rate 5 s, a STRICT_DNS host without a port → port 80. The cluster `type` and `lb_type` are resolved against the
 * registries by `resolveClusterType` / `resolveLbType` (MOSN maps unknown values to SIMPLE /
 * LB_ROUNDROBIN; Skiff says so in a warning).
 */
import { z } from 'zod';
import type { CircuitBreakersConfig, ClusterConfig, DnsLookupFamily, HostConfig, LbConfig } from '../../api/config.js';
import { tryParseAddress } from '../../base/address.js';
import { suggestion } from '../../base/did-you-mean.js';
import { duration, ignored } from '../../base/schema.js';
import { policyShape } from '../feature-policy.js';
import { lbMetadataSchema } from './router.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_REQUEST_PER_CONN = 1024;
export const DEFAULT_CONN_BUFFER_LIMIT_BYTES = 16_384;
export const MAX_HOST_WEIGHT = 128;
/** MOSN `lbconfig` defaults (pkg/upstream/cluster/loadbalancer.go). */
export const DEFAULT_CHOICE_COUNT = 2;
export const DEFAULT_ACTIVE_REQUEST_BIAS = 1;
/** MOSN `DefaultRefreshInterval` (pkg/upstream/cluster/strict_dns_cluster.go). */
export const DEFAULT_DNS_REFRESH_RATE_MS = 5_000;
/** A STRICT_DNS host written without a port (MOSN: `aaa.com` means `aaa.com:80`). */
export const DEFAULT_DNS_PORT = 80;
export const DNS_LOOKUP_FAMILIES: readonly DnsLookupFamily[] = ['V4_ONLY', 'V6_ONLY', 'ALL'];

/** Every `lb_type` MOSN knows (pkg/types/loadbalancer.go). */
export const MOSN_LB_TYPES: readonly string[] = [
  'LB_RANDOM', 'LB_ROUNDROBIN', 'LB_WEIGHTED_ROUNDROBIN', 'LB_LEAST_REQUEST', 'LB_LEAST_CONNECTION',
  'LB_REQUEST_ROUNDROBIN', 'LB_MAGLEV', 'LB_PEAK_EWMA', 'LB_ORIGINAL_DST',
];
export const DEFAULT_LB_TYPE = 'LB_ROUNDROBIN';
/** MOSN cluster types; everything but the last two is served as SIMPLE. */
export const MOSN_CLUSTER_TYPES: readonly string[] = ['SIMPLE', 'STATIC', 'EDS', 'DYNAMIC', 'STRICT_DNS', 'ORIGINAL_DST'];
export const DEFAULT_CLUSTER_TYPE = 'SIMPLE';

/** MOSN's `"aaa.com"` in a STRICT_DNS cluster: a name with no port and no unix prefix gets port 80. */
function withDefaultDnsPort(address: string): string {
  const text = address.trim();
  if (text === '' || text.includes(':') || text.startsWith('/')) return address;
  return `${text}:${DEFAULT_DNS_PORT}`;
}

/**
 * A host, and (`missingPort`) the error for an address that is valid only with MOSN's STRICT_DNS
 * default port: the cluster (which knows its type) reports it or accepts the port-80 address.
 */
interface ParsedHost {
  readonly config: HostConfig;
  readonly missingPort?: string;
}

const hostSchema = z.object({
  address: z.string(),
  hostname: z.string().default(''),
  weight: z.number().int().nonnegative().default(1),
  metadata: lbMetadataSchema.optional(),
  tls_disable: z.boolean().default(false),
}).transform((h, ctx): ParsedHost => {
  let address = tryParseAddress(h.address);
  let missingPort: string | undefined;
  if (typeof address === 'string') {
    const withPort = tryParseAddress(withDefaultDnsPort(h.address));
    if (typeof withPort === 'string') {
      ctx.issues.push({ code: 'custom', message: address, input: h.address, path: ['address'] });
      return z.NEVER;
    }
    missingPort = address;
    address = withPort;
  }
  const config: HostConfig = { address, hostname: h.hostname, weight: Math.min(MAX_HOST_WEIGHT, Math.max(1, h.weight)), metadata: h.metadata ?? {}, tlsDisable: h.tls_disable };
  return missingPort === undefined ? { config } : { config, missingPort };
});

const lbConfigSchema = z.object({
  choice_count: z.number().int().nonnegative().default(0),
  active_request_bias: z.number().nonnegative().default(DEFAULT_ACTIVE_REQUEST_BIAS),
  client_error_bias: ignored('client_error_bias tunes LB_PEAK_EWMA, which Skiff does not implement yet'),
  server_error_bias: ignored('server_error_bias tunes LB_PEAK_EWMA, which Skiff does not implement yet'),
}).transform((l): LbConfig => ({ choiceCount: l.choice_count === 0 ? DEFAULT_CHOICE_COUNT : l.choice_count, activeRequestBias: l.active_request_bias }));

const DEFAULT_LB_CONFIG: LbConfig = { choiceCount: DEFAULT_CHOICE_COUNT, activeRequestBias: DEFAULT_ACTIVE_REQUEST_BIAS };


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
  lbconfig: lbConfigSchema.optional(),
  max_request_per_conn: z.number().int().nonnegative().default(DEFAULT_MAX_REQUEST_PER_CONN),
  conn_buffer_limit_bytes: z.number().int().nonnegative().default(DEFAULT_CONN_BUFFER_LIMIT_BYTES),
  connect_timeout: duration().default(DEFAULT_CONNECT_TIMEOUT_MS),
  idle_timeout: duration().default(0),
  circuit_breakers: z.array(circuitBreakerSchema).default([]),
  hosts: z.array(hostSchema).default([]),
  cluster_pool_enable: ignored('cluster_pool_enable: Skiff keeps one pool per cluster'),
  dns_refresh_rate: duration().default(0),
  // Values other than these are warned about by the feature policy and resolved as V4_ONLY (MOSN's default).
  dns_lookup_family: z.string().default(''),
  // Parsed by the loader (tlsContextSchema needs the config's directory); declared so they are known keys.
  tls_context: z.unknown().optional(),
  cluster_manager_tls: z.boolean().optional(),
  keepalive: z.object({
    interval: duration().optional(),
    timeout: duration().optional(),
    fail_count: z.number().int().positive().optional(),
    backoff: z.boolean().optional(),
  }).optional(),
}).transform((c, ctx): ClusterDraft => ({
  name: c.name,
  type: c.type,
  lbType: c.lb_type,
  connectTimeoutMs: c.connect_timeout,
  idleTimeoutMs: c.idle_timeout,
  maxRequestPerConn: c.max_request_per_conn === 0 ? DEFAULT_MAX_REQUEST_PER_CONN : c.max_request_per_conn,
  connBufferLimitBytes: c.conn_buffer_limit_bytes === 0 ? DEFAULT_CONN_BUFFER_LIMIT_BYTES : c.conn_buffer_limit_bytes,
  circuitBreakers: c.circuit_breakers[0] ?? { maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0 },
  hosts: c.hosts.map((h, i): HostConfig => {
    if (h.missingPort !== undefined && c.type !== 'STRICT_DNS') {
      ctx.issues.push({ code: 'custom', message: h.missingPort, input: h.config.address.text, path: ['hosts', i, 'address'] });
      return z.NEVER;
    }
    return h.config;
  }),
  lbConfig: c.lbconfig ?? DEFAULT_LB_CONFIG,
  dnsRefreshRateMs: c.dns_refresh_rate === 0 ? DEFAULT_DNS_REFRESH_RATE_MS : c.dns_refresh_rate,
  dnsLookupFamily: (DNS_LOOKUP_FAMILIES as readonly string[]).includes(c.dns_lookup_family) ? (c.dns_lookup_family as DnsLookupFamily) : 'V4_ONLY',
  ...(c.keepalive === undefined ? {} : { keepalive: {
    intervalMs: c.keepalive.interval !== undefined && c.keepalive.interval > 0 ? c.keepalive.interval : 15_000,
    timeoutMs: c.keepalive.timeout !== undefined && c.keepalive.timeout > 0 ? c.keepalive.timeout : 1_000,
    maxFailures: c.keepalive.fail_count ?? 6,
    backoff: c.keepalive.backoff ?? true,
  } }),
}));

export const clusterManagerSchema = z.object({
  ...policyShape('cluster_manager'),
  clusters: z.array(clusterSchema).default([]),
  tls_context: z.unknown().optional(),
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

/**
 * Config layer: THE table of MOSN features Skiff does not implement (yet), and what the loader does
 * when a config asks for one. Keep docs/config-reference.md ("Unimplemented features") in step.
 *
 *   fail_closed  a security feature: error, never skipped ("refusing to start without it")
 *   error        cannot be served at all as configured (e.g. a UDP listener)
 *   warn         ignored with a warning ("… is not implemented yet and is ignored"); --strict fails
 *
 * Key rules fire when the key is present and "on" (`when`, default: not null/false/empty). Filter
 * rules fire only when the filter type is not registered: a `skiff_module` or a later built-in that
 * provides the type makes the rule moot.
 */
import { z } from 'zod';
import type { ConfigIssue } from '../base/errors.js';
import { joinPath } from '../base/schema.js';

export type PolicyAction = 'fail_closed' | 'error' | 'warn';

/** Where a key lives in the normalised document. */
export type PolicyScope = 'document' | 'server' | 'listener' | 'filter_chain' | 'filter' | 'cluster' | 'cluster_manager' | 'router' | 'route_match';

export interface KeyRule {
  readonly scope: PolicyScope;
  readonly key: string;
  readonly feature: string;
  readonly action: PolicyAction;
  /** Whether the value asks for the feature; default: present and not null/false/""/[]/{}. */
  readonly when?: (value: unknown) => boolean;
  /** For `error`: why it cannot be served. */
  readonly reason?: string;
}

export type FilterPosition = 'network_filter' | 'stream_filter' | 'listener_filter';

export interface FilterRule {
  readonly position: FilterPosition;
  readonly type: string;
  readonly feature: string;
  readonly action: PolicyAction;
  readonly reason?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads `key` from a raw JSON object the way Go does: exact spelling first, then case-insensitively. */
export function field(obj: unknown, key: string): unknown {
  if (!isObject(obj)) return undefined;
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** The default trigger: the key says something. */
export function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

const enabled = (v: unknown) => field(v, 'enable') === true || isSet(field(v, 'driver'));
const hasSinks = (v: unknown) => isSet(field(v, 'sinks'));
const pprofOn = (v: unknown) => field(v, 'debug') === true;
const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : '');
const healthCheckOn = (v: unknown) => isSet(field(v, 'service_name'));
/** MOSN reads only `circuit_breakers[0]`; 0 means unlimited. */
const breakersOn = (v: unknown) => {
  const first = Array.isArray(v) ? v[0] : undefined;
  return typeof first === 'object' && first !== null && Object.values(first as Record<string, unknown>).some((x) => typeof x === 'number' && x > 0);
};

export const KEY_RULES: readonly KeyRule[] = [
  // ── security: fail closed ───────────────────────────────────────────────────────────────────
  // ── cannot be served as configured: error ───────────────────────────────────────────────────
  { scope: 'listener', key: 'network', feature: 'a UDP listener (network "udp")', action: 'error', when: (v) => lower(v) === 'udp', reason: 'it cannot be served as TCP' },
  { scope: 'cluster', key: 'type', feature: 'an ORIGINAL_DST cluster', action: 'error', when: (v) => v === 'ORIGINAL_DST', reason: 'it has no configured hosts to serve with' },
  // ── not implemented yet: warn and ignore ────────────────────────────────────────────────────
  { scope: 'document', key: 'tracing', feature: 'tracing', action: 'warn', when: enabled },
  { scope: 'document', key: 'metrics', feature: 'metrics sinks', action: 'warn', when: hasSinks },
  { scope: 'document', key: 'pprof', feature: 'pprof', action: 'warn', when: pprofOn },
  { scope: 'document', key: 'dynamic_resources', feature: 'xDS (dynamic_resources)', action: 'warn' },
  { scope: 'document', key: 'static_resources', feature: 'xDS bootstrap (static_resources)', action: 'warn' },
  { scope: 'document', key: 'inherit_old_mosnconfig', feature: 'hot upgrade (inherit_old_mosnconfig)', action: 'warn', when: (v) => v === true },
  { scope: 'document', key: 'third_part_codec', feature: 'third-party codecs (third_part_codec)', action: 'warn' },
  { scope: 'document', key: 'extends', feature: 'extends', action: 'warn' },
  { scope: 'document', key: 'wasm_global_plugins', feature: 'wasm plugins (wasm_global_plugins)', action: 'warn' },
  { scope: 'document', key: 'stream_filters', feature: 'named stream filter chains (top-level stream_filters)', action: 'warn' },
  { scope: 'server', key: 'global_log_roller', feature: 'log rolling (global_log_roller)', action: 'warn' },
  { scope: 'listener', key: 'use_original_dst', feature: 'original destination (use_original_dst)', action: 'warn' },
  { scope: 'filter', key: 'go_plugin_config', feature: 'Go plugin filters (go_plugin_config)', action: 'warn' },
  { scope: 'cluster', key: 'health_check', feature: 'health checks (health_check)', action: 'warn', when: healthCheckOn },
  { scope: 'cluster', key: 'circuit_breakers', feature: 'circuit breakers (circuit_breakers)', action: 'warn', when: breakersOn },
  { scope: 'cluster', key: 'lb_subset_config', feature: 'subset load balancing (lb_subset_config)', action: 'warn', when: (v) => isSet(field(v, 'subset_selectors')) },
  { scope: 'cluster', key: 'original_dst_lb_config', feature: 'original_dst_lb_config', action: 'warn' },
  { scope: 'cluster', key: 'slow_start', feature: 'slow start (slow_start)', action: 'warn' },
  { scope: 'cluster', key: 'spec', feature: 'service subscription (spec.subscribe)', action: 'warn', when: (v) => isSet(field(v, 'subscribe')) },
  { scope: 'cluster', key: 'mark', feature: 'SO_MARK on upstream sockets (mark)', action: 'warn' },
  { scope: 'cluster', key: 'dns_resolvers', feature: 'custom DNS resolvers (dns_resolvers)', action: 'warn' },
  { scope: 'cluster', key: 'dns_resolver_file', feature: 'custom DNS resolvers (dns_resolver_file)', action: 'warn' },
  { scope: 'cluster', key: 'dns_resolver_port', feature: 'custom DNS resolvers (dns_resolver_port)', action: 'warn' },
  { scope: 'cluster', key: 'respect_dns_ttl', feature: 'DNS TTLs (respect_dns_ttl)', action: 'warn' },
  { scope: 'cluster', key: 'dns_lookup_family', feature: 'dns_lookup_family other than V4_ONLY, V6_ONLY or ALL (resolved as V4_ONLY, as MOSN does)', action: 'warn', when: (v) => isSet(v) && !['V4_ONLY', 'V6_ONLY', 'ALL'].includes(String(v)) },
  { scope: 'cluster_manager', key: 'clusters_configs', feature: 'cluster config directories (clusters_configs)', action: 'warn' },
  { scope: 'router', key: 'router_configs', feature: 'router config directories (router_configs)', action: 'warn' },
  { scope: 'route_match', key: 'dsl_expressions', feature: 'CEL route matching (dsl_expressions)', action: 'warn' },
];

/** Keys the rules above read in `scope`, declared in that scope's schema so they are not "unknown". */
export function policyShape(scope: PolicyScope): Record<string, z.ZodOptional<z.ZodUnknown>> {
  const shape: Record<string, z.ZodOptional<z.ZodUnknown>> = {};
  for (const r of KEY_RULES) if (r.scope === scope) shape[r.key] = z.unknown().optional();
  return shape;
}

export const FILTER_RULES: readonly FilterRule[] = [
  // security stream filters (§3.2): never skipped
  { position: 'stream_filter', type: 'ip_access', feature: 'IP access control (stream filter ip_access)', action: 'fail_closed' },
  { position: 'stream_filter', type: 'rbac', feature: 'RBAC (stream filter rbac)', action: 'fail_closed' },
  { position: 'stream_filter', type: 'jwt_authn', feature: 'JWT authentication (stream filter jwt_authn)', action: 'fail_closed' },
  { position: 'stream_filter', type: 'flowControlFilter', feature: 'rate limiting (stream filter flowControlFilter)', action: 'fail_closed' },
  { position: 'stream_filter', type: 'payload_limit', feature: 'request size limits (stream filter payload_limit)', action: 'fail_closed' },
  { position: 'network_filter', type: 'udp_proxy', feature: 'UDP proxying (network filter udp_proxy)', action: 'error', reason: 'it cannot be served as TCP' },
  // known MOSN filters not implemented yet: skipped with a warning, as MOSN skips unknown filters
  ...(['fault_inject', 'grpc', 'tunnel'] as const).map((type) => ({ position: 'network_filter' as const, type, feature: `network filter ${type}`, action: 'warn' as const })),
  ...(['fault', 'gzip', 'mirror', 'dsl', 'fault_tolerance', 'header_to_metadata', 'dubbo_stream', 'grpc_metric', 'proxywasm', 'seata', 'istio.stats', 'mixer'] as const)
    .map((type) => ({ position: 'stream_filter' as const, type, feature: `stream filter ${type}`, action: 'warn' as const })),
  { position: 'listener_filter', type: 'original_dst', feature: 'listener filter original_dst', action: 'warn' },
];

export function keyRuleMessage(rule: Pick<KeyRule, 'feature' | 'action' | 'reason'>): string {
  switch (rule.action) {
    case 'fail_closed': return `${rule.feature} is not implemented in Skiff yet; refusing to start without it (fail closed)`;
    case 'error': return `${rule.feature} is not implemented in Skiff; ${rule.reason ?? 'it cannot be served'}`;
    case 'warn': return `${rule.feature} is not implemented yet and is ignored`;
  }
}

export function findFilterRule(position: FilterPosition, type: string): FilterRule | undefined {
  return FILTER_RULES.find((r) => r.position === position && r.type === type);
}

/** Where policy issues go: errors and warnings (the loader's collectors). */
export interface PolicySink {
  error(issue: ConfigIssue): void;
  warn(issue: ConfigIssue): void;
}

/** Applies the key rules of `scope` to one normalised object at `path`. */
export function checkKeys(scope: PolicyScope, obj: unknown, path: string, sink: PolicySink): void {
  if (!isObject(obj)) return;
  for (const rule of KEY_RULES) {
    if (rule.scope !== scope) continue;
    const value = field(obj, rule.key);
    if (value === undefined || !(rule.when ?? isSet)(value)) continue;
    const issue = { path: joinPath(path, rule.key), message: keyRuleMessage(rule) };
    if (rule.action === 'warn') sink.warn(issue);
    else sink.error(issue);
  }
}

/**
 * Config layer (schema): router configurations (MOSN `RouterConfiguration`, pkg/config/v2/route.go),
 * from `servers[0].routers[]` and from the legacy `connection_manager` filter's `config`. Produces
 * the typed `RouterConfig`; regexes are compiled once here so a bad one fails at load, with its path.
 *
 *   router_config_name ─┬─ virtual_hosts[] ── { name, domains[], routers[] ── { match, route | redirect | direct_response } }
 *                       └─ request/response_headers_to_add/remove (router, virtual host and route level)
 */
import { RE2JS } from 're2js';
import { z } from 'zod';
import type {
  HeaderMatcherConfig, HeaderValueOption, RetryPolicyConfig, RouteActionConfig, RouteConfig, RouterConfig, VirtualHostConfig,
  WeightedClusterConfig,
} from '../../api/config.js';
import { duration, ignored } from '../../base/schema.js';
import { policyShape } from '../feature-policy.js';

export const REDIRECT_CODES: readonly number[] = [301, 302, 303, 307, 308];

/** RE2 (Go) syntax, as MOSN's: the route table runs every regex on re2js (linear time, ADR 0006). */
function re2Error(s: string): string | undefined {
  try {
    RE2JS.compile(s);
    return undefined;
  } catch (err) {
    return `invalid regex ${JSON.stringify(s)} (RE2 syntax): ${(err as Error).message.replace(/^error parsing regexp: /, '')}`;
  }
}

/** A regex string that must compile as RE2. */
function regexString() {
  return z.string().superRefine((s, ctx) => {
    const message = re2Error(s);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  });
}

/** `metadata_match` / `metadata`: `{filter_metadata: {"mosn.lb": {k: v}}}` → the "mosn.lb" map, values as strings. */
export const lbMetadataSchema = z.object({
  filter_metadata: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
}).transform((m): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.filter_metadata['mosn.lb'] ?? {})) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
});

const headerValueOptionSchema = z.object({
  header: z.object({ key: z.string().min(1, 'a header needs a key'), value: z.string().default('') }),
  append: z.boolean().default(false),
}).transform((h): HeaderValueOption => ({ key: h.header.key, value: h.header.value, append: h.append }));

const headerMutations = {
  request_headers_to_add: z.array(headerValueOptionSchema).default([]),
  request_headers_to_remove: z.array(z.string()).default([]),
  response_headers_to_add: z.array(headerValueOptionSchema).default([]),
  response_headers_to_remove: z.array(z.string()).default([]),
};

type Mutations = { request_headers_to_add: HeaderValueOption[]; request_headers_to_remove: string[]; response_headers_to_add: HeaderValueOption[]; response_headers_to_remove: string[] };
const mutations = (m: Mutations) => ({
  requestHeadersToAdd: m.request_headers_to_add,
  requestHeadersToRemove: m.request_headers_to_remove,
  responseHeadersToAdd: m.response_headers_to_add,
  responseHeadersToRemove: m.response_headers_to_remove,
});

const headerMatcherSchema = z.object({ name: z.string().min(1, 'a header matcher needs a name'), value: z.string().default(''), regex: z.boolean().default(false) })
  .superRefine((h, ctx) => {
    if (!h.regex) return;
    const message = re2Error(h.value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message });
  })
  .transform((h): HeaderMatcherConfig => h);

const variableMatcherSchema = z.object({
  name: z.string().min(1, 'a variable matcher needs a name'),
  value: z.string().optional(),
  regex: regexString().optional(),
  model: z.enum(['and', 'or', 'AND', 'OR']).optional(),
}).transform((v) => ({
  name: v.name,
  ...(v.value !== undefined ? { value: v.value } : {}),
  ...(v.regex !== undefined ? { regex: v.regex } : {}),
  ...(v.model !== undefined ? { model: v.model.toLowerCase() } : {}),
}));

const matchSchema = z.object({
  ...policyShape('route_match'),
  prefix: z.string().optional(),
  path: z.string().optional(),
  regex: regexString().optional(),
  headers: z.array(headerMatcherSchema).default([]),
  variables: z.array(variableMatcherSchema).default([]),
}).transform((m) => ({
  ...(m.prefix !== undefined ? { prefix: m.prefix } : {}),
  ...(m.path !== undefined ? { path: m.path } : {}),
  ...(m.regex !== undefined ? { regex: m.regex } : {}),
  headers: m.headers,
  variables: m.variables,
}));

const retryPolicySchema = z.object({
  retry_on: z.boolean().default(false),
  retry_timeout: duration().default(0),
  num_retries: z.number().int().nonnegative().default(0),
  status_codes: z.array(z.number().int().min(100).max(599)).default([]),
}).transform((r): RetryPolicyConfig => ({ retryOn: r.retry_on, retryTimeoutMs: r.retry_timeout, numRetries: r.num_retries, statusCodes: r.status_codes }));

const weightedClusterSchema = z.object({
  cluster: z.object({
    name: z.string().min(1, 'a weighted cluster needs a name'),
    weight: z.number().int().nonnegative().default(0),
    metadata_match: lbMetadataSchema.optional(),
  }),
}).transform((w): WeightedClusterConfig => ({ name: w.cluster.name, weight: w.cluster.weight, metadataMatch: w.cluster.metadata_match ?? {} }));

const routeActionSchema = z.object({
  cluster_name: z.string().default(''),
  cluster_variable: z.string().default(''),
  cluster_header: ignored('route.cluster_header is parsed but unused by MOSN'),
  weighted_clusters: z.array(weightedClusterSchema).default([]),
  upstream_protocol: z.string().default(''),
  timeout: duration().default(0),
  retry_policy: retryPolicySchema.optional(),
  hash_policy: z.array(z.unknown()).default([]),
  metadata_match: lbMetadataSchema.optional(),
  prefix_rewrite: z.string().default(''),
  regex_rewrite: z.object({ pattern: z.object({ regex: regexString() }), substitution: z.string().default('') }).optional(),
  host_rewrite: z.string().default(''),
  auto_host_rewrite: z.boolean().default(false),
  auto_host_rewrite_header: z.string().default(''),
  ...headerMutations,
}).transform((r): RouteActionConfig => ({
  clusterName: r.cluster_name,
  clusterVariable: r.cluster_variable,
  weightedClusters: r.weighted_clusters,
  upstreamProtocol: r.upstream_protocol,
  timeoutMs: r.timeout,
  ...(r.retry_policy ? { retryPolicy: r.retry_policy } : {}),
  metadataMatch: r.metadata_match ?? {},
  prefixRewrite: r.prefix_rewrite,
  ...(r.regex_rewrite ? { regexRewrite: { pattern: r.regex_rewrite.pattern.regex, substitution: r.regex_rewrite.substitution } } : {}),
  hostRewrite: r.host_rewrite,
  autoHostRewrite: r.auto_host_rewrite,
  autoHostRewriteHeader: r.auto_host_rewrite_header,
  requestHeadersToAdd: r.request_headers_to_add,
  requestHeadersToRemove: r.request_headers_to_remove,
  responseHeadersToAdd: r.response_headers_to_add,
  responseHeadersToRemove: r.response_headers_to_remove,
  hashPolicy: r.hash_policy,
}));

const redirectSchema = z.object({
  response_code: z.number().int().default(0).refine((c) => c === 0 || REDIRECT_CODES.includes(c), { message: `redirect response_code must be one of ${REDIRECT_CODES.join(', ')}` }),
  path_redirect: z.string().default(''),
  host_redirect: z.string().default(''),
  scheme_redirect: z.string().default(''),
}).transform((r) => ({ responseCode: r.response_code === 0 ? 301 : r.response_code, pathRedirect: r.path_redirect, hostRedirect: r.host_redirect, schemeRedirect: r.scheme_redirect }));

const mirrorPolicySchema = z.object({
  cluster: z.string().min(1, 'a mirror policy needs a cluster'),
  percent: z.number().int().min(0).max(100).default(0),
  trace_sampled: ignored('request_mirror_policies.trace_sampled is unused by MOSN'),
});

const routeSchema = z.object({
  name: z.string().default(''),
  match: matchSchema.optional(),
  route: routeActionSchema.optional(),
  redirect: redirectSchema.optional(),
  direct_response: z.object({ status: z.number().int().min(100).max(599), body: z.string().default('') }).optional(),
  metadata: lbMetadataSchema.optional(),
  per_filter_config: z.record(z.string(), z.unknown()).default({}),
  request_mirror_policies: z.union([mirrorPolicySchema, z.array(mirrorPolicySchema)]).optional(),
}).transform((r): RouteConfig => {
  const mirrors = r.request_mirror_policies === undefined ? [] : Array.isArray(r.request_mirror_policies) ? r.request_mirror_policies : [r.request_mirror_policies];
  return {
    ...(r.name !== '' ? { name: r.name } : {}),
    match: r.match ?? { headers: [], variables: [] },
    ...(r.route ? { route: r.route } : {}),
    ...(r.redirect ? { redirect: r.redirect } : {}),
    ...(r.direct_response ? { directResponse: r.direct_response } : {}),
    perFilterConfig: r.per_filter_config,
    mirrorPolicies: mirrors.map((m) => ({ cluster: m.cluster, percent: m.percent })),
    metadata: r.metadata ?? {},
  };
});

const virtualHostSchema = z.object({
  name: z.string().default(''),
  domains: z.array(z.string()).default([]),
  require_tls: ignored('virtual_hosts[].require_tls is unused by MOSN'),
  per_filter_config: z.record(z.string(), z.unknown()).default({}),
  routers: z.array(routeSchema).default([]),
  ...headerMutations,
}).transform((v): VirtualHostConfig => ({ name: v.name, domains: v.domains, routers: v.routers, perFilterConfig: v.per_filter_config, ...mutations(v) }));

export const routerSchema = z.object({
  ...policyShape('router'),
  router_config_name: z.string().min(1, 'a router configuration needs a router_config_name'),
  virtual_hosts: z.array(virtualHostSchema).default([]),
  ...headerMutations,
}).transform((r): RouterConfig => ({ name: r.router_config_name, virtualHosts: r.virtual_hosts, ...mutations(r) }));

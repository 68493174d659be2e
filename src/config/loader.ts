/**
 * Config layer: the loader. A MOSN v2 document (JSON or YAML) becomes one immutable, typed
 * `SkiffConfig`, or a `ConfigError` listing every problem found, each at its JSON path:
 *
 *   file ─read─▶ raw ─normalise─▶ document (canonical keys) ─zod─▶ drafts ─registries─▶ SkiffConfig
 *                                   │                                 │
 *                                   └─ feature policy (fail closed)   └─ filters, routers, uniqueness
 *
 * The normalised document is kept beside the config for config_dump and live-update diffs; it can
 * be loaded again with `loadConfigDocument` to the same config.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { ClusterConfig, FilterChainConfig, ListenerConfig, RouterConfig, SkiffConfig, TlsContextConfig } from '../api/config.js';
import type { Registries } from '../api/registry.js';
import { ConfigError, type ConfigIssue } from '../base/errors.js';
import { deepFreeze, joinPath, normalise, zodIssues } from '../base/schema.js';
import { readConfigFile } from './config-file.js';
import { checkKeys, field } from './feature-policy.js';
import { resolveFilters, type IssueSink } from './filter-resolver.js';
import { resolveClusterType, resolveLbType } from './schema/cluster.js';
import { documentSchema } from './schema/document.js';
import type { ListenerDraft } from './schema/listener.js';
import { routerSchema } from './schema/router.js';
import { parseLogLevel, parseProcessor } from './schema/server.js';
import { tlsContextSchema } from './schema/tls.js';

export interface LoadOptions {
  readonly registries: Registries;
  /** Warnings become errors (`--strict`). Notes never fail. */
  readonly strict?: boolean;
}

export interface LoadResult {
  readonly config: SkiffConfig;
  /** The normalised, canonical-key JSON document (for config_dump, partial updates and diffs). */
  readonly document: Readonly<Record<string, unknown>>;
  readonly warnings: readonly ConfigIssue[];
  readonly notes: readonly ConfigIssue[];
}

/** Reads, parses and validates a config file (JSON, or YAML by `.yaml`/`.yml`). */
export async function loadConfigFile(path: string, opts: LoadOptions): Promise<LoadResult> {
  const raw = await readConfigFile(path);
  return loadConfigDocument(raw, { ...opts, baseDir: dirname(resolve(path)), source: path });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

class Issues implements IssueSink {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  readonly notes: ConfigIssue[] = [];
  error(path: string, message: string): void { this.errors.push({ path, message }); }
  warn(path: string, message: string): void { this.warnings.push({ path, message }); }
  note(path: string, message: string): void { this.notes.push({ path, message }); }
  readonly policy = { error: (i: ConfigIssue) => this.errors.push(i), warn: (i: ConfigIssue) => this.warnings.push(i) };
}

/** Validates an already-parsed document. `baseDir` resolves relative paths (`skiff_module`, `uds_dir`). */
export async function loadConfigDocument(raw: unknown, opts: LoadOptions & { baseDir: string; source?: string }): Promise<LoadResult> {
  const issues = new Issues();
  if (!isObject(raw)) {
    throw new ConfigError({ path: '', message: `${opts.source ?? 'the config'}: the config document must be a JSON object` });
  }
  const document = normalise(documentSchema, raw, '', issues) as Record<string, unknown>;
  checkPolicy(document, issues);
  const servers = list(document['servers']);
  if (servers.length !== 1) {
    issues.error('servers', servers.length === 0
      ? 'exactly one server is required, found none (MOSN needs one "servers" entry)'
      : `exactly one server is supported, found ${servers.length}`);
  }
  const parsed = z.safeParse(documentSchema, document, { reportInput: true });
  let config: SkiffConfig | undefined;
  if (parsed.success) config = await build(parsed.data, document, opts, issues);
  else issues.errors.push(...zodIssues(parsed.error, ''));

  if (opts.strict) {
    for (const w of issues.warnings) issues.errors.push({ path: w.path, message: `${w.message} (a warning; --strict makes it an error)` });
  }
  if (issues.errors.length > 0 || config === undefined) throw new ConfigError(issues.errors);
  return deepFreeze({ config, document, warnings: issues.warnings, notes: issues.notes });
}

/** Walks the normalised document applying the feature-policy table at every scope. */
function checkPolicy(doc: Record<string, unknown>, issues: Issues): void {
  checkKeys('document', doc, '', issues.policy);
  for (const [s, server] of list(doc['servers']).entries()) {
    const sp = joinPath('servers', s);
    checkKeys('server', server, sp, issues.policy);
    for (const [l, listener] of list(field(server, 'listeners')).entries()) {
      const lp = joinPath(joinPath(sp, 'listeners'), l);
      checkKeys('listener', listener, lp, issues.policy);
      for (const [c, chain] of list(field(listener, 'filter_chains')).entries()) {
        const cp = joinPath(joinPath(lp, 'filter_chains'), c);
        checkKeys('filter_chain', chain, cp, issues.policy);
        for (const [f, filter] of list(field(chain, 'filters')).entries()) checkKeys('filter', filter, joinPath(joinPath(cp, 'filters'), f), issues.policy);
      }
      for (const key of ['stream_filters', 'listener_filters']) {
        for (const [f, filter] of list(field(listener, key)).entries()) checkKeys('filter', filter, joinPath(joinPath(lp, key), f), issues.policy);
      }
    }
    for (const [r, router] of list(field(server, 'routers')).entries()) checkRouterPolicy(router, joinPath(joinPath(sp, 'routers'), r), issues);
  }
  const cm = doc['cluster_manager'];
  checkKeys('cluster_manager', cm, 'cluster_manager', issues.policy);
  for (const [c, cluster] of list(field(cm, 'clusters')).entries()) checkKeys('cluster', cluster, joinPath('cluster_manager.clusters', c), issues.policy);
}

function checkRouterPolicy(router: unknown, path: string, issues: Issues): void {
  checkKeys('router', router, path, issues.policy);
  for (const [v, vhost] of list(field(router, 'virtual_hosts')).entries()) {
    const vp = joinPath(joinPath(path, 'virtual_hosts'), v);
    for (const [r, route] of list(field(vhost, 'routers')).entries()) checkKeys('route_match', field(route, 'match'), joinPath(joinPath(joinPath(vp, 'routers'), r), 'match'), issues.policy);
  }
}

type Parsed = z.output<typeof documentSchema>;

async function build(parsed: Parsed, doc: Record<string, unknown>, opts: LoadOptions & { baseDir: string }, issues: Issues): Promise<SkiffConfig | undefined> {
  const server = parsed.servers[0];
  if (server === undefined) return undefined;
  const sp = 'servers[0]';
  const resolveOpts = { registries: opts.registries, baseDir: opts.baseDir, sink: issues };

  let level = parseLogLevel(server.default_log_level);
  if (level === undefined) {
    issues.warn(`${sp}.default_log_level`, `unknown log level "${server.default_log_level}"; using INFO as MOSN does (want TRACE, DEBUG, INFO, WARN, ERROR or FATAL)`);
    level = 'info';
  }
  const processor = parseProcessor(server.processor);
  if (typeof processor === 'string' && processor !== 'auto') issues.error(`${sp}.processor`, processor);

  const routers: { router: RouterConfig; path: string }[] = server.routers.map((router, i) => ({ router, path: `${sp}.routers[${i}]` }));
  const listeners: ListenerConfig[] = [];
  const byName = new Map<string, string>();
  const byAddress = new Map<string, string>();
  const rawListeners = list(field(list(doc['servers'])[0], 'listeners'));
  for (const [i, draft] of server.listeners.entries()) {
    const lp = `${sp}.listeners[${i}]`;
    const seenName = byName.get(draft.name);
    if (seenName !== undefined) issues.error(`${lp}.name`, `duplicate listener name "${draft.name}" (first used at ${seenName})`);
    else byName.set(draft.name, lp);
    // Port 0 asks the kernel for a fresh port per listener, so it never collides.
    const ephemeral = draft.address.kind === 'tcp' && draft.address.port === 0;
    const seenAddress = ephemeral ? undefined : byAddress.get(draft.address.text);
    if (seenAddress !== undefined) issues.error(`${lp}.address`, `address ${draft.address.text} is already used by the listener at ${seenAddress}`);
    else byAddress.set(draft.address.text, lp);
    if (draft.nameDefaulted) issues.note(lp, `listener has no name; using its address "${draft.name}"`);
    if (draft.bindPortDefaulted) {
      issues.warn(`${lp}.bind_port`, 'bind_port is not set: as in MOSN the listener is virtual and is not bound (set "bind_port": true to listen)');
    }
    routers.push(...legacyRouters(draft, rawListeners[i], lp, issues));
    const chain0 = list(field(rawListeners[i], 'filter_chains'))[0];
    const tls: TlsContextConfig[] = [];
    const single = field(chain0, 'tls_context');
    if (single !== undefined) {
      const t = parseTls(single, `${lp}.filter_chains[0].tls_context`, opts.baseDir, issues);
      if (t !== undefined) tls.push(t);
    }
    list(field(chain0, 'tls_context_set')).forEach((raw, k) => {
      const t = parseTls(raw, `${lp}.filter_chains[0].tls_context_set[${k}]`, opts.baseDir, issues);
      if (t !== undefined) tls.push(t);
    });
    if (draft.inspector && tls.length === 0) issues.warn(`${lp}.inspector`, 'inspector is set but the listener has no TLS: every client is served in plaintext');
    listeners.push({ ...(await buildListener(draft, lp, resolveOpts)), tls });
  }

  const routerNames = new Map<string, string>();
  for (const { router, path } of routers) {
    const seen = routerNames.get(router.name);
    if (seen !== undefined) issues.error(`${path}.router_config_name`, `duplicate router configuration name "${router.name}" (first defined at ${seen})`);
    else routerNames.set(router.name, path);
    const defaults = router.virtualHosts.flatMap((v, i) => (v.domains.includes('*') ? [i] : []));
    if (defaults.length > 1) issues.error(`${path}.virtual_hosts[${defaults[1]}].domains`, `a router configuration may have only one default ("*") virtual host (first at virtual_hosts[${defaults[0]}])`);
  }

  const clusters: ClusterConfig[] = [];
  const clusterNames = new Map<string, string>();
  const clusterTypes = opts.registries.clusterTypes.names();
  const lbTypes = opts.registries.lbPolicies.names();
  for (const [i, c] of (parsed.cluster_manager?.clusters ?? []).entries()) {
    const cp = `cluster_manager.clusters[${i}]`;
    const seen = clusterNames.get(c.name);
    if (seen !== undefined) issues.error(`${cp}.name`, `duplicate cluster name "${c.name}" (first defined at ${seen})`);
    else clusterNames.set(c.name, cp);
    const type = resolveClusterType(c.type, clusterTypes, (m) => issues.warn(`${cp}.type`, m));
    const lbType = resolveLbType(c.lbType, lbTypes, (m) => issues.warn(`${cp}.lb_type`, m));
    // Cluster TLS: its own tls_context, else (cluster_manager_tls: true) the cluster manager's (MOSN).
    const rawCluster = list(field(doc['cluster_manager'], 'clusters'))[i];
    let tls: TlsContextConfig | undefined;
    const own = field(rawCluster, 'tls_context');
    if (own !== undefined) tls = parseTls(own, `${cp}.tls_context`, opts.baseDir, issues);
    if (tls === undefined && field(rawCluster, 'cluster_manager_tls') === true) {
      const shared = field(doc['cluster_manager'], 'tls_context');
      if (shared === undefined) issues.error(`${cp}.cluster_manager_tls`, 'cluster_manager_tls is set but cluster_manager has no tls_context');
      else tls = parseTls(shared, 'cluster_manager.tls_context', opts.baseDir, issues);
    }
    clusters.push({ ...c, type, lbType, ...(tls === undefined ? {} : { tls }) });
  }

  // References MOSN resolves only per request: warn now instead of answering 404/503 later.
  listeners.forEach((l, li) => {
    l.filterChains[0]?.filters.forEach((f, fi) => {
      if (f.type !== 'proxy') return;
      const name = (f.config as { routerConfigName?: string } | undefined)?.routerConfigName ?? '';
      const at = `servers[0].listeners[${li}].filter_chains[0].filters[${fi}].config.router_config_name`;
      if (name === '') issues.warn(at, 'the proxy filter names no router configuration: every request will get 404 (NR)');
      else if (!routerNames.has(name)) issues.warn(at, `no router configuration is named "${name}": every request will get 404 (NR) until one is added`);
    });
  });
  for (const { router, path } of routers) {
    router.virtualHosts.forEach((vh, v) => vh.routers.forEach((r, i) => {
      const names = [r.route?.clusterName ?? '', ...(r.route?.weightedClusters ?? []).map((w) => w.name)];
      for (const name of names) {
        if (name !== '' && !clusterNames.has(name)) {
          issues.warn(`${path}.virtual_hosts[${v}].routers[${i}].route`, `cluster "${name}" is not defined in cluster_manager: requests on this route will get 503 (NC) until it is added`);
        }
      }
    }));
  }

  if (parsed.close_graceful !== undefined) issues.note('close_graceful', 'close_graceful is a deprecated alias of disable_upgrade');
  return {
    server: {
      name: server.mosn_server_name,
      defaultLogPath: server.default_log_path === '' ? 'stderr' : server.default_log_path,
      defaultLogLevel: level,
      gracefulTimeoutMs: server.graceful_timeout,
      // Absent → 1 (one process, no workers); only an explicit "auto" means one worker per core.
      processor: typeof processor === 'number' ? processor : processor === 'auto' ? 'auto' : 1,
      listeners,
      routers: routers.map((r) => r.router),
    },
    clusters,
    ...(parsed.admin ? { admin: parsed.admin } : {}),
    disableUpgrade: parsed.disable_upgrade ?? parsed.close_graceful ?? false,
    udsDir: parsed.uds_dir === '' ? opts.baseDir : resolve(opts.baseDir, parsed.uds_dir),
    pidFile: parsed.pid === '' ? '' : resolve(opts.baseDir, parsed.pid),
  };
}

async function buildListener(draft: ListenerDraft, lp: string, opts: Parameters<typeof resolveFilters>[3]): Promise<ListenerConfig> {
  const filterChains: FilterChainConfig[] = [];
  for (const [c, entries] of draft.filterChains.entries()) {
    const path = `${lp}.filter_chains[${c}].filters`;
    if (c === 0) {
      filterChains.push({ filters: await resolveFilters(entries, 'network_filter', path, opts) });
    } else {
      // Kept for the dump, never served: MOSN builds network filters from filter_chains[0] only.
      opts.sink.note(`${lp}.filter_chains[${c}]`, 'only the first filter chain is used (as in MOSN)');
      filterChains.push({ filters: entries.map((e) => ({ type: e.type, config: e.config })) });
    }
  }
  const { nameDefaulted: _n, bindPortDefaulted: _b, ...rest } = draft;
  return {
    ...rest,
    filterChains,
    streamFilters: await resolveFilters(draft.streamFilters, 'stream_filter', `${lp}.stream_filters`, opts),
    listenerFilters: await resolveFilters(draft.listenerFilters, 'listener_filter', `${lp}.listener_filters`, opts),
  };
}

/** One `tls_context`: undefined when `status` is not true (plaintext) or it has errors (reported). */
function parseTls(raw: unknown, path: string, baseDir: string, issues: Issues): TlsContextConfig | undefined {
  const schema = tlsContextSchema(baseDir);
  const value = normalise(schema, raw ?? {}, path, issues);
  const result = z.safeParse(schema, value, { reportInput: true });
  if (!result.success) {
    issues.errors.push(...zodIssues(result.error, path));
    return undefined;
  }
  const { notes, ...tls } = result.data;
  if (!tls.status) return undefined;
  if (notes.weakMinVersion !== undefined) {
    issues.warn(`${path}.min_version`, `${notes.weakMinVersion} is enabled as configured; TLS below 1.2 is weak (the default minimum is TLS 1.2)`);
  }
  return tls;
}

/**
 * The legacy `connection_manager` network filter: MOSN registers its `config` (router_config_name +
 * virtual_hosts) as a router configuration, whatever the filter registry says.
 */
function legacyRouters(draft: ListenerDraft, rawListener: unknown, lp: string, issues: Issues): { router: RouterConfig; path: string }[] {
  const out: { router: RouterConfig; path: string }[] = [];
  const rawFilters = list(field(list(field(rawListener, 'filter_chains'))[0], 'filters'));
  for (const [f, entry] of (draft.filterChains[0] ?? []).entries()) {
    if (entry.type !== 'connection_manager') continue;
    const path = `${lp}.filter_chains[0].filters[${f}].config`;
    const raw = field(rawFilters[f], 'config') ?? entry.config;
    const value = normalise(routerSchema, raw ?? {}, path, issues);
    checkRouterPolicy(value, path, issues);
    const result = z.safeParse(routerSchema, value, { reportInput: true });
    if (result.success) out.push({ router: result.data, path });
    else issues.errors.push(...zodIssues(result.error, path));
  }
  return out;
}

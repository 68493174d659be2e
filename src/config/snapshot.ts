/**
 * Config layer: what changed between two config snapshots, and MOSN's partial-update form. The
 * server applies a `ConfigDiff` resource by resource (listeners, clusters, routers: added, updated,
 * removed, matched by name); "updated" means the canonical JSON differs.
 *
 *   /debug/update_config {type, config} ─applyPartialUpdate─▶ new document ─loadConfigDocument─▶ diffConfigs
 */
import type { ClusterConfig, ListenerConfig, RouterConfig, SkiffConfig } from '../api/config.js';
import { ConfigError } from '../base/errors.js';
import { field } from './feature-policy.js';

export interface ResourceDiff<T> {
  readonly added: readonly T[];
  readonly updated: readonly { readonly prev: T; readonly next: T }[];
  readonly removed: readonly T[];
}

export interface ConfigDiff {
  readonly listeners: ResourceDiff<ListenerConfig>;
  readonly clusters: ResourceDiff<ClusterConfig>;
  readonly routers: ResourceDiff<RouterConfig>;
  /** Server-level settings that changed, by config key (e.g. `default_log_level`). */
  readonly serverChanged: readonly string[];
}

/** JSON with object keys sorted, so equal configs compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

export function diffResources<T extends { readonly name: string }>(prev: readonly T[], next: readonly T[]): ResourceDiff<T> {
  const before = new Map(prev.map((r) => [r.name, r]));
  const after = new Set(next.map((r) => r.name));
  const added: T[] = [];
  const updated: { prev: T; next: T }[] = [];
  for (const r of next) {
    const old = before.get(r.name);
    if (old === undefined) added.push(r);
    else if (canonicalJson(old) !== canonicalJson(r)) updated.push({ prev: old, next: r });
  }
  return { added, updated, removed: prev.filter((r) => !after.has(r.name)) };
}

const SERVER_KEYS: readonly [string, (c: SkiffConfig) => unknown][] = [
  ['mosn_server_name', (c) => c.server.name],
  ['default_log_path', (c) => c.server.defaultLogPath],
  ['default_log_level', (c) => c.server.defaultLogLevel],
  ['graceful_timeout', (c) => c.server.gracefulTimeoutMs],
  ['processor', (c) => c.server.processor],
  ['admin', (c) => c.admin],
  ['disable_upgrade', (c) => c.disableUpgrade],
  ['uds_dir', (c) => c.udsDir],
  ['pid', (c) => c.pidFile],
];

export function diffConfigs(prev: SkiffConfig, next: SkiffConfig): ConfigDiff {
  return {
    listeners: diffResources(prev.server.listeners, next.server.listeners),
    clusters: diffResources(prev.clusters, next.clusters),
    routers: diffResources(prev.server.routers, next.server.routers),
    serverChanged: SERVER_KEYS.filter(([, get]) => canonicalJson(get(prev)) !== canonicalJson(get(next))).map(([k]) => k),
  };
}

export interface PartialUpdate {
  readonly type: 'listener' | 'router' | 'cluster' | 'extend';
  /** One resource object or an array of them. */
  readonly config: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where each partial-update type lives in the document and which key names it. */
const TARGETS = {
  listener: { nameKey: 'name', container: (d: Record<string, unknown>) => ensureObject(ensureServers(d), null), listKey: 'listeners' },
  router: { nameKey: 'router_config_name', container: (d: Record<string, unknown>) => ensureObject(ensureServers(d), null), listKey: 'routers' },
  cluster: { nameKey: 'name', container: (d: Record<string, unknown>) => ensureObject(d, 'cluster_manager'), listKey: 'clusters' },
} as const;

function ensureServers(doc: Record<string, unknown>): Record<string, unknown>[] {
  if (!Array.isArray(doc['servers'])) doc['servers'] = [];
  return doc['servers'] as Record<string, unknown>[];
}

/** `servers[0]` (when given the servers array) or `doc[key]`, created as `{}` when missing. */
function ensureObject(parent: Record<string, unknown> | Record<string, unknown>[], key: string | null): Record<string, unknown> {
  if (Array.isArray(parent)) {
    if (!isObject(parent[0])) parent[0] = {};
    return parent[0] as Record<string, unknown>;
  }
  const k = key as string;
  if (!isObject(parent[k])) parent[k] = {};
  return parent[k] as Record<string, unknown>;
}

/**
 * MOSN's `/debug/update_config` body applied to a copy of a normalised document: adds or replaces
 * (matched by name, case-insensitive keys) one listener, router configuration or cluster, or an
 * array of them. The result is then validated with `loadConfigDocument` like any other document.
 */
export function applyPartialUpdate(document: Readonly<Record<string, unknown>>, update: PartialUpdate): Record<string, unknown> {
  if (update.type === 'extend') throw new ConfigError({ path: 'type', message: 'partial update type "extend" is not supported' });
  const target = (TARGETS as Record<string, (typeof TARGETS)[keyof typeof TARGETS] | undefined>)[update.type];
  if (target === undefined) {
    throw new ConfigError({ path: 'type', message: `unknown partial update type ${JSON.stringify(update.type)} (want listener, router or cluster)` });
  }
  const items = Array.isArray(update.config) ? update.config : [update.config];
  if (items.length === 0) throw new ConfigError({ path: 'config', message: 'the update has no config' });
  const doc = structuredClone(document) as Record<string, unknown>;
  const container = target.container(doc);
  if (!Array.isArray(container[target.listKey])) container[target.listKey] = [];
  const existing = container[target.listKey] as unknown[];
  for (const [i, item] of items.entries()) {
    const name = field(item, target.nameKey);
    if (!isObject(item) || typeof name !== 'string' || name === '') {
      throw new ConfigError({ path: Array.isArray(update.config) ? `config[${i}]` : 'config', message: `a ${update.type} update needs an object with a "${target.nameKey}"` });
    }
    const at = existing.findIndex((e) => field(e, target.nameKey) === name);
    const copy = structuredClone(item);
    if (at >= 0) existing[at] = copy;
    else existing.push(copy);
  }
  return doc;
}

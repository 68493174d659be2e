/**
 * Admin handler `/api/v1/config_dump`: the running config, secrets redacted, in MOSN's dump shape
 * `{mosn_config, listener: {name: …}, cluster: {name: …}, routers: {name: …}}`. At most one query
 * parameter selects a part: `mosnconfig`, `alllisteners`, `allclusters`, `allrouters`,
 * `listener=<name>`, `cluster=<name>`, `router=<name>`; more than one → 400.
 */
import { redactDocument } from '../../config/index.js';
import { json, text, type AdminHandler } from '../admin-handler.js';

type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Doc[] => (Array.isArray(v) ? v.filter(isObject) : []);

function byName(items: Doc[], key: string): Record<string, Doc> {
  const out: Record<string, Doc> = {};
  for (const item of items) {
    const name = item[key];
    if (typeof name === 'string') out[name] = item;
  }
  return out;
}

/** Splits a normalised document into MOSN's dump parts. */
export function dumpParts(document: Readonly<Doc>): { mosn_config: Doc; listener: Record<string, Doc>; cluster: Record<string, Doc>; routers: Record<string, Doc> } {
  const doc = redactDocument(document as Doc) as Doc;
  const server = list(doc['servers'])[0] ?? {};
  const clusterManager = isObject(doc['cluster_manager']) ? doc['cluster_manager'] : {};
  // MOSN registers the legacy `connection_manager` filter's config as a router configuration too.
  const legacyRouters: Doc[] = [];
  for (const listener of list(server['listeners'])) {
    for (const chain of list(listener['filter_chains'])) {
      for (const filter of list(chain['filters'])) {
        if (filter['type'] === 'connection_manager' && isObject(filter['config'])) legacyRouters.push(filter['config']);
      }
    }
  }
  return {
    mosn_config: doc,
    listener: byName(list(server['listeners']), 'name'),
    cluster: byName(list(clusterManager['clusters']), 'name'),
    routers: byName([...legacyRouters, ...list(server['routers'])], 'router_config_name'),
  };
}

const SELECTORS = new Set(['mosnconfig', 'alllisteners', 'allclusters', 'allrouters', 'listener', 'cluster', 'router']);

export const configDumpHandler: AdminHandler = {
  path: '/api/v1/config_dump',
  mutating: false,
  description: 'running config (secrets redacted); one of ?mosnconfig ?alllisteners ?allclusters ?allrouters ?listener=N ?cluster=N ?router=N',
  handle(req, ctx) {
    const params = [...req.url.searchParams.entries()];
    if (params.length > 1) return text(400, 'config_dump accepts at most one query parameter');
    const parts = dumpParts(ctx.configDocument());
    const [param] = params;
    if (param === undefined) return json(200, parts);
    const [key, value] = param;
    if (!SELECTORS.has(key)) return text(400, `unknown config_dump parameter "${key}"`);
    switch (key) {
      case 'mosnconfig':
        return json(200, parts.mosn_config);
      case 'alllisteners':
        return json(200, parts.listener);
      case 'allclusters':
        return json(200, parts.cluster);
      case 'allrouters':
        return json(200, parts.routers);
      default: {
        const table = key === 'listener' ? parts.listener : key === 'cluster' ? parts.cluster : parts.routers;
        const found = table[value];
        return found ? json(200, found) : text(404, `${key} "${value}" not found`);
      }
    }
  },
};

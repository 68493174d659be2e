/**
 * Proxy layer: compiled route tables, one per router configuration object. Router configs are frozen
 * and replaced (never mutated) on update, so the object identity is the version: a WeakMap keyed by
 * it compiles each configuration once and lets old tables be collected with their configs. The
 * server compiles every new configuration here before committing an update (a bad regex rejects the
 * update); the proxy then only ever hits the cache.
 */
import type { RouterConfig } from '../api/config.js';
import { compileRouteTable, type RouteTable } from '../router/route-table.js';

const tables = new WeakMap<RouterConfig, RouteTable>();

/** The compiled table of `config` (compiled on first use; throws ConfigError on an invalid config). */
export function routeTableFor(config: RouterConfig): RouteTable {
  let t = tables.get(config);
  if (t === undefined) {
    t = compileRouteTable(config);
    tables.set(config, t);
  }
  return t;
}

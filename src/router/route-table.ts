/**
 * Router layer: the route table. `compileRouteTable` turns one validated router configuration
 * (MOSN `routers[]` entry) into an immutable table on the control path; `match` runs per request:
 *
 *   authority ─DomainIndex─▶ virtual host ─rules in config order, first match wins─▶ RouteMatch
 *
 * `match` allocates nothing beyond what the host lookup needs (a lower-cased authority): it returns
 * the frozen per-route object. No match → undefined, and the caller answers 404 (NR).
 * Swap tables by assignment when config changes (STYLE habit 4).
 */
import type { RouteConfig, RouterConfig, VirtualHostConfig } from '../api/config.js';
import { ConfigError, type ConfigIssue } from '../base/errors.js';
import { CompiledRoute, type RouteMatch } from './compiled-route.js';
import { compileHeaderMutator } from './header-mutation/header-mutator.js';
import { DomainIndex } from './matchers/domain-index.js';
import { compileLinearRegex, type LinearRegex } from './matchers/linear-regex.js';
import { compileRouteMatcher, type CompiledRouteMatcher } from './matchers/route-matcher.js';
import type { RouteRequest } from './route-request.js';

export interface RouteTable {
  readonly name: string;
  /** First matching route of the request's virtual host; undefined → 404. Hot path, never throws. */
  match(req: RouteRequest): RouteMatch | undefined;
}

export interface CompileRouteTableOptions {
  /** Random in [0, 1) for weighted clusters; inject a seeded one in tests. Default Math.random. */
  readonly random?: () => number;
  /** JSON path of this router configuration, for error messages. */
  readonly path?: string;
}

interface ActiveVirtualHost {
  readonly name: string;
  readonly routes: readonly CompiledRoute[];
}

class CompiledRouteTable implements RouteTable {
  readonly name: string;
  readonly #index: DomainIndex<ActiveVirtualHost>;

  constructor(name: string, index: DomainIndex<ActiveVirtualHost>) {
    this.name = name;
    this.#index = index;
    Object.freeze(this);
  }

  match(req: RouteRequest): RouteMatch | undefined {
    const vh = this.#index.find(req.host);
    if (vh === undefined) return undefined;
    const routes = vh.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.matches(req)) return r;
    }
    return undefined;
  }
}

/** Compiles a router configuration. Throws `ConfigError` (every problem, with its path) on invalid input. */
export function compileRouteTable(config: RouterConfig, opts: CompileRouteTableOptions = {}): RouteTable {
  const random = opts.random ?? Math.random;
  const base = opts.path ?? `routers[${JSON.stringify(config.name)}]`;
  const issues: ConfigIssue[] = [];
  const index = new DomainIndex<ActiveVirtualHost>();
  const routerLevel = { add: config.requestHeadersToAdd, remove: config.requestHeadersToRemove };
  const routerLevelResp = { add: config.responseHeadersToAdd, remove: config.responseHeadersToRemove };
  config.virtualHosts.forEach((vh, v) => {
    const vp = `${base}.virtual_hosts[${v}]`;
    const routes: CompiledRoute[] = [];
    vh.routers.forEach((route, i) => {
      const rp = `${vp}.routers[${i}]`;
      const compiled = compileRoute(vh, route, i, random, rp, issues, {
        request: [{ add: vh.requestHeadersToAdd, remove: vh.requestHeadersToRemove }, routerLevel],
        response: [{ add: vh.responseHeadersToAdd, remove: vh.responseHeadersToRemove }, routerLevelResp],
      });
      if (compiled !== undefined) routes.push(compiled);
    });
    const active: ActiveVirtualHost = Object.freeze({ name: vh.name, routes: Object.freeze(routes) });
    vh.domains.forEach((domain, d) => {
      if (!index.add(domain, active)) {
        issues.push({ path: `${vp}.domains[${d}]`, message: domain === '*'
          ? 'a router configuration may have only one default ("*") virtual host'
          : `domain ${JSON.stringify(domain)} is already used by another virtual host` });
      }
    });
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return new CompiledRouteTable(config.name, index);
}

type Levels = { request: { add: VirtualHostConfig['requestHeadersToAdd']; remove: readonly string[] }[]; response: { add: VirtualHostConfig['responseHeadersToAdd']; remove: readonly string[] }[] };

function compileRoute(vh: VirtualHostConfig, route: RouteConfig, i: number, random: () => number, rp: string, issues: ConfigIssue[], outer: Levels): CompiledRoute | undefined {
  let matcher: CompiledRouteMatcher;
  try {
    matcher = compileRouteMatcher(route.match);
  } catch (err) {
    issues.push({ path: `${rp}.match`, message: `invalid RE2 regex: ${(err as Error).message}` });
    return undefined;
  }
  let regexRewrite: LinearRegex | undefined;
  const rr = route.route?.regexRewrite;
  if (rr !== undefined) {
    try {
      regexRewrite = compileLinearRegex(rr.pattern);
    } catch (err) {
      issues.push({ path: `${rp}.route.regex_rewrite.pattern.regex`, message: `invalid RE2 regex: ${(err as Error).message}` });
      return undefined;
    }
  }
  const a = route.route;
  return new CompiledRoute({
    name: route.name !== undefined && route.name !== '' ? route.name : `${vh.name}#${i}`,
    virtualHost: vh,
    config: route,
    matcher,
    regexRewrite,
    random,
    applyRequestHeaders: compileHeaderMutator([{ add: a?.requestHeadersToAdd ?? [], remove: a?.requestHeadersToRemove ?? [] }, ...outer.request]),
    applyResponseHeaders: compileHeaderMutator([{ add: a?.responseHeadersToAdd ?? [], remove: a?.responseHeadersToRemove ?? [] }, ...outer.response]),
  });
}

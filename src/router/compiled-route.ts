/**
 * Router layer: one route of a compiled table, which is also the `RouteMatch` handed to the proxy.
 * Everything static is computed once and frozen; `match()` returns this same object, so a match
 * allocates nothing. The parts that depend on the request (weighted cluster pick, cluster from a
 * variable, rewrites, redirect Location, header mutation) are methods computed only when asked.
 */
import type { RetryPolicyConfig, RouteActionConfig, RouteConfig, VirtualHostConfig } from '../api/config.js';
import type { HeaderApplier } from './header-mutation/header-mutator.js';
import type { LinearRegex } from './matchers/linear-regex.js';
import type { CompiledRouteMatcher } from './matchers/route-matcher.js';
import { redirectLocation, type RedirectRule } from './redirect-location.js';
import type { RedirectRequest, RouteRequest } from './route-request.js';

/** The upstream cluster chosen for a request, with its subset-LB metadata ("mosn.lb"). */
export interface ClusterChoice {
  readonly name: string;
  readonly metadataMatch: Readonly<Record<string, string>>;
}

export type RouteActionKind = 'route' | 'redirect' | 'direct_response';

/** What `RouteTable.match` returns. Frozen, shared by all requests matching the same route. */
export interface RouteMatch {
  /** The route's `name`, else "<virtual host name>#<index>". */
  readonly name: string;
  readonly virtualHostName: string;
  readonly action: RouteActionKind;
  readonly upstreamProtocol: string;
  /** 0 = the proxy's default (MOSN's global timeout). */
  readonly timeoutMs: number;
  readonly retryPolicy: RetryPolicyConfig | undefined;
  readonly directResponse: { readonly status: number; readonly body: string } | undefined;
  readonly redirect: RedirectRule | undefined;
  /** Route-level entries override the virtual host's (MOSN: route first, then virtual host). */
  readonly perFilterConfig: Readonly<Record<string, unknown>>;
  readonly mirrorPolicies: RouteConfig['mirrorPolicies'];
  readonly hashPolicy: readonly unknown[];
  /** `auto_host_rewrite`: the proxy sets the authority to the chosen STRICT_DNS host's name. */
  readonly autoHostRewrite: boolean;
  /** The cluster for this request: weighted pick, else `cluster_name`, else `cluster_variable`. */
  pickCluster(req: RouteRequest): ClusterChoice | undefined;
  /** New path by `prefix_rewrite` (else `regex_rewrite`); undefined = unchanged. MOSN keeps the original in `x-mosn-original-path`. */
  rewritePath(path: string): string | undefined;
  /** New authority by `host_rewrite`, else `auto_host_rewrite_header`; undefined = unchanged. */
  rewriteHost(req: RouteRequest): string | undefined;
  /** `Location` for a redirect route; undefined for other actions. */
  redirectLocation(req: RedirectRequest): string | undefined;
  readonly applyRequestHeaders: HeaderApplier;
  readonly applyResponseHeaders: HeaderApplier;
}

export interface CompiledRouteParts {
  readonly name: string;
  readonly virtualHost: VirtualHostConfig;
  readonly config: RouteConfig;
  readonly matcher: CompiledRouteMatcher;
  readonly regexRewrite: LinearRegex | undefined;
  readonly applyRequestHeaders: HeaderApplier;
  readonly applyResponseHeaders: HeaderApplier;
  readonly random: () => number;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

export class CompiledRoute implements RouteMatch {
  readonly name: string;
  readonly virtualHostName: string;
  readonly action: RouteActionKind;
  readonly upstreamProtocol: string;
  readonly timeoutMs: number;
  readonly retryPolicy: RetryPolicyConfig | undefined;
  readonly directResponse: { readonly status: number; readonly body: string } | undefined;
  readonly redirect: RedirectRule | undefined;
  readonly perFilterConfig: Readonly<Record<string, unknown>>;
  readonly mirrorPolicies: RouteConfig['mirrorPolicies'];
  readonly hashPolicy: readonly unknown[];
  readonly autoHostRewrite: boolean;
  readonly applyRequestHeaders: HeaderApplier;
  readonly applyResponseHeaders: HeaderApplier;
  /** The predicate, read by the table's loop. */
  readonly matches: (req: RouteRequest) => boolean;

  readonly #action: RouteActionConfig | undefined;
  readonly #matchedPath: string;
  readonly #regexRewrite: LinearRegex | undefined;
  readonly #fixedCluster: ClusterChoice | undefined;
  readonly #weighted: readonly ClusterChoice[];
  readonly #cumulativeWeights: readonly number[];
  readonly #totalWeight: number;
  readonly #random: () => number;

  constructor(p: CompiledRouteParts) {
    const r = p.config;
    const a = r.route;
    this.name = p.name;
    this.virtualHostName = p.virtualHost.name;
    this.action = r.directResponse !== undefined ? 'direct_response' : r.redirect !== undefined ? 'redirect' : 'route';
    this.upstreamProtocol = a?.upstreamProtocol ?? '';
    this.timeoutMs = a?.timeoutMs ?? 0;
    this.retryPolicy = a?.retryPolicy;
    this.directResponse = r.directResponse;
    this.redirect = r.redirect;
    this.perFilterConfig = Object.freeze({ ...p.virtualHost.perFilterConfig, ...r.perFilterConfig });
    this.mirrorPolicies = r.mirrorPolicies;
    this.hashPolicy = a?.hashPolicy ?? [];
    this.autoHostRewrite = a?.autoHostRewrite ?? false;
    this.applyRequestHeaders = p.applyRequestHeaders;
    this.applyResponseHeaders = p.applyResponseHeaders;
    this.matches = p.matcher.matches;
    this.#action = a;
    this.#matchedPath = p.matcher.matchedPath;
    this.#regexRewrite = p.regexRewrite;
    this.#random = p.random;
    const weighted: ClusterChoice[] = [];
    const cumulative: number[] = [];
    let total = 0;
    for (const w of a?.weightedClusters ?? []) {
      if (w.weight <= 0) continue;
      total += w.weight;
      weighted.push(Object.freeze({ name: w.name, metadataMatch: Object.freeze({ ...a?.metadataMatch, ...w.metadataMatch }) }));
      cumulative.push(total);
    }
    this.#weighted = weighted;
    this.#cumulativeWeights = cumulative;
    this.#totalWeight = total;
    this.#fixedCluster = a !== undefined && a.clusterName !== '' ? Object.freeze({ name: a.clusterName, metadataMatch: a.metadataMatch }) : undefined;
    Object.freeze(this);
  }

  pickCluster(req: RouteRequest): ClusterChoice | undefined {
    if (this.#totalWeight > 0) {
      const x = Math.floor(this.#random() * this.#totalWeight);
      const cum = this.#cumulativeWeights;
      for (let i = 0; i < cum.length; i++) if (x < cum[i]!) return this.#weighted[i];
      return this.#weighted[this.#weighted.length - 1];
    }
    if (this.#fixedCluster !== undefined) return this.#fixedCluster;
    const variable = this.#action?.clusterVariable ?? '';
    if (variable === '') return undefined;
    const name = req.getVariable(variable);
    return name === undefined || name === '' ? undefined : { name, metadataMatch: this.#action?.metadataMatch ?? EMPTY };
  }

  rewritePath(path: string): string | undefined {
    const a = this.#action;
    if (a === undefined) return undefined;
    if (a.prefixRewrite !== '') {
      // MOSN rewrites only when the path starts with the rule's (case-sensitive) prefix or path.
      const matched = this.#matchedPath;
      if (matched === '' || !path.startsWith(matched)) return undefined;
      return a.prefixRewrite + path.slice(matched.length);
    }
    if (this.#regexRewrite !== undefined && a.regexRewrite !== undefined) {
      const out = this.#regexRewrite.replaceAll(path, a.regexRewrite.substitution);
      return out === path ? undefined : out;
    }
    return undefined;
  }

  rewriteHost(req: RouteRequest): string | undefined {
    const a = this.#action;
    if (a === undefined) return undefined;
    if (a.hostRewrite !== '') return a.hostRewrite;
    if (a.autoHostRewriteHeader !== '') {
      const v = req.getHeader(a.autoHostRewriteHeader.toLowerCase());
      return v === undefined || v === '' ? undefined : v;
    }
    return undefined;
  }

  redirectLocation(req: RedirectRequest): string | undefined {
    return this.redirect === undefined ? undefined : redirectLocation(this.redirect, req);
  }
}

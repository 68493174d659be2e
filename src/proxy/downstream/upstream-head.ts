/**
 * Proxy layer: what a downstream HTTP/1 request looks like when it goes upstream, computed once per
 * request (a retry reuses the bytes): hop-by-hop fields removed (`upgrade` kept for an accepted
 * tunnel), the route's path and host rewrites (MOSN keeps the original path in
 * `x-mosn-original-path`), `X-Forwarded-For` / `X-Forwarded-Proto` / `x-request-id`, the route's
 * request header mutations, and Skiff's own framing. Also which `Upgrade` requests are tunnelled.
 */
import type { Host } from '../../api/upstream.js';
import { FlatHeaders } from '../../protocol/headers/flat-headers.js';
import { encodeRequestHead } from '../../protocol/http1/http1-encoder.js';
import { stripHopByHop } from '../../protocol/http1/hop-by-hop.js';
import { BodyFraming, TargetForm, type Http1Head } from '../../protocol/http1/http1-types.js';
import type { RouteMatch } from '../../router/compiled-route.js';
import type { RouteRequest, VariableSource } from '../../router/route-request.js';
import type { ProxyHttp1Options } from '../proxy-config.js';

const UPGRADE_KEEP: readonly string[] = ['upgrade'];

/** The request as the upstream head needs it. */
export interface UpstreamHeadInput extends RouteRequest, VariableSource {
  readonly head: Http1Head;
  /** The request's headers over `head.headers` (mutated in place when nothing is stripped). */
  readonly headers: FlatHeaders;
  readonly rawPath: string;
  readonly query: string;
  readonly clientAddress: string;
  readonly tunnel: boolean;
}

/** The request as it goes upstream, before encoding: method, target and headers (no framing fields). */
export interface UpstreamRequestParts {
  readonly method: string;
  readonly target: string;
  readonly headers: FlatHeaders;
}

export function buildUpstreamHead(req: UpstreamHeadInput, route: RouteMatch, host: Host, opts: ProxyHttp1Options): Buffer {
  const p = upstreamRequestParts(req, route, host, opts);
  const h = req.head;
  if (req.tunnel) p.headers.add('Connection', 'upgrade');
  else if (h.framing === BodyFraming.Chunked) p.headers.add('Transfer-Encoding', 'chunked');
  return encodeRequestHead(p.method, p.target, p.headers.list);
}

/** Hop-by-hop fields removed, rewrites, X-Forwarded-*, x-request-id and the route's request headers applied. */
export function upstreamRequestParts(req: UpstreamHeadInput, route: RouteMatch, host: Host, opts: ProxyHttp1Options): UpstreamRequestParts {
  const h = req.head;
  const list = stripHopByHop(h.headers, req.tunnel ? UPGRADE_KEEP : undefined);
  const headers = list === h.headers ? req.headers : new FlatHeaders(list);
  let path = opts.normalizePath ? req.path : req.rawPath;
  const rewritten = route.rewritePath(req.path);
  if (rewritten !== undefined) {
    headers.set('x-mosn-original-path', req.path);
    path = rewritten;
  }
  const newHost = route.rewriteHost(req) ?? (route.autoHostRewrite && host.hostname !== '' ? host.hostname : undefined);
  if (newHost !== undefined) headers.set('host', newHost);
  else if (h.targetForm === TargetForm.Absolute && !headers.has('host')) headers.add('Host', h.authority);
  const xff = headers.get('x-forwarded-for');
  headers.set('x-forwarded-for', xff !== undefined && xff !== '' ? `${xff}, ${req.clientAddress}` : req.clientAddress);
  headers.set('x-forwarded-proto', 'http');
  if (opts.generateRequestId && !headers.has('x-request-id')) headers.add('x-request-id', crypto.randomUUID());
  route.applyRequestHeaders(headers, req);
  const target = req.query === '' ? path : `${path}?${req.query}`;
  return { method: h.method, target, headers };
}

/** Every token of the request's `Upgrade` is a configured type (never h2c): the request is tunnelled. */
export function upgradeAllowed(upgradeHeader: string | undefined, allowed: readonly string[]): boolean {
  if (upgradeHeader === undefined || upgradeHeader === '') return false;
  for (const raw of upgradeHeader.split(',')) {
    const t = raw.trim().toLowerCase();
    const name = t.includes('/') ? t.slice(0, t.indexOf('/')) : t;
    if (name === 'h2c' || !allowed.includes(name)) return false;
  }
  return true;
}

export { UPGRADE_KEEP };

/**
 * Router layer: the `Location` of a `redirect` action, as MOSN builds it (redirect.go and
 * pkg/proxy/downstream.go): start from the request's scheme, authority and path, replace whichever
 * of scheme/host/path the rule sets, keep the query. When the scheme is redirected, an explicit
 * default port of the OLD scheme is dropped (":443" going to http, ":80" going to https).
 */
import type { RedirectRequest } from './route-request.js';

export interface RedirectRule {
  readonly responseCode: number;
  readonly pathRedirect: string;
  readonly hostRedirect: string;
  readonly schemeRedirect: string;
}

export function redirectLocation(rule: RedirectRule, req: RedirectRequest): string {
  const scheme = rule.schemeRedirect !== '' ? rule.schemeRedirect.toLowerCase() : req.scheme || 'http';
  let host = rule.hostRedirect !== '' ? rule.hostRedirect : req.host;
  if (rule.schemeRedirect !== '') {
    if (scheme === 'http' && host.endsWith(':443')) host = host.slice(0, -4);
    else if (scheme === 'https' && host.endsWith(':80')) host = host.slice(0, -3);
  }
  let path = rule.pathRedirect !== '' ? rule.pathRedirect : req.path;
  if (path !== '' && !path.startsWith('/')) path = `/${path}`;
  return `${scheme}://${host}${path}${req.query !== '' ? `?${req.query}` : ''}`;
}

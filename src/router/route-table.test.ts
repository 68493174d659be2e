import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../base/seeded-random.js';
import type { RouteActionConfig, RouteConfig, RouterConfig, VirtualHostConfig } from '../api/config.js';
import { ConfigError } from '../base/errors.js';
import type { MutableHeaders, RouteRequest } from './route-request.js';
import { compileRouteTable } from './route-table.js';

const action = (a: Partial<RouteActionConfig>): RouteActionConfig => ({
  clusterName: '', clusterVariable: '', weightedClusters: [], upstreamProtocol: '', timeoutMs: 0, metadataMatch: {},
  prefixRewrite: '', hostRewrite: '', autoHostRewrite: false, autoHostRewriteHeader: '', requestHeadersToAdd: [],
  requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [], hashPolicy: [], ...a,
});
const route = (match: Partial<RouteConfig['match']>, r: Partial<RouteConfig> = {}): RouteConfig => ({
  match: { headers: [], variables: [], ...match }, perFilterConfig: {}, mirrorPolicies: [], metadata: {}, ...r,
});
const vhost = (name: string, domains: string[], routers: RouteConfig[], v: Partial<VirtualHostConfig> = {}): VirtualHostConfig => ({
  name, domains, routers, perFilterConfig: {}, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [], ...v,
});
const router = (virtualHosts: VirtualHostConfig[], r: Partial<RouterConfig> = {}): RouterConfig => ({
  name: 'r', virtualHosts, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [], ...r,
});
const req = (host: string, path: string, extra: { method?: string; headers?: Record<string, string>; vars?: Record<string, string> } = {}): RouteRequest => ({
  host, path, method: extra.method ?? 'GET', getHeader: (n) => extra.headers?.[n], getVariable: (n) => extra.vars?.[n],
});


test('rules in config order, first match wins; nothing matching → undefined (404)', () => {
  const t = compileRouteTable(router([vhost('v', ['*'], [
    route({ prefix: '/api/admin' }, { name: 'admin', route: action({ clusterName: 'admin' }) }),
    route({ prefix: '/api' }, { route: action({ clusterName: 'api' }) }),
    route({ prefix: '/api/late' }, { route: action({ clusterName: 'never' }) }),
  ])]));
  assert.equal(t.match(req('x', '/api/admin/1'))?.name, 'admin');
  assert.equal(t.match(req('x', '/api/late'))?.pickCluster(req('x', '/'))?.name, 'api');
  assert.equal(t.match(req('x', '/api/late'))?.name, 'v#1');
  assert.equal(t.match(req('x', '/other')), undefined);
});

test('match returns the same frozen object every time (no per-request allocation)', () => {
  const t = compileRouteTable(router([vhost('v', ['a.com'], [route({ prefix: '/' }, { route: action({ clusterName: 'c' }) })])]));
  const a = t.match(req('a.com', '/x'));
  assert.ok(a !== undefined && Object.isFrozen(a));
  assert.equal(t.match(req('A.COM', '/y')), a);
  assert.equal(t.match(req('b.com', '/y')), undefined);
  assert.equal(a.pickCluster(req('a.com', '/')), a.pickCluster(req('a.com', '/')));
});

test('virtual host chosen by domain before the rules run', () => {
  const t = compileRouteTable(router([
    vhost('exact', ['a.com'], [route({ prefix: '/' }, { route: action({ clusterName: 'exact' }) })]),
    vhost('wild', ['*.a.com'], [route({ prefix: '/' }, { route: action({ clusterName: 'wild' }) })]),
    vhost('default', ['*'], [route({ prefix: '/only' }, { route: action({ clusterName: 'default' }) })]),
  ]));
  assert.equal(t.match(req('a.com:80', '/'))?.virtualHostName, 'exact');
  assert.equal(t.match(req('x.a.com', '/'))?.virtualHostName, 'wild');
  assert.equal(t.match(req('z.org', '/only'))?.virtualHostName, 'default');
  assert.equal(t.match(req('z.org', '/'))?.virtualHostName, undefined, 'no fall-through to another virtual host');
});

test('weighted clusters: distribution follows weights with a seeded random', () => {
  const t = compileRouteTable(router([vhost('v', ['*'], [route({ prefix: '/' }, { route: action({
    metadataMatch: { zone: 'a' },
    weightedClusters: [{ name: 'w1', weight: 10, metadataMatch: {} }, { name: 'zero', weight: 0, metadataMatch: {} }, { name: 'w3', weight: 30, metadataMatch: { v: '2' } }, { name: 'w6', weight: 60, metadataMatch: {} }],
  }) })])]), { random: seededRandom(42) });
  const m = t.match(req('h', '/'))!;
  const counts: Record<string, number> = {};
  for (let i = 0; i < 20_000; i++) { const c = m.pickCluster(req('h', '/'))!; counts[c.name] = (counts[c.name] ?? 0) + 1; }
  assert.equal(counts['zero'], undefined);
  for (const [name, share] of [['w1', 0.1], ['w3', 0.3], ['w6', 0.6]] as const) {
    assert.ok(Math.abs((counts[name] ?? 0) / 20_000 - share) < 0.02, `${name}: ${counts[name]}`);
  }
  const edges = compileRouteTable(router([vhost('v', ['*'], [route({ prefix: '/' }, { route: action({
    weightedClusters: [{ name: 'a', weight: 1, metadataMatch: {} }, { name: 'b', weight: 3, metadataMatch: { v: '2' } }],
  }) })])]), { random: (() => { const xs = [0, 0.2499, 0.25, 0.9999]; let i = 0; return () => xs[i++]!; })() }).match(req('h', '/'))!;
  assert.deepEqual([1, 2, 3, 4].map(() => edges.pickCluster(req('h', '/'))!.name), ['a', 'a', 'b', 'b']);
  let w3 = m.pickCluster(req('h', '/'));
  while (w3?.name !== 'w3') w3 = m.pickCluster(req('h', '/'));
  assert.deepEqual(w3.metadataMatch, { zone: 'a', v: '2' }, 'route metadata_match merged with the weighted cluster\'s');
});

test('cluster_name, cluster_variable, metadata and static actions', () => {
  const t = compileRouteTable(router([vhost('v', ['*'], [
    route({ prefix: '/var' }, { route: action({ clusterVariable: 'my_cluster', metadataMatch: { label: 'blue' } }) }),
    route({ prefix: '/dr' }, { directResponse: { status: 403, body: 'no' } }),
    route({ prefix: '/redir' }, { redirect: { responseCode: 308, pathRedirect: '/new', hostRedirect: '', schemeRedirect: 'https' } }),
    route({ prefix: '/' }, { route: action({ clusterName: 'c', upstreamProtocol: 'Http1', timeoutMs: 1500, retryPolicy: { retryOn: true, retryTimeoutMs: 100, numRetries: 2, statusCodes: [503] }, metadataMatch: { label: 'green' } }) }),
  ])]));
  const v = t.match(req('h', '/var'))!;
  assert.deepEqual(v.pickCluster(req('h', '/var', { vars: { my_cluster: 'dyn' } })), { name: 'dyn', metadataMatch: { label: 'blue' } });
  assert.equal(v.pickCluster(req('h', '/var')), undefined);
  const dr = t.match(req('h', '/dr'))!;
  assert.equal(dr.action, 'direct_response');
  assert.deepEqual(dr.directResponse, { status: 403, body: 'no' });
  const rd = t.match(req('h', '/redir/x'))!;
  assert.equal(rd.action, 'redirect');
  assert.equal(rd.redirect?.responseCode, 308);
  assert.equal(rd.redirectLocation({ host: 'h:80', path: '/redir/x', scheme: 'http', query: 'a=1' }), 'https://h/new?a=1');
  const c = t.match(req('h', '/x'))!;
  assert.equal(c.action, 'route');
  assert.equal(c.redirectLocation({ host: 'h', path: '/', scheme: 'http', query: '' }), undefined);
  assert.deepEqual(c.pickCluster(req('h', '/')), { name: 'c', metadataMatch: { label: 'green' } });
  assert.equal(c.upstreamProtocol, 'Http1');
  assert.equal(c.timeoutMs, 1500);
  assert.equal(c.retryPolicy?.numRetries, 2);
});

test('rewrites: prefix_rewrite, regex_rewrite only without prefix_rewrite, host_rewrite, auto_host_rewrite_header', () => {
  const t = compileRouteTable(router([vhost('v', ['*'], [
    route({ prefix: '/api/' }, { route: action({ clusterName: 'c', prefixRewrite: '/v2/', hostRewrite: 'internal.svc' }) }),
    route({ path: '/Login' }, { route: action({ clusterName: 'c', prefixRewrite: '/auth/login' }) }),
    route({ regex: '^/img/' }, { route: action({ clusterName: 'c', regexRewrite: { pattern: '^/img/([a-z]+)/(\\d+)$', substitution: '/images/${2}/$1' }, autoHostRewriteHeader: 'X-Target-Host' }) }),
    route({ prefix: '/both' }, { route: action({ clusterName: 'c', prefixRewrite: '/p', regexRewrite: { pattern: 'both', substitution: 'r' } }) }),
    route({ prefix: '/' }, { route: action({ clusterName: 'c' }) }),
  ])]));
  const api = t.match(req('h', '/api/users'))!;
  assert.equal(api.rewritePath('/api/users'), '/v2/users');
  assert.equal(api.rewriteHost(req('h', '/')), 'internal.svc');
  const login = t.match(req('h', '/login'))!;
  assert.equal(login.rewritePath('/Login'), '/auth/login');
  assert.equal(login.rewritePath('/login'), undefined, 'MOSN rewrites only when the path starts with the configured path (case-sensitive)');
  const img = t.match(req('h', '/img/cat/42'))!;
  assert.equal(img.rewritePath('/img/cat/42'), '/images/42/cat');
  assert.equal(img.rewritePath('/img/nope'), undefined);
  assert.equal(img.rewriteHost(req('h', '/', { headers: { 'x-target-host': 'up.example' } })), 'up.example');
  assert.equal(img.rewriteHost(req('h', '/')), undefined);
  assert.equal(t.match(req('h', '/both/x'))!.rewritePath('/both/x'), '/p/x');
  const plain = t.match(req('h', '/x'))!;
  assert.equal(plain.rewritePath('/x'), undefined);
  assert.equal(plain.rewriteHost(req('h', '/')), undefined);
});

test('per_filter_config: route entries override the virtual host', () => {
  const t = compileRouteTable(router([vhost('v', ['*'], [route({ prefix: '/' }, { perFilterConfig: { a: { route: 1 } }, route: action({ clusterName: 'c' }) })], { perFilterConfig: { a: { vh: 1 }, b: { vh: 2 } } })]));
  assert.deepEqual(t.match(req('h', '/'))!.perFilterConfig, { a: { route: 1 }, b: { vh: 2 } });
});

test('header mutation applier per route: route, then virtual host, then router config; request and response', () => {
  const hv = (key: string, value: string, append = false) => ({ key, value, append });
  const t = compileRouteTable(router([vhost('v', ['*'], [
    route({ prefix: '/' }, { route: action({ clusterName: 'c', requestHeadersToAdd: [hv('x-order', 'route')], responseHeadersToAdd: [hv('x-resp', '%upstream_host%')] }) }),
  ], { requestHeadersToAdd: [hv('x-order', 'vhost', true)], requestHeadersToRemove: ['x-secret'] })], {
    requestHeadersToAdd: [hv('x-order', 'router', true)], responseHeadersToRemove: ['server'],
  }));
  const m = t.match(req('h', '/'))!;
  const map = new Map<string, string>([['x-secret', 's']]);
  const headers: MutableHeaders = { get: (n) => map.get(n), set: (n, v) => void map.set(n, v), delete: (n) => void map.delete(n) };
  m.applyRequestHeaders(headers, { getVariable: () => undefined });
  assert.deepEqual([...map], [['x-order', 'route, vhost, router']]);
  map.clear();
  map.set('server', 'up');
  m.applyResponseHeaders(headers, { getVariable: (n) => (n === 'upstream_host' ? '10.1.1.1:80' : undefined) });
  assert.deepEqual([...map], [['x-resp', '10.1.1.1:80']]);
});

test('config errors: duplicate default, duplicate domain, invalid RE2 — all reported with paths', () => {
  const cfg = router([
    vhost('a', ['*', 'x.com'], [route({ regex: '(?<=a)b' })]),
    vhost('b', ['*', 'X.com'], [route({ prefix: '/' }, { route: action({ regexRewrite: { pattern: '(', substitution: '' } }) })]),
  ]);
  assert.throws(() => compileRouteTable(cfg, { path: 'servers[0].routers[0]' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.issues.map((i) => i.path), [
      'servers[0].routers[0].virtual_hosts[0].routers[0].match',
      'servers[0].routers[0].virtual_hosts[1].routers[0].route.regex_rewrite.pattern.regex',
      'servers[0].routers[0].virtual_hosts[1].domains[0]',
      'servers[0].routers[0].virtual_hosts[1].domains[1]',
    ]);
    return true;
  });
});

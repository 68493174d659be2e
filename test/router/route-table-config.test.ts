/**
 * Cross-layer test: a MOSN-format router JSON, loaded through the config loader, compiles into a
 * route table that routes as MOSN would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigDocument } from '../../src/config/index.js';
import { compileRouteTable } from '../../src/router/route-table.js';
import type { RouteRequest } from '../../src/router/route-request.js';
import { testRegistries } from '../config/test-registries.js';

const document = {
  servers: [{
    default_log_path: 'stderr',
    routers: [{
      router_config_name: 'http_router',
      request_headers_to_add: [{ header: { key: 'x-router', value: 'yes' }, append: false }],
      virtual_hosts: [
        {
          name: 'api', domains: ['api.example.com', 'api.example.com:8443'],
          routers: [
            { name: 'users', match: { prefix: '/users', headers: [{ name: 'x-version', value: 'v[0-9]+', regex: true }] }, route: { cluster_name: 'users_v', timeout: '1.5s' } },
            { match: { prefix: '/users' }, route: { cluster_name: 'users', prefix_rewrite: '/u' } },
            { match: { path: '/Health' }, direct_response: { status: 200, body: 'ok' } },
            { match: { regex: '\\.(png|jpg)$' }, route: { weighted_clusters: [{ cluster: { name: 'img_a', weight: 50 } }, { cluster: { name: 'img_b', weight: 50 } }] } },
          ],
        },
        {
          name: 'legacy', domains: ['*.old.example.com'],
          routers: [{ match: { prefix: '/' }, redirect: { host_redirect: 'api.example.com', scheme_redirect: 'https' } }],
        },
        {
          name: 'default', domains: ['*'],
          routers: [{ match: { headers: [{ name: 'service', value: '.*' }] }, route: { cluster_name: 'rpc' } }],
        },
      ],
    }],
    listeners: [],
  }],
  cluster_manager: { clusters: [] },
};

const req = (host: string, path: string, headers: Record<string, string> = {}): RouteRequest => ({
  host, path, method: 'GET', getHeader: (n) => headers[n], getVariable: () => undefined,
});

test('MOSN router JSON → loader → route table', async () => {
  const { config } = await loadConfigDocument(document, { registries: testRegistries(), baseDir: '/' });
  const routerConfig = config.server.routers[0]!;
  const table = compileRouteTable(routerConfig, { random: () => 0.75 });
  assert.equal(table.name, 'http_router');

  const v = table.match(req('API.example.com', '/users/1', { 'x-version': 'beta-v2' }))!;
  assert.equal(v.name, 'users');
  assert.equal(v.timeoutMs, 1500);
  assert.equal(v.pickCluster(req('', ''))?.name, 'users_v');

  const plain = table.match(req('api.example.com:8443', '/users/1'))!;
  assert.equal(plain.pickCluster(req('', ''))?.name, 'users');
  assert.equal(plain.rewritePath('/users/1'), '/u/1');
  assert.equal(table.match(req('api.example.com', '/health'))?.directResponse?.body, 'ok');
  assert.equal(table.match(req('api.example.com', '/a/b.png'))?.pickCluster(req('', ''))?.name, 'img_b', '0.75 of weights 50+50 → the second');
  assert.equal(table.match(req('api.example.com', '/nothing')), undefined);

  const legacy = table.match(req('www.old.example.com', '/p'))!;
  assert.equal(legacy.redirect?.responseCode, 301);
  assert.equal(legacy.redirectLocation({ host: 'www.old.example.com', path: '/p', scheme: 'http', query: 'q=1' }), 'https://api.example.com/p?q=1');

  assert.equal(table.match(req('elsewhere', '/anything'))?.pickCluster(req('', ''))?.name, 'rpc');
});

test('a Go-syntax (RE2) regex loads; a JS-only one is refused at load with its path', async () => {
  const withRegex = (regex: string) => {
    const d = structuredClone(document);
    d.servers[0]!.routers[0]!.virtual_hosts[0]!.routers[0]!.match = { regex } as never;
    return d;
  };
  const { config } = await loadConfigDocument(withRegex('(?i)^/USERS'), { registries: testRegistries(), baseDir: '/' });
  assert.equal(compileRouteTable(config.server.routers[0]!).match(req('api.example.com', '/users'))?.pickCluster(req('', ''))?.name, 'users_v');
  await assert.rejects(loadConfigDocument(withRegex('^/(?!admin)'), { registries: testRegistries(), baseDir: '/' }),
    /virtual_hosts\[0\]\.routers\[0\]\.match\.regex.*RE2/s);
});

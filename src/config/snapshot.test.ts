import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPartialUpdate, canonicalJson, diffConfigs } from './snapshot.js';
import { loadConfigDocument } from './loader.js';
import { ConfigError } from '../base/errors.js';
import { createRegistries } from '../registry/registries.js';
import type { NetworkFilterFactory } from '../api/extension.js';

const registries = () => {
  const r = createRegistries();
  r.networkFilters.register({ kind: 'network_filter', name: 'tcp_proxy', parseConfig: (raw: unknown) => raw, create: () => () => {} } as NetworkFilterFactory);
  return r;
};
const listener = (name: string, port: number, cluster = 'c1') => ({ name, address: `127.0.0.1:${port}`, bind_port: true, filter_chains: [{ filters: [{ type: 'tcp_proxy', config: { cluster } }] }] });
const cluster = (name: string, ...ports: number[]) => ({ name, hosts: ports.map((p) => ({ address: `127.0.0.1:${p}` })) });
const base = () => ({
  servers: [{ default_log_level: 'INFO', listeners: [listener('a', 1), listener('b', 2)], routers: [{ router_config_name: 'r', virtual_hosts: [] }] }],
  cluster_manager: { clusters: [cluster('c1', 10), cluster('c2', 20)] },
});
const load = (doc: unknown) => loadConfigDocument(doc, { registries: registries(), baseDir: '/' });

test('canonicalJson ignores key order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } }), canonicalJson({ a: { c: [3, { e: 0, f: 1 }], d: 2 }, b: 1 }));
});

test('diffConfigs: added, updated, removed by name; unchanged omitted; server changes', async () => {
  const prev = (await load(base())).config;
  const nextDoc = base();
  nextDoc.servers[0]!.default_log_level = 'DEBUG';
  nextDoc.servers[0]!.listeners = [listener('a', 1), listener('b', 2, 'c2'), listener('c', 3)];
  nextDoc.cluster_manager.clusters = [cluster('c1', 10, 11), cluster('c3', 30), cluster('c2', 20)];
  nextDoc.servers[0]!.routers = [];
  const next = (await load(nextDoc)).config;
  const d = diffConfigs(prev, next);
  assert.deepEqual(d.listeners.added.map((l) => l.name), ['c']);
  assert.deepEqual(d.listeners.updated.map((u) => [u.prev.name, u.next.name]), [['b', 'b']]);
  assert.deepEqual(d.listeners.removed, []);
  assert.deepEqual(d.clusters.added.map((c) => c.name), ['c3']);
  assert.deepEqual(d.clusters.updated.map((u) => u.next.hosts.length), [2]);
  assert.deepEqual(d.routers.removed.map((r) => r.name), ['r']);
  assert.deepEqual(d.serverChanged, ['default_log_level']);
  const same = diffConfigs(prev, (await load(base())).config);
  assert.deepEqual([same.listeners, same.clusters, same.routers].map((x) => x.added.length + x.updated.length + x.removed.length), [0, 0, 0]);
  assert.deepEqual(same.serverChanged, []);
});

test('applyPartialUpdate adds or replaces by name on a copy; the result reloads', async () => {
  const loaded = await load(base());
  const withListener = applyPartialUpdate(loaded.document, { type: 'listener', config: listener('z', 9) });
  const withCluster = applyPartialUpdate(withListener, { type: 'cluster', config: [{ Name: 'c1', hosts: [{ address: '127.0.0.1:99' }] }, cluster('c4', 40)] });
  const withRouter = applyPartialUpdate(withCluster, { type: 'router', config: { router_config_name: 'r2', virtual_hosts: [] } });
  const next = (await load(withRouter)).config;
  assert.deepEqual(next.server.listeners.map((l) => l.name), ['a', 'b', 'z']);
  assert.deepEqual(next.clusters.map((c) => [c.name, c.hosts[0]?.address.text]), [['c1', '127.0.0.1:99'], ['c2', '127.0.0.1:20'], ['c4', '127.0.0.1:40']]);
  assert.deepEqual(next.server.routers.map((r) => r.name), ['r', 'r2']);
  // the input document is untouched (it is frozen, and copied)
  assert.equal(((loaded.document['servers'] as { listeners: unknown[] }[])[0]?.listeners.length), 2);
  const d = diffConfigs(loaded.config, next);
  assert.deepEqual(d.listeners.added.map((l) => l.name), ['z']);
  assert.deepEqual(d.clusters.updated.map((u) => u.next.name), ['c1']);
});

test('applyPartialUpdate creates missing containers and rejects bad updates', () => {
  const doc = applyPartialUpdate({ servers: [{}] }, { type: 'cluster', config: cluster('c', 1) });
  assert.deepEqual((doc['cluster_manager'] as { clusters: { name: string }[] }).clusters.map((c) => c.name), ['c']);
  assert.throws(() => applyPartialUpdate({}, { type: 'extend', config: {} }), (e: unknown) => e instanceof ConfigError && /"extend" is not supported/.test(e.message));
  assert.throws(() => applyPartialUpdate({}, { type: 'listener', config: { address: '127.0.0.1:1' } }), /a listener update needs an object with a "name"/);
  assert.throws(() => applyPartialUpdate({}, { type: 'bogus' as 'listener', config: {} }), /unknown partial update type "bogus"/);
});

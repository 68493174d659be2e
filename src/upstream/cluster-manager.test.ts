import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionEvent } from '../api/network.js';
import type { ClusterTypeFactory } from '../api/upstream.js';
import type { HostConfig } from '../api/config.js';
import { SkiffError } from '../base/errors.js';
import { StatsStore } from '../observability/stats.js';
import { createRegistries } from '../registry/registries.js';
import { RandomLoadBalancerFactory } from '../extensions/lb-policies/random/random.js';
import { RoundRobinLoadBalancerFactory } from '../extensions/lb-policies/round-robin/round-robin.js';
import { SimpleClusterTypeFactory } from '../extensions/cluster-types/simple/simple.js';
import { RecordingLogger } from '../../test/fakes/logger.js';
import { clusterConfig, hostConfig, refusedAddress, startEchoServer, tcp, waitFor } from '../../test/fakes/net-fixtures.js';
import { ClusterManagerImpl } from './cluster-manager.js';

function manager(extra: ClusterTypeFactory[] = []) {
  const registries = createRegistries();
  registries.lbPolicies.register(RandomLoadBalancerFactory);
  registries.lbPolicies.register(RoundRobinLoadBalancerFactory);
  registries.clusterTypes.register(SimpleClusterTypeFactory);
  for (const f of extra) registries.clusterTypes.register(f);
  const stats = new StatsStore();
  return { cm: new ClusterManagerImpl({ registries, stats, logger: new RecordingLogger() }), stats };
}

test('handles follow add, update (new immutable snapshot, unchanged hosts keep identity) and remove', () => {
  const { cm } = manager();
  const h = cm.handle('c1');
  const read = () => h.snapshot; // a call, so assert.equal's narrowing does not stick
  assert.equal(read(), undefined);
  assert.equal(cm.handle('c1'), h);
  const a = hostConfig(tcp('127.0.0.1', 1001));
  const b = hostConfig(tcp('127.0.0.1', 1002));
  cm.addOrUpdateCluster(clusterConfig('c1', [a, b]));
  const s1 = read();
  assert.ok(s1);
  assert.equal(s1.hostSet.hosts.length, 2);
  assert.ok(Object.isFrozen(s1) && Object.isFrozen(s1.hostSet.hosts));
  const c = hostConfig(tcp('127.0.0.1', 1003));
  cm.addOrUpdateCluster(clusterConfig('c1', [a, c], { lbType: 'LB_RANDOM' }));
  const s2 = read();
  assert.ok(s2 && s2 !== s1);
  assert.equal(s2.hostSet.hosts[0], s1.hostSet.hosts[0], 'unchanged host keeps its object');
  assert.equal(s2.hostSet.hosts[1]?.addressText, '127.0.0.1:1003');
  assert.equal(s1.hostSet.hosts.length, 2, 'old snapshot untouched');
  assert.deepEqual(cm.clusterNames(), ['c1']);
  cm.removeCluster('c1');
  assert.equal(read(), undefined);
  assert.deepEqual(cm.clusterNames(), []);
  cm.close();
});

test('asynchronous discovery publishes each host list; stop is called on update and close', () => {
  let report: ((hosts: readonly HostConfig[]) => void) | undefined;
  let stops = 0;
  const dynamic: ClusterTypeFactory = { name: 'DYN', start: (_c, update) => { report = update; return () => { stops++; }; } };
  const { cm } = manager([dynamic]);
  cm.addOrUpdateCluster(clusterConfig('d', [], { type: 'DYN' }));
  assert.equal(cm.snapshot('d')?.hostSet.hosts.length, 0);
  report?.([hostConfig(tcp('127.0.0.1', 9))]);
  assert.equal(cm.snapshot('d')?.hostSet.hosts.length, 1);
  const old = report;
  cm.addOrUpdateCluster(clusterConfig('d', [], { type: 'DYN' }));
  assert.equal(stops, 1);
  old?.([]); // a stopped discovery's late report is ignored
  assert.equal(cm.snapshot('d')?.hostSet.hosts.length, 1);
  cm.close();
  assert.equal(stops, 2);
});

test('unknown lb_type or type throws SkiffError', () => {
  const { cm } = manager();
  assert.throws(() => cm.addOrUpdateCluster(clusterConfig('x', [], { lbType: 'LB_NOPE' })), (e: unknown) => e instanceof SkiffError && /unknown lb_type "LB_NOPE"/.test(e.message));
  assert.throws(() => cm.addOrUpdateCluster(clusterConfig('x', [], { type: 'NOPE' })), (e: unknown) => e instanceof SkiffError && /unknown cluster type "NOPE"/.test(e.message));
});

test('connect counts upstream stats per cluster and per host', async () => {
  const { cm, stats } = manager();
  const echo = await startEchoServer();
  const refused = await refusedAddress();
  cm.addOrUpdateCluster(clusterConfig('c', [hostConfig(echo.address), hostConfig(refused)]));
  const [good, bad] = cm.snapshot('c')?.hostSet.hosts ?? [];
  assert.ok(good && bad);
  try {
    const ok = cm.connect(good, { connectTimeoutMs: 1000 });
    const events: string[] = [];
    ok.addConnectionCallbacks({ onEvent: (e) => events.push(e) });
    await waitFor(() => events.includes(ConnectionEvent.Connected));
    const C = { cluster: 'c' };
    const H = { cluster: 'c', host: echo.address.text };
    assert.equal(stats.get('upstream', C, 'connection_active'), 1);
    ok.write(Buffer.from('abc'));
    await waitFor(() => stats.get('upstream', H, 'connection_bytes_read_total') === 3);
    assert.equal(stats.get('upstream', C, 'connection_bytes_write_total'), 3);
    ok.close('now');
    const fail = cm.connect(bad, { connectTimeoutMs: 1000 });
    await waitFor(() => fail.closed);
    assert.equal(stats.get('upstream', C, 'connection_total'), 2);
    assert.equal(stats.get('upstream', C, 'connection_active'), 0);
    assert.equal(stats.get('upstream', C, 'connection_close'), 1);
    assert.equal(stats.get('upstream', C, 'connection_con_fail'), 1);
    assert.equal(stats.get('upstream', { cluster: 'c', host: refused.text }, 'connection_con_fail'), 1);
  } finally {
    await echo.close();
  }
});

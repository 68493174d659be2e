// Shared conformance suite for LB policies: every registered policy is checked for an even
// distribution over many picks (seeded random), for honouring excludedHosts and health, and for
// the empty cases. A new policy adds one line to POLICIES.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Host, HostSet, LoadBalancerFactory } from '../../api/upstream.js';
import { StatsStore } from '../../observability/stats.js';
import { clusterConfig, seededRandom, tcp } from '../../../test/fakes/net-fixtures.js';
import { RandomLoadBalancerFactory } from './random/random.js';
import { RoundRobinLoadBalancerFactory } from './round-robin/round-robin.js';
import { WeightedRoundRobinLoadBalancerFactory } from './weighted-round-robin/weighted-round-robin.js';

const POLICIES: readonly LoadBalancerFactory[] = [RandomLoadBalancerFactory, RoundRobinLoadBalancerFactory, WeightedRoundRobinLoadBalancerFactory];
const stats = new StatsStore();

function hosts(n: number, unhealthy: readonly number[] = [], weights: readonly number[] = []): Host[] {
  return Array.from({ length: n }, (_, i) => ({
    clusterName: 'c',
    address: tcp('10.0.0.' + (i + 1), 80),
    addressText: `10.0.0.${i + 1}:80`,
    hostname: '',
    weight: weights[i] ?? 1,
    metadata: {},
    healthy: !unhealthy.includes(i),
    stats: stats.scope('upstream', { cluster: 'c', host: `h${i}` }),
    activeRequests: 0,
  }));
}

const set = (hs: Host[]): HostSet => ({ hosts: hs, healthyHosts: hs.filter((h) => h.healthy) });
const cluster = clusterConfig('c', []);

for (const policy of POLICIES) {
  test(`${policy.name}: even distribution over many picks`, () => {
    const hs = hosts(5);
    const lb = policy.create(set(hs), cluster, seededRandom(42));
    const counts = new Map<Host, number>();
    const picks = 50_000;
    for (let i = 0; i < picks; i++) {
      const h = lb.chooseHost(undefined);
      assert.ok(h);
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    assert.equal(counts.size, 5);
    for (const n of counts.values()) assert.ok(Math.abs(n - picks / 5) < picks * 0.02, `share ${n} of ${picks} is not about 1/5`);
  });

  test(`${policy.name}: excluded hosts are never picked; all excluded → undefined`, () => {
    const hs = hosts(4);
    const lb = policy.create(set(hs), cluster, seededRandom(7));
    const excluded = new Set([hs[0] as Host, hs[2] as Host]);
    const seen = new Set<Host>();
    for (let i = 0; i < 2000; i++) {
      const h = lb.chooseHost({ excludedHosts: excluded });
      assert.ok(h && !excluded.has(h));
      seen.add(h);
    }
    assert.equal(seen.size, 2);
    assert.equal(lb.chooseHost({ excludedHosts: new Set(hs) }), undefined);
  });

  test(`${policy.name}: unhealthy hosts are skipped; none usable or empty → undefined`, () => {
    const hs = hosts(3, [1]);
    const lb = policy.create(set(hs), cluster, seededRandom(3));
    for (let i = 0; i < 1000; i++) assert.notEqual(lb.chooseHost(undefined), hs[1]);
    assert.equal(policy.create(set(hosts(2, [0, 1])), cluster, seededRandom(1)).chooseHost(undefined), undefined);
    assert.equal(policy.create(set([]), cluster, seededRandom(1)).chooseHost(undefined), undefined);
  });
}

test('LB_ROUNDROBIN visits hosts in order from a random start', () => {
  const hs = hosts(3);
  const lb = RoundRobinLoadBalancerFactory.create(set(hs), cluster, () => 0.5);
  const picked = Array.from({ length: 6 }, () => hs.indexOf(lb.chooseHost(undefined) as Host));
  assert.deepEqual(picked, [1, 2, 0, 1, 2, 0]);
});

test('LB_WEIGHTED_ROUNDROBIN: picks follow the weights 1/2/3, smoothly interleaved', () => {
  const hs = hosts(3, [], [1, 2, 3]);
  const lb = WeightedRoundRobinLoadBalancerFactory.create(set(hs), cluster, seededRandom(5));
  const counts = [0, 0, 0];
  const picks = 60_000;
  let longestRun = 0;
  let run = 0;
  let last = -1;
  for (let i = 0; i < picks; i++) {
    const k = hs.indexOf(lb.chooseHost(undefined) as Host);
    counts[k] = (counts[k] ?? 0) + 1;
    run = k === last ? run + 1 : 1;
    last = k;
    longestRun = Math.max(longestRun, run);
  }
  // Exact up to float rounding of the 1/weight steps.
  for (const [k, want] of [10_000, 20_000, 30_000].entries()) assert.ok(Math.abs((counts[k] ?? 0) - want) <= 2, `host ${k}: ${counts[k]} picks, want ${want}`);
  assert.ok(longestRun <= 2, `EDF interleaves: longest run of one host ${longestRun}`);
});

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
import { LeastRequestLoadBalancerFactory } from './least-request/least-request.js';

const POLICIES: readonly LoadBalancerFactory[] = [
  RandomLoadBalancerFactory, RoundRobinLoadBalancerFactory, WeightedRoundRobinLoadBalancerFactory, LeastRequestLoadBalancerFactory,
];
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

// ── LB_LEAST_REQUEST ─────────────────────────────────────────────────────────────────────────────

const lrCluster = (choiceCount: number, activeRequestBias = 1) => clusterConfig('c', [], { lbType: 'LB_LEAST_REQUEST', lbConfig: { choiceCount, activeRequestBias } });

function shares(lb: { chooseHost(ctx: undefined): Host | undefined }, hs: readonly Host[], picks: number): number[] {
  const counts = hs.map(() => 0);
  for (let i = 0; i < picks; i++) {
    const k = hs.indexOf(lb.chooseHost(undefined) as Host);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts.map((c) => c / picks);
}

test('LB_LEAST_REQUEST: choice_count ≥ hosts always picks the least loaded host', () => {
  const hs = hosts(4);
  for (const [i, n] of [3, 0, 5, 1].entries()) (hs[i] as Host).activeRequests = n;
  const lb = LeastRequestLoadBalancerFactory.create(set(hs), lrCluster(4), seededRandom(11));
  for (let i = 0; i < 500; i++) assert.equal(lb.chooseHost(undefined), hs[1]);
  // With the least loaded excluded by a retry, the next least loaded.
  for (let i = 0; i < 500; i++) assert.equal(lb.chooseHost({ excludedHosts: new Set([hs[1] as Host]) }), hs[3]);
});

test('LB_LEAST_REQUEST: two distinct random choices → the idle host wins every draw it is in (1/2 of 4 hosts)', () => {
  const hs = hosts(4);
  for (const [i, n] of [3, 0, 3, 3].entries()) (hs[i] as Host).activeRequests = n;
  const got = shares(LeastRequestLoadBalancerFactory.create(set(hs), lrCluster(2), seededRandom(12)), hs, 40_000);
  // Two distinct hosts of four contain host 1 with probability 1 - C(3,2)/C(4,2) = 1/2 (with repeats it would be 7/16).
  assert.ok(Math.abs((got[1] ?? 0) - 0.5) < 0.015, `idle host share ${got[1]}`);
  for (const k of [0, 2, 3]) assert.ok(Math.abs((got[k] ?? 0) - 0.5 / 3) < 0.015, `busy host ${k} share ${got[k]}`);
  // choice_count 1 is a uniform random pick: load is not looked at.
  const one = shares(LeastRequestLoadBalancerFactory.create(set(hs), lrCluster(1), seededRandom(13)), hs, 40_000);
  for (const s of one) assert.ok(Math.abs(s - 0.25) < 0.015, `choice_count 1 share ${s}`);
});

test('LB_LEAST_REQUEST: with the proxy counting requests, load stays balanced (P2C) where a random pick drifts', () => {
  // 10 hosts, 200 requests in flight: each step sends one request (the proxy's increment) and ends a random in-flight one.
  function spread(factory: LoadBalancerFactory, seed: number): number {
    const hs = hosts(10);
    const lb = factory.create(set(hs), lrCluster(2), seededRandom(seed));
    const rnd = seededRandom(seed + 1);
    const inFlight: Host[] = [];
    let sum = 0;
    let samples = 0;
    for (let step = 0; step < 20_000; step++) {
      const h = lb.chooseHost(undefined) as Host;
      h.activeRequests++;
      inFlight.push(h);
      if (inFlight.length > 200) {
        const at = Math.floor(rnd() * inFlight.length);
        const done = inFlight[at] as Host;
        inFlight[at] = inFlight[inFlight.length - 1] as Host;
        inFlight.pop();
        done.activeRequests--;
      }
      if (step > 1000) {
        const loads = hs.map((x) => x.activeRequests);
        sum += Math.max(...loads) - Math.min(...loads);
        samples++;
      }
    }
    return sum / samples;
  }
  // Mean (busiest − idlest) in-flight count: about 4.5 for P2C and 13.5 for random picks here.
  const p2c = spread(LeastRequestLoadBalancerFactory, 21);
  const random = spread(RandomLoadBalancerFactory, 21);
  assert.ok(p2c < 7, `P2C mean spread ${p2c}`);
  assert.ok(random > 2 * p2c, `random mean spread ${random} vs P2C ${p2c}`);
});

test('LB_LEAST_REQUEST: weights that differ → EDF by weight / (active + 1)^bias', () => {
  const hs = hosts(2, [], [1, 3]);
  // Idle hosts: plain weights, 1:3.
  let got = shares(LeastRequestLoadBalancerFactory.create(set(hs), lrCluster(2), seededRandom(31)), hs, 40_000);
  assert.ok(Math.abs((got[0] ?? 0) - 0.25) < 0.01, `idle 1:3 → ${got}`);
  // The heavy host has 2 requests in flight: 3 / (2 + 1) = 1 = the light host's 1 / (0 + 1) → 1:1.
  (hs[1] as Host).activeRequests = 2;
  got = shares(LeastRequestLoadBalancerFactory.create(set(hs), lrCluster(2), seededRandom(32)), hs, 40_000);
  assert.ok(Math.abs((got[0] ?? 0) - 0.5) < 0.01, `bias 1, active 0/2 → ${got}`);
  // bias 2: 3 / 3² = 1/3 against 1 → 3:1 the other way.
  got = shares(LeastRequestLoadBalancerFactory.create(set(hs), lrCluster(2, 2), seededRandom(33)), hs, 40_000);
  assert.ok(Math.abs((got[0] ?? 0) - 0.75) < 0.01, `bias 2 → ${got}`);
  // bias 0: load is ignored, weights alone.
  got = shares(LeastRequestLoadBalancerFactory.create(set(hs), lrCluster(2, 0), seededRandom(34)), hs, 40_000);
  assert.ok(Math.abs((got[0] ?? 0) - 0.25) < 0.01, `bias 0 → ${got}`);
});

test('LB_LEAST_REQUEST: a host whose load grows is picked less from then on (weights read at each pick)', () => {
  const hs = hosts(3, [], [2, 2, 1]);
  const lb = LeastRequestLoadBalancerFactory.create(set(hs), lrCluster(2), seededRandom(41));
  (hs[0] as Host).activeRequests = 9; // effective weight 2/10, against 2 and 1
  const got = shares(lb, hs, 30_000);
  assert.ok((got[0] ?? 1) < 0.08, `loaded host share ${got[0]}`);
  assert.ok(Math.abs((got[1] ?? 0) / (got[2] ?? 1) - 2) < 0.15, `idle hosts keep their 2:1 ratio: ${got}`);
});

test('LB_LEAST_REQUEST: a config without lbconfig uses MOSN defaults (choice_count 2)', () => {
  const hs = hosts(4);
  for (const [i, n] of [3, 0, 3, 3].entries()) (hs[i] as Host).activeRequests = n;
  const got = shares(LeastRequestLoadBalancerFactory.create(set(hs), cluster, seededRandom(51)), hs, 40_000);
  assert.ok(Math.abs((got[1] ?? 0) - 0.5) < 0.015, `idle host share ${got[1]}`);
});

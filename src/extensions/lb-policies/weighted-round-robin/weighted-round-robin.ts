/**
 * Extension (LB policy `LB_WEIGHTED_ROUNDROBIN`): earliest-deadline-first over the healthy hosts, as
 * Envoy's and MOSN's EDF scheduler. Each host has a deadline; a pick takes the host with the earliest
 * one and moves it on by 1/weight, so over any window host i gets weight_i / Σweight of the picks,
 * smoothly interleaved (weights 1/2/3 → b c a c b c …, never c c c then b b then a).
 *
 *   heap of host indices ordered by (deadline, index)     pick: O(log n), no allocation
 *
 * Built once per host-set snapshot. Hosts excluded by a retry are passed over (their turn is
 * spent), at most once each per pick.
 */
import type { ClusterConfig } from '../../../api/config.js';
import type { Host, HostSet, LoadBalancer, LoadBalancerContext, LoadBalancerFactory } from '../../../api/upstream.js';
import { siftDownByDeadline } from '../../../base/deadline-heap.js';

export class WeightedRoundRobinLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly Host[];
  readonly #step: Float64Array;
  readonly #deadline: Float64Array;
  /** Binary min-heap of indices into #hosts. */
  readonly #heap: Int32Array;

  constructor(hostSet: HostSet, random: () => number) {
    const hosts = hostSet.healthyHosts;
    const n = hosts.length;
    this.#hosts = hosts;
    this.#step = new Float64Array(n);
    this.#deadline = new Float64Array(n);
    this.#heap = new Int32Array(n);
    // A random phase (the same for all hosts keeps the ratios) so many proxies do not start in lockstep.
    const phase = random();
    for (let i = 0; i < n; i++) {
      const step = 1 / Math.max(1, (hosts[i] as Host).weight);
      this.#step[i] = step;
      this.#deadline[i] = step * (1 + phase);
      this.#heap[i] = i;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) siftDownByDeadline(this.#heap, this.#deadline, i);
  }

  chooseHost(ctx: LoadBalancerContext | undefined): Host | undefined {
    const n = this.#hosts.length;
    if (n === 0) return undefined;
    const excluded = ctx?.excludedHosts;
    for (let tries = 0; tries < n; tries++) {
      const i = this.#heap[0] as number;
      this.#deadline[i] = (this.#deadline[i] as number) + (this.#step[i] as number);
      siftDownByDeadline(this.#heap, this.#deadline, 0);
      const h = this.#hosts[i] as Host;
      if (excluded === undefined || !excluded.has(h)) return h;
    }
    return undefined;
  }
}

export const WeightedRoundRobinLoadBalancerFactory: LoadBalancerFactory = {
  name: 'LB_WEIGHTED_ROUNDROBIN',
  create(hostSet: HostSet, _cluster: ClusterConfig, random: () => number): LoadBalancer {
    return new WeightedRoundRobinLoadBalancer(hostSet, random);
  },
};

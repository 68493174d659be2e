/**
 * Extension (LB policy `LB_RANDOM`): a uniform random pick over the snapshot's hosts. As MOSN does,
 * when the random pick is unusable (unhealthy, or excluded by a retry) the policy walks on
 * round-robin from there, so a pick fails only when no host is usable. No allocation per pick.
 */
import type { ClusterConfig } from '../../../api/config.js';
import type { Host, HostSet, LoadBalancer, LoadBalancerContext, LoadBalancerFactory } from '../../../api/upstream.js';

export class RandomLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly Host[];
  readonly #random: () => number;

  constructor(hostSet: HostSet, random: () => number) {
    this.#hosts = hostSet.hosts;
    this.#random = random;
  }

  chooseHost(ctx: LoadBalancerContext | undefined): Host | undefined {
    const hosts = this.#hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    const excluded = ctx?.excludedHosts;
    const start = Math.min(n - 1, Math.floor(this.#random() * n));
    for (let i = 0; i < n; i++) {
      const h = hosts[(start + i) % n] as Host;
      if (h.healthy && (excluded === undefined || !excluded.has(h))) return h;
    }
    return undefined;
  }
}

export const RandomLoadBalancerFactory: LoadBalancerFactory = {
  name: 'LB_RANDOM',
  create(hostSet: HostSet, _cluster: ClusterConfig, random: () => number): LoadBalancer {
    return new RandomLoadBalancer(hostSet, random);
  },
};

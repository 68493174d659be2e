/**
 * Extension (LB policy `LB_ROUNDROBIN`, MOSN's default): one index per LB instance, started at a
 * random offset so many proxies do not all hit host 0 first; each pick advances it and skips hosts
 * that are unhealthy or excluded by a retry. The index lives in the LB built for one host-set
 * snapshot, so an update starts a fresh rotation. No allocation per pick.
 */
import type { ClusterConfig } from '../../../api/config.js';
import type { Host, HostSet, LoadBalancer, LoadBalancerContext, LoadBalancerFactory } from '../../../api/upstream.js';

export class RoundRobinLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly Host[];
  #index: number;

  constructor(hostSet: HostSet, random: () => number) {
    this.#hosts = hostSet.hosts;
    const n = this.#hosts.length;
    this.#index = n === 0 ? 0 : Math.min(n - 1, Math.floor(random() * n));
  }

  chooseHost(ctx: LoadBalancerContext | undefined): Host | undefined {
    const hosts = this.#hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    const excluded = ctx?.excludedHosts;
    for (let i = 0; i < n; i++) {
      const h = hosts[this.#index] as Host;
      this.#index = this.#index + 1 === n ? 0 : this.#index + 1;
      if (h.healthy && (excluded === undefined || !excluded.has(h))) return h;
    }
    return undefined;
  }
}

export const RoundRobinLoadBalancerFactory: LoadBalancerFactory = {
  name: 'LB_ROUNDROBIN',
  create(hostSet: HostSet, _cluster: ClusterConfig, random: () => number): LoadBalancer {
    return new RoundRobinLoadBalancer(hostSet, random);
  },
};

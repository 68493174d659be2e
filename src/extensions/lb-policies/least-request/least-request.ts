/**
 * Extension (LB policy `LB_LEAST_REQUEST`): send each request to a host with few requests in flight
 * (`Host.activeRequests`, kept by the L7 proxy). Two modes, chosen once per host-set snapshot, as
 * MOSN and Envoy choose them:
 *
 *   all healthy weights equal  power of `choice_count` choices (default 2): draw that many DISTINCT
 *                              hosts at random, keep the one with the fewest active requests (the
 *                              first drawn wins a tie, so ties stay random). choice_count ≥ hosts →
 *                              every host is compared: the least loaded always wins.
 *   weights differ             earliest-deadline-first, each host's deadline advanced on its pick by
 *                              1 / effective weight, effective weight = weight / (active + 1)^bias
 *                              (`active_request_bias`, default 1; 0 = plain weighted round robin).
 *                              The weight is read at the host's pick, so a busy host's next turn is
 *                              pushed back (Envoy's EDF with dynamic weights; a host's deadline is
 *                              not revisited when its load later drops, until its next turn).
 *
 * Distinct draws use a partial Fisher–Yates shuffle over a permutation kept between picks (the swaps
 * leave it a permutation, so it needs no reset): O(choice_count) per pick, no allocation. Hosts
 * excluded by a retry are passed over and do not count as a choice; a pick fails only when every
 * healthy host is excluded. Only healthy hosts are considered.
 */
import type { ClusterConfig } from '../../../api/config.js';
import type { Host, HostSet, LoadBalancer, LoadBalancerContext, LoadBalancerFactory } from '../../../api/upstream.js';
import { siftDownByDeadline } from '../../../base/deadline-heap.js';

/** MOSN's defaults for `lbconfig` (also what the config loader fills in). */
export const DEFAULT_CHOICE_COUNT = 2;
export const DEFAULT_ACTIVE_REQUEST_BIAS = 1;

export class LeastRequestLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly Host[];
  readonly #random: () => number;
  readonly #choiceCount: number;
  readonly #bias: number;
  /** Unweighted mode: a permutation of host indices, partially reshuffled by every pick. */
  readonly #order: Int32Array;
  /** Weighted mode only (empty otherwise): EDF deadlines and a binary min-heap of host indices. */
  readonly #weighted: boolean;
  readonly #deadline: Float64Array;
  readonly #heap: Int32Array;

  constructor(hostSet: HostSet, cluster: ClusterConfig, random: () => number) {
    const hosts = hostSet.healthyHosts;
    const n = hosts.length;
    this.#hosts = hosts;
    this.#random = random;
    this.#choiceCount = Math.max(1, cluster.lbConfig?.choiceCount ?? DEFAULT_CHOICE_COUNT);
    this.#bias = cluster.lbConfig?.activeRequestBias ?? DEFAULT_ACTIVE_REQUEST_BIAS;
    this.#weighted = !weightsEqual(hosts);
    this.#order = new Int32Array(this.#weighted ? 0 : n);
    for (let i = 0; i < this.#order.length; i++) this.#order[i] = i;
    const m = this.#weighted ? n : 0;
    this.#deadline = new Float64Array(m);
    this.#heap = new Int32Array(m);
    if (m === 0) return;
    // A random phase (the same for all hosts keeps the ratios) so many proxies do not start in lockstep.
    const phase = random();
    for (let i = 0; i < m; i++) {
      this.#deadline[i] = (1 + phase) / this.#effectiveWeight(hosts[i] as Host);
      this.#heap[i] = i;
    }
    for (let i = (m >> 1) - 1; i >= 0; i--) siftDownByDeadline(this.#heap, this.#deadline, i);
  }

  chooseHost(ctx: LoadBalancerContext | undefined): Host | undefined {
    const n = this.#hosts.length;
    if (n === 0) return undefined;
    const excluded = ctx?.excludedHosts;
    return this.#weighted ? this.#pickWeighted(n, excluded) : this.#pickOfChoices(n, excluded);
  }

  #pickOfChoices(n: number, excluded: ReadonlySet<Host> | undefined): Host | undefined {
    const hosts = this.#hosts;
    if (n === 1) {
      const only = hosts[0] as Host;
      return excluded !== undefined && excluded.has(only) ? undefined : only;
    }
    const order = this.#order;
    const want = this.#choiceCount;
    let best: Host | undefined;
    let found = 0;
    for (let drawn = 0; drawn < n && found < want; drawn++) {
      // Partial Fisher–Yates: a uniform pick among the not-yet-drawn tail order[drawn..n).
      const j = drawn + Math.min(n - drawn - 1, Math.floor(this.#random() * (n - drawn)));
      const k = order[j] as number;
      order[j] = order[drawn] as number;
      order[drawn] = k;
      const h = hosts[k] as Host;
      if (excluded !== undefined && excluded.has(h)) continue;
      found++;
      if (best === undefined || h.activeRequests < best.activeRequests) best = h;
    }
    return best;
  }

  #pickWeighted(n: number, excluded: ReadonlySet<Host> | undefined): Host | undefined {
    for (let tries = 0; tries < n; tries++) {
      const i = this.#heap[0] as number;
      const h = this.#hosts[i] as Host;
      this.#deadline[i] = (this.#deadline[i] as number) + 1 / this.#effectiveWeight(h);
      siftDownByDeadline(this.#heap, this.#deadline, 0);
      if (excluded === undefined || !excluded.has(h)) return h;
    }
    return undefined;
  }

  /** weight / (active + 1)^bias; the common biases avoid `Math.pow`. Always > 0. */
  #effectiveWeight(h: Host): number {
    const w = Math.max(1, h.weight);
    const bias = this.#bias;
    if (bias === 0) return w;
    const load = Math.max(0, h.activeRequests) + 1;
    return bias === 1 ? w / load : w / Math.pow(load, bias);
  }
}

function weightsEqual(hosts: readonly Host[]): boolean {
  for (let i = 1; i < hosts.length; i++) if ((hosts[i] as Host).weight !== (hosts[0] as Host).weight) return false;
  return true;
}

export const LeastRequestLoadBalancerFactory: LoadBalancerFactory = {
  name: 'LB_LEAST_REQUEST',
  create(hostSet: HostSet, cluster: ClusterConfig, random: () => number): LoadBalancer {
    return new LeastRequestLoadBalancer(hostSet, cluster, random);
  },
};

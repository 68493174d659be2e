/**
 * Extension (cluster type `STRICT_DNS`): every configured host `name:port` is looked up (the system
 * resolver, `dns.lookup`, every address of the configured family) when the cluster starts and
 * again every `dns_refresh_rate` (MOSN default 5 s); each resolved IP becomes one host `ip:port`
 * carrying the host entry's weight, metadata and `tls_disable`, and as `hostname` the configured
 * one or else the DNS name (what `auto_host_rewrite` sends). Hosts written as IP literals or unix
 * paths are served as they are, as MOSN does.
 *
 *   start ─▶ lookup every name ─▶ all answered (or failed) ─▶ update(hosts)   (first report)
 *              ▲                                                   │
 *              └── timer: dns_refresh_rate after each answer ◀─────┘ then update(hosts) only
 *                                                                       when a name's set changed
 *
 * The first report waits for every name's first answer, so a new cluster is empty until then
 * (requests get 503 UH) and a reconfigured one keeps serving its previous hosts. A failed, empty or
 * timed-out lookup (20 s, MOSN's resolve timeout) keeps the name's previous addresses and is logged
 * once per failure streak. `stop()` cancels every timer; a late answer is ignored. Not implemented:
 * DNS TTLs (`respect_dns_ttl`; the system resolver does not report them) and custom resolvers.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ClusterConfig, DnsLookupFamily, HostConfig } from '../../../api/config.js';
import type { Logger } from '../../../api/observability.js';
import type { ClusterTypeContext, ClusterTypeFactory } from '../../../api/upstream.js';
import { tcpAddress } from '../../../base/address.js';

/** Resolves `name` to IP address strings of `family` (0 = both). Rejects on failure. */
export type DnsLookup = (name: string, family: 0 | 4 | 6) => Promise<readonly string[]>;

export interface StrictDnsOptions {
  /** Default: the system resolver (`dns.lookup` with `all: true`). Tests inject a fake. */
  readonly lookup?: DnsLookup;
  /** A lookup still unanswered after this long counts as failed (MOSN `DefaultRefreshTimeout`, 20 s). */
  readonly resolveTimeoutMs?: number;
}

export const DEFAULT_DNS_REFRESH_RATE_MS = 5_000;
export const DEFAULT_RESOLVE_TIMEOUT_MS = 20_000;

export const systemDnsLookup: DnsLookup = async (name, family) => {
  const answers = await dnsLookup(name, { all: true, family, verbatim: true });
  return answers.map((a) => a.address);
};

const FAMILY: Readonly<Record<DnsLookupFamily, 0 | 4 | 6>> = { V4_ONLY: 4, V6_ONLY: 6, ALL: 0 };

/** One configured host entry: a name to keep resolving, or a literal address served as written. */
interface Target {
  readonly config: HostConfig;
  /** The DNS name; undefined for an IP literal or a unix path. */
  readonly name: string | undefined;
  readonly port: number;
  /** Sorted, distinct; empty until the first successful lookup. */
  addresses: readonly string[];
  /** The first lookup has finished (answered or failed): the first report waits for all of them. */
  settled: boolean;
  failing: boolean;
  /** Bumped per lookup and per outcome, so a timed-out lookup's late answer is dropped. */
  seq: number;
  refreshTimer: ReturnType<typeof setTimeout> | undefined;
  timeoutTimer: ReturnType<typeof setTimeout> | undefined;
}

export class StrictDnsDiscovery {
  readonly #update: (hosts: readonly HostConfig[]) => void;
  readonly #logger: Logger;
  readonly #lookup: DnsLookup;
  readonly #family: 0 | 4 | 6;
  readonly #refreshMs: number;
  readonly #timeoutMs: number;
  readonly #targets: Target[];
  #lastReport: string | undefined;
  #stopped = false;

  constructor(cluster: ClusterConfig, update: (hosts: readonly HostConfig[]) => void, logger: Logger, options: StrictDnsOptions = {}) {
    this.#update = update;
    this.#logger = logger;
    this.#lookup = options.lookup ?? systemDnsLookup;
    this.#family = FAMILY[cluster.dnsLookupFamily ?? 'V4_ONLY'];
    this.#refreshMs = cluster.dnsRefreshRateMs !== undefined && cluster.dnsRefreshRateMs > 0 ? cluster.dnsRefreshRateMs : DEFAULT_DNS_REFRESH_RATE_MS;
    this.#timeoutMs = options.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS;
    this.#targets = cluster.hosts.map((config): Target => {
      const a = config.address;
      const literal = a.kind === 'unix' || isIP(a.host) !== 0;
      return {
        config,
        name: literal ? undefined : a.host.replace(/\.$/, ''),
        port: a.kind === 'tcp' ? a.port : 0,
        addresses: [],
        settled: literal,
        failing: false,
        seq: 0,
        refreshTimer: undefined,
        timeoutTimer: undefined,
      };
    });
  }

  start(): void {
    for (const t of this.#targets) if (t.name !== undefined) this.#resolve(t);
    // Only literal hosts: nothing to wait for (a synchronous first report, as SIMPLE).
    this.#report();
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#targets) {
      clearTimeout(t.refreshTimer);
      clearTimeout(t.timeoutTimer);
      t.refreshTimer = t.timeoutTimer = undefined;
      t.seq++;
    }
  }

  /** The hosts the cluster has now (for tests and diagnostics). */
  hosts(): HostConfig[] {
    const out: HostConfig[] = [];
    for (const t of this.#targets) {
      if (t.name === undefined) {
        out.push(t.config);
        continue;
      }
      const c = t.config;
      const hostname = c.hostname !== '' ? c.hostname : t.name;
      for (const ip of t.addresses) out.push({ address: tcpAddress(ip, t.port), hostname, weight: c.weight, metadata: c.metadata, tlsDisable: c.tlsDisable });
    }
    return out;
  }

  #resolve(t: Target): void {
    t.refreshTimer = undefined;
    const seq = ++t.seq;
    const name = t.name as string;
    t.timeoutTimer = setTimeout(() => this.#onAnswer(t, seq, undefined, new Error(`no answer in ${this.#timeoutMs} ms`)), this.#timeoutMs);
    t.timeoutTimer.unref();
    let pending: Promise<readonly string[]>;
    try {
      pending = this.#lookup(name, this.#family);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (addresses) => this.#onAnswer(t, seq, addresses, undefined),
      (err: unknown) => this.#onAnswer(t, seq, undefined, err),
    );
  }

  #onAnswer(t: Target, seq: number, answer: readonly string[] | undefined, err: unknown): void {
    if (this.#stopped || seq !== t.seq) return;
    t.seq++;
    clearTimeout(t.timeoutTimer);
    t.timeoutTimer = undefined;
    const addresses = answer === undefined ? [] : this.#normalise(answer);
    let changed = false;
    if (addresses.length === 0) {
      const reason = err instanceof Error ? err.message : err === undefined ? 'no addresses of the configured family' : String(err);
      const fields = { host: t.name, error: reason, kept: t.addresses };
      if (t.failing) this.#logger.debug(fields, 'STRICT_DNS lookup failed again; keeping the previous addresses');
      else this.#logger.warn(fields, 'STRICT_DNS lookup failed; keeping the previous addresses');
      t.failing = true;
    } else {
      if (t.failing) this.#logger.info({ host: t.name }, 'STRICT_DNS lookup succeeded again');
      t.failing = false;
      if (addresses.join(',') !== t.addresses.join(',')) {
        this.#logger.info({ host: t.name, addresses, previous: t.addresses }, 'STRICT_DNS addresses changed');
        t.addresses = addresses;
        changed = true;
      }
    }
    const first = !t.settled;
    t.settled = true;
    if (changed || first) this.#report();
    t.refreshTimer = setTimeout(() => this.#resolve(t), this.#refreshMs);
    t.refreshTimer.unref();
  }

  /** Distinct IPs of the configured family, sorted (the resolver's order may rotate between answers). */
  #normalise(answer: readonly string[]): string[] {
    const out: string[] = [];
    for (const ip of answer) {
      const v = isIP(ip);
      if (v === 0 || (this.#family !== 0 && v !== this.#family) || out.includes(ip)) continue;
      out.push(ip);
    }
    return out.sort();
  }

  /** Reports the host list once every name has been tried, and afterwards whenever it changed. */
  #report(): void {
    if (this.#stopped) return;
    for (const t of this.#targets) if (!t.settled) return;
    const hosts = this.hosts();
    // Nothing resolved yet: keep what the cluster has (nothing if new, the previous hosts on a reconfiguration).
    if (hosts.length === 0 && this.#lastReport === undefined && this.#targets.length > 0) return;
    const key = hosts.map((h) => `${h.address.text}|${h.hostname}`).join(',');
    if (key === this.#lastReport) return;
    this.#lastReport = key;
    this.#update(hosts);
  }
}

const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  isLevelEnabled: () => false,
  child: () => silentLogger,
};

/** A STRICT_DNS factory with its own resolver (tests); the built-in uses the system resolver. */
export function createStrictDnsClusterTypeFactory(options: StrictDnsOptions = {}): ClusterTypeFactory {
  return {
    name: 'STRICT_DNS',
    start(cluster: ClusterConfig, update: (hosts: readonly HostConfig[]) => void, context?: ClusterTypeContext): () => void {
      const logger = context ? context.logger.child({ cluster: cluster.name }) : silentLogger;
      const discovery = new StrictDnsDiscovery(cluster, update, logger, options);
      discovery.start();
      return () => discovery.stop();
    },
  };
}

export const StrictDnsClusterTypeFactory: ClusterTypeFactory = createStrictDnsClusterTypeFactory();

/**
 * Observability layer: the stats store. Metrics are MOSN's model: a `type` (downstream, upstream,
 * meta…), a label set, and keys (`connection_total`, `request_active`…). Counter and gauge objects
 * are resolved once at config time; the hot path only does `inc()` on a plain number field.
 * `/api/v1/stats` renders `snapshot()` as MOSN does: {type: {"k.v.k2.v2": {key: "value"}}}.
 */
import type { Counter, Gauge, Stats, StatsScope } from '../api/observability.js';

class NumberCounter implements Counter {
  value = 0;
  inc(n = 1): void {
    this.value += n;
  }
}

class NumberGauge implements Gauge {
  value = 0;
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
  set(v: number): void {
    this.value = v;
  }
}

class MetricScope implements StatsScope {
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly counters = new Map<string, NumberCounter>();
  readonly gauges = new Map<string, NumberGauge>();
  constructor(type: string, labels: Readonly<Record<string, string>>) {
    this.type = type;
    this.labels = labels;
  }
  counter(key: string): Counter {
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = new NumberCounter()));
    return c;
  }
  gauge(key: string): Gauge {
    let g = this.gauges.get(key);
    if (!g) this.gauges.set(key, (g = new NumberGauge()));
    return g;
  }
}

/** MOSN's label key: sorted `k.v` pairs joined with dots (`listener.l1`, `cluster.c1.host.1.2.3.4:80`). */
export function labelKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}.${labels[k]}`)
    .join('.');
}

export interface CounterEntry {
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly key: string;
  readonly value: number;
}

export type StatsSnapshot = Record<string, Record<string, Record<string, string>>>;

export class StatsStore implements Stats {
  readonly #scopes = new Map<string, MetricScope>();

  scope(type: string, labels: Readonly<Record<string, string>>): StatsScope {
    const id = `${type}\u0000${labelKey(labels)}`;
    let s = this.#scopes.get(id);
    if (!s) this.#scopes.set(id, (s = new MetricScope(type, { ...labels })));
    return s;
  }

  /** Current value of one metric, or undefined (tests and admin). */
  get(type: string, labels: Readonly<Record<string, string>>, key: string): number | undefined {
    const s = this.#scopes.get(`${type}\u0000${labelKey(labels)}`);
    return s?.counters.get(key)?.value ?? s?.gauges.get(key)?.value;
  }

  /** MOSN's `/api/v1/stats` JSON shape; `type` filters to one metric type. */
  snapshot(type?: string): StatsSnapshot {
    const out: StatsSnapshot = {};
    for (const s of this.#scopes.values()) {
      if (type !== undefined && s.type !== type) continue;
      const byLabels = (out[s.type] ??= {});
      const metrics: Record<string, string> = (byLabels[labelKey(s.labels)] ??= {});
      for (const [k, c] of s.counters) metrics[k] = String(c.value);
      for (const [k, g] of s.gauges) metrics[k] = String(g.value);
    }
    return out;
  }

  /** Every counter with its scope (a hot upgrade carries them to the new process). */
  counterEntries(): CounterEntry[] {
    const out: CounterEntry[] = [];
    for (const s of this.#scopes.values()) {
      for (const [key, c] of s.counters) if (c.value !== 0) out.push({ type: s.type, labels: s.labels, key, value: c.value });
    }
    return out;
  }

  /** Adds counters carried over from the process this one took over from, so stats continue. */
  absorbCounters(entries: readonly CounterEntry[]): void {
    for (const e of entries) {
      if (typeof e.value !== 'number' || !Number.isFinite(e.value) || typeof e.key !== 'string' || typeof e.type !== 'string') continue;
      this.scope(e.type, e.labels ?? {}).counter(e.key).inc(e.value);
    }
  }

  /** All scopes, for exporters (Prometheus later). */
  *scopes(): Iterable<{ type: string; labels: Readonly<Record<string, string>>; values: Iterable<[string, number, 'counter' | 'gauge']> }> {
    for (const s of this.#scopes.values()) {
      const values = function* (): Iterable<[string, number, 'counter' | 'gauge']> {
        for (const [k, c] of s.counters) yield [k, c.value, 'counter'];
        for (const [k, g] of s.gauges) yield [k, g.value, 'gauge'];
      };
      yield { type: s.type, labels: s.labels, values: values() };
    }
  }
}

/**
 * Server layer (workers): the controller's view of the stats — every worker's `/api/v1/stats`
 * snapshot folded into one, so the admin API shows the whole process tree as one Skiff.
 *
 *   counters and gauges (numeric values)  summed          request_total, connection_active…
 *   keys ending `_min`                     minimum         histogram minimum
 *   keys ending `_max`                     maximum         histogram maximum
 *   anything not numeric                  the first worker's value
 *
 * Label sets and metric types present in only some workers are kept as they are.
 */
import type { StatsSnapshot } from '../../observability/index.js';

type Fold = 'sum' | 'min' | 'max';

function foldOf(key: string): Fold {
  if (key.endsWith('_min')) return 'min';
  if (key.endsWith('_max')) return 'max';
  return 'sum';
}

/** A finite number written as MOSN writes it (decimal text), else undefined. */
function numeric(value: string): number | undefined {
  if (value.length === 0) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function fold(kind: Fold, a: number, b: number): number {
  if (kind === 'min') return Math.min(a, b);
  if (kind === 'max') return Math.max(a, b);
  return a + b;
}

/** Sums (or min/max) the workers' snapshots; the inputs are not modified. */
export function mergeStatsSnapshots(snapshots: readonly StatsSnapshot[]): StatsSnapshot {
  const out: StatsSnapshot = {};
  // Numbers folded so far, by type → labels → key; written back as text at the end.
  const numbers = new Map<Record<string, string>, Map<string, number>>();
  for (const snapshot of snapshots) {
    for (const [type, byLabels] of Object.entries(snapshot)) {
      const outType = (out[type] ??= {});
      for (const [labels, metrics] of Object.entries(byLabels)) {
        let outMetrics = outType[labels];
        if (outMetrics === undefined) outType[labels] = outMetrics = {};
        let nums = numbers.get(outMetrics);
        if (nums === undefined) numbers.set(outMetrics, (nums = new Map()));
        for (const [key, value] of Object.entries(metrics)) {
          const n = numeric(value);
          const seen = key in outMetrics;
          if (!seen) {
            outMetrics[key] = value;
            if (n !== undefined) nums.set(key, n);
            continue;
          }
          const prev = nums.get(key);
          if (prev === undefined || n === undefined) continue; // text (or mixed): the first value stands
          nums.set(key, fold(foldOf(key), prev, n));
        }
      }
    }
  }
  for (const [metrics, nums] of numbers) for (const [key, n] of nums) metrics[key] = String(n);
  return out;
}

/**
 * The controller's own metrics (its `meta` stage gauge) replace the merged ones of the same type and
 * labels: a process state is not a sum.
 */
export function overlayStats(merged: StatsSnapshot, own: StatsSnapshot): StatsSnapshot {
  for (const [type, byLabels] of Object.entries(own)) {
    const outType = (merged[type] ??= {});
    for (const [labels, metrics] of Object.entries(byLabels)) outType[labels] = { ...outType[labels], ...metrics };
  }
  return merged;
}

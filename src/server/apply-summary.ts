/** Server layer: the answer to a live config update (`{version, added, updated, removed}` by name). */
import type { ApplySummary } from '../admin/index.js';
import type { ConfigDiff } from '../config/index.js';

const names = <T extends { name: string }>(xs: readonly T[]): string[] => xs.map((x) => x.name);

export function applySummary(version: number, diff: ConfigDiff): ApplySummary {
  return {
    version,
    added: { listeners: names(diff.listeners.added), clusters: names(diff.clusters.added), routers: names(diff.routers.added) },
    updated: {
      listeners: diff.listeners.updated.map((u) => u.next.name),
      clusters: diff.clusters.updated.map((u) => u.next.name),
      routers: diff.routers.updated.map((u) => u.next.name),
    },
    removed: { listeners: names(diff.listeners.removed), clusters: names(diff.clusters.removed), routers: names(diff.routers.removed) },
  };
}

/**
 * Server layer: applies the cluster part of a config diff to the cluster manager. Added and updated
 * clusters are applied first (an update swaps the host set snapshot; established connections are
 * untouched); removed clusters last, after listeners stopped referring to them. If applying fails
 * half-way, `applyClusterChanges` restores the clusters it already touched before rethrowing.
 */
import type { ClusterConfig } from '../api/config.js';
import type { Logger } from '../api/observability.js';
import type { ResourceDiff } from '../config/index.js';

/** What the server needs of ClusterManagerImpl (src/upstream/) for applying diffs. */
export interface ClusterTarget {
  addOrUpdateCluster(config: ClusterConfig): void;
  removeCluster(name: string): void;
}

export function addClusters(target: ClusterTarget, clusters: readonly ClusterConfig[]): void {
  for (const c of clusters) target.addOrUpdateCluster(c);
}

/** Adds and updates; on error restores what it changed, then rethrows. */
export function applyClusterChanges(target: ClusterTarget, diff: ResourceDiff<ClusterConfig>, logger: Logger): void {
  const done: { prev: ClusterConfig | undefined; next: ClusterConfig }[] = [];
  try {
    for (const c of diff.added) {
      target.addOrUpdateCluster(c);
      done.push({ prev: undefined, next: c });
    }
    for (const { prev, next } of diff.updated) {
      target.addOrUpdateCluster(next);
      done.push({ prev, next });
    }
  } catch (err) {
    for (const { prev, next } of done.reverse()) {
      try {
        if (prev) target.addOrUpdateCluster(prev);
        else target.removeCluster(next.name);
      } catch (undoErr) {
        logger.error({ err: undoErr, cluster: next.name }, 'could not restore cluster after a failed update');
      }
    }
    throw err;
  }
}

export function removeClusters(target: ClusterTarget, clusters: readonly ClusterConfig[], logger: Logger): void {
  for (const c of clusters) {
    try {
      target.removeCluster(c.name);
    } catch (err) {
      logger.error({ err, cluster: c.name }, 'removing cluster failed');
    }
  }
}

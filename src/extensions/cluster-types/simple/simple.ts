/**
 * Extension (cluster type `SIMPLE`): a static host list straight from config. MOSN maps `STATIC`,
 * `EDS`, `DYNAMIC` and unknown types here too (the loader does that mapping). Discovery is a
 * single synchronous report; there is nothing to stop.
 */
import type { ClusterConfig, HostConfig } from '../../../api/config.js';
import type { ClusterTypeFactory } from '../../../api/upstream.js';

const noop = (): void => {};

export const SimpleClusterTypeFactory: ClusterTypeFactory = {
  name: 'SIMPLE',
  start(cluster: ClusterConfig, update: (hosts: readonly HostConfig[]) => void): () => void {
    update(cluster.hosts);
    return noop;
  },
};

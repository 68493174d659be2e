/**
 * Test fake: a tcp_proxy data plane assembled by hand, the way the server composition root will:
 * registries with the built-in LB policies and SIMPLE, a `ClusterManagerImpl`, one `ActiveListener`
 * whose chain is `tcp_proxy` parsed from MOSN-shaped JSON. Used by the tcp_proxy integration tests
 * and by the RSS child process (tcp-proxy-child.ts).
 */
import type { ClusterConfig, ListenerConfig } from '../../src/api/config.js';
import type { AccessLogSink } from '../../src/api/observability.js';
import { StatsStore } from '../../src/observability/stats.js';
import { createRegistries } from '../../src/registry/registries.js';
import { RandomLoadBalancerFactory } from '../../src/extensions/lb-policies/random/random.js';
import { RoundRobinLoadBalancerFactory } from '../../src/extensions/lb-policies/round-robin/round-robin.js';
import { SimpleClusterTypeFactory } from '../../src/extensions/cluster-types/simple/simple.js';
import { TcpProxyFilterFactory } from '../../src/extensions/network-filters/tcp-proxy/factory.js';
import { ClusterManagerImpl } from '../../src/upstream/cluster-manager.js';
import { ActiveListener } from '../../src/network/listener/active-listener.js';
import { RecordingLogger } from './logger.js';
import { disabledAccessLog, listenerConfig, parseContext } from './net-fixtures.js';

export interface ProxyHarness {
  readonly port: number;
  readonly listener: ActiveListener;
  readonly clusterManager: ClusterManagerImpl;
  readonly stats: StatsStore;
  readonly logger: RecordingLogger;
  close(): void;
}

export async function startTcpProxy(options: {
  clusters: readonly ClusterConfig[];
  tcpProxy: unknown;
  listener?: Partial<ListenerConfig>;
  accessLog?: AccessLogSink;
}): Promise<ProxyHarness> {
  const registries = createRegistries();
  registries.lbPolicies.register(RandomLoadBalancerFactory);
  registries.lbPolicies.register(RoundRobinLoadBalancerFactory);
  registries.clusterTypes.register(SimpleClusterTypeFactory);
  const stats = new StatsStore();
  const logger = new RecordingLogger();
  const clusterManager = new ClusterManagerImpl({ registries, stats, logger });
  for (const c of options.clusters) clusterManager.addOrUpdateCluster(c);
  const config = listenerConfig(options.listener);
  const parsed = TcpProxyFilterFactory.parseConfig(options.tcpProxy, parseContext());
  const creator = TcpProxyFilterFactory.create(parsed, { listener: config, clusterManager, routers: { get: () => undefined }, streamFilterCreators: [], logger, stats, accessLog: options.accessLog ?? disabledAccessLog });
  const listener = new ActiveListener(config, { filterCreators: [creator], listenerFilters: [], stats, logger });
  await listener.listen();
  const bound = listener.boundAddress;
  return {
    port: bound.kind === 'tcp' ? bound.port : 0,
    listener,
    clusterManager,
    stats,
    logger,
    close: () => {
      listener.closeAll();
      clusterManager.close();
    },
  };
}

/**
 * Extension (network filter `tcp_proxy`): the factory registered in src/registry/builtin.ts.
 * `parseConfig` validates once at load; `create` resolves cluster handles and compiles routes once
 * per listener apply, and returns the per-connection creator that installs one `TcpProxyFilter`.
 */
import type { FactoryContext, NetworkFilterCreator, NetworkFilterFactory, ParseContext } from '../../../api/extension.js';
import type { Connection } from '../../../api/network.js';
import { parseTcpProxyConfig, type TcpProxyConfig } from './config.js';
import { TcpProxyFilter, type TcpProxyShared } from './filter.js';
import { compileRoutes } from './route-matcher.js';

export const TcpProxyFilterFactory: NetworkFilterFactory<TcpProxyConfig> = {
  kind: 'network_filter',
  name: 'tcp_proxy',
  parseConfig(raw: unknown, ctx: ParseContext): TcpProxyConfig {
    return parseTcpProxyConfig(raw, ctx);
  },
  create(config: TcpProxyConfig, ctx: FactoryContext): NetworkFilterCreator {
    const shared: TcpProxyShared = {
      config,
      clusterHandle: config.cluster !== '' ? ctx.clusterManager.handle(config.cluster) : undefined,
      routes: compileRoutes(config.routes, ctx.clusterManager),
      clusterManager: ctx.clusterManager,
      logger: ctx.logger,
      accessLog: ctx.accessLog,
      listenerName: ctx.listener.name,
      listenerIdleTimeoutMs: ctx.listener.connectionIdleTimeoutMs,
    };
    return (connection: Connection) => connection.addReadFilter(new TcpProxyFilter(shared));
  },
};

/**
 * Server layer: turns one listener's configured filters into the pre-bound creators its
 * ActiveListener runs per connection. Each factory is looked up once in the registries (the loader
 * already parsed every `config` and skipped unknown types) and given a FactoryContext for this
 * listener: the cluster manager, a child logger, the stats store and the listener's access-log sink.
 * Stream filters are validated by the loader; the L7 proxy that runs them is not here yet.
 */
import type { ListenerConfig } from '../api/config.js';
import type { FactoryContext, NetworkFilterCreator, RouterConfigSource, StreamFilterCreator } from '../api/extension.js';
import type { ListenerFilter } from '../api/network.js';
import type { Logger, Stats } from '../api/observability.js';
import type { Registries } from '../api/registry.js';
import type { ClusterManager } from '../api/upstream.js';
import { ErrorCode, SkiffError } from '../base/errors.js';
import type { ListenerDeps } from '../network/listener/active-listener.js';
import { createAccessLogSink, type LogOutputs } from '../observability/index.js';

/** The live services every listener's filters are built with. */
export interface ListenerServices {
  readonly registries: Registries;
  readonly clusterManager: ClusterManager;
  /** Router configurations by name, as of the config being applied. */
  readonly routers: RouterConfigSource;
  readonly stats: Stats;
  readonly logger: Logger;
  readonly logOutputs: LogOutputs;
}

/** Builds the deps for `new ActiveListener(config, deps)` / `update(config, deps)`; throws SkiffError on a missing factory. */
export function buildListenerDeps(config: ListenerConfig, services: ListenerServices): ListenerDeps {
  const logger = services.logger.child({ listener: config.name });
  const streamFilterCreators: StreamFilterCreator[] = [];
  const ctx: FactoryContext = {
    listener: config,
    clusterManager: services.clusterManager,
    routers: services.routers,
    logger,
    stats: services.stats,
    accessLog: createAccessLogSink(config.accessLogs, services.logOutputs),
    streamFilterCreators,
  };
  for (const filter of config.streamFilters) {
    const factory = services.registries.streamFilters.get(filter.type);
    if (!factory) continue; // unknown types were warned about and skipped by the loader
    streamFilterCreators.push(factory.create(filter.config, ctx));
  }
  const filterCreators: NetworkFilterCreator[] = [];
  const first = config.filterChains[0];
  for (const filter of first?.filters ?? []) {
    const factory = services.registries.networkFilters.get(filter.type);
    if (!factory) throw new SkiffError(ErrorCode.Config, `listener "${config.name}": network filter "${filter.type}" is not registered`);
    filterCreators.push(factory.create(filter.config, ctx));
  }
  const listenerFilters: (() => ListenerFilter)[] = [];
  for (const filter of config.listenerFilters) {
    const factory = services.registries.listenerFilters.get(filter.type);
    if (!factory) throw new SkiffError(ErrorCode.Config, `listener "${config.name}": listener filter "${filter.type}" is not registered`);
    listenerFilters.push(factory.create(filter.config, ctx));
  }
  if (filterCreators.length === 0) logger.warn('listener has no network filter: accepted connections will be idle until closed');
  // TLS offers by ALPN only what the listener serves: h2 when its proxy serves Http2.
  const alpnSupported = new Set(['http/1.1']);
  for (const filter of first?.filters ?? []) {
    const protocols = (filter.config as { downstreamProtocols?: readonly string[] } | undefined)?.downstreamProtocols;
    if (filter.type === 'proxy' && protocols?.includes('Http2') === true) alpnSupported.add('h2');
  }
  return { filterCreators, listenerFilters, stats: services.stats, logger, alpnSupported };
}

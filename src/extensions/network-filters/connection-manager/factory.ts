/**
 * Extension (network filter `connection_manager`): MOSN's deprecated filter. On the data plane it
 * does nothing; its `config` (router_config_name + virtual_hosts) is registered as a router
 * configuration by the config loader (src/config/loader.ts), as MOSN's parser does. The factory
 * exists so the type is known (no "unknown filter" warning) and the config is kept for the dump.
 */
import type { NetworkFilterCreator, NetworkFilterFactory } from '../../../api/extension.js';

const noop: NetworkFilterCreator = () => {};

export const ConnectionManagerFilterFactory: NetworkFilterFactory<unknown> = {
  kind: 'network_filter',
  name: 'connection_manager',
  parseConfig(raw: unknown): unknown {
    return raw;
  },
  create(): NetworkFilterCreator {
    return noop;
  },
};

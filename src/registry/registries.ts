/**
 * Registry layer: builds the set of registries the composition root passes around. `createRegistries`
 * gives empty ones (tests); `createBuiltinRegistries` fills them from the one visible list in
 * builtin.ts.
 */
import type { Registries } from '../api/registry.js';
import { registerBuiltins } from './builtin.js';
import { NamedRegistry } from './registry.js';

export function createRegistries(): Registries {
  return {
    codecs: new NamedRegistry('codec'),
    xprotocolCodecs: new NamedRegistry('XProtocol codec'),
    listenerFilters: new NamedRegistry('listener filter'),
    networkFilters: new NamedRegistry('network filter'),
    streamFilters: new NamedRegistry('stream filter'),
    lbPolicies: new NamedRegistry('load balancer'),
    clusterTypes: new NamedRegistry('cluster type'),
  };
}

export function createBuiltinRegistries(): Registries {
  const registries = createRegistries();
  registerBuiltins(registries);
  return registries;
}

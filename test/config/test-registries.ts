/**
 * Test helper: registries with stub plug-ins, so config tests do not depend on the real tcp_proxy,
 * LB or cluster-type implementations. The stub tcp_proxy returns its raw config (frozen copy).
 */
import type { Registries } from '../../src/api/registry.js';
import type { ClusterTypeFactory, LoadBalancerFactory } from '../../src/api/upstream.js';
import type { NetworkFilterFactory } from '../../src/api/extension.js';
import { ConnectionManagerFilterFactory } from '../../src/extensions/network-filters/connection-manager/factory.js';
import { createRegistries } from '../../src/registry/registries.js';
import { fileURLToPath } from 'node:url';

export const StubTcpProxyFactory: NetworkFilterFactory<unknown> = {
  kind: 'network_filter',
  name: 'tcp_proxy',
  parseConfig: (raw) => structuredClone(raw),
  create: () => () => {},
};

export function testRegistries(): Registries {
  const r = createRegistries();
  r.networkFilters.register(StubTcpProxyFactory);
  r.networkFilters.register(ConnectionManagerFilterFactory);
  for (const name of ['LB_RANDOM', 'LB_ROUNDROBIN']) r.lbPolicies.register({ name, create: () => { throw new Error('stub'); } } as LoadBalancerFactory);
  r.clusterTypes.register({ name: 'SIMPLE', start: () => () => {} } as ClusterTypeFactory);
  return r;
}

/** Source directory of this test folder (tests run from the compiled copy under dist-x/test/config/; fixtures stay here). */
export const CONFIG_TEST_DIR = fileURLToPath(new URL('../../../test/config/', import.meta.url));

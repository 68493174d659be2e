/**
 * API layer (plug-in SDK): the registry contracts. Registries are objects built by the composition
 * root (src/registry/registries.ts), filled from one visible list (src/registry/builtin.ts), and
 * passed in: never module globals, so tests build their own.
 */
import type { ListenerFilterFactory, NetworkFilterFactory, StreamFilterFactory } from './extension.js';
import type { ProtocolCodecFactory } from './protocol.js';
import type { ClusterTypeFactory, LoadBalancerFactory } from './upstream.js';
import type { XProtocolCodec } from './xprotocol.js';

export interface Registry<T extends { readonly name: string }> {
  /** The plug-in kind, for messages ("network filter"). */
  readonly kind: string;
  /** Throws `SkiffError(E_REGISTRY)` if the name is taken: registries never silently overwrite. */
  register(factory: T): void;
  get(name: string): T | undefined;
  has(name: string): boolean;
  names(): readonly string[];
}

export interface Registries {
  readonly codecs: Registry<ProtocolCodecFactory>;
  /** Multiplexed RPC codecs by MOSN protocol name (`bolt`, `boltv2`, `dubbo`, private ones). */
  readonly xprotocolCodecs: Registry<XProtocolCodec>;
  readonly listenerFilters: Registry<ListenerFilterFactory>;
  readonly networkFilters: Registry<NetworkFilterFactory>;
  readonly streamFilters: Registry<StreamFilterFactory>;
  readonly lbPolicies: Registry<LoadBalancerFactory>;
  readonly clusterTypes: Registry<ClusterTypeFactory>;
}

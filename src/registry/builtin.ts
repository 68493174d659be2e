/**
 * Registry layer: THE list of built-in plug-ins. Adding a plug-in = one folder under
 * src/extensions/<kind>/<name>/ and one line here. Order does not matter; duplicates throw.
 */
import type { Registries } from '../api/registry.js';
import { ConnectionManagerFilterFactory } from '../extensions/network-filters/connection-manager/factory.js';
import { createProxyFilterFactory } from '../proxy/proxy-filter.js';
import { TcpProxyFilterFactory } from '../extensions/network-filters/tcp-proxy/factory.js';
import { RandomLoadBalancerFactory } from '../extensions/lb-policies/random/random.js';
import { RoundRobinLoadBalancerFactory } from '../extensions/lb-policies/round-robin/round-robin.js';
import { WeightedRoundRobinLoadBalancerFactory } from '../extensions/lb-policies/weighted-round-robin/weighted-round-robin.js';
import { LeastRequestLoadBalancerFactory } from '../extensions/lb-policies/least-request/least-request.js';
import { SimpleClusterTypeFactory } from '../extensions/cluster-types/simple/simple.js';
import { StrictDnsClusterTypeFactory } from '../extensions/cluster-types/strict-dns/strict-dns.js';
import { BoltCodec, BoltV2Codec } from '../extensions/codecs/bolt/bolt.js';
import { DubboCodec } from '../extensions/codecs/dubbo/dubbo.js';
import { TranscoderFilterFactory } from '../extensions/stream-filters/transcoder/transcoder.js';

export function registerBuiltins(r: Registries): void {
  // XProtocol codecs first: the proxy filter serves the registered ones.
  r.xprotocolCodecs.register(BoltCodec);
  r.xprotocolCodecs.register(BoltV2Codec);
  r.xprotocolCodecs.register(DubboCodec);
  r.networkFilters.register(createProxyFilterFactory(r.xprotocolCodecs));
  r.streamFilters.register(TranscoderFilterFactory);
  r.networkFilters.register(TcpProxyFilterFactory);
  r.networkFilters.register(ConnectionManagerFilterFactory);
  r.lbPolicies.register(RandomLoadBalancerFactory);
  r.lbPolicies.register(RoundRobinLoadBalancerFactory);
  r.lbPolicies.register(WeightedRoundRobinLoadBalancerFactory);
  r.lbPolicies.register(LeastRequestLoadBalancerFactory);
  r.clusterTypes.register(SimpleClusterTypeFactory);
  r.clusterTypes.register(StrictDnsClusterTypeFactory);
}

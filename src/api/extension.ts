/**
 * API layer (plug-in SDK): the factory contract every plug-in kind shares, and the factory types
 * for network, listener and stream filters. A factory pairs `parseConfig` (run once at load time,
 * errors name the JSON path) with `create` (returns a pre-bound per-connection creator), as Envoy's
 * filter configs and hono's middleware factories do. See docs/extensions.md.
 */
import type { FilterConfig, ListenerConfig } from './config.js';
import type { Connection, ListenerFilter, ReadFilter, WriteFilter } from './network.js';
import type { AccessLogSink, Logger, Stats } from './observability.js';
import type { ClusterManager } from './upstream.js';
import type { StreamFilterChainBuilder } from './stream.js';

/** Given to `parseConfig`. Throw `ConfigError` (src/base/errors) with `path`-prefixed paths on error. */
export interface ParseContext {
  /** JSON path of this filter's `config` object, e.g. `servers[0].listeners[0].filter_chains[0].filters[0].config`. */
  readonly path: string;
  /** Directory of the config file: relative paths in config resolve against it. */
  readonly baseDir: string;
  /** A non-fatal problem (an unknown key, an ignored MOSN field). `--strict` turns these into errors. */
  warn(path: string, message: string): void;
  /** Informational: a key MOSN accepts but ignores (or Skiff ignores), so the user knows it has no effect. */
  note(path: string, message: string): void;
}

export interface ExtensionFactory<C = unknown> {
  /** The `type` string in config. */
  readonly name: string;
  /** Validate and normalise the raw JSON `config` once; the result must be immutable. */
  parseConfig(raw: unknown, ctx: ParseContext): C;
}

/**
 * The named router configurations (MOSN `servers[].routers`, plus legacy `connection_manager` ones) as
 * they are now. A config update replaces the objects, so a consumer may cache work keyed by identity.
 */
export interface RouterConfigSource {
  get(name: string): import('./config.js').RouterConfig | undefined;
}

/** What a filter factory's `create` is given: live services, resolved for one listener. */
export interface FactoryContext {
  /** Router configurations by name (the L7 proxy reads `router_config_name` here per request). */
  readonly routers: RouterConfigSource;
  readonly listener: ListenerConfig;
  readonly clusterManager: ClusterManager;
  readonly logger: Logger;
  readonly stats: Stats;
  readonly accessLog: AccessLogSink;
  /** The listener's `stream_filters`, resolved to creators (run by the L7 proxy on every request). */
  readonly streamFilterCreators: readonly StreamFilterCreator[];
}

/** Installs filters on a new connection (adds read/write filters through the connection). */
export type NetworkFilterCreator = (connection: Connection) => void;

export interface NetworkFilterFactory<C = unknown> extends ExtensionFactory<C> {
  readonly kind: 'network_filter';
  /** Called when a listener (or its update) is applied; the creator runs once per connection. */
  create(config: C, ctx: FactoryContext): NetworkFilterCreator;
}

export interface ListenerFilterFactory<C = unknown> extends ExtensionFactory<C> {
  readonly kind: 'listener_filter';
  create(config: C, ctx: FactoryContext): () => ListenerFilter;
}

/** Installs stream filters on a new stream (request); used by the L7 proxy. */
export type StreamFilterCreator = (chain: StreamFilterChainBuilder) => void;

export interface StreamFilterFactory<C = unknown> extends ExtensionFactory<C> {
  readonly kind: 'stream_filter';
  create(config: C, ctx: FactoryContext): StreamFilterCreator;
}

/** What a `skiff_module` file must default-export: one factory of a loadable kind. */
export type LoadableFactory = NetworkFilterFactory | StreamFilterFactory | ListenerFilterFactory;

/** Re-exported for plug-ins that only want the two filter interfaces. */
export type { ReadFilter, WriteFilter, FilterConfig };

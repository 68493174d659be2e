/**
 * Proxy layer: what every stream of one listener's `proxy` filter shares, built once per listener
 * apply by the filter factory (config, limits, services, stats), so a stream holds one reference.
 */
import type { XProtocolCodec } from '../api/xprotocol.js';
import type { RouterConfigSource, StreamFilterCreator } from '../api/extension.js';
import type { AccessLogSink, Counter, Gauge, Logger } from '../api/observability.js';
import type { ClusterManager } from '../api/upstream.js';
import type { Http1Limits } from '../protocol/http1/http1-limits.js';
import type { ProxyConfig } from './proxy-config.js';
import type { StreamDeadlines } from './stream-deadlines.js';

export interface ProxyStats {
  readonly requestTotal: Counter;
  readonly requestActive: Gauge;
  readonly localReplies: Counter;
}

export interface ProxyShared {
  readonly config: ProxyConfig;
  readonly upstreamLimits: Http1Limits;
  readonly routers: RouterConfigSource;
  readonly clusterManager: ClusterManager;
  readonly logger: Logger;
  readonly accessLog: AccessLogSink;
  readonly listenerName: string;
  readonly streamFilterCreators: readonly StreamFilterCreator[];
  readonly stats: ProxyStats;
  /** The coarse clock every stream's route and idle deadlines run on. */
  readonly deadlines: StreamDeadlines;
  /** A stream finished (stats). */
  onStreamDone(stream: unknown): void;
  /** XProtocol codecs by name: conversion targets (transcoder, route upstream_protocol "bolt"). */
  readonly xprotocolCodecs?: { get(name: string): XProtocolCodec | undefined };
}

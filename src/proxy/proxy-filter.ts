/**
 * Proxy layer: the `proxy` network filter (MOSN pkg/filter/network/proxy), the terminal filter that
 * starts the L7 path. `parseConfig` runs at load (src/proxy/proxy-config.ts); `create` builds the
 * listener's shared state once and returns the per-connection creator, which installs the HTTP/1
 * server codec (src/stream/http1) as the connection's read filter. Each request head becomes an
 * `ActiveStream` (src/proxy/downstream) that routes and forwards it.
 *
 * With `fallback_for_unknown_protocol`, the first bytes are checked for an HTTP/1 request line first:
 * anything else goes on to the next network filter (e.g. `tcp_proxy`), as MOSN does.
 */
import type { FactoryContext, NetworkFilterCreator, NetworkFilterFactory, ParseContext } from '../api/extension.js';
import type { Connection, ReadFilter, ReadFilterCallbacks } from '../api/network.js';
import { FilterStatus } from '../api/network.js';
import { DetectResult } from '../api/protocol.js';
import { http1LimitsFromMosn } from '../protocol/http1/http1-limits.js';
import type { Http1Head } from '../protocol/http1/http1-types.js';
import { detectHttp1 } from '../protocol/http1/detect-http1.js';
import { Http1ServerConnection, type Http1ServerOptions, type Http1ServerOwner, type Http1ServerStream, type ServerStreamEvents } from '../stream/http1/http1-server-connection.js';
import { ActiveStream } from './downstream/active-stream.js';
import { parseProxyConfig, type ProxyConfig } from './proxy-config.js';
import type { ProxyShared } from './proxy-shared.js';
import { StreamDeadlines } from './stream-deadlines.js';

/** One per listener apply: creates a stream for every request head on every connection. */
class ProxyStreamOwner implements Http1ServerOwner {
  readonly #shared: ProxyShared;
  constructor(shared: ProxyShared) { this.#shared = shared; }

  newStream(stream: Http1ServerStream, head: Http1Head): ServerStreamEvents {
    const shared = this.#shared;
    shared.stats.requestTotal.inc();
    shared.stats.requestActive.inc();
    const s = new ActiveStream(shared, stream, head);
    stream.events = s;
    s.start();
    return s;
  }
}

/**
 * Detection stage used only with `fallback_for_unknown_protocol`: HTTP/1, or hand the bytes on to the
 * next network filter (e.g. `tcp_proxy`). Bytes held while undecided are passed on in one piece.
 */
class DetectingFilter implements ReadFilter {
  readonly #server: Http1ServerConnection;
  #callbacks: ReadFilterCallbacks | undefined;
  #decided = 0; // 0 = undecided, 1 = HTTP/1, 2 = fallback
  #held: Buffer | null = null;

  constructor(server: Http1ServerConnection) { this.#server = server; }

  initializeReadFilterCallbacks(cb: ReadFilterCallbacks): void { this.#callbacks = cb; }

  /** The filters after this one (e.g. tcp_proxy, which connects upstream at once) start only on a fallback. */
  onNewConnection(): FilterStatus { return FilterStatus.Stop; }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    if (this.#decided === 1) return this.#server.onData(data, endStream);
    if (this.#decided === 2) return FilterStatus.Continue;
    const buf = this.#held === null ? data : Buffer.concat([this.#held, data]);
    const r = detectHttp1(buf);
    if (r === DetectResult.NeedMoreData && !endStream) { this.#held = buf; return FilterStatus.Stop; }
    this.#held = null;
    if (r === DetectResult.Matched) { this.#decided = 1; return this.#server.onData(buf, endStream); }
    this.#decided = 2;
    this.#callbacks?.continueReading();
    this.#callbacks?.injectReadDataToFilterChain(buf, endStream);
    return FilterStatus.Stop;
  }
}

export const ProxyFilterFactory: NetworkFilterFactory<ProxyConfig> = {
  kind: 'network_filter',
  name: 'proxy',
  parseConfig(raw: unknown, ctx: ParseContext): ProxyConfig {
    return parseProxyConfig(raw, ctx);
  },
  create(config: ProxyConfig, ctx: FactoryContext): NetworkFilterCreator {
    const h = config.http1;
    const downstreamLimits = http1LimitsFromMosn(h.maxHeaderBytes > 0 ? { max_header_size: h.maxHeaderBytes } : undefined,
      { maxHeaderCount: h.maxHeaderCount, underscores: h.underscores });
    const upstreamLimits = http1LimitsFromMosn(undefined, { underscores: 'allow' });
    const scope = ctx.stats.scope('downstream', { listener: ctx.listener.name });
    const requestActive = scope.gauge('request_active');
    const shared: ProxyShared = {
      config,
      downstreamLimits,
      upstreamLimits,
      routers: ctx.routers,
      clusterManager: ctx.clusterManager,
      logger: ctx.logger,
      accessLog: ctx.accessLog,
      listenerName: ctx.listener.name,
      streamFilterCreators: ctx.streamFilterCreators,
      stats: { requestTotal: scope.counter('request_total'), requestActive, localReplies: scope.counter('request_local_reply') },
      deadlines: new StreamDeadlines(),
      onStreamDone(): void { requestActive.dec(); },
    };
    const owner = new ProxyStreamOwner(shared);
    const options: Http1ServerOptions = { limits: downstreamLimits, requestHeadersTimeoutMs: h.requestHeadersTimeoutMs };
    if (config.fallbackForUnknownProtocol) {
      return (connection: Connection) => {
        const server = new Http1ServerConnection(connection, owner, options);
        connection.addReadFilter(new DetectingFilter(server));
      };
    }
    return (connection: Connection) => {
      connection.addReadFilter(new Http1ServerConnection(connection, owner, options));
    };
  },
};

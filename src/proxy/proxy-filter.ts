/**
 * Proxy layer: the `proxy` network filter (MOSN pkg/filter/network/proxy), the terminal filter that
 * starts the L7 path. `parseConfig` runs at load (src/proxy/proxy-config.ts); `create` builds the
 * listener's shared state once and returns the per-connection creator, which installs the codec of
 * the connection's protocol as its read filter:
 *
 *   Http1       → Http1ServerConnection (src/stream/http1) → ActiveStream per request (src/proxy/downstream)
 *   XProtocol   → XServerConnection (src/stream/xprotocol) → XActiveStream per frame (src/proxy/xprotocol)
 *
 * One configured protocol: installed at once. Several ("Auto", "Http1,bolt") or
 * `fallback_for_unknown_protocol`: the first bytes pick the protocol (DetectingFilter); with the
 * fallback, unknown bytes go to the next network filter (e.g. `tcp_proxy`), as MOSN does.
 */
import type { FactoryContext, NetworkFilterCreator, NetworkFilterFactory, ParseContext } from '../api/extension.js';
import type { Connection, HandoffState, ReadFilter, ReadFilterCallbacks } from '../api/network.js';
import type { Registry } from '../api/registry.js';
import type { XFrame, XProtocolCodec } from '../api/xprotocol.js';
import { XServerConnection, type XServerOwner } from '../stream/xprotocol/x-server-connection.js';
import { XActiveStream, type XStreamOwner } from './xprotocol/x-active-stream.js';
import { ConnectionEvent, FilterStatus } from '../api/network.js';
import { DetectResult } from '../api/protocol.js';
import { http1LimitsFromMosn } from '../protocol/http1/http1-limits.js';
import type { Http1Head } from '../protocol/http1/http1-types.js';
import { detectHttp1 } from '../protocol/http1/detect-http1.js';
import { Http1ServerConnection, type Http1ServerOptions, type Http1ServerOwner } from '../stream/http1/http1-server-connection.js';
import type { DownstreamStream, ServerStreamEvents } from '../stream/downstream-stream.js';
import { Http2ServerEngine } from '../stream/http2/http2-server-connection.js';
import { ActiveStream } from './downstream/active-stream.js';
import { parseProxyConfig, type ProxyConfig } from './proxy-config.js';
import type { ProxyShared } from './proxy-shared.js';
import { StreamDeadlines } from './stream-deadlines.js';

/** One per listener apply: creates a stream for every request head on every connection. */
class ProxyStreamOwner implements Http1ServerOwner {
  readonly #shared: ProxyShared;
  constructor(shared: ProxyShared) { this.#shared = shared; }

  newStream(stream: DownstreamStream, head: Http1Head): ServerStreamEvents {
    const shared = this.#shared;
    shared.stats.requestTotal.inc();
    shared.stats.requestActive.inc();
    const s = new ActiveStream(shared, stream, head);
    stream.events = s;
    s.start();
    return s;
  }
}

/** XProtocol streams of one downstream connection (abandoned when the client goes away). */
class XConnectionOwner implements XServerOwner, XStreamOwner {
  readonly #shared: ProxyShared;
  readonly #streams = new Set<XActiveStream>();
  constructor(shared: ProxyShared) { this.#shared = shared; }

  onRequest(conn: XServerConnection, frame: XFrame): void {
    const shared = this.#shared;
    shared.stats.requestTotal.inc();
    shared.stats.requestActive.inc();
    const s = new XActiveStream(shared, conn, frame, this);
    this.#streams.add(s);
    s.start();
  }

  streamDone(s: XActiveStream): void { this.#streams.delete(s); }

  onClose(_conn: XServerConnection, reason: string): void {
    // A connection handed to a new process has nothing in flight but oneways, which finish upstream.
    if (reason === 'handed_over') return;
    for (const s of [...this.#streams]) s.abandon();
  }
}

/** One candidate protocol of a listener: how to recognise it and what to install for it. */
interface Candidate {
  /** The protocol's config name (`Http1`, `Http2`, `bolt`…): a connection handed over in a hot upgrade names it. */
  readonly name: string;
  /** The ALPN protocol id that selects it without looking at bytes (`http/1.1`; `h2` once HTTP/2 is served). */
  readonly alpn?: string;
  detect(head: Buffer): DetectResult;
  install(connection: Connection): ReadFilter;
}

/**
 * Protocol detection (MOSN "Auto" and comma lists, and `fallback_for_unknown_protocol`): the first
 * bytes are offered to every candidate; the first that matches gets the connection. While one still
 * needs more bytes, the bytes are held (a stall is ended by the listener's idle timeout). Nothing
 * matching: the next network filter (e.g. `tcp_proxy`) takes over with every byte held, or the
 * connection is closed. Bytes that leave the protocol unknown for `detectTimeoutMs` (a stall after
 * the first byte, or no byte at all) end the same way: fallback with what was held, or close.
 */
class DetectingFilter implements ReadFilter {
  readonly #candidates: readonly Candidate[];
  readonly #fallback: boolean;
  #callbacks: ReadFilterCallbacks | undefined;
  #chosen: ReadFilter | null = null;
  #fellBack = false;
  #held: Buffer | null = null;
  #timer: NodeJS.Timeout | undefined;
  readonly #timeoutMs: number;

  constructor(candidates: readonly Candidate[], fallback: boolean, timeoutMs: number) {
    this.#candidates = candidates;
    this.#fallback = fallback;
    this.#timeoutMs = timeoutMs;
  }

  initializeReadFilterCallbacks(cb: ReadFilterCallbacks): void {
    this.#callbacks = cb;
    if (this.#timeoutMs > 0) {
      this.#timer = setTimeout(() => this.#onTimeout(), this.#timeoutMs);
      this.#timer.unref();
      cb.connection.addConnectionCallbacks({ onEvent: (e) => { if (e !== ConnectionEvent.Connected) this.#clearTimer(); } });
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) { clearTimeout(this.#timer); this.#timer = undefined; }
  }

  #onTimeout(): void {
    this.#timer = undefined;
    if (this.#chosen !== null || this.#fellBack) return;
    const held = this.#held ?? Buffer.alloc(0);
    this.#held = null;
    this.#noProtocol(held, false, 'protocol_detect_timeout');
  }

  #noProtocol(buf: Buffer, endStream: boolean, reason: string): void {
    this.#clearTimer();
    if (!this.#fallback) {
      this.#callbacks?.connection.close('now', reason);
      return;
    }
    // With the fallback, a silent client may speak a server-first protocol: tcp_proxy takes it too.
    this.#fellBack = true;
    this.#callbacks?.continueReading();
    if (buf.length > 0 || endStream) this.#callbacks?.injectReadDataToFilterChain(buf, endStream);
  }

  /** The filters after this one (e.g. tcp_proxy, which connects upstream at once) start only on a fallback. */
  onNewConnection(): FilterStatus {
    // A connection handed over by another process: its protocol was detected there.
    const cb = this.#callbacks;
    const adopted = cb?.connection.adoptedProtocol ?? '';
    if (adopted !== '' && cb !== undefined) {
      const c = this.#candidates.find((x) => x.name === adopted);
      if (c !== undefined) {
        this.#clearTimer();
        this.#chosen = c.install(cb.connection);
      }
    }
    return this.#fallback ? FilterStatus.Stop : FilterStatus.Continue;
  }

  prepareHandoff(ready: (state: HandoffState | null) => void): void {
    const chosen = this.#chosen;
    if (chosen !== null) {
      if (chosen.prepareHandoff !== undefined) chosen.prepareHandoff(ready);
      else ready(null);
      return;
    }
    if (this.#fellBack) { ready(null); return; }
    // Not detected yet: the bytes held so far move, and the new process detects.
    this.#clearTimer();
    const held = this.#held ?? Buffer.alloc(0);
    this.#held = null;
    ready({ unread: held, protocol: '' });
  }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    const chosen = this.#chosen;
    if (chosen !== null) return chosen.onData(data, endStream);
    if (this.#fellBack) return FilterStatus.Continue;
    const buf = this.#held === null ? data : Buffer.concat([this.#held, data]);
    // A TLS client that negotiated ALPN has said which protocol it speaks.
    const alpn = this.#callbacks?.connection.tls?.alpn;
    if (alpn !== undefined && alpn !== '') {
      const byAlpn = this.#candidates.find((c) => c.alpn === alpn);
      if (byAlpn !== undefined && this.#callbacks !== undefined) {
        this.#held = null;
        this.#clearTimer();
        this.#chosen = byAlpn.install(this.#callbacks.connection);
        return this.#chosen.onData(buf, endStream);
      }
    }
    let needMore = false;
    for (const c of this.#candidates) {
      const r = c.detect(buf);
      if (r === DetectResult.Matched) {
        this.#held = null;
        this.#clearTimer();
        const cb = this.#callbacks;
        if (cb === undefined) return FilterStatus.Stop;
        this.#chosen = c.install(cb.connection);
        return this.#chosen.onData(buf, endStream);
      }
      if (r === DetectResult.NeedMoreData) needMore = true;
    }
    if (needMore && !endStream) { this.#held = buf; return FilterStatus.Stop; }
    this.#held = null;
    this.#noProtocol(buf, endStream, 'unknown_protocol');
    return FilterStatus.Stop;
  }
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** The HTTP/2 client connection preface (RFC 9113 §3.4); a prefix of it waits for more bytes. */
export function detectHttp2Preface(head: Buffer): DetectResult {
  const n = Math.min(head.length, H2_PREFACE.length);
  if (n === 0) return DetectResult.NeedMoreData;
  for (let i = 0; i < n; i++) if (head[i] !== H2_PREFACE[i]) return DetectResult.NoMatch;
  return n === H2_PREFACE.length ? DetectResult.Matched : DetectResult.NeedMoreData;
}

/** Builds the `proxy` network filter factory; `xcodecs` are the XProtocol codecs it may serve. */
export function createProxyFilterFactory(xcodecs: Registry<XProtocolCodec>): NetworkFilterFactory<ProxyConfig> {
  return {
    kind: 'network_filter',
    name: 'proxy',
    parseConfig(raw: unknown, ctx: ParseContext): ProxyConfig {
      return parseProxyConfig(raw, ctx, xcodecs.names());
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
        xprotocolCodecs: xcodecs,
      };
      const owner = new ProxyStreamOwner(shared);
      const options: Http1ServerOptions = { limits: downstreamLimits, requestHeadersTimeoutMs: h.requestHeadersTimeoutMs };
      const candidates: Candidate[] = [];
      for (const name of config.downstreamProtocols) {
        if (name === 'Http1') {
          candidates.push({ name, alpn: 'http/1.1', detect: detectHttp1, install: (c) => new Http1ServerConnection(c, owner, options) });
          continue;
        }
        if (name === 'Http2') {
          const engine = new Http2ServerEngine(owner, {
            maxConcurrentStreams: config.http2.maxConcurrentStreams,
            maxHeaderListSize: config.http2.maxHeaderListSize,
            // The listener's connection_idle_timeout, applied by the session once it owns the socket.
            idleTimeoutMs: ctx.listener.connectionIdleTimeoutMs,
          });
          candidates.push({ name, alpn: 'h2', detect: detectHttp2Preface, install: (c) => engine.serve(c, Buffer.alloc(0)) });
          continue;
        }
        const codec = xcodecs.get(name);
        if (codec === undefined) continue; // validated at parse time; a codec unregistered since is skipped
        const xo = config.xprotocol[name];
        const xoptions = { limits: { maxFrameBytes: xo !== undefined && xo.maxFrameBytes > 0 ? xo.maxFrameBytes : codec.defaultMaxFrameBytes }, goAwayOnDrain: xo?.goAwayOnDrain ?? false };
        candidates.push({ name, detect: (b) => codec.detect(b), install: (c) => new XServerConnection(c, codec, xoptions, new XConnectionOwner(shared)) });
      }
      // The HTTP/2 preface starts like an HTTP/1 request line ("PRI * HTTP/2.0"): it is tried first.
      candidates.sort((a, b) => (a.alpn === 'h2' ? 0 : 1) - (b.alpn === 'h2' ? 0 : 1));
      if (candidates.length === 1 && !config.fallbackForUnknownProtocol) {
        // One protocol, no detection: the codec is the connection's read filter straight away.
        const only = candidates[0]!;
        return (connection: Connection) => connection.addReadFilter(only.install(connection));
      }
      const detectTimeoutMs = config.detectTimeoutMs;
      return (connection: Connection) => connection.addReadFilter(new DetectingFilter(candidates, config.fallbackForUnknownProtocol, detectTimeoutMs));
    },
  };
}

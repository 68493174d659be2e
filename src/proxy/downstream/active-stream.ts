/**
 * Proxy layer: one downstream HTTP/1 request and its explicit, re-entrant phase machine (MOSN
 * pkg/proxy/downstream.go, Envoy's router filter):
 *
 *   BeforeRoute filters ─▶ Route ─▶ AfterRoute filters ─▶ ChooseHost ─▶ AfterChooseHost filters
 *     ─▶ Upstream (pool acquire, send head + body) ─▶ Wait ─▶ send filters ─▶ Respond ─▶ Done
 *
 * `#run()` advances `#phase` until a phase has to wait (a filter returned Stop, the pool has no
 * connection yet, the response has not come); whatever resumes it (a filter's `continue()`, the pool,
 * the upstream codec, a timer) calls `#run()` again. A retry re-enters at ChooseHost; a local reply
 * jumps to Done. Everything after the reply (access log, stats, host counters) happens once, in
 * `#finish()`. Bodies stream both ways with backpressure (readDisable on the side that produces).
 */
import type { Connection } from '../../api/network.js';
import type { Host, ClusterSnapshot, LoadBalancerContext } from '../../api/upstream.js';
import type { StreamFilterHandler } from '../../api/stream.js';
import { StreamFilterPhase } from '../../api/stream.js';
import { FlatHeaders } from '../../protocol/headers/flat-headers.js';
import { CHUNK_END, encodeChunkHeader, encodeLastChunk } from '../../protocol/http1/http1-encoder.js';
import { stripHopByHop } from '../../protocol/http1/hop-by-hop.js';
import { normalizePath } from '../../protocol/http1/normalize-path.js';
import { httpDate } from '../../protocol/http1/http-date.js';
import { strEqualsLower } from '../../protocol/http1/http1-chars.js';
import { BodyFraming, TargetForm, type Http1Head } from '../../protocol/http1/http1-types.js';
import type { DownstreamStream, ServerStreamEvents } from '../../stream/downstream-stream.js';
import { Http1ClientConnection, type ClientStreamEvents } from '../../stream/http1/http1-client-connection.js';
import type { RouteMatch } from '../../router/compiled-route.js';
import type { RouteRequest } from '../../router/route-request.js';
import type { PendingRequest, PoolCallbacks, PoolFailureReason, PooledConnection, Http1ConnectionPool } from '../../upstream/conn-pool/http1-connection-pool.js';
import { parseKeepAliveTimeoutMs } from '../../upstream/conn-pool/keep-alive-timeout.js';
import { isIdempotentMethod, isRetryableOnReused } from '../../upstream/conn-pool/retry-on-reused.js';
import { http1PoolFor } from '../pool-registry.js';
import { routeTableFor } from '../route-tables.js';
import { ResponseFlag, localReplyBody } from '../local-reply.js';
import type { ProxyShared } from '../proxy-shared.js';
import { streamVariable } from './stream-variables.js';
import { ChainResult, StreamFilterChain, type FilterChainOwner } from './stream-filter-chain.js';
import { buildUpstreamHead, upgradeAllowed, upstreamRequestParts, UPGRADE_KEEP, type UpstreamHeadInput } from './upstream-head.js';
import { h2RequestHeaders, Http2UpstreamRequest, type H2UpstreamEvents } from './h2-upstream.js';
import { http2PoolFor } from '../../upstream/conn-pool/http2-session-pool.js';
import { XFrameKind, type XFrame, type XProtocolCodec } from '../../api/xprotocol.js';
import type { XClientConnection, XResponseHandler } from '../../stream/xprotocol/x-client-connection.js';
import { convertedResponse, sendConverted } from './x-conversion.js';
import type { DeadlineClient } from '../stream-deadlines.js';

const Phase = {
  BeforeRoute: 0, Route: 1, AfterRoute: 2, ChooseHost: 3, AfterChooseHost: 4, Upstream: 5, Wait: 6, Done: 7,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** Request bytes held while no upstream connection is ready yet, before reading pauses. */
const BUFFER_BEFORE_UPSTREAM_BYTES = 64 * 1024;

let nextStreamId = 1;

export class ActiveStream implements ServerStreamEvents, ClientStreamEvents, H2UpstreamEvents, PoolCallbacks, RouteRequest, StreamFilterHandler, DeadlineClient, FilterChainOwner, UpstreamHeadInput {
  readonly id = nextStreamId++;
  readonly startMs = Date.now();
  readonly #shared: ProxyShared;
  readonly #ds: DownstreamStream;
  readonly head: Http1Head;
  readonly headers: FlatHeaders;
  #phase: Phase = Phase.BeforeRoute;
  #running = false;
  #stopped = false;
  // request view
  host: string;
  path: string;
  method: string;
  #query: string;
  #rawPath: string;
  // routing
  #route: RouteMatch | undefined;
  #clusterName = '';
  #snapshot: ClusterSnapshot | undefined;
  #upstreamHost: Host | undefined;
  #lbContext: LoadBalancerContext | undefined;
  #tunnel = false;
  // upstream
  #pool: Http1ConnectionPool | undefined;
  #pending: PendingRequest | undefined;
  #handle: PooledConnection | undefined;
  #client: Http1ClientConnection | undefined;
  /** The request's HTTP/2 upstream stream (route upstream protocol Http2). */
  #h2: Http2UpstreamRequest | undefined;
  #upstreamHead: Buffer | undefined;
  #retried = false;
  #hostCounted = false;
  // request body
  #bodyQueue: Buffer[] | null = null;
  #bodyQueued = 0;
  #bodyBytes = 0;
  #requestEnded = false;
  #requestTrailers: string[] | undefined;
  #dsReadDisabled = false;
  #usReadDisabled = false;
  // response
  #responseFlag = '';
  #responseStarted = false;
  #keepAliveTimeoutMs: number | undefined;
  /** Absolute route deadline (ms), 0 = none; ignored once the response head went out. */
  #deadlineAt = 0;
  #lastActivityMs = 0;
  #finished = false;
  #variables: Map<string, string> | undefined;
  #filters: StreamFilterChain | undefined;

  constructor(shared: ProxyShared, ds: DownstreamStream, head: Http1Head) {
    this.#shared = shared;
    this.#ds = ds;
    this.head = head;
    this.headers = new FlatHeaders(head.headers);
    this.method = head.method;
    this.host = head.targetForm === TargetForm.Absolute ? head.authority : head.host;
    const target = head.path;
    const q = target.indexOf('?');
    this.#rawPath = q < 0 ? target : target.slice(0, q);
    this.#query = q < 0 ? '' : target.slice(q + 1);
    this.path = this.#rawPath;
    this.#requestEnded = head.framing === BodyFraming.None;
    if (shared.streamFilterCreators.length > 0) this.#filters = StreamFilterChain.build(shared.streamFilterCreators, this);
  }

  /** Starts the phase machine (called once the stream is wired to the server connection). */
  start(): void {
    const h = this.head;
    const opts = this.#shared.config.http1;
    if (h.method === 'CONNECT' || h.targetForm === TargetForm.Authority) {
      this.#localReply(405, ResponseFlag.None, 'CONNECT is not supported', true);
      return;
    }
    if (h.targetForm === TargetForm.Asterisk) {
      this.#localReply(400, ResponseFlag.None, 'asterisk-form requests are not proxied', true);
      return;
    }
    if (opts.normalizePath) {
      const n = normalizePath(this.#rawPath, { mergeSlashes: opts.mergeSlashes });
      if (!n.ok) { this.#localReply(400, ResponseFlag.None, n.reason, true); return; }
      this.path = n.path;
    }
    if (opts.maxRequestBodyBytes > 0 && h.contentLength > opts.maxRequestBodyBytes) {
      this.#localReply(413, ResponseFlag.None, 'request body too large', true);
      return;
    }
    if (h.upgrade) this.#tunnel = upgradeAllowed(this.headers.get('upgrade'), opts.upgradeTypes);
    this.#lastActivityMs = this.startMs;
    this.#run();
    // Waiting for a filter, the pool or the upstream: make sure a deadline watches the wait.
    if (!this.#finished && !this.#deadlineRegistered) this.#schedule();
  }

  // ── the phase machine ─────────────────────────────────────────────────────────────────────────
  #run(): void {
    if (this.#running) return;
    this.#running = true;
    try {
      while (!this.#stopped && this.#phase !== Phase.Done) {
        switch (this.#phase) {
          case Phase.BeforeRoute:
            if (!this.#runReceivers(StreamFilterPhase.BeforeRoute)) return;
            this.#phase = Phase.Route;
            break;
          case Phase.Route:
            if (!this.#matchRoute()) return;
            this.#phase = Phase.AfterRoute;
            break;
          case Phase.AfterRoute:
            if (!this.#runReceivers(StreamFilterPhase.AfterRoute)) return;
            this.#phase = Phase.ChooseHost;
            break;
          case Phase.ChooseHost:
            if (!this.#chooseHost()) return;
            this.#phase = Phase.AfterChooseHost;
            break;
          case Phase.AfterChooseHost:
            if (!this.#runReceivers(StreamFilterPhase.AfterChooseHost)) return;
            this.#phase = Phase.Upstream;
            break;
          case Phase.Upstream:
            this.#phase = Phase.Wait;
            this.#startUpstream();
            return;
          case Phase.Wait:
            return;
        }
      }
    } finally {
      this.#running = false;
    }
  }

  #matchRoute(): boolean {
    const shared = this.#shared;
    const cfg = shared.routers.get(shared.config.routerConfigName);
    if (cfg === undefined) {
      this.#localReply(404, ResponseFlag.NoRouteFound, `router configuration "${shared.config.routerConfigName}" not found`);
      return false;
    }
    let route: RouteMatch | undefined;
    try {
      route = routeTableFor(cfg).match(this);
    } catch (err) {
      shared.logger.error({ err: (err as Error).message }, 'route table failed');
      this.#localReply(500, ResponseFlag.None, 'route table error');
      return false;
    }
    if (route === undefined) {
      this.#localReply(404, ResponseFlag.NoRouteFound, 'no route matched');
      return false;
    }
    this.#route = route;
    if (route.action === 'direct_response') {
      const d = route.directResponse!;
      this.#directReply(d.status, d.body, undefined);
      return false;
    }
    if (route.action === 'redirect') {
      const location = route.redirectLocation({ host: this.host, path: this.path, scheme: 'http', query: this.#query });
      this.#directReply(route.redirect?.responseCode ?? 301, '', location);
      return false;
    }
    return true;
  }

  #chooseHost(): boolean {
    const route = this.#route!;
    const choice = route.pickCluster(this);
    if (choice === undefined) {
      this.#localReply(503, ResponseFlag.NoClusterFound, 'no cluster for the route');
      return false;
    }
    this.#clusterName = choice.name;
    const snap = this.#shared.clusterManager.handle(choice.name).snapshot;
    if (snap === undefined) {
      this.#localReply(503, ResponseFlag.NoClusterFound, `cluster "${choice.name}" not found`);
      return false;
    }
    this.#snapshot = snap;
    const host = snap.hostSet.healthyHosts.length === 0 ? undefined : snap.lb.chooseHost(this.#lbContext);
    if (host === undefined) {
      this.#localReply(503, ResponseFlag.NoHealthyUpstream, 'no healthy upstream');
      return false;
    }
    this.#upstreamHost = host;
    return true;
  }

  // ── upstream request ──────────────────────────────────────────────────────────────────────────
  /**
   * MOSN: the `upstream_protocol` variable (set by a stream filter such as the transcoder), else the
   * route's `upstream_protocol`, else the downstream's protocol.
   */
  #upstreamProtocol(): string {
    const v = this.#variables?.get('upstream_protocol');
    if (v !== undefined && v !== '') return v;
    const p = this.#route?.upstreamProtocol ?? '';
    if (p !== '') return p;
    return this.#ds.protocol === 'HTTP/2' ? 'Http2' : 'Http1';
  }

  #upstreamIsHttp2(): boolean { return this.#upstreamProtocol() === 'Http2'; }

  // ── conversion to an RPC protocol (MOSN transcoder http2bolt) ─────────────────────────────────
  #xCodec: XProtocolCodec | undefined;
  #xClient: XClientConnection | undefined;
  #xId = -1;

  /** The request is whole (RPC frames carry whole bodies): encode it and send it as one frame. */
  #startXUpstream(codec: XProtocolCodec): void {
    this.#xCodec = codec;
    if (!this.#requestEnded) {
      // onEnd sends it; the body is read to its end (it may have been paused while no upstream was chosen).
      if (this.#dsReadDisabled) { this.#dsReadDisabled = false; this.#ds.readDisable(false); }
      return;
    }
    const q = this.#bodyQueue;
    this.#bodyQueue = null;
    this.#bodyQueued = 0;
    const content = q === null ? Buffer.alloc(0) : q.length === 1 ? q[0]! : Buffer.concat(q);
    const host = this.#upstreamHost!;
    if (!this.#hostCounted) { this.#hostCounted = true; host.activeRequests++; }
    const timeoutMs = this.#deadlineAt > 0 ? Math.max(1, this.#deadlineAt - Date.now()) : 0;
    const handler: XResponseHandler = { onResponse: (f) => this.#onXResponse(f), onReset: (r) => this.#onXReset(r) };
    const sent = sendConverted(codec, this.headers.list, content, timeoutMs, this.#shared.clusterManager, host, this.#snapshot!.config, handler);
    if (typeof sent === 'string') {
      const unusable = sent === 'upstream connection unusable';
      this.#localReply(unusable ? 503 : 500, unusable ? ResponseFlag.UpstreamConnectionFailure : ResponseFlag.None, sent);
      return;
    }
    this.#xClient = sent.client;
    this.#xId = sent.id;
  }

  /** MOSN http2bolt response (x-conversion.ts): header map → headers, 200/500, content → body. */
  #onXResponse(frame: XFrame): void {
    if (this.#stopped || frame.kind !== XFrameKind.Response) return;
    this.#xClient = undefined;
    this.#responseStarted = true;
    const { status, headers, body } = convertedResponse(this.#xCodec!, frame);
    this.#route?.applyResponseHeaders(headers, this);
    this.#runSenders(headers);
    const bodyless = this.head.method === 'HEAD';
    this.#ds.sendHeaders(status, '', headers.list, body.length, bodyless);
    if (!bodyless && body.length > 0) this.#ds.sendData(body);
    this.#ds.sendEnd();
    this.#finish();
  }

  #onXReset(reason: string): void {
    if (this.#stopped) return;
    this.#xClient = undefined;
    this.#localReply(503, ResponseFlag.UpstreamConnectionFailure, `upstream reset: ${reason}`);
  }

  #startUpstream(): void {
    const host = this.#upstreamHost!;
    const proto = this.#upstreamProtocol();
    if (proto !== 'Http1' && proto !== 'Http2') {
      const codec = this.#shared.xprotocolCodecs?.get(proto);
      if (codec === undefined || codec.encodeRequest === undefined) {
        this.#localReply(502, ResponseFlag.None, `upstream protocol "${proto}" cannot be converted to`);
        return;
      }
      this.#startXUpstream(codec);
      return;
    }
    if (!this.#tunnel && proto === 'Http2') {
      const parts = upstreamRequestParts(this, this.#route!, host, this.#shared.config.http1);
      const authority = parts.headers.get('host') ?? this.host;
      const headers = h2RequestHeaders(parts.method, parts.target, authority, 'http', parts.headers.list);
      if (!this.#hostCounted) { this.#hostCounted = true; host.activeRequests++; }
      const pool = http2PoolFor(this.#shared.clusterManager, host, this.#snapshot!.config);
      const noBody = this.#requestEnded && this.#bodyQueue === null && this.#requestTrailers === undefined;
      this.#h2 = new Http2UpstreamRequest(pool, headers, noBody, this);
      return;
    }
    if (this.#upstreamHead === undefined) this.#upstreamHead = buildUpstreamHead(this, this.#route!, host, this.#shared.config.http1);
    this.#pool = http1PoolFor(this.#shared.clusterManager, host, this.#snapshot!.config, this.#shared.logger);
    this.#pending = this.#pool.acquire(this, this.#retried ? RETRY_ACQUIRE : undefined);
  }

  onReady(handle: PooledConnection): void {
    this.#pending = undefined;
    if (this.#stopped) { this.#pool?.release(handle, { reusable: true }); return; }
    this.#handle = handle;
    let client = handle.attachment as Http1ClientConnection | undefined;
    if (client === undefined) {
      client = new Http1ClientConnection(handle.connection, this.#shared.upstreamLimits);
      handle.attachment = client;
    }
    this.#client = client;
    if (!this.#hostCounted) { this.#hostCounted = true; this.#upstreamHost!.activeRequests++; }
    client.begin(this, this.head.method, this.#tunnel);
    client.write(this.#upstreamHead!);
    this.#sendHeldBody();
  }

  /** H2UpstreamEvents: the stream exists; send what was held. */
  onH2Ready(): void {
    if (this.#stopped) return;
    this.#sendHeldBody();
  }

  /** The upstream request can take the body: what was held goes out, and reading the client resumes. */
  #sendHeldBody(): void {
    // Reading resumes now; writing the queued body may pause it again (upstream backpressure).
    if (this.#dsReadDisabled && !this.#tunnel) { this.#dsReadDisabled = false; this.#ds.readDisable(false); }
    const q = this.#bodyQueue;
    if (q !== null) {
      this.#bodyQueue = null;
      this.#bodyQueued = 0;
      for (const c of q) this.#writeBody(c);
    }
    if (this.#requestEnded) this.#writeEnd();
  }

  onFailure(reason: PoolFailureReason, detail: string): void {
    this.#pending = undefined;
    if (this.#stopped) return;
    if (reason === 'overflow') this.#localReply(503, ResponseFlag.UpstreamOverflow, `upstream connection pool overflow: ${detail}`);
    else this.#localReply(503, ResponseFlag.UpstreamConnectionFailure, `upstream connect error: ${detail}`);
  }

  #writeBody(chunk: Buffer): void {
    const h2 = this.#h2;
    if (h2 !== undefined) {
      if (!h2.write(chunk) && !this.#dsReadDisabled) { this.#dsReadDisabled = true; this.#ds.readDisable(true); }
      return;
    }
    const c = this.#client!;
    let ok: boolean;
    if (this.head.framing === BodyFraming.Chunked) {
      c.write(encodeChunkHeader(chunk.length));
      c.write(chunk);
      ok = c.write(CHUNK_END);
    } else {
      ok = c.write(chunk);
    }
    if (!ok && !this.#dsReadDisabled) { this.#dsReadDisabled = true; this.#ds.readDisable(true); }
  }

  #writeEnd(): void {
    if (this.#h2 !== undefined) { this.#h2.end(this.#requestTrailers); return; }
    if (this.head.framing === BodyFraming.Chunked) this.#client!.write(encodeLastChunk(this.#requestTrailers));
  }

  // ── ServerStreamEvents (the client side) ──────────────────────────────────────────────────────
  onBody(chunk: Buffer): void {
    if (this.#stopped) return;
    this.#bodyBytes += chunk.length;
    this.#lastActivityMs = Date.now();
    const max = this.#shared.config.http1.maxRequestBodyBytes;
    if (max > 0 && this.#bodyBytes > max) {
      this.#abortUpstream();
      this.#localReply(413, ResponseFlag.None, 'request body too large', true);
      return;
    }
    if (this.#client !== undefined || this.#h2?.ready === true) { this.#writeBody(chunk); return; }
    (this.#bodyQueue ??= []).push(Buffer.from(chunk)); // the parser's view is only valid during the call
    this.#bodyQueued += chunk.length;
    if (this.#xCodec !== undefined) {
      // Conversion to an RPC frame needs the whole body: read on, up to the protocol's frame size.
      if (this.#bodyQueued > this.#xCodec.defaultMaxFrameBytes) this.#localReply(413, ResponseFlag.None, 'request body too large for the upstream protocol', true);
      return;
    }
    if (this.#bodyQueued > BUFFER_BEFORE_UPSTREAM_BYTES && !this.#dsReadDisabled) {
      this.#dsReadDisabled = true;
      this.#ds.readDisable(true);
    }
  }

  onTrailers(trailers: string[]): void {
    this.#requestTrailers = trailers;
  }

  onEnd(): void {
    this.#requestEnded = true;
    if (this.#stopped) return;
    if (this.#xCodec !== undefined && this.#xClient === undefined && this.#xId < 0) { this.#startXUpstream(this.#xCodec); return; }
    if (this.#client !== undefined || this.#h2?.ready === true) this.#writeEnd();
  }

  /** Client bytes after the upgrade. */
  onTunnelData(chunk: Buffer, end: boolean): void {
    const c = this.#client;
    if (c === undefined) return;
    this.#lastActivityMs = Date.now();
    if (chunk.length > 0 && !c.write(chunk) && !this.#dsReadDisabled) { this.#dsReadDisabled = true; this.#ds.readDisable(true); }
    if (end) c.connection.endWrite();
  }

  /** Upstream bytes after the 101. */
  onUpstreamTunnelData(chunk: Buffer, end: boolean, closed: boolean): void {
    if (this.#finished) return;
    this.#lastActivityMs = Date.now();
    if (chunk.length > 0 && !this.#ds.tunnelWrite(chunk) && !this.#usReadDisabled) {
      this.#usReadDisabled = true;
      this.#client?.connection.readDisable(true);
    }
    if (closed) {
      this.#releaseBroken();
      this.#ds.connection.close('flush', 'upstream_closed');
      this.#finish();
    } else if (end) {
      this.#ds.tunnelEnd();
    }
  }

  onReset(reason: string): void {
    if (this.#finished) return;
    // The client went away: abandon the upstream exchange (its connection cannot be reused mid-way).
    if (this.#tunnel && this.#responseStarted) {
      this.#abortUpstream();
      this.#finish();
      return;
    }
    if (this.#responseFlag === '') this.#responseFlag = ResponseFlag.DownstreamConnectionTermination;
    this.#shared.logger.debug({ streamId: this.id, reason }, 'downstream reset');
    this.#abortUpstream();
    this.#finish();
  }

  /** The client drained: resume reading the upstream. */
  onWritable(): void {
    if (this.#usReadDisabled) { this.#usReadDisabled = false; this.#client?.connection.readDisable(false); this.#h2?.readDisable(false); }
  }

  /** The upstream drained: resume reading the client. */
  onUpstreamWritable(): void {
    if (this.#dsReadDisabled && (this.#client !== undefined || this.#h2 !== undefined)) { this.#dsReadDisabled = false; this.#ds.readDisable(false); }
  }

  // ── ClientStreamEvents (the upstream side) ────────────────────────────────────────────────────
  onResponseHeaders(uh: Http1Head): void {
    if (this.#stopped) return;
    this.#lastActivityMs = Date.now();
    const status = uh.statusCode;
    if (status < 200 && !uh.upgrade) {
      // Interim: 100 Continue, 103 Early Hints… relayed as they come.
      this.#ds.sendInterim(status, uh.reason, stripHopByHop(uh.headers));
      return;
    }
    this.#responseStarted = true;
    this.#keepAliveTimeoutMs = parseKeepAliveTimeoutMs(headerValue(uh.headers, 'keep-alive'));
    const upgrade = uh.upgrade && this.#tunnel;
    const list = stripHopByHop(uh.headers, upgrade ? UPGRADE_KEEP : undefined);
    const headers = new FlatHeaders(list);
    this.#route?.applyResponseHeaders(headers, this);
    this.#runSenders(headers);
    if (upgrade) {
      headers.add('Connection', 'Upgrade');
      this.#ds.sendHeaders(status, uh.reason, headers.list, 0, true, true);
      this.#ds.acceptUpgrade();
      return;
    }
    // An HTTP/2 response that ended with its headers (gRPC trailers-only) stays headers-only downstream.
    const bodyless = this.head.method === 'HEAD' || status === 204 || status === 304 || (uh.framing === BodyFraming.None && this.#ds.protocol === 'HTTP/2');
    const length = uh.framing === BodyFraming.Length ? uh.contentLength : uh.framing === BodyFraming.None ? 0 : -1;
    if (uh.framing === BodyFraming.None && !bodyless && !headers.has('content-length')) headers.add('content-length', '0');
    this.#ds.sendHeaders(status, uh.reason, headers.list, length, bodyless);
  }

  onResponseBody(chunk: Buffer): void {
    if (this.#stopped) return;
    this.#lastActivityMs = Date.now();
    if (!this.#ds.sendData(chunk) && !this.#usReadDisabled) {
      this.#usReadDisabled = true;
      this.#client?.connection.readDisable(true);
      this.#h2?.readDisable(true);
    }
  }

  onResponseTrailers(trailers: string[]): void {
    this.#responseTrailers = trailers;
  }
  #responseTrailers: string[] | undefined;

  onResponseEnd(reusable: boolean): void {
    if (this.#stopped) return;
    if (this.#h2 !== undefined) {
      this.#h2 = undefined;
      this.#ds.sendEnd(this.#responseTrailers);
      this.#finish();
      return;
    }
    const handle = this.#handle;
    this.#handle = undefined;
    this.#client = undefined;
    if (this.#usReadDisabled) { this.#usReadDisabled = false; handle?.connection.readDisable(false); }
    if (handle !== undefined) {
      // A response that ended before its request did leaves the connection's framing unknown.
      const ok = reusable && this.#requestEnded;
      this.#pool!.release(handle, this.#keepAliveTimeoutMs !== undefined ? { reusable: ok, keepAliveTimeoutMs: this.#keepAliveTimeoutMs } : { reusable: ok });
    }
    this.#ds.sendEnd(this.#responseTrailers);
    this.#finish();
  }

  onResponseError(code: string, reason: string): void {
    if (this.#stopped) return;
    this.#releaseBroken();
    this.#shared.logger.warn({ streamId: this.id, cluster: this.#clusterName, host: this.#upstreamHost?.addressText, code }, `invalid upstream response: ${reason}`);
    this.#localReply(502, ResponseFlag.UpstreamProtocolError, `invalid upstream response: ${reason}`, true);
  }

  onUpstreamReset(reason: string): void {
    if (this.#stopped) return;
    if (this.#h2 !== undefined) {
      const h2 = this.#h2;
      this.#h2 = undefined;
      // A refused stream (above an upstream GOAWAY's last stream id, or REFUSED_STREAM) never reached the
      // application: it is sent again on a new session, once, when its body can be replayed.
      if (reason === 'refused' && h2.responseBytes === 0 && this.#retryUpstream()) return;
      const connectFailure = reason !== 'refused' && !reason.startsWith('rst_stream_') && reason !== 'upstream_closed';
      if (connectFailure && !this.#responseStarted) {
        this.#localReply(503, ResponseFlag.UpstreamConnectionFailure, `upstream connect error: ${reason}`);
        return;
      }
      this.#upstreamGone(reason);
      return;
    }
    const handle = this.#handle;
    const client = this.#client;
    this.#releaseBroken();
    if (handle !== undefined && client !== undefined
      && isRetryableOnReused(handle.reused, client.responseBytes, isIdempotentMethod(this.head.method)) && this.#retryUpstream()) return;
    this.#upstreamGone(reason);
  }

  /** Sends the request again (once), when nothing of the response came and the body can be replayed. */
  #retryUpstream(): boolean {
    if (this.#responseStarted || this.#retried || this.head.framing !== BodyFraming.None) return false;
    this.#retried = true;
    this.#phase = Phase.Upstream;
    this.#run();
    return true;
  }

  /** The upstream went away mid-exchange: reset the client after headers, else a 503 (UC). */
  #upstreamGone(reason: string): void {
    if (this.#responseStarted) {
      this.#responseFlag = ResponseFlag.UpstreamConnectionTermination;
      this.#ds.reset('upstream_reset_after_headers');
      this.#finish();
      return;
    }
    this.#localReply(503, ResponseFlag.UpstreamConnectionTermination, `upstream reset before response headers: ${reason}`);
  }

  // ── timeouts ──────────────────────────────────────────────────────────────────────────────
  // One timer per stream serves both deadlines: the route timeout (until the response head; MOSN:
  // global = x-mosn-global-timeout ?? route timeout ?? default, and x-mosn-try-timeout applies only
  // when below the global) and the stream idle timeout (no byte either way). Activity only stamps
  // `#lastActivityMs`; the timer re-checks when it fires, so there is no re-arm per chunk.

  /** Sets the route deadline (called once the route is known). */
  #setRouteDeadline(): void {
    const r = this.#route;
    const g = headerMs(this.headers.get('x-mosn-global-timeout'));
    let timeout = g ?? (r !== undefined && r.timeoutMs > 0 ? r.timeoutMs : this.#shared.config.http1.defaultTimeoutMs);
    const t = headerMs(this.headers.get('x-mosn-try-timeout'));
    if (t !== undefined && t > 0 && (timeout === 0 || t < timeout)) timeout = t;
    // gRPC: the call's own deadline when it is the smaller.
    const grpc = grpcTimeoutMs(this.headers.get('grpc-timeout'));
    if (grpc !== undefined && (timeout === 0 || grpc < timeout)) timeout = grpc;
    this.#deadlineAt = timeout > 0 ? this.startMs + timeout : 0;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#finished) return;
    const idle = this.#shared.config.http1.streamIdleTimeoutMs;
    let at = this.#responseStarted ? 0 : this.#deadlineAt;
    if (idle > 0) {
      const idleAt = this.#lastActivityMs + idle;
      if (at === 0 || idleAt < at) at = idleAt;
    }
    this.nextDeadlineMs = at;
    if (at !== 0 && !this.#deadlineRegistered) {
      this.#deadlineRegistered = true;
      this.#shared.deadlines.add(this);
    }
  }

  /** Absolute ms of the next deadline check (read by the listener's StreamDeadlines clock). */
  nextDeadlineMs = 0;
  dlPrev: DeadlineClient | null = null;
  dlNext: DeadlineClient | null = null;
  dlLinked = false;
  #deadlineRegistered = false;

  /** Called by the deadline clock once `nextDeadlineMs` passed. */
  onDeadline(now: number): void {
    if (this.#finished) return;
    if (!this.#responseStarted && this.#deadlineAt > 0 && now >= this.#deadlineAt) {
      this.#abortUpstream();
      this.#localReply(504, ResponseFlag.UpstreamRequestTimeout, 'upstream request timeout');
      return;
    }
    const idle = this.#shared.config.http1.streamIdleTimeoutMs;
    if (idle > 0 && now - this.#lastActivityMs >= idle) {
      this.#abortUpstream();
      if (this.#responseStarted) { this.#responseFlag = ResponseFlag.StreamIdleTimeout; this.#ds.reset('stream_idle_timeout'); this.#finish(); return; }
      this.#localReply(408, ResponseFlag.StreamIdleTimeout, 'stream idle timeout', true);
      return;
    }
    this.#schedule();
  }

  // ── local replies, filters, teardown ──────────────────────────────────────────────────────────
  #localReply(status: number, flag: string, message: string, close = false): void {
    if (this.#finished) return;
    if (flag !== '') this.#responseFlag = flag;
    this.#stopped = true;
    this.#phase = Phase.Done;
    this.#abortUpstream();
    if (this.#ds.headersSent) { this.#ds.reset('local_reply_after_headers'); this.#finish(); return; }
    this.#shared.stats.localReplies.inc();
    if (this.#isGrpc()) {
      // gRPC clients read errors from grpc-status: a trailers-only response (HTTP 200, headers with END_STREAM).
      this.#ds.sendHeaders(200, '', ['content-type', 'application/grpc', 'grpc-status', String(grpcStatusOf(status, flag)), 'grpc-message', grpcPercentEncode(localReplyBody(message, flag).trim())], 0, true);
      this.#finish();
      return;
    }
    if (!this.#requestEnded) close = true; // the rest of the request body is not read: the framing is lost
    this.#ds.localReply(status, localReplyBody(message, flag), undefined, close);
    this.#finish();
  }

  #isGrpc(): boolean {
    const ct = this.headers.get('content-type');
    return ct !== undefined && ct.startsWith('application/grpc');
  }

  #directReply(status: number, body: string, location: string | undefined): void {
    this.#stopped = true;
    this.#phase = Phase.Done;
    const bytes = Buffer.from(body, 'utf8');
    const headers = new FlatHeaders(location !== undefined ? ['date', httpDate(), 'location', location] : ['date', httpDate()]);
    if (bytes.length > 0) headers.add('content-type', 'text/plain; charset=utf-8');
    headers.add('content-length', String(bytes.length));
    this.#route?.applyResponseHeaders(headers, this);
    this.#runSenders(headers);
    if (!this.#requestEnded) this.#ds.setCloseAfter();
    const bodyless = this.head.method === 'HEAD' || status === 204 || status === 304;
    this.#ds.sendHeaders(status, '', headers.list, bytes.length, bodyless);
    if (!bodyless && bytes.length > 0) this.#ds.sendData(bytes);
    this.#ds.sendEnd();
    this.#finish();
  }

  /** Gives the upstream connection up mid-exchange (closed, never reused) or cancels the wait for one. */
  #abortUpstream(): void {
    this.#pending?.cancel();
    this.#pending = undefined;
    this.#releaseBroken();
  }

  #releaseBroken(): void {
    if (this.#xClient !== undefined && this.#xId >= 0) { this.#xClient.cancel(this.#xId); this.#xClient = undefined; }
    const h2 = this.#h2;
    this.#h2 = undefined;
    h2?.cancel();
    const handle = this.#handle;
    const client = this.#client;
    this.#handle = undefined;
    this.#client = undefined;
    if (client !== undefined) client.detach();
    if (handle !== undefined) {
      if (this.#usReadDisabled) { this.#usReadDisabled = false; handle.connection.readDisable(false); }
      handle.connection.close('now', 'stream_aborted');
      this.#pool!.release(handle, { reusable: false });
    }
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stopped = true;
    this.#phase = Phase.Done;
    if (this.#deadlineRegistered) { this.#deadlineRegistered = false; this.#shared.deadlines.delete(this); }
    if (this.#hostCounted) { this.#hostCounted = false; this.#upstreamHost!.activeRequests--; }
    if (this.#dsReadDisabled) { this.#dsReadDisabled = false; this.#ds.readDisable(false); }
    this.#bodyQueue = null;
    const shared = this.#shared;
    shared.onStreamDone(this);
    this.#filters?.destroy();
    if (shared.accessLog.enabled) shared.accessLog.log((name) => streamVariable(this, name));
  }

  #runReceivers(phase: StreamFilterPhase): boolean {
    const chain = this.#filters;
    if (chain !== undefined) {
      const trailers = this.#requestTrailers === undefined ? undefined : new FlatHeaders(this.#requestTrailers);
      const r = chain.runReceivers(phase, this.headers, trailers, this);
      if (r === ChainResult.Threw) {
        this.#shared.logger.error({ err: (chain.error as Error | undefined)?.message }, 'stream filter threw');
        this.#localReply(500, ResponseFlag.None, 'stream filter error');
        return false;
      }
      if (r === ChainResult.Stopped) return false;
    }
    if (phase === StreamFilterPhase.AfterRoute) this.#setRouteDeadline();
    return true;
  }

  /** @internal (FilterChainOwner) A filter that returned Stop already called continue(). */
  consumeContinue(): boolean {
    if (!this.#continueAsked) return false;
    this.#continueAsked = false;
    return true;
  }

  /** @internal (FilterChainOwner) A filter ended the stream. */
  get filterAborted(): boolean { return this.#stopped; }

  #runSenders(headers: FlatHeaders): void {
    this.#filters?.runSenders(headers, (err) => this.#shared.logger.error({ err: (err as Error).message }, 'stream sender filter threw'));
  }

  // ── StreamFilterHandler ───────────────────────────────────────────────────────────────────────
  continue(): void {
    if (this.#stopped) return;
    if (this.#running) { this.#continueAsked = true; return; }
    this.#run();
  }
  #continueAsked = false;

  sendLocalReply(status: number, body: string, headers?: Readonly<Record<string, string>>): void {
    if (this.#finished) return;
    this.#stopped = true;
    this.#phase = Phase.Done;
    this.#abortUpstream();
    const extra: string[] = [];
    if (headers !== undefined) for (const [k, v] of Object.entries(headers)) extra.push(k, v);
    this.#ds.localReply(status, body, extra, !this.#requestEnded);
    this.#finish();
  }

  setVariable(name: string, value: string): void {
    (this.#variables ??= new Map()).set(name, value);
  }

  // ── RouteRequest / VariableSource ─────────────────────────────────────────────────────────────
  getHeader(lowerName: string): string | undefined {
    return this.headers.get(lowerName);
  }

  getVariable(name: string): string | undefined {
    const v = this.#variables?.get(name);
    if (v !== undefined) return v;
    return streamVariable(this, name);
  }

  // ── read-only facts for variables and access logs ─────────────────────────────────────────────
  get downstreamConnection(): Connection { return this.#ds.connection; }
  /** MOSN's protocol name of the downstream (`Http1`, `Http2`). */
  get downstreamProtocol(): string { return this.#ds.protocol === 'HTTP/2' ? 'Http2' : 'Http1'; }
  get upstreamConnection(): Connection | undefined { return this.#handle?.connection; }
  get upstreamHost(): Host | undefined { return this.#upstreamHost; }
  get clusterName(): string { return this.#clusterName; }
  get routeName(): string { return this.#route?.name ?? ''; }
  get responseFlag(): string { return this.#responseFlag; }
  get responseCode(): number { return this.#ds.statusCode; }
  get bytesReceived(): number { return this.#bodyBytes; }
  get bytesSent(): number { return this.#ds.bytesSent; }
  get query(): string { return this.#query; }
  get rawPath(): string { return this.#rawPath; }
  get clientAddress(): string { return this.#ds.connection.remoteAddress; }
  get tunnel(): boolean { return this.#tunnel; }
  get listenerName(): string { return this.#shared.listenerName; }
}

/** A keep-alive race retry goes out on a connection opened for it (never another idle one). */
const RETRY_ACQUIRE = Object.freeze({ newConnection: true });

/** gRPC `grpc-timeout`: digits + unit (H M S m u n) → ms (rounded up); undefined when absent or malformed. */
export function grpcTimeoutMs(v: string | undefined): number | undefined {
  if (v === undefined || v.length < 2 || v.length > 9) return undefined;
  const n = Number(v.slice(0, -1));
  if (!Number.isInteger(n) || n < 0) return undefined;
  switch (v[v.length - 1]) {
    case 'H': return n * 3_600_000;
    case 'M': return n * 60_000;
    case 'S': return n * 1000;
    case 'm': return n;
    case 'u': return Math.ceil(n / 1000);
    case 'n': return Math.ceil(n / 1_000_000);
    default: return undefined;
  }
}

/** gRPC's percent-encoding of grpc-message: bytes outside 0x20–0x7E, and '%', as %XX of their UTF-8. */
export function grpcPercentEncode(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The gRPC status of a local reply (Envoy's mapping; timeouts are DEADLINE_EXCEEDED). */
export function grpcStatusOf(httpStatus: number, flag: string): number {
  if (flag === ResponseFlag.UpstreamRequestTimeout || httpStatus === 504 || httpStatus === 408) return 4; // DEADLINE_EXCEEDED
  switch (httpStatus) {
    case 400: return 13; // INTERNAL
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: return 12; // UNIMPLEMENTED
    case 413: return 8; // RESOURCE_EXHAUSTED
    case 429: case 502: case 503: return 14; // UNAVAILABLE
    default: return 2; // UNKNOWN
  }
}

function headerMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
}

function headerValue(list: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (strEqualsLower(list[i]!, lower)) return list[i + 1];
  return undefined;
}

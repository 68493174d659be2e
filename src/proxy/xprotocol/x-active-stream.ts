/**
 * Proxy layer: one downstream XProtocol (RPC) request, from frame to response. Simpler than HTTP's
 * phase machine because a frame is whole: route (MOSN's RPC rule: header `service` and the other
 * header matchers on the frame's headers) → cluster and host → the host's shared multiplexed
 * connection → the response's request id restored → written back. Every failure is a response the
 * client's codec understands (`codec.encodeLocalReply` with MOSN's internal status): no route 404,
 * no cluster or host / connect failure / reset 502, timeout 504. Oneway requests end when sent.
 *
 * The timeout is the frame's own (`timeoutMs`, e.g. Bolt's field), else the route's, else MOSN's
 * 60 s; it runs on the listener's coarse deadline clock.
 */
import type { Host } from '../../api/upstream.js';
import { XFrameKind, XLocalStatus, type XFrame, type XProtocolCodec } from '../../api/xprotocol.js';
import { tlsVariable } from '../../api/tls-variables.js';
import { hostPort } from '../../base/address.js';
import { coarseNow } from '../../base/coarse-clock.js';
import { formatMosnTime } from '../../base/duration.js';
import type { RouteMatch } from '../../router/compiled-route.js';
import type { RouteRequest } from '../../router/route-request.js';
import type { XServerConnection } from '../../stream/xprotocol/x-server-connection.js';
import type { XClientConnection, XResponseHandler } from '../../stream/xprotocol/x-client-connection.js';
import { ResponseFlag } from '../local-reply.js';
import { routeTableFor } from '../route-tables.js';
import type { ProxyShared } from '../proxy-shared.js';
import type { DeadlineClient } from '../stream-deadlines.js';
import { xClientFor } from './x-upstreams.js';


/** The connection-level owner of the streams (to abandon them when the client goes away). */
export interface XStreamOwner {
  streamDone(stream: XActiveStream): void;
}

export class XActiveStream implements RouteRequest, XResponseHandler, DeadlineClient {
  readonly startMs = coarseNow();
  readonly host = '';
  readonly path = '';
  /** The RPC method (Dubbo `method`, when the codec reads it): a route's `method` header rule matches it. */
  get method(): string { return this.#frame.headers.get('method') ?? ''; }
  readonly #shared: ProxyShared;
  readonly #ds: XServerConnection;
  readonly #frame: XFrame;
  readonly #codec: XProtocolCodec;
  readonly #downstreamId: number;
  #route: RouteMatch | undefined;
  #clusterName = '';
  #upstreamHost: Host | undefined;
  #client: XClientConnection | undefined;
  #upstreamId = -1;
  #responseFlag = '';
  #status = 0;
  #finished = false;
  nextDeadlineMs = 0;
  dlPrev: DeadlineClient | null = null;
  dlNext: DeadlineClient | null = null;
  dlLinked = false;

  readonly #owner: XStreamOwner;

  constructor(shared: ProxyShared, ds: XServerConnection, frame: XFrame, owner: XStreamOwner) {
    this.#shared = shared;
    this.#owner = owner;
    this.#ds = ds;
    this.#frame = frame;
    this.#codec = ds.codec;
    this.#downstreamId = frame.requestId;
  }

  start(): void {
    const shared = this.#shared;
    const cfg = shared.routers.get(shared.config.routerConfigName);
    const route = cfg === undefined ? undefined : routeTableFor(cfg).match(this);
    if (route === undefined || route.action !== 'route') {
      this.#localReply(XLocalStatus.RouterUnavailable, ResponseFlag.NoRouteFound, 'no route matched');
      return;
    }
    this.#route = route;
    const choice = route.pickCluster(this);
    const snap = choice === undefined ? undefined : shared.clusterManager.handle(choice.name).snapshot;
    if (choice === undefined || snap === undefined) {
      this.#localReply(XLocalStatus.NoHealthUpstream, ResponseFlag.NoClusterFound, `cluster "${choice?.name ?? ''}" not found`);
      return;
    }
    this.#clusterName = choice.name;
    const host = snap.hostSet.healthyHosts.length === 0 ? undefined : snap.lb.chooseHost(undefined);
    if (host === undefined) {
      this.#localReply(XLocalStatus.NoHealthUpstream, ResponseFlag.NoHealthyUpstream, 'no healthy upstream');
      return;
    }
    this.#upstreamHost = host;
    host.activeRequests++;
    const client = xClientFor(shared.clusterManager, host, snap.config, this.#codec);
    this.#client = client;
    const oneway = this.#frame.kind === XFrameKind.Oneway;
    this.#upstreamId = client.request(this.#frame, oneway ? undefined : this);
    if (this.#upstreamId < 0) {
      this.#localReply(XLocalStatus.NoHealthUpstream, ResponseFlag.UpstreamConnectionFailure, 'upstream connection unusable');
      return;
    }
    if (oneway) { this.#finish(); return; }
    const timeout = this.#frame.timeoutMs > 0 ? this.#frame.timeoutMs : route.timeoutMs > 0 ? route.timeoutMs : shared.config.http1.defaultTimeoutMs;
    if (timeout > 0) {
      this.nextDeadlineMs = this.startMs + timeout;
      shared.deadlines.add(this);
    }
  }

  onResponse(frame: XFrame): void {
    if (this.#finished) return;
    this.#codec.setRequestId(frame.bytes, this.#downstreamId);
    this.#status = frame.status;
    this.#ds.sendResponse(frame.bytes);
    this.#finish();
  }

  onReset(reason: string): void {
    if (this.#finished) return;
    this.#localReply(XLocalStatus.NoHealthUpstream, ResponseFlag.UpstreamConnectionFailure, `upstream reset: ${reason}`);
  }

  onDeadline(): void {
    if (this.#finished) return;
    if (this.#client !== undefined && this.#upstreamId >= 0) this.#client.cancel(this.#upstreamId);
    this.#localReply(XLocalStatus.TimeoutException, ResponseFlag.UpstreamRequestTimeout, 'upstream request timeout');
  }

  /** The client connection went away: forget the upstream request (a late response is dropped). */
  abandon(): void {
    if (this.#finished) return;
    if (this.#client !== undefined && this.#upstreamId >= 0) this.#client.cancel(this.#upstreamId);
    this.#responseFlag = ResponseFlag.DownstreamConnectionTermination;
    this.#finish();
  }

  #localReply(status: XLocalStatus, flag: string, message: string): void {
    this.#responseFlag = flag;
    this.#status = status;
    this.#shared.stats.localReplies.inc();
    if (this.#frame.kind !== XFrameKind.Oneway) {
      this.#ds.sendResponse(this.#codec.encodeLocalReply({ ...this.#frame, requestId: this.#downstreamId }, status, message));
    }
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.dlLinked) this.#shared.deadlines.delete(this);
    if (this.#upstreamHost !== undefined) this.#upstreamHost.activeRequests--;
    this.#shared.onStreamDone(this);
    this.#owner.streamDone(this);
    const log = this.#shared.accessLog;
    if (log.enabled) log.log((name) => this.getVariable(name));
  }

  // ── RouteRequest ──────────────────────────────────────────────────────────────────────────────
  getHeader(lowerName: string): string | undefined {
    return this.#frame.headers.get(lowerName);
  }

  getVariable(name: string): string | undefined {
    const c = this.#ds.connection;
    switch (name) {
      case 'protocol': return this.#codec.name;
      case 'start_time': return formatMosnTime(this.startMs);
      case 'duration': case 'request_finished_duration': return `${Date.now() - this.startMs}ms`;
      case 'response_code': return String(this.#codec.statusToHttp(this.#status));
      case 'response_flag': case 'response_flags': return this.#responseFlag === '' ? '-' : this.#responseFlag;
      case 'upstream_host': return this.#upstreamHost?.addressText;
      case 'upstream_cluster': return this.#clusterName === '' ? undefined : this.#clusterName;
      case 'route_name': return this.#route?.name;
      case 'listener_name': return this.#shared.listenerName;
      case 'connection_id': return String(c.id);
      case 'downstream_remote_address': return hostPort(c.remoteAddress, c.remotePort);
      case 'downstream_local_address': return hostPort(c.localAddress, c.localPort);
      case 'x-mosn-rpc-service': return this.#frame.headers.get('service');
      case 'x-mosn-rpc-method': return this.#frame.headers.get('method');
    }
    if (name.startsWith('request_header_')) return this.#frame.headers.get(name.slice(15));
    return tlsVariable(c, name);
  }
}

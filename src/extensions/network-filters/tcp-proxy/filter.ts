/**
 * Extension (network filter `tcp_proxy`): the terminal read filter that pipes one downstream
 * connection to one upstream host, MOSN's streamproxy behaviour on Skiff's connection API.
 *
 *   onNewConnection: downstream.readDisable(true) ─▶ cluster (config `cluster` | first matching route)
 *        ─▶ lb.chooseHost(excluded) ─▶ clusterManager.connect ─▶ Connected: readDisable(false), flush
 *                                                              └▶ ConnectFailed: next distinct host (≤ 3 tries)
 *   downstream data ─▶ upstream.write      upstream data ─▶ downstream.write
 *   FIN one side    ─▶ endWrite other side (each connection closes when both of its directions are done)
 *   close/reset one side ─▶ close the other ('flush' after a clean close, 'now' after a reset/timeout)
 *   write buffer above high watermark ─▶ the *other* side readDisable(true); below low ─▶ false
 *
 * Response flags for the access log (MOSN names): UF upstream connect failure, NR no route or
 * cluster, UH no healthy upstream.
 */
import { tlsVariable } from '../../../api/tls-variables.js';
import { FilterStatus, ConnectionEvent, type Connection, type ConnectionCallbacks, type ReadFilter, type ReadFilterCallbacks } from '../../../api/network.js';
import type { AccessLogSink, Logger } from '../../../api/observability.js';
import type { ClusterHandle, ClusterManager, Host, LoadBalancerContext } from '../../../api/upstream.js';
import { formatGoDuration, formatMosnTime } from '../../../base/duration.js';
import { hostPort } from '../../../base/address.js';
import type { TcpProxyConfig } from './config.js';
import { matchRoute, type CompiledRoute } from './route-matcher.js';

/** MOSN: a failed connect is retried on other hosts, at most this many attempts in all. */
export const MAX_CONNECT_ATTEMPTS = 3;

export const ResponseFlag = { UpstreamConnectionFailure: 'UF', NoRouteFound: 'NR', NoHealthyUpstream: 'UH' } as const;

/** Everything bound once per listener apply (`create`), shared by that listener's connections. */
export interface TcpProxyShared {
  readonly config: TcpProxyConfig;
  readonly clusterHandle: ClusterHandle | undefined;
  readonly routes: readonly CompiledRoute[];
  readonly clusterManager: ClusterManager;
  readonly logger: Logger;
  readonly accessLog: AccessLogSink;
  readonly listenerName: string;
  /** Upstream idle timeout when the filter sets none: the listener's. */
  readonly listenerIdleTimeoutMs: number;
}

export class TcpProxyFilter implements ReadFilter, ConnectionCallbacks {
  readonly #shared: TcpProxyShared;
  #downstream: Connection | undefined;
  #handle: ClusterHandle | undefined;
  #upstream: Connection | undefined;
  #host: Host | undefined;
  #connected = false;
  #attempts = 0;
  readonly #excluded = new Set<Host>();
  #lbContext: LoadBalancerContext | undefined;
  /** Downstream bytes that arrived before the upstream connected (bounded: reads are disabled). */
  #pending: Buffer[] = [];
  #pendingEnd = false;
  #bytesReceived = 0;
  #bytesSent = 0;
  #responseFlag = '';
  #downstreamPausedByUs = false;
  #upstreamPausedByUs = false;
  #logged = false;
  #upstreamConnectionId = 0;
  readonly #upstreamSide: ConnectionCallbacks & ReadFilter;

  constructor(shared: TcpProxyShared) {
    this.#shared = shared;
    this.#upstreamSide = {
      onEvent: (event) => this.#onUpstreamEvent(event),
      onAboveWriteBufferHighWatermark: () => this.#pauseDownstream(true),
      onBelowWriteBufferLowWatermark: () => this.#pauseDownstream(false),
      onData: (data, endStream) => this.#onUpstreamData(data, endStream),
    };
  }

  initializeReadFilterCallbacks(callbacks: ReadFilterCallbacks): void {
    this.#downstream = callbacks.connection;
    callbacks.connection.addConnectionCallbacks(this);
  }

  onNewConnection(): FilterStatus {
    const ds = this.#downstream;
    if (!ds) return FilterStatus.Stop;
    ds.readDisable(true); // until the upstream is connected
    const { config } = this.#shared;
    if (config.idleTimeoutMs > 0) ds.setIdleTimeout(config.idleTimeoutMs);
    this.#handle = this.#shared.clusterHandle ?? matchRoute(this.#shared.routes, ds)?.handle;
    if (!this.#handle) {
      this.#fail(ResponseFlag.NoRouteFound, 'no route matches the connection');
      return FilterStatus.Stop;
    }
    this.#lbContext = { excludedHosts: this.#excluded, downstreamConnection: ds };
    this.#connectNext();
    return FilterStatus.Stop;
  }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    if (data.length > 0) {
      this.#bytesReceived += data.length;
      if (this.#connected) this.#upstream?.write(data);
      else this.#pending.push(data);
    }
    if (endStream) {
      if (this.#connected) this.#upstream?.endWrite();
      else this.#pendingEnd = true;
    }
    return FilterStatus.Stop;
  }

  // ── downstream connection callbacks ──

  onEvent(event: ConnectionEvent): void {
    if (event !== ConnectionEvent.RemoteClose && event !== ConnectionEvent.LocalClose) return;
    const ds = this.#downstream;
    const up = this.#upstream;
    if (up && !up.closed) up.close(ds?.closeReason === 'eof' ? 'flush' : 'now', `downstream_${ds?.closeReason ?? 'close'}`);
    this.#pending = [];
    this.#writeAccessLog();
  }

  onAboveWriteBufferHighWatermark(): void {
    this.#pauseUpstream(true);
  }

  onBelowWriteBufferLowWatermark(): void {
    this.#pauseUpstream(false);
  }

  // ── upstream side ──

  #connectNext(): void {
    const ds = this.#downstream;
    const handle = this.#handle;
    if (!ds || ds.closed || !handle) return;
    const snapshot = handle.snapshot;
    if (!snapshot) {
      this.#fail(ResponseFlag.NoRouteFound, `cluster "${handle.name}" does not exist`);
      return;
    }
    const host = snapshot.lb.chooseHost(this.#lbContext);
    if (!host) {
      if (this.#attempts === 0) this.#fail(ResponseFlag.NoHealthyUpstream, `cluster "${handle.name}" has no healthy host`);
      else this.#fail(ResponseFlag.UpstreamConnectionFailure, `cluster "${handle.name}": no other host to try after ${this.#attempts} failed connect(s)`);
      return;
    }
    this.#attempts++;
    this.#host = host;
    const up = this.#shared.clusterManager.connect(host, { connectTimeoutMs: snapshot.config.connectTimeoutMs });
    this.#upstream = up;
    this.#upstreamConnectionId = up.id;
    up.addConnectionCallbacks(this.#upstreamSide);
    up.addReadFilter(this.#upstreamSide);
  }

  #onUpstreamEvent(event: ConnectionEvent): void {
    const ds = this.#downstream;
    const up = this.#upstream;
    if (!ds || !up) return;
    switch (event) {
      case ConnectionEvent.Connected: {
        this.#connected = true;
        const { config, listenerIdleTimeoutMs } = this.#shared;
        up.setIdleTimeout(config.idleTimeoutMs > 0 ? config.idleTimeoutMs : listenerIdleTimeoutMs);
        const pending = this.#pending;
        this.#pending = [];
        for (const chunk of pending) up.write(chunk);
        if (this.#pendingEnd) up.endWrite();
        ds.readDisable(false); // undo onNewConnection's disable
        return;
      }
      case ConnectionEvent.ConnectFailed: {
        if (this.#host) this.#excluded.add(this.#host);
        this.#responseFlag = ResponseFlag.UpstreamConnectionFailure;
        this.#shared.logger.debug({ connectionId: ds.id, host: this.#host?.addressText, reason: up.closeReason, attempt: this.#attempts }, 'tcp_proxy upstream connect failed');
        this.#upstream = undefined;
        if (ds.closed) return;
        if (this.#attempts < MAX_CONNECT_ATTEMPTS) this.#connectNext();
        else this.#fail(ResponseFlag.UpstreamConnectionFailure, `upstream connect failed on ${this.#attempts} hosts (last: ${up.closeReason})`);
        return;
      }
      default:
        if (!ds.closed) ds.close(up.closeReason === 'eof' ? 'flush' : 'now', `upstream_${up.closeReason}`);
    }
  }

  #onUpstreamData(data: Buffer, endStream: boolean): FilterStatus {
    const ds = this.#downstream;
    if (!ds) return FilterStatus.Stop;
    if (data.length > 0) {
      this.#bytesSent += data.length;
      ds.write(data);
    }
    if (endStream) ds.endWrite();
    return FilterStatus.Stop;
  }

  /** Upstream write buffer full/drained → stop/resume reading the downstream. Counted once each way. */
  #pauseDownstream(pause: boolean): void {
    if (pause === this.#downstreamPausedByUs) return;
    this.#downstreamPausedByUs = pause;
    this.#downstream?.readDisable(pause);
  }

  #pauseUpstream(pause: boolean): void {
    if (pause === this.#upstreamPausedByUs || !this.#upstream) return;
    this.#upstreamPausedByUs = pause;
    this.#upstream.readDisable(pause);
  }

  #fail(flag: string, message: string): void {
    this.#responseFlag = flag;
    const ds = this.#downstream;
    this.#shared.logger.warn({ listener: this.#shared.listenerName, connectionId: ds?.id, cluster: this.#handle?.name, responseFlag: flag }, `tcp_proxy: ${message}; closing the downstream connection`);
    ds?.close('now', flag === ResponseFlag.NoRouteFound ? 'no_route' : 'upstream_connect_failed');
  }

  #writeAccessLog(): void {
    if (this.#logged) return;
    this.#logged = true;
    const sink = this.#shared.accessLog;
    if (!sink.enabled) return;
    const ds = this.#downstream;
    const up = this.#upstream;
    const startMs = ds?.counters.startTimeMs ?? Date.now();
    const durationMs = Date.now() - startMs;
    sink.log((name) => {
      switch (name) {
        case 'start_time': return formatMosnTime(startMs);
        case 'duration': return formatGoDuration(durationMs);
        case 'bytes_sent': return String(this.#bytesSent);
        case 'bytes_received': return String(this.#bytesReceived);
        case 'downstream_remote_address': return ds ? hostPort(ds.remoteAddress, ds.remotePort) : undefined;
        case 'downstream_local_address': return ds ? hostPort(ds.localAddress, ds.localPort) : undefined;
        case 'upstream_local_address': return up && this.#connected ? hostPort(up.localAddress, up.localPort) : undefined;
        case 'upstream_host': return this.#host?.addressText;
        case 'upstream_cluster': return this.#handle?.name;
        case 'connection_id': return ds ? String(ds.id) : undefined;
        case 'upstream_connection_id': return this.#upstreamConnectionId === 0 ? undefined : String(this.#upstreamConnectionId);
        case 'listener_name': return this.#shared.listenerName;
        case 'response_flag': return this.#responseFlag === '' ? '-' : this.#responseFlag;
        case 'upstream_transport_failure_reason': return this.#responseFlag === ResponseFlag.UpstreamConnectionFailure ? 'connection failure' : undefined;
        default: return ds ? tlsVariable(ds, name) : undefined;
      }
    });
  }
}

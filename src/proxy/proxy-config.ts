/**
 * Proxy layer: the `proxy` network filter's config (MOSN `v2.Proxy`, pkg/config/v2/proxy.go), parsed
 * once at load time. MOSN's keys keep MOSN's meaning; Skiff's own knobs for HTTP/1 sit beside MOSN's
 * in `extend_config.Http1` (MOSN reads only `max_header_size` and `max_request_body_size` there):
 *
 *   { "downstream_protocol": "Http1" | "Auto" | "Http1,bolt",      ← required
 *     "upstream_protocol": "Http1",                                ← parsed, ignored (MOSN: route's, else downstream's)
 *     "router_config_name": "server_router",
 *     "fallback_for_unknown_protocol": false,                      ← unknown bytes go to the next filter (tcp_proxy)
 *     "extend_config": { "Http1": {
 *        "max_header_size": 61440,             (MOSN) header section bytes; 0 → 60 KiB
 *        "max_request_body_size": 0,           (MOSN) bytes; 0 → unlimited; over → 413
 *        "max_header_count": 100,              header fields; over → 431
 *        "headers_with_underscores_action": "drop" | "allow" | "reject",
 *        "normalize_path": true,               dot segments, %-unreserved, (merge_slashes) before routing
 *        "merge_slashes": true,
 *        "request_headers_timeout": "10s",     whole request head must arrive within this; 0 disables
 *        "stream_idle_timeout": "5m",          no byte either way on a request for this long → 408/504 + close; 0 disables
 *        "upgrade_types": ["websocket"],       Upgrade tokens tunnelled; others answered without upgrade
 *        "generate_request_id": true,          add `x-request-id` when absent
 *        "default_timeout": "60s" } } }        route timeout when the route sets none (MOSN's global 60 s)
 */
import { z } from 'zod';
import type { ParseContext } from '../api/extension.js';
import { ConfigError } from '../base/errors.js';
import { deepFreeze, duration, ignored, joinPath, parseWithSchema } from '../base/schema.js';

export type UnderscoreAction = 'drop' | 'allow' | 'reject';

export interface ProxyHttp1Options {
  /** 0 → the HTTP/1 codec's default (60 KiB). */
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
  /** 0 = unlimited. */
  readonly maxRequestBodyBytes: number;
  readonly underscores: UnderscoreAction;
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  /** 0 disables. */
  readonly requestHeadersTimeoutMs: number;
  /** 0 disables. */
  readonly streamIdleTimeoutMs: number;
  /** Lower-case `Upgrade` tokens tunnelled (default `websocket`). `h2c` is never tunnelled. */
  readonly upgradeTypes: readonly string[];
  readonly generateRequestId: boolean;
  /** The route timeout used when the route sets none (MOSN's global default, 60 s). */
  readonly defaultTimeoutMs: number;
}

/** Per-XProtocol knobs, from `extend_config.<protocol>` (MOSN's protocol-keyed extend_config). */
export interface ProxyXProtocolOptions {
  /** 0 → the codec's default (Bolt 16 MiB, Dubbo 8 MiB). */
  readonly maxFrameBytes: number;
  /** Send GoAway to clients on a graceful stop (MOSN `extend_config.bolt.enable_bolt_goaway`; default off). */
  readonly goAwayOnDrain: boolean;
}

/** `extend_config.Http2` (MOSN: `http2_use_stream`, accepted — Skiff always streams). */
export interface ProxyHttp2Options {
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize: number;
}

export interface ProxyConfig {
  readonly name: string;
  /** The protocols detected on this listener (`Auto` expands to every one Skiff serves). */
  readonly downstreamProtocols: readonly string[];
  /** As configured (MOSN ignores it; kept for the dump). */
  readonly upstreamProtocol: string;
  readonly routerConfigName: string;
  readonly fallbackForUnknownProtocol: boolean;
  readonly http1: ProxyHttp1Options;
  readonly http2: ProxyHttp2Options;
  /** Keyed by XProtocol name; a protocol without an entry uses the defaults. */
  readonly xprotocol: Readonly<Record<string, ProxyXProtocolOptions>>;
  /** Protocol detection (several protocols or the fallback): bytes must identify the protocol within this; 0 disables. */
  readonly detectTimeoutMs: number;
}

/** Protocols the L7 proxy serves today (the RPC and HTTP/2 issues add theirs). */
export const SERVED_PROTOCOLS: readonly string[] = ['Http1', 'Http2'];
/** MOSN protocol names Skiff knows but does not serve yet: a config naming one fails closed. */
const KNOWN_UNSERVED = new Set(['dubbo-thrift', 'tars']);

const xprotocolSchema = z.object({
  max_frame_size: z.number().int().positive().optional(),
  enable_bolt_goaway: z.boolean().optional(),
  enable_goaway: z.boolean().optional(),
}).passthrough();

const http1Schema = z.object({
  max_header_size: z.number().int().nonnegative().default(0),
  max_request_body_size: z.number().int().nonnegative().default(0),
  max_header_count: z.number().int().positive().max(10_000).default(100),
  headers_with_underscores_action: z.enum(['drop', 'allow', 'reject']).default('drop'),
  normalize_path: z.boolean().default(true),
  merge_slashes: z.boolean().default(true),
  request_headers_timeout: duration().optional(),
  stream_idle_timeout: duration().optional(),
  upgrade_types: z.array(z.string().min(1)).default(['websocket']),
  generate_request_id: z.boolean().default(true),
  default_timeout: duration().optional(),
});

const http2Schema = z.object({
  http2_use_stream: z.boolean().optional(),
  max_concurrent_streams: z.number().int().positive().max(10_000).default(100),
  max_header_list_size: z.number().int().positive().default(60 * 1024),
}).passthrough();

const proxySchema = z.object({
  name: z.string().default(''),
  downstream_protocol: z.string().min(1, 'downstream_protocol is required (e.g. "Http1" or "Auto")'),
  upstream_protocol: z.string().default(''),
  router_config_name: z.string().default(''),
  router_handler_name: ignored('Skiff has one route handler ("default")'),
  fallback_for_unknown_protocol: z.boolean().default(false),
  validate_clusters: ignored('MOSN parses validate_clusters but never uses it'),
  concurrency_num: ignored('Skiff runs every request on the event loop; there is no per-proxy worker pool'),
  extend_config: z.record(z.string(), z.unknown()).default({}),
  // Skiff: how long the first bytes may take to identify the protocol (MOSN: a 15 s read timeout).
  protocol_detect_timeout: duration().optional(),
});

/** MOSN's `upstream_protocol` values of old configs, accepted as they are. */
const LEGACY_UPSTREAM = new Set(['SofaRpc', 'X', 'Http1', 'Http2', 'Auto', 'bolt', 'boltv2', 'dubbo', '']);
export const DEFAULT_DETECT_TIMEOUT_MS = 15_000;

export const DEFAULT_REQUEST_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
export const DEFAULT_GLOBAL_TIMEOUT_MS = 60_000;

/**
 * `xprotocols`: the names of the registered XProtocol codecs (`bolt`, `dubbo`, private ones), which
 * are served beside Http1; "Auto" means all of them (MOSN: every registered protocol).
 */
export function parseProxyConfig(raw: unknown, ctx: ParseContext, xprotocols: readonly string[] = []): ProxyConfig {
  const v = parseWithSchema(proxySchema, raw ?? {}, ctx);
  const protoPath = joinPath(ctx.path, 'downstream_protocol');
  const served = [...SERVED_PROTOCOLS, ...xprotocols];
  let protocols: string[];
  let downstream = v.downstream_protocol;
  if (downstream === 'X') {
    // MOSN's legacy form: "X" with extend_config.sub_protocol naming the XProtocol(s).
    const sub = v.extend_config['sub_protocol'];
    if (typeof sub !== 'string' || sub.trim() === '') {
      throw new ConfigError([{ path: joinPath(joinPath(ctx.path, 'extend_config'), 'sub_protocol'), message: 'downstream_protocol "X" needs extend_config.sub_protocol (e.g. "bolt")' }]);
    }
    downstream = sub;
  }
  if (downstream === 'Auto') {
    protocols = served;
  } else {
    protocols = downstream.split(',').map((p) => p.trim()).filter((p) => p !== '');
    for (const p of protocols) {
      if (served.includes(p)) continue;
      if (KNOWN_UNSERVED.has(p)) {
        throw new ConfigError([{ path: protoPath, message: `protocol "${p}" is not served by Skiff yet (served: ${served.join(', ')}, or "Auto")` }]);
      }
      const hint = served.find((s) => s.toLowerCase() === p.toLowerCase());
      throw new ConfigError([{ path: protoPath, message: `unknown protocol "${p}"${hint !== undefined ? ` (protocol names are case-sensitive: did you mean "${hint}"?)` : ''}` }]);
    }
  }
  if (!LEGACY_UPSTREAM.has(v.upstream_protocol) && !served.includes(v.upstream_protocol)) {
    ctx.note(joinPath(ctx.path, 'upstream_protocol'), `upstream_protocol "${v.upstream_protocol}" is ignored (the downstream protocol is proxied as it is)`);
  }
  // extend_config is keyed by protocol name; MOSN also accepts the flat form when one protocol is configured.
  const extend = v.extend_config;
  const extPath = joinPath(ctx.path, 'extend_config');
  let rawHttp1: unknown = extend['Http1'];
  let http1Path = joinPath(extPath, 'Http1');
  if (rawHttp1 === undefined && Object.keys(extend).some((k) => k in http1Schema.shape)) {
    rawHttp1 = extend;
    http1Path = extPath;
  }
  const h = parseWithSchema(http1Schema, rawHttp1 ?? {}, { ...ctx, path: http1Path });
  for (const t of h.upgrade_types) {
    if (t.toLowerCase() === 'h2c') {
      throw new ConfigError([{ path: joinPath(http1Path, 'upgrade_types'), message: '"h2c" cannot be tunnelled as an opaque upgrade; HTTP/2 is served by the Http2 protocol' }]);
    }
  }
  const h2 = parseWithSchema(http2Schema, extend['Http2'] ?? {}, { ...ctx, path: joinPath(extPath, 'Http2') });
  const xprotocol: Record<string, ProxyXProtocolOptions> = {};
  for (const name of xprotocols) {
    const raw = extend[name];
    if (raw === undefined) continue;
    const o = parseWithSchema(xprotocolSchema, raw, { ...ctx, path: joinPath(extPath, name) });
    xprotocol[name] = { maxFrameBytes: o.max_frame_size ?? 0, goAwayOnDrain: o.enable_bolt_goaway ?? o.enable_goaway ?? false };
  }
  return deepFreeze({
    http2: { maxConcurrentStreams: h2.max_concurrent_streams, maxHeaderListSize: h2.max_header_list_size },
    xprotocol,
    detectTimeoutMs: v.protocol_detect_timeout ?? DEFAULT_DETECT_TIMEOUT_MS,
    name: v.name,
    downstreamProtocols: protocols,
    upstreamProtocol: v.upstream_protocol,
    routerConfigName: v.router_config_name,
    fallbackForUnknownProtocol: v.fallback_for_unknown_protocol,
    http1: {
      maxHeaderBytes: h.max_header_size,
      maxHeaderCount: h.max_header_count,
      maxRequestBodyBytes: h.max_request_body_size,
      underscores: h.headers_with_underscores_action,
      normalizePath: h.normalize_path,
      mergeSlashes: h.merge_slashes,
      requestHeadersTimeoutMs: h.request_headers_timeout ?? DEFAULT_REQUEST_HEADERS_TIMEOUT_MS,
      streamIdleTimeoutMs: h.stream_idle_timeout ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
      upgradeTypes: h.upgrade_types.map((t) => t.toLowerCase()),
      generateRequestId: h.generate_request_id,
      defaultTimeoutMs: h.default_timeout ?? DEFAULT_GLOBAL_TIMEOUT_MS,
    },
  });
}

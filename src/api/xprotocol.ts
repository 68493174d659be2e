/**
 * API layer (plug-in SDK): the XProtocol codec contract (MOSN api:xprotocol.go), for multiplexed
 * request/response RPC protocols (SOFARPC Bolt v1/v2, Dubbo, private ones). A codec only turns bytes
 * into frames and frames (or small replies it builds itself) into bytes; the stream layer drives it:
 * request-id rewriting upstream, heartbeats, local replies, routing keys. Adding a protocol = one
 * codec folder under src/extensions/codecs/<name>/ and one registration.
 *
 * Frames keep their encoded bytes: a proxied frame is forwarded as it came, with only its request id
 * rewritten in place (`setRequestId`), never re-encoded. The content (body) is never parsed except
 * what routing needs (Dubbo's service/method/version/group).
 */
import type { DetectResult } from './protocol.js';

/** What a frame is. Heartbeats and GoAway are handled by the stream layer, never routed. */
export const XFrameKind = {
  Request: 0,
  /** A request that expects no response (Bolt type 2; Dubbo without the two-way flag). */
  Oneway: 1,
  Response: 2,
  HeartbeatRequest: 3,
  HeartbeatResponse: 4,
  /** Bolt cmdCode 100: the peer is going away; pending responses still come, no new requests. */
  GoAway: 5,
} as const;
export type XFrameKind = (typeof XFrameKind)[keyof typeof XFrameKind];

/** One decoded frame. Created per frame; `bytes` is a view of (or copy from) the read buffer. */
export interface XFrame {
  readonly kind: XFrameKind;
  /** Bolt: u32. Dubbo: u64 read as a number (ids ≥ 2^53 are refused as malformed). */
  readonly requestId: number;
  /** Response status in the protocol's own codes (Bolt respStatus, Dubbo status byte); 0 on requests. */
  readonly status: number;
  /** Bolt request `timeout` (ms) when > 0; 0 = none. */
  readonly timeoutMs: number;
  /**
   * Routing keys and protocol headers, lower-case names: Bolt's header map (`service`, `sofa_head_method_name`…),
   * Dubbo's `service`, `method`, `version`, `group`, `dubbo` and attachments. Values are strings.
   */
  readonly headers: ReadonlyMap<string, string>;
  /** The whole encoded frame, exactly as received. */
  readonly bytes: Buffer;
}

/**
 * Result of `decode`. `kind` 0 = a frame, 1 = need more bytes, 2 = malformed (close the connection),
 * 3 = refused: the framing is sound (`consumed` bytes, the request id is known) but the frame cannot be
 * served — an unknown command code or type, a body that does not decode, an unknown serialization.
 * A server answers it with `encodeLocalReply(frame, status, reason)` and keeps the connection; it is
 * never forwarded. `frame.kind` is Request (or Oneway: no answer).
 */
export type XDecodeResult =
  | { readonly kind: 0; readonly frame: XFrame; readonly consumed: number }
  | { readonly kind: 1 }
  | { readonly kind: 2; readonly reason: string }
  | { readonly kind: 3; readonly frame: XFrame; readonly consumed: number; readonly status: XLocalStatus; readonly reason: string };

export interface XCodecLimits {
  /** A frame whose declared length exceeds this is refused before its bytes are buffered. */
  readonly maxFrameBytes: number;
}

/** MOSN's internal status codes (api:xprotocol.go) that local replies are built from. */
export const XLocalStatus = {
  CodecException: 0,
  DeserialException: 3,
  PermissionDenied: 403,
  RouterUnavailable: 404,
  InternalError: 500,
  NoHealthUpstream: 502,
  UpstreamOverFlow: 503,
  TimeoutException: 504,
  LimitExceeded: 509,
} as const;
export type XLocalStatus = (typeof XLocalStatus)[keyof typeof XLocalStatus];

/** One protocol. Stateless: one instance serves every connection (per-connection state is the caller's). */
export interface XProtocolCodec {
  /** MOSN's protocol name: `bolt`, `boltv2`, `dubbo`. */
  readonly name: string;
  /** The frame size limit when the listener sets none (`extend_config.<name>.max_frame_size`): Bolt 16 MiB, Dubbo 8 MiB. */
  readonly defaultMaxFrameBytes: number;
  /** From the first bytes of a connection (MOSN's matcher). */
  detect(head: Buffer): DetectResult;
  /** Decodes the frame starting at `offset` (never reads before it). Must not throw. */
  decode(buf: Buffer, offset: number, limits: XCodecLimits): XDecodeResult;
  /** Writes `id` into an encoded frame's request-id field, in place. */
  setRequestId(frameBytes: Buffer, id: number): void;
  /** A heartbeat request the proxy sends on an idle upstream connection (undefined: the protocol has none). */
  encodeHeartbeat?(requestId: number): Buffer;
  /** The reply to a peer's heartbeat request. */
  encodeHeartbeatResponse(request: XFrame): Buffer;
  /** A response to `request` that Skiff generates (no route, no upstream, timeout…), understood by the client. */
  encodeLocalReply(request: XFrame, status: XLocalStatus, message: string): Buffer;
  /** The protocol's response status as an HTTP status (access logs, stats, conversion). */
  statusToHttp(status: number): number;
  /** A GoAway frame for graceful shutdown (undefined: the protocol has none). */
  encodeGoAway?(): Buffer;
  /**
   * Protocol conversion (MOSN's `transcoder`, e.g. HTTP → Bolt): a request frame from HTTP-like parts.
   * Undefined: the protocol cannot be a conversion target.
   */
  encodeRequest?(parts: XRequestParts): Buffer;
  /** Protocol conversion: the content (payload) of a decoded frame, as the protocol carries it. */
  contentOf?(frame: XFrame): Buffer;
}

/** A request built by conversion: header pairs go to the protocol's header map, content untouched. */
export interface XRequestParts {
  readonly requestId: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly content: Buffer;
  /** 0 = none. */
  readonly timeoutMs: number;
}

/**
 * Extension (XProtocol codec `dubbo`): Apache Dubbo's exchange protocol with hessian2 bodies (MOSN
 * pkg/protocol/xprotocol/dubbo). Frames keep their bytes; only a request body is read, just far enough for
 * routing headers. Layout, big-endian (16-byte header):
 *
 *   0      1      2      3      4                              12                16
 *   +------+------+------+------+------------------------------+-----------------+----------------+
 *   | 0xDA | 0xBB | flag |status|     request id (u64)         | body length u32 | body (hessian2)|
 *   +------+------+------+------+------------------------------+-----------------+----------------+
 *   flag: 0x80 request (clear: response) | 0x40 two-way | 0x20 event (heartbeat) | low 5 bits serialization (2 = hessian2)
 *   status (responses): 20 OK, 30 client timeout, 31 server timeout, 40 bad request, 50 bad response,
 *                       60 service not found, 70 service error, 80 server error, 90 client error, 100 threadpool exhausted
 *
 *   request body (hessian2 values back to back):
 *     dubbo version | service path | service version | method | [dubbox: an int] | parameter descriptor
 *     | one value per descriptor argument | attachments (map; string→string entries become headers)
 *
 * Headers of a request (lower-case names): every string→string attachment, then `dubbo` and `method` from
 * the body, `version` from the body unless an attachment gives it (a Java provider lets the attachment win),
 * `service` = attachment `interface` when present, else the body's path (MOSN), `group` from attachments.
 *
 * Refusals (decode kind 3, connection kept): an unknown serialization on a request, or a request body that
 * does not decode (truncated value, bad tag, argument count not matching the descriptor, trailing bytes),
 * carry XLocalStatus.DeserialException, which this codec answers with Dubbo status 40 (BAD_REQUEST), as
 * reliability.md §3.5 asks. Bad magic, an over-limit body length and request ids ≥ 2^53 are malformed (kind 2).
 */
import { DetectResult } from '../../../api/protocol.js';
import { XFrameKind, XLocalStatus, type XCodecLimits, type XDecodeResult, type XFrame, type XProtocolCodec } from '../../../api/xprotocol.js';
import { countDescriptorArgs, Hessian2Reader } from './hessian2-reader.js';
import { Hessian2Writer, hessian2String } from './hessian2-writer.js';

export const DUBBO_HEADER_BYTES = 16;
export const DUBBO_MAGIC_HIGH = 0xda;
export const DUBBO_MAGIC_LOW = 0xbb;
export const DubboFlag = { Request: 0x80, TwoWay: 0x40, Event: 0x20, SerializationMask: 0x1f } as const;
export const DUBBO_HESSIAN2 = 2;

/** Response status byte values (org.apache.dubbo.remoting.exchange.Response). */
export const DubboStatus = {
  Ok: 20,
  ClientTimeout: 30,
  ServerTimeout: 31,
  BadRequest: 40,
  BadResponse: 50,
  ServiceNotFound: 60,
  ServiceError: 70,
  ServerError: 80,
  ClientError: 90,
  ServerThreadpoolExhausted: 100,
} as const;

/** Response body leading int (DecodeableRpcResult): what follows it. */
export const DubboResultFlag = { Exception: 0, Value: 1, NullValue: 2 } as const;

const NEED_MORE: XDecodeResult = Object.freeze({ kind: 1 });
const NO_HEADERS: ReadonlyMap<string, string> = new Map();
const TWO_POW_32 = 0x1_0000_0000;
/** The high word of a u64 id must stay below this for the id to be < 2^53. */
const MAX_ID_HIGH = 0x20_0000;

/** MOSN's local-status → Dubbo status table, plus DeserialException → 40 for refused frames. */
export function dubboStatusOf(status: XLocalStatus): number {
  switch (status) {
    case XLocalStatus.RouterUnavailable:
    case XLocalStatus.NoHealthUpstream:
      return DubboStatus.ServiceNotFound;
    case XLocalStatus.UpstreamOverFlow:
    case XLocalStatus.LimitExceeded:
    case XLocalStatus.DeserialException:
      return DubboStatus.BadRequest;
    case XLocalStatus.TimeoutException:
      return DubboStatus.ClientTimeout;
    case XLocalStatus.CodecException:
      return DubboStatus.ServerError;
    default:
      return DubboStatus.ServiceError;
  }
}

export interface DubboFrameMessage {
  /** The whole flag byte (request/two-way/event bits and the serialization id). */
  readonly flag: number;
  readonly status?: number;
  readonly requestId: number;
  readonly body?: Uint8Array;
}

function writeId(buf: Buffer, id: number, at: number): void {
  buf.writeUInt32BE(Math.floor(id / TWO_POW_32) >>> 0, at);
  buf.writeUInt32BE(id >>> 0, at + 4);
}

/** Any frame from its parts (tests, fake peers, replies). */
export function encodeDubboFrame(m: DubboFrameMessage): Buffer {
  const bodyLen = m.body?.length ?? 0;
  const buf = Buffer.allocUnsafe(DUBBO_HEADER_BYTES + bodyLen);
  buf[0] = DUBBO_MAGIC_HIGH;
  buf[1] = DUBBO_MAGIC_LOW;
  buf[2] = m.flag;
  buf[3] = m.status ?? 0;
  writeId(buf, m.requestId, 4);
  buf.writeUInt32BE(bodyLen, 12);
  if (m.body !== undefined) buf.set(m.body, DUBBO_HEADER_BYTES);
  return buf;
}

export interface DubboRequestMessage {
  readonly requestId: number;
  /** Default true; false = oneway. */
  readonly twoWay?: boolean;
  /** Default 2 (hessian2). */
  readonly serialization?: number;
  readonly dubboVersion?: string;
  readonly service: string;
  /** `null` writes a hessian null. Default "0.0.0". */
  readonly version?: string | null;
  readonly method: string;
  /** JVM parameter descriptor, e.g. `Ljava/lang/String;I`. Default "". */
  readonly parameterTypes?: string;
  /** The argument values, each already hessian2-encoded (hessian.js `encode(v, '2.0')`). */
  readonly args?: readonly Uint8Array[];
  readonly attachments?: Readonly<Record<string, string>>;
  /** Raw hessian2 bytes written instead of `attachments` (typed maps, non-string values). */
  readonly rawAttachments?: Uint8Array;
}

/** The hessian2 body of a request (DecodeableRpcInvocation's order). */
export function encodeDubboRequestBody(m: DubboRequestMessage): Buffer {
  const w = new Hessian2Writer(256);
  w.writeString(m.dubboVersion ?? '2.0.2').writeString(m.service).writeStringOrNull(m.version === undefined ? '0.0.0' : m.version);
  w.writeString(m.method).writeString(m.parameterTypes ?? '');
  for (const a of m.args ?? []) w.writeRaw(a);
  if (m.rawAttachments !== undefined) w.writeRaw(m.rawAttachments);
  else w.writeStringMap(Object.entries(m.attachments ?? {}));
  return w.toBuffer();
}

/** A whole request frame. */
export function encodeDubboRequest(m: DubboRequestMessage): Buffer {
  const flag = DubboFlag.Request | (m.twoWay === false ? 0 : DubboFlag.TwoWay) | ((m.serialization ?? DUBBO_HESSIAN2) & DubboFlag.SerializationMask);
  return encodeDubboFrame({ flag, requestId: m.requestId, body: encodeDubboRequestBody(m) });
}

/** A response frame; the body is given raw (see `dubboValueBody`). */
export function encodeDubboResponse(requestId: number, status: number, body: Uint8Array): Buffer {
  return encodeDubboFrame({ flag: DUBBO_HESSIAN2, status, requestId, body });
}

/** An OK response body: RESPONSE_VALUE then the string (or RESPONSE_NULL_VALUE for null). */
export function dubboValueBody(value: string | null): Buffer {
  const w = new Hessian2Writer(value === null ? 2 : value.length + 4);
  if (value === null) w.writeInt(DubboResultFlag.NullValue);
  else w.writeInt(DubboResultFlag.Value).writeString(value);
  return w.toBuffer();
}

function heartbeatFrame(flag: number, requestId: number, status: number): Buffer {
  const buf = Buffer.allocUnsafe(DUBBO_HEADER_BYTES + 1);
  buf[0] = DUBBO_MAGIC_HIGH;
  buf[1] = DUBBO_MAGIC_LOW;
  buf[2] = flag;
  buf[3] = status;
  writeId(buf, requestId, 4);
  buf.writeUInt32BE(1, 12);
  buf[16] = 0x4e; // one hessian null: what Java's encodeEventData(null) and apache-dubbo-js write
  return buf;
}

/** Reused by every decode (decode is synchronous and never re-entered). */
const READER = new Hessian2Reader();

/** Reads a request body into `headers`; returns the reason it failed, or undefined. */
function readRequestBody(buf: Buffer, start: number, end: number, headers: Map<string, string>): string | undefined {
  const r = READER.reset(buf, start, end);
  const dubboVersion = r.readString();
  if (dubboVersion === undefined) return `dubbo version: ${r.error}`;
  const path = r.readString();
  if (path === undefined) return `service path: ${r.error}`;
  const version = r.readStringOrNull();
  if (version === undefined) return `service version: ${r.error}`;
  const method = r.readString();
  if (method === undefined) return `method: ${r.error}`;
  if (r.isInt() && r.readInt() === undefined) return `dubbox marker: ${r.error}`;
  const desc = r.readString();
  if (desc === undefined) return `parameter types: ${r.error}`;
  const argc = countDescriptorArgs(desc);
  if (argc < 0) return 'malformed parameter types descriptor';
  for (let i = 0; i < argc; i++) if (!r.skip()) return `argument ${i}: ${r.error}`;
  if (!r.readStringMap(headers, true)) return `attachments: ${r.error}`;
  if (!r.atEnd) return 'bytes after the attachments (argument count does not match the descriptor)';
  const iface = headers.get('interface');
  headers.set('service', iface ?? path);
  headers.set('dubbo', dubboVersion);
  headers.set('method', method);
  if (version !== null && !headers.has('version')) headers.set('version', version);
  return undefined;
}

function refused(kind: XFrameKind, requestId: number, bytes: Buffer, reason: string): XDecodeResult {
  const frame: XFrame = { kind, requestId, status: 0, timeoutMs: 0, headers: NO_HEADERS, bytes };
  return { kind: 3, frame, consumed: bytes.length, status: XLocalStatus.DeserialException, reason };
}

export const DubboCodec = {
  name: 'dubbo',
  defaultMaxFrameBytes: 8 * 1024 * 1024,

  detect(head: Buffer): DetectResult {
    if (head.length === 0) return DetectResult.NeedMoreData;
    if (head[0] !== DUBBO_MAGIC_HIGH) return DetectResult.NoMatch;
    if (head.length === 1) return DetectResult.NeedMoreData;
    return head[1] === DUBBO_MAGIC_LOW ? DetectResult.Matched : DetectResult.NoMatch;
  },

  decode(buf: Buffer, offset: number, limits: XCodecLimits): XDecodeResult {
    const avail = buf.length - offset;
    if (avail <= 0) return NEED_MORE;
    if (buf[offset] !== DUBBO_MAGIC_HIGH || (avail >= 2 && buf[offset + 1] !== DUBBO_MAGIC_LOW)) return { kind: 2, reason: 'bad dubbo magic' };
    if (avail < DUBBO_HEADER_BYTES) return NEED_MORE;
    const bodyLen = buf.readUInt32BE(offset + 12);
    if (bodyLen > limits.maxFrameBytes - DUBBO_HEADER_BYTES) {
      return { kind: 2, reason: `dubbo body of ${bodyLen} bytes is over the ${limits.maxFrameBytes}-byte frame limit` };
    }
    const idHigh = buf.readUInt32BE(offset + 4);
    if (idHigh >= MAX_ID_HIGH) return { kind: 2, reason: 'dubbo request id ≥ 2^53' };
    const total = DUBBO_HEADER_BYTES + bodyLen;
    if (avail < total) return NEED_MORE;
    const requestId = idHigh * TWO_POW_32 + buf.readUInt32BE(offset + 8);
    const flag = buf[offset + 2]!;
    const bytes = buf.subarray(offset, offset + total);
    const event = (flag & DubboFlag.Event) !== 0;
    if ((flag & DubboFlag.Request) === 0) {
      const kind = event ? XFrameKind.HeartbeatResponse : XFrameKind.Response;
      const frame: XFrame = { kind, requestId, status: buf[offset + 3]!, timeoutMs: 0, headers: NO_HEADERS, bytes };
      return { kind: 0, frame, consumed: total };
    }
    if (event) {
      const frame: XFrame = { kind: XFrameKind.HeartbeatRequest, requestId, status: 0, timeoutMs: 0, headers: NO_HEADERS, bytes };
      return { kind: 0, frame, consumed: total };
    }
    const kind = (flag & DubboFlag.TwoWay) !== 0 ? XFrameKind.Request : XFrameKind.Oneway;
    const serialization = flag & DubboFlag.SerializationMask;
    if (serialization !== DUBBO_HESSIAN2) return refused(kind, requestId, bytes, `unsupported dubbo serialization id ${serialization}`);
    const headers = new Map<string, string>();
    const failure = readRequestBody(buf, offset + DUBBO_HEADER_BYTES, offset + total, headers);
    READER.release();
    if (failure !== undefined) return refused(kind, requestId, bytes, `dubbo request body: ${failure}`);
    const frame: XFrame = { kind, requestId, status: 0, timeoutMs: 0, headers, bytes };
    return { kind: 0, frame, consumed: total };
  },

  setRequestId(frameBytes: Buffer, id: number): void {
    writeId(frameBytes, id, 4);
  },

  encodeHeartbeat(requestId: number): Buffer {
    return heartbeatFrame(DubboFlag.Request | DubboFlag.TwoWay | DubboFlag.Event | DUBBO_HESSIAN2, requestId, 0);
  },

  encodeHeartbeatResponse(request: XFrame): Buffer {
    return heartbeatFrame(DubboFlag.Event | DUBBO_HESSIAN2, request.requestId, DubboStatus.Ok);
  },

  /** Status from `dubboStatusOf`; body = hessian string `"<local status>|<message>"` (a client reads it as the error text). */
  encodeLocalReply(request: XFrame, status: XLocalStatus, message: string): Buffer {
    return encodeDubboResponse(request.requestId, dubboStatusOf(status), hessian2String(`${status}|${message}`));
  },

  statusToHttp(status: number): number {
    switch (status) {
      case DubboStatus.Ok:
        return 200;
      case DubboStatus.ClientTimeout:
      case DubboStatus.ServerTimeout:
        return 504;
      case DubboStatus.BadRequest:
        return 400;
      case DubboStatus.ServiceNotFound:
        return 404;
      case DubboStatus.ServerThreadpoolExhausted:
        return 503;
      default:
        return 500;
    }
  },
} satisfies XProtocolCodec;

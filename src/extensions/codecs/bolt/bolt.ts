/**
 * Extension (XProtocol codecs `bolt` and `boltv2`): SOFARPC Bolt v1 and v2, exact to the byte layouts
 * (MOSN pkg/protocol/xprotocol/bolt, boltv2; SOFABolt RpcProtocol/RpcProtocolV2). Big-endian.
 *
 *   v1 request  (22): proto=1 | type | cmdCode u16 | ver2 | requestId u32 | codec | timeout i32 | classLen u16 | headerLen u16 | contentLen u32
 *   v1 response (20): proto=1 | type | cmdCode u16 | ver2 | requestId u32 | codec | status u16  | classLen u16 | headerLen u16 | contentLen u32
 *   v2 request  (24): proto=2 | ver1 | type | cmdCode u16 | ver2 | requestId u32 | codec | switch | timeout i32 | classLen | headerLen | contentLen
 *   v2 response (22): proto=2 | ver1 | type | cmdCode u16 | ver2 | requestId u32 | codec | switch | status u16  | classLen | headerLen | contentLen
 *   then: class name | header map | content  (v2 with switch bit 0 set: a CRC32 of everything before it follows)
 *
 * type: 0 response, 1 request, 2 oneway. cmdCode: 0 heartbeat, 1 RPC request, 2 RPC response, 100 GoAway.
 * Header map: repeated [u32 keyLen][key][u32 valueLen][value]; a length of 0xFFFFFFFF is a null (the pair
 * is skipped when the key is null, the value is "" when the value is null). It is validated at decode and
 * read in place on demand (`BoltHeaders`).
 *
 * One decoder serves both versions (a connection may carry both, as in MOSN); the two codec objects
 * differ in name and in the first byte they detect. Every length is checked against the bytes present and
 * the frame size limit before anything is buffered (MOSN only logs frames over 1 GiB). Frames whose
 * framing is sound but whose command is unknown are refused with a Bolt status (unknown type → 0x09
 * codec exception, unknown command code → 0x06 no processor), never forwarded.
 */
import { crc32 } from 'node:zlib';
import { DetectResult } from '../../../api/protocol.js';
import { XFrameKind, XLocalStatus, type XCodecLimits, type XDecodeResult, type XFrame, type XProtocolCodec, type XRequestParts } from '../../../api/xprotocol.js';

export const BOLT_V1 = 0x01;
export const BOLT_V2 = 0x02;

export const BoltType = { Response: 0, Request: 1, Oneway: 2 } as const;
export const BoltCmdCode = { Heartbeat: 0, Request: 1, Response: 2, GoAway: 100 } as const;

/** Bolt response status codes (SOFABolt ResponseStatus). */
export const BoltStatus = {
  Success: 0x00,
  Error: 0x01,
  ServerException: 0x02,
  Unknown: 0x03,
  ServerThreadpoolBusy: 0x04,
  ErrorComm: 0x05,
  NoProcessor: 0x06,
  Timeout: 0x07,
  ClientSendError: 0x08,
  CodecException: 0x09,
  ConnectionClosed: 0x10,
  ServerSerialException: 0x11,
  ServerDeserialException: 0x12,
} as const;

/** Serializer ids (the `codec` byte). */
export const BoltSerializer = { Hessian: 0, Hessian2: 1, Protobuf: 11, Json: 12 } as const;

const V1_REQUEST_HEADER = 22;
const V1_RESPONSE_HEADER = 20;
const V2_REQUEST_HEADER = 24;
const V2_RESPONSE_HEADER = 22;
const CRC_BYTES = 4;
const NULL_LEN = 0xffffffff;
const NEED_MORE: XDecodeResult = Object.freeze({ kind: 1 });
const EMPTY_HEADERS: ReadonlyMap<string, string> = new Map();

/** Where the fields sit in a frame of each version (request and response differ only after `codec`). */
interface Layout {
  readonly type: number;
  readonly cmdCode: number;
  readonly requestId: number;
  readonly codec: number;
  /** v2's switch byte; -1 in v1. */
  readonly switchAt: number;
  /** timeout (request) or status (response). */
  readonly timeoutOrStatus: number;
  readonly requestHeader: number;
  readonly responseHeader: number;
}
const V1: Layout = { type: 1, cmdCode: 2, requestId: 5, codec: 9, switchAt: -1, timeoutOrStatus: 10, requestHeader: V1_REQUEST_HEADER, responseHeader: V1_RESPONSE_HEADER };
const V2: Layout = { type: 2, cmdCode: 3, requestId: 6, codec: 10, switchAt: 11, timeoutOrStatus: 12, requestHeader: V2_REQUEST_HEADER, responseHeader: V2_RESPONSE_HEADER };

/**
 * Checks the header map in `buf[start, end)`: every key and value length must fit in the block. False
 * for a malformed map. Nothing is decoded here: `BoltHeaders` reads keys and values on demand.
 */
function validHeaderMap(buf: Buffer, start: number, end: number): boolean {
  let p = start;
  while (p < end) {
    if (end - p < 4) return false;
    const kLen = buf.readUInt32BE(p);
    p += 4;
    if (kLen !== NULL_LEN) {
      if (kLen > end - p) return false;
      p += kLen;
    }
    if (end - p < 4) return false;
    const vLen = buf.readUInt32BE(p);
    p += 4;
    if (vLen !== NULL_LEN) {
      if (vLen > end - p) return false;
      p += vLen;
    }
  }
  return true;
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** Whether the key bytes `buf[p, p+len)` equal the lower-case ASCII `name`, ignoring ASCII case. */
function keyEquals(buf: Buffer, p: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) {
    let b = buf[p + i]!;
    if (b >= 65 && b <= 90) b |= 0x20;
    if (b !== name.charCodeAt(i)) return false;
  }
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * A Bolt header map read in place (validated at decode): `get(name)` scans the encoded pairs and decodes
 * only the value asked for (routing reads one or two headers; responses are never read at all). Keys
 * compare case-insensitively (names are lower-case, as the XFrame contract says); the last of duplicate
 * keys wins, as a Map would. Any other use builds the whole Map once.
 */
class BoltHeaders implements ReadonlyMap<string, string> {
  readonly #buf: Buffer;
  readonly #start: number;
  readonly #end: number;
  #map: Map<string, string> | undefined;

  constructor(buf: Buffer, start: number, end: number) {
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
  }

  get(name: string): string | undefined {
    if (this.#map !== undefined || !isAscii(name)) return this.#full().get(name);
    const buf = this.#buf;
    const end = this.#end;
    let found: string | undefined;
    let p = this.#start;
    while (p < end) {
      const kLen = buf.readUInt32BE(p);
      p += 4;
      let match = false;
      if (kLen !== NULL_LEN) {
        match = keyEquals(buf, p, kLen, name);
        p += kLen;
      }
      const vLen = buf.readUInt32BE(p);
      p += 4;
      if (vLen === NULL_LEN) {
        if (match) found = '';
        continue;
      }
      if (match) found = buf.toString('utf8', p, p + vLen);
      p += vLen;
    }
    return found;
  }

  has(name: string): boolean { return this.get(name) !== undefined; }
  get size(): number { return this.#full().size; }
  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    this.#full().forEach((v, k) => fn.call(thisArg, v, k, this));
  }
  entries(): MapIterator<[string, string]> { return this.#full().entries(); }
  keys(): MapIterator<string> { return this.#full().keys(); }
  values(): MapIterator<string> { return this.#full().values(); }
  [Symbol.iterator](): MapIterator<[string, string]> { return this.#full().entries(); }

  #full(): Map<string, string> {
    if (this.#map !== undefined) return this.#map;
    const map = new Map<string, string>();
    const buf = this.#buf;
    let p = this.#start;
    while (p < this.#end) {
      const kLen = buf.readUInt32BE(p);
      p += 4;
      let key: string | undefined;
      if (kLen !== NULL_LEN) { key = buf.toString('utf8', p, p + kLen); p += kLen; }
      const vLen = buf.readUInt32BE(p);
      p += 4;
      let value = '';
      if (vLen !== NULL_LEN) { value = buf.toString('utf8', p, p + vLen); p += vLen; }
      if (key !== undefined) map.set(hasUpper(key) ? key.toLowerCase() : key, value);
    }
    this.#map = map;
    return map;
  }
}

class BoltFrame implements XFrame {
  constructor(
    readonly kind: XFrameKind,
    readonly requestId: number,
    readonly status: number,
    readonly timeoutMs: number,
    readonly headers: ReadonlyMap<string, string>,
    readonly bytes: Buffer,
  ) {}
}

function refused(frame: XFrame, consumed: number, status: XLocalStatus, reason: string): XDecodeResult {
  return { kind: 3, frame, consumed, status, reason };
}

/** Decodes one Bolt v1 or v2 frame at `offset` (the first byte picks the version). Never throws. */
export function decodeBolt(buf: Buffer, offset: number, limits: XCodecLimits): XDecodeResult {
  const avail = buf.length - offset;
  if (avail <= 0) return NEED_MORE;
  const proto = buf[offset]!;
  if (proto !== BOLT_V1 && proto !== BOLT_V2) return { kind: 2, reason: `unknown bolt protocol byte 0x${proto.toString(16)}` };
  const L = proto === BOLT_V1 ? V1 : V2;
  if (avail <= L.type) return NEED_MORE;
  const type = buf[offset + L.type]!;
  const isResponse = type === BoltType.Response;
  // An unknown type is framed as a request (the larger header) and refused with a codec exception.
  const headerLen = isResponse ? L.responseHeader : L.requestHeader;
  if (avail < headerLen) return NEED_MORE;
  const classLen = buf.readUInt16BE(offset + headerLen - 8);
  const mapLen = buf.readUInt16BE(offset + headerLen - 6);
  const contentLen = buf.readUInt32BE(offset + headerLen - 4);
  const crc = L.switchAt > 0 && (buf[offset + L.switchAt]! & 0x01) !== 0 ? CRC_BYTES : 0;
  const total = headerLen + classLen + mapLen + contentLen + crc;
  if (total > limits.maxFrameBytes) return { kind: 2, reason: `bolt frame of ${total} bytes is over the ${limits.maxFrameBytes}-byte limit` };
  if (avail < total) return NEED_MORE;

  const cmdCode = buf.readUInt16BE(offset + L.cmdCode);
  const requestId = buf.readUInt32BE(offset + L.requestId);
  const bytes = buf.subarray(offset, offset + total);
  let kind: XFrameKind;
  let status = 0;
  let timeoutMs = 0;
  if (isResponse) {
    status = buf.readUInt16BE(offset + L.timeoutOrStatus);
    if (cmdCode === BoltCmdCode.Response) kind = XFrameKind.Response;
    else if (cmdCode === BoltCmdCode.Heartbeat) kind = XFrameKind.HeartbeatResponse;
    else return refused(new BoltFrame(XFrameKind.Response, requestId, status, 0, EMPTY_HEADERS, bytes), total, XLocalStatus.CodecException, `unknown bolt response command code ${cmdCode}`);
  } else {
    const t = buf.readInt32BE(offset + L.timeoutOrStatus);
    timeoutMs = t > 0 ? t : 0;
    const oneway = type === BoltType.Oneway;
    if (type !== BoltType.Request && !oneway) {
      return refused(new BoltFrame(XFrameKind.Request, requestId, 0, 0, EMPTY_HEADERS, bytes), total, XLocalStatus.CodecException, `unknown bolt command type ${type}`);
    }
    if (cmdCode === BoltCmdCode.Request) kind = oneway ? XFrameKind.Oneway : XFrameKind.Request;
    else if (cmdCode === BoltCmdCode.Heartbeat) kind = XFrameKind.HeartbeatRequest;
    else if (cmdCode === BoltCmdCode.GoAway) kind = XFrameKind.GoAway;
    else {
      return refused(new BoltFrame(oneway ? XFrameKind.Oneway : XFrameKind.Request, requestId, 0, 0, EMPTY_HEADERS, bytes), total,
        XLocalStatus.RouterUnavailable, `unknown bolt command code ${cmdCode}`);
    }
  }
  let headers = EMPTY_HEADERS;
  if (mapLen > 0) {
    const start = offset + headerLen + classLen;
    if (!validHeaderMap(buf, start, start + mapLen)) {
      const f = new BoltFrame(kind === XFrameKind.Oneway ? XFrameKind.Oneway : isResponse ? XFrameKind.Response : XFrameKind.Request, requestId, status, 0, EMPTY_HEADERS, bytes);
      return refused(f, total, XLocalStatus.CodecException, 'malformed bolt header map');
    }
    headers = new BoltHeaders(buf, start, start + mapLen);
  }
  return { kind: 0, frame: new BoltFrame(kind, requestId, status, timeoutMs, headers, bytes), consumed: total };
}

/** The parts of a Bolt frame that Skiff never parses (for conversion and tests). */
export interface BoltFrameParts {
  readonly version: 1 | 2;
  readonly type: number;
  readonly cmdCode: number;
  readonly requestId: number;
  readonly serializer: number;
  readonly className: string;
  readonly content: Buffer;
}

/** Splits an encoded frame (as decoded: complete) into its class name and content. */
export function boltFrameParts(bytes: Buffer): BoltFrameParts {
  const L = bytes[0] === BOLT_V1 ? V1 : V2;
  const type = bytes[L.type]!;
  const headerLen = type === BoltType.Response ? L.responseHeader : L.requestHeader;
  const classLen = bytes.readUInt16BE(headerLen - 8);
  const mapLen = bytes.readUInt16BE(headerLen - 6);
  const contentLen = bytes.readUInt32BE(headerLen - 4);
  const contentStart = headerLen + classLen + mapLen;
  return {
    version: bytes[0] === BOLT_V1 ? 1 : 2,
    type,
    cmdCode: bytes.readUInt16BE(L.cmdCode),
    requestId: bytes.readUInt32BE(L.requestId),
    serializer: bytes[L.codec]!,
    className: bytes.toString('utf8', headerLen, headerLen + classLen),
    content: bytes.subarray(contentStart, contentStart + contentLen),
  };
}

export interface BoltMessage {
  readonly version?: 1 | 2;
  readonly type: number;
  readonly cmdCode: number;
  readonly requestId: number;
  /** Serializer id; default hessian2 (1). */
  readonly serializer?: number;
  /** Requests: timeout ms (heartbeats and GoAway use -1). */
  readonly timeoutMs?: number;
  /** Responses: status. */
  readonly status?: number;
  readonly className?: string;
  readonly headers?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  readonly content?: Buffer;
  /** v2 only: append a CRC32 (switch bit 0). */
  readonly crc?: boolean;
  /** v2 only: ver1 byte (default 1). */
  readonly ver1?: number;
}

function encodedMapLength(entries: Iterable<[string, string]>): number {
  let n = 0;
  for (const [k, v] of entries) n += 8 + Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/** Encodes a Bolt frame (local replies, heartbeats, tests, the benchmark's load generator). */
export function encodeBolt(m: BoltMessage): Buffer {
  const version = m.version ?? 1;
  const L = version === 1 ? V1 : V2;
  const isResponse = m.type === BoltType.Response;
  const headerLen = isResponse ? L.responseHeader : L.requestHeader;
  const className = m.className ?? '';
  const classLen = Buffer.byteLength(className);
  const entries: [string, string][] = m.headers === undefined ? [] : m.headers instanceof Map ? [...m.headers] : Object.entries(m.headers);
  const mapLen = encodedMapLength(entries);
  const content = m.content;
  const contentLen = content === undefined ? 0 : content.length;
  const crc = version === 2 && m.crc === true;
  const total = headerLen + classLen + mapLen + contentLen + (crc ? CRC_BYTES : 0);
  const buf = Buffer.allocUnsafe(total);
  buf[0] = version === 1 ? BOLT_V1 : BOLT_V2;
  if (version === 2) buf[1] = m.ver1 ?? 1;
  buf[L.type] = m.type;
  buf.writeUInt16BE(m.cmdCode, L.cmdCode);
  buf[L.cmdCode + 2] = 1; // ver2
  buf.writeUInt32BE(m.requestId >>> 0, L.requestId);
  buf[L.codec] = m.serializer ?? BoltSerializer.Hessian2;
  if (L.switchAt > 0) buf[L.switchAt] = crc ? 0x01 : 0x00;
  if (isResponse) buf.writeUInt16BE(m.status ?? 0, L.timeoutOrStatus);
  else buf.writeInt32BE(m.timeoutMs ?? 0, L.timeoutOrStatus);
  buf.writeUInt16BE(classLen, headerLen - 8);
  buf.writeUInt16BE(mapLen, headerLen - 6);
  buf.writeUInt32BE(contentLen, headerLen - 4);
  let p = headerLen + buf.write(className, headerLen, 'utf8');
  for (const [k, v] of entries) {
    const kl = buf.write(k, p + 4, 'utf8');
    buf.writeUInt32BE(kl, p);
    p += 4 + kl;
    const vl = buf.write(v, p + 4, 'utf8');
    buf.writeUInt32BE(vl, p);
    p += 4 + vl;
  }
  if (content !== undefined) p += content.copy(buf, p);
  if (crc) buf.writeUInt32BE(crc32(buf.subarray(0, p)) >>> 0, p);
  return buf;
}

/** MOSN's hijack mapping (bolt protocol.go `Mapping`): internal status → Bolt response status. */
export function boltStatusOf(status: XLocalStatus): number {
  switch (status) {
    case XLocalStatus.RouterUnavailable:
    case XLocalStatus.NoHealthUpstream: return BoltStatus.NoProcessor;
    case XLocalStatus.UpstreamOverFlow:
    case XLocalStatus.LimitExceeded: return BoltStatus.ServerThreadpoolBusy;
    case XLocalStatus.CodecException: return BoltStatus.CodecException;
    case XLocalStatus.DeserialException: return BoltStatus.ServerDeserialException;
    case XLocalStatus.TimeoutException: return BoltStatus.Timeout;
    case XLocalStatus.PermissionDenied: return BoltStatus.ServerException;
    default: return BoltStatus.Unknown;
  }
}

/** MOSN bolt mapping.go: Bolt status → HTTP status. */
function boltStatusToHttp(status: number): number {
  switch (status) {
    case BoltStatus.Success: return 200;
    case BoltStatus.ServerThreadpoolBusy: return 503;
    case BoltStatus.Timeout: return 504;
    case BoltStatus.ConnectionClosed: return 502;
    default: return 500;
  }
}

function versionOf(frame: XFrame): 1 | 2 {
  return frame.bytes.length > 0 && frame.bytes[0] === BOLT_V2 ? 2 : 1;
}
function serializerOf(frame: XFrame): number {
  const b = frame.bytes;
  const at = versionOf(frame) === 1 ? V1.codec : V2.codec;
  return b.length > at ? b[at]! : BoltSerializer.Hessian2;
}

/** Rewrites the request id of an encoded frame in place (and its CRC32, when it carries one). */
function setBoltRequestId(bytes: Buffer, id: number): void {
  const v1 = bytes[0] === BOLT_V1;
  bytes.writeUInt32BE(id >>> 0, v1 ? V1.requestId : V2.requestId);
  if (!v1 && (bytes[V2.switchAt]! & 0x01) !== 0 && bytes.length >= CRC_BYTES) {
    const end = bytes.length - CRC_BYTES;
    bytes.writeUInt32BE(crc32(bytes.subarray(0, end)) >>> 0, end);
  }
}

function makeCodec(name: string, version: 1 | 2): XProtocolCodec {
  const proto = version === 1 ? BOLT_V1 : BOLT_V2;
  return {
    name,
    defaultMaxFrameBytes: 16 * 1024 * 1024,
    detect(head: Buffer): DetectResult {
      if (head.length === 0) return DetectResult.NeedMoreData;
      return head[0] === proto ? DetectResult.Matched : DetectResult.NoMatch;
    },
    decode: decodeBolt,
    setRequestId: setBoltRequestId,
    encodeHeartbeat(requestId: number): Buffer {
      return encodeBolt({ version, type: BoltType.Request, cmdCode: BoltCmdCode.Heartbeat, requestId, timeoutMs: -1 });
    },
    encodeHeartbeatResponse(request: XFrame): Buffer {
      return encodeBolt({ version: versionOf(request), type: BoltType.Response, cmdCode: BoltCmdCode.Heartbeat, requestId: request.requestId, serializer: serializerOf(request), status: BoltStatus.Success });
    },
    encodeLocalReply(request: XFrame, status: XLocalStatus, _message: string): Buffer {
      // As MOSN's hijack: a response with the mapped status and no content (SOFA clients report the status as an error).
      return encodeBolt({ version: versionOf(request), type: BoltType.Response, cmdCode: BoltCmdCode.Response, requestId: request.requestId, serializer: serializerOf(request), status: boltStatusOf(status) });
    },
    statusToHttp: boltStatusToHttp,
    encodeGoAway(): Buffer {
      return encodeBolt({ version, type: BoltType.Request, cmdCode: BoltCmdCode.GoAway, requestId: 0, timeoutMs: -1 });
    },
    // MOSN http2bolt: every HTTP header becomes a header-map entry, the body the content (class SofaRequest).
    encodeRequest(parts: XRequestParts): Buffer {
      return encodeBolt({
        version, type: BoltType.Request, cmdCode: BoltCmdCode.Request, requestId: parts.requestId,
        timeoutMs: parts.timeoutMs > 0 ? parts.timeoutMs : -1, className: SOFA_REQUEST_CLASS,
        headers: new Map(parts.headers as [string, string][]), content: parts.content,
      });
    },
    contentOf(frame: XFrame): Buffer {
      return boltFrameParts(frame.bytes).content;
    },
  };
}

/** The class name SOFARPC puts on its requests (MOSN's NewRpcRequest). */
export const SOFA_REQUEST_CLASS = 'com.alipay.sofa.rpc.core.request.SofaRequest';

export const BoltCodec: XProtocolCodec = makeCodec('bolt', 1);
export const BoltV2Codec: XProtocolCodec = makeCodec('boltv2', 2);

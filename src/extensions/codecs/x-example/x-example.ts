/**
 * Extension (XProtocol codec `x_example`): the smallest complete codec, to show how a private RPC
 * protocol is added (docs/extensions.md) and to exercise the XProtocol stream layer in tests.
 * Layout, big-endian (14-byte header):
 *
 *   [0] magic 0x58 ('X') | [1] kind (XFrameKind: 0 request, 1 oneway, 2 response, 3 heartbeat,
 *   4 heartbeat response, 5 goaway) | [2-5] request id u32 | [6-7] status u16 | [8-9] header length
 *   u16 | [10-13] payload length u32 | header: `key=value\n` lines (UTF-8) | payload (opaque)
 */
import { DetectResult } from '../../../api/protocol.js';
import { XFrameKind, XLocalStatus, type XCodecLimits, type XDecodeResult, type XFrame, type XProtocolCodec } from '../../../api/xprotocol.js';

export const X_EXAMPLE_HEADER_BYTES = 14;
const MAGIC = 0x58;
const NEED_MORE: XDecodeResult = Object.freeze({ kind: 1 });

export interface XExampleMessage {
  readonly kind: XFrameKind;
  readonly requestId: number;
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly payload?: Buffer;
}

/** Encodes a frame (tests and local replies). */
export function encodeXExample(m: XExampleMessage): Buffer {
  let header = '';
  for (const [k, v] of Object.entries(m.headers ?? {})) header += `${k}=${v}\n`;
  const h = Buffer.from(header, 'utf8');
  const payload = m.payload ?? Buffer.alloc(0);
  const buf = Buffer.allocUnsafe(X_EXAMPLE_HEADER_BYTES + h.length + payload.length);
  buf[0] = MAGIC;
  buf[1] = m.kind;
  buf.writeUInt32BE(m.requestId >>> 0, 2);
  buf.writeUInt16BE(m.status ?? 0, 6);
  buf.writeUInt16BE(h.length, 8);
  buf.writeUInt32BE(payload.length, 10);
  h.copy(buf, X_EXAMPLE_HEADER_BYTES);
  payload.copy(buf, X_EXAMPLE_HEADER_BYTES + h.length);
  return buf;
}

function parseHeader(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  if (text === '') return out;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return undefined;
    out.set(line.slice(0, eq).toLowerCase(), line.slice(eq + 1));
  }
  return out;
}

/** Status codes of this protocol: 0 ok, then MOSN's internal codes as they are (404, 502, 503, 504…). */
const HTTP_OF_STATUS: Readonly<Record<number, number>> = { 0: 200, 404: 404, 502: 502, 503: 503, 504: 504, 403: 403 };

export const XExampleCodec: XProtocolCodec = {
  name: 'x_example',
  defaultMaxFrameBytes: 16 * 1024 * 1024,
  detect(head: Buffer): DetectResult {
    if (head.length === 0) return DetectResult.NeedMoreData;
    return head[0] === MAGIC ? DetectResult.Matched : DetectResult.NoMatch;
  },
  decode(buf: Buffer, offset: number, limits: XCodecLimits): XDecodeResult {
    const avail = buf.length - offset;
    if (avail < X_EXAMPLE_HEADER_BYTES) {
      if (avail > 0 && buf[offset] !== MAGIC) return { kind: 2, reason: 'bad magic' };
      return NEED_MORE;
    }
    if (buf[offset] !== MAGIC) return { kind: 2, reason: 'bad magic' };
    const kind = buf[offset + 1]!;
    if (kind > XFrameKind.GoAway) return { kind: 2, reason: `unknown frame kind ${kind}` };
    const headerLen = buf.readUInt16BE(offset + 8);
    const payloadLen = buf.readUInt32BE(offset + 10);
    const total = X_EXAMPLE_HEADER_BYTES + headerLen + payloadLen;
    if (total > limits.maxFrameBytes) return { kind: 2, reason: `frame of ${total} bytes is over the ${limits.maxFrameBytes}-byte limit` };
    if (avail < total) return NEED_MORE;
    const headers = parseHeader(buf.toString('utf8', offset + X_EXAMPLE_HEADER_BYTES, offset + X_EXAMPLE_HEADER_BYTES + headerLen));
    if (headers === undefined) return { kind: 2, reason: 'malformed header block' };
    const frame: XFrame = {
      kind: kind as XFrameKind,
      requestId: buf.readUInt32BE(offset + 2),
      status: buf.readUInt16BE(offset + 6),
      timeoutMs: Number(headers.get('timeout') ?? 0) || 0,
      headers,
      bytes: buf.subarray(offset, offset + total),
    };
    return { kind: 0, frame, consumed: total };
  },
  setRequestId(frameBytes: Buffer, id: number): void {
    frameBytes.writeUInt32BE(id >>> 0, 2);
  },
  encodeHeartbeat(requestId: number): Buffer {
    return encodeXExample({ kind: XFrameKind.HeartbeatRequest, requestId });
  },
  encodeHeartbeatResponse(request: XFrame): Buffer {
    return encodeXExample({ kind: XFrameKind.HeartbeatResponse, requestId: request.requestId });
  },
  encodeLocalReply(request: XFrame, status: XLocalStatus, message: string): Buffer {
    return encodeXExample({ kind: XFrameKind.Response, requestId: request.requestId, status, payload: Buffer.from(message, 'utf8') });
  },
  statusToHttp(status: number): number {
    return HTTP_OF_STATUS[status] ?? 500;
  },
  encodeGoAway(): Buffer {
    return encodeXExample({ kind: XFrameKind.GoAway, requestId: 0 });
  },
};

/**
 * Extensions layer, HTTP/1 codec: serialises heads and chunked framing. Each head becomes ONE Buffer
 * (one write, one syscall when corked), names and order exactly as in the flat header array. The
 * encoder does not validate: values a proxy adds itself must pass `isValidFieldValue` first.
 *
 *   head  = start-line CRLF *( name ": " value CRLF ) CRLF
 *   chunk = hex-size CRLF data CRLF          last = "0" CRLF *( trailer CRLF ) CRLF
 */

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** Bytes of the field lines plus the blank line that ends the section. */
function headersLength(headers: readonly string[]): number {
  let n = 2;
  for (let i = 0; i + 1 < headers.length; i += 2) n += headers[i]!.length + headers[i + 1]!.length + 4;
  return n;
}

function writeHeaders(buf: Buffer, off: number, headers: readonly string[]): number {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    off += buf.write(headers[i]!, off, 'latin1');
    buf[off++] = 0x3a; buf[off++] = 0x20;
    off += buf.write(headers[i + 1]!, off, 'latin1');
    buf[off++] = 0x0d; buf[off++] = 0x0a;
  }
  buf[off++] = 0x0d; buf[off++] = 0x0a;
  return off;
}

/** `METHOD target HTTP/1.x` + headers + blank line, as one Buffer. */
export function encodeRequestHead(method: string, target: string, headers: readonly string[], versionMinor: 0 | 1 = 1): Buffer {
  const buf = Buffer.allocUnsafe(method.length + target.length + 12 + headersLength(headers));
  let off = buf.write(method, 0, 'latin1');
  buf[off++] = 0x20;
  off += buf.write(target, off, 'latin1');
  off += buf.write(versionMinor === 1 ? ' HTTP/1.1\r\n' : ' HTTP/1.0\r\n', off, 'latin1');
  writeHeaders(buf, off, headers);
  return buf;
}

/** `HTTP/1.x code reason` + headers + blank line, as one Buffer. */
export function encodeResponseHead(statusCode: number, reason: string, headers: readonly string[], versionMinor: 0 | 1 = 1): Buffer {
  const buf = Buffer.allocUnsafe(15 + reason.length + headersLength(headers));
  let off = buf.write(versionMinor === 1 ? 'HTTP/1.1 ' : 'HTTP/1.0 ', 0, 'latin1');
  off += buf.write(String(statusCode), off, 'latin1');
  buf[off++] = 0x20;
  off += buf.write(reason, off, 'latin1');
  buf[off++] = 0x0d; buf[off++] = 0x0a;
  writeHeaders(buf, off, headers);
  return buf;
}

/** The `size CRLF` line that precedes `size` bytes of chunk data (write data, then `CHUNK_END`). */
export function encodeChunkHeader(size: number): Buffer {
  return Buffer.from(size.toString(16) + '\r\n', 'latin1');
}

/** The CRLF that ends each chunk's data. */
export const CHUNK_END: Buffer = CRLF;

/** One whole chunk in one Buffer (copies `data`: for small bodies; big ones use the header + data + CHUNK_END). */
export function encodeChunk(data: Buffer): Buffer {
  if (data.length === 0) return Buffer.alloc(0); // a zero-size chunk would end the body
  const hex = data.length.toString(16);
  const buf = Buffer.allocUnsafe(hex.length + data.length + 4);
  let off = buf.write(hex, 0, 'latin1');
  buf[off++] = 0x0d; buf[off++] = 0x0a;
  off += data.copy(buf, off);
  buf[off++] = 0x0d; buf[off] = 0x0a;
  return buf;
}

/** The last chunk, with optional trailers: `0\r\n` + trailer lines + `\r\n`. */
export function encodeLastChunk(trailers?: readonly string[]): Buffer {
  if (trailers === undefined || trailers.length === 0) return LAST_CHUNK;
  const buf = Buffer.allocUnsafe(3 + headersLength(trailers));
  buf[0] = 0x30; buf[1] = 0x0d; buf[2] = 0x0a;
  writeHeaders(buf, 3, trailers);
  return buf;
}

export const Http1Encoder = { encodeRequestHead, encodeResponseHead, encodeChunkHeader, encodeChunk, encodeLastChunk, CHUNK_END } as const;

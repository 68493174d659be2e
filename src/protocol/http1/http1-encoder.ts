/**
 * Protocol layer, HTTP/1 codec: serialises heads and chunked framing. Each head becomes ONE Buffer
 * (one write, one syscall when corked), names and order exactly as in the flat header array. The
 * encoder does not validate: values a proxy adds itself must pass `isValidFieldValue` first.
 *
 *   head  = start-line CRLF *( name ": " value CRLF ) CRLF
 *   chunk = hex-size CRLF data CRLF          last = "0" CRLF *( trailer CRLF ) CRLF
 */

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** Buffer's latin1 writer (public on every Buffer, missing from @types/node). */
type Latin1 = Buffer & { latin1Write(s: string, offset: number): number };

/** The field lines plus the blank line that ends the section, as one string. */
function fieldLines(headers: readonly string[]): string {
  let s = '';
  for (let i = 0; i + 1 < headers.length; i += 2) s += headers[i]! + ': ' + headers[i + 1]! + '\r\n';
  return s + '\r\n';
}

/**
 * One latin1 string → one Buffer. Building the head as a JS string and writing it once is ~2.4×
 * faster than writing each name and value into a pre-sized buffer (two native calls per field).
 */
function latin1Buffer(s: string): Buffer {
  const buf = Buffer.allocUnsafe(s.length);
  (buf as Latin1).latin1Write(s, 0);
  return buf;
}

/** `METHOD target HTTP/1.x` + headers + blank line, as one Buffer. */
export function encodeRequestHead(method: string, target: string, headers: readonly string[], versionMinor: 0 | 1 = 1): Buffer {
  return latin1Buffer(method + ' ' + target + (versionMinor === 1 ? ' HTTP/1.1\r\n' : ' HTTP/1.0\r\n') + fieldLines(headers));
}

/** `HTTP/1.x code reason` + headers + blank line, as one Buffer. */
export function encodeResponseHead(statusCode: number, reason: string, headers: readonly string[], versionMinor: 0 | 1 = 1): Buffer {
  return latin1Buffer((versionMinor === 1 ? 'HTTP/1.1 ' : 'HTTP/1.0 ') + statusCode + ' ' + reason + '\r\n' + fieldLines(headers));
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
  return latin1Buffer('0\r\n' + fieldLines(trailers));
}

export const Http1Encoder = { encodeRequestHead, encodeResponseHead, encodeChunkHeader, encodeChunk, encodeLastChunk, CHUNK_END } as const;

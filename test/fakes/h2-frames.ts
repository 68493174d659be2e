/**
 * Test fake: a raw HTTP/2 client (RFC 9113) for abuse tests, independent of Node's `http2` module. It
 * connects, sends the client preface and a SETTINGS frame, writes any frame the test builds by hand
 * (HEADERS with a hand-built HPACK block, CONTINUATION, DATA, RST_STREAM, SETTINGS, PING, WINDOW_UPDATE,
 * GOAWAY), parses every frame the server sends back, and reports how the connection ended: the GOAWAY
 * the server sent (last stream id, error code), then FIN or reset.
 *
 *   frame = | length (24) | type (8) | flags (8) | R (1) stream id (31) | payload (length bytes) |
 *
 * The HPACK side only encodes (RFC 7541): literal fields without indexing (§6.2.2) or with incremental
 * indexing (§6.2.1), indexed fields (§6.1) and dynamic table size updates (§6.3), all without Huffman.
 * Server header blocks are kept raw; `statusOf` reads a `:status` that nghttp2 sent from the static table.
 */
import { connect, type Socket } from 'node:net';

export const FrameType = {
  DATA: 0x0, HEADERS: 0x1, PRIORITY: 0x2, RST_STREAM: 0x3, SETTINGS: 0x4, PUSH_PROMISE: 0x5,
  PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export const ErrorCode = {
  NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, INTERNAL_ERROR: 0x2, FLOW_CONTROL_ERROR: 0x3, SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5, FRAME_SIZE_ERROR: 0x6, REFUSED_STREAM: 0x7, CANCEL: 0x8, COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa, ENHANCE_YOUR_CALM: 0xb, INADEQUATE_SECURITY: 0xc, HTTP_1_1_REQUIRED: 0xd,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1, ENABLE_PUSH: 0x2, MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5, MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Name of an error code, for messages. */
export function errorName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return `0x${code.toString(16)}`;
}

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

export interface GoAway {
  readonly lastStreamId: number;
  readonly errorCode: number;
  readonly debug: string;
}

/** One frame on the wire. */
export function frameBytes(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(out, 9);
  return out;
}

// ---------------------------------------------------------------------------------------------- HPACK

/** HPACK integer (RFC 7541 §5.1) with an `prefixBits`-bit prefix; `firstByte` holds the pattern bits. */
export function hpackInt(value: number, prefixBits: number, firstByte = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const bytes = [firstByte | max];
  let v = value - max;
  while (v >= 128) {
    bytes.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** HPACK string literal, no Huffman (§5.2). */
export function hpackString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([hpackInt(b.length, 7, 0x00), b]);
}

/** Literal header field without indexing, new name (§6.2.2): 0000 0000 | name | value. */
export function hpackLiteral(name: string, value: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

/** Literal header field with incremental indexing, new name (§6.2.1): adds the field to the dynamic table. */
export function hpackLiteralIndexed(name: string, value: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);
}

/** Indexed header field (§6.1); dynamic table entries start at 62 (the newest). */
export function hpackIndexed(index: number): Buffer {
  return hpackInt(index, 7, 0x80);
}

/** A header block of literal fields without indexing, in order (pseudo headers first). */
export function headerBlock(headers: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(headers.map(([n, v]) => hpackLiteral(n, v)));
}

/** The request pseudo headers (plus `extra`) for a GET-like request. */
export function requestHeaders(path: string, method = 'GET', authority = 'example.test', extra: readonly (readonly [string, string])[] = []): Buffer {
  return headerBlock([[':method', method], [':scheme', 'http'], [':path', path], [':authority', authority], ...extra]);
}

/**
 * `:status` of a response header block when nghttp2 sent it as an indexed static-table entry (200, 204,
 * 206, 304, 400, 404, 500: indexes 8..14), or as a literal with the `:status` name index and a plain
 * (non-Huffman) value; undefined otherwise.
 */
export function statusOf(block: Buffer): number | undefined {
  const first = block[0];
  if (first === undefined) return undefined;
  const STATIC: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };
  if ((first & 0x80) !== 0) return STATIC[first & 0x7f];
  // literal with (4-bit or 6-bit) name index 8..14, value not Huffman-coded
  const nameIndex = (first & 0x40) !== 0 ? first & 0x3f : first & 0x0f;
  if (nameIndex < 8 || nameIndex > 14) return undefined;
  const lenByte = block[1];
  if (lenByte === undefined || (lenByte & 0x80) !== 0) return undefined;
  return Number(block.subarray(2, 2 + lenByte).toString('latin1'));
}

// ------------------------------------------------------------------------------------------ payloads

export function settingsPayload(settings: readonly (readonly [number, number])[]): Buffer {
  const out = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    out.writeUInt16BE(id, i * 6);
    out.writeUInt32BE(value, i * 6 + 2);
  });
  return out;
}

/** A 32-bit big-endian field (RST_STREAM / GOAWAY error codes, WINDOW_UPDATE increments). */
export function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

export type EndKind = 'open' | 'fin' | 'reset';

export interface H2ClientOptions {
  /** Client SETTINGS sent after the preface (default: none, i.e. an empty SETTINGS frame). */
  readonly settings?: readonly (readonly [number, number])[];
  /** ACK the server's SETTINGS frames (default true). */
  readonly ackSettings?: boolean;
  /** Keep every received frame in `frames` (default true; counts are always kept). */
  readonly keepFrames?: boolean;
  /** SO_RCVBUF-like effect: start with reading paused (the server's writes back up). */
  readonly paused?: boolean;
}

/** A raw HTTP/2 connection to 127.0.0.1:`port`. */
export class H2Client {
  readonly socket: Socket;
  /** Every frame received (unless `keepFrames: false`). */
  readonly frames: Frame[] = [];
  /** Frames received, by type. */
  readonly counts = new Map<number, number>();
  /** The last GOAWAY the server sent. */
  goaway: GoAway | undefined;
  /** RST_STREAM error codes by stream id. */
  readonly resets = new Map<number, number>();
  /** Bytes received in total. */
  received = 0;
  /** Bytes this client wrote. */
  sent = 0;
  #buf: Buffer = Buffer.alloc(0);
  #end: EndKind = 'open';
  #error = '';
  #endedAt = 0;
  #waiters: (() => void)[] = [];
  readonly #keep: boolean;
  readonly #ackSettings: boolean;
  #nextStreamId = 1;

  private constructor(socket: Socket, options: H2ClientOptions) {
    this.socket = socket;
    this.#keep = options.keepFrames !== false;
    this.#ackSettings = options.ackSettings !== false;
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('end', () => this.#ended('fin'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#error = err.code ?? err.message;
      this.#ended('reset');
    });
    socket.on('close', () => this.#ended('fin'));
  }

  /** Connects, writes the preface and the client SETTINGS. */
  static connect(port: number, options: H2ClientOptions = {}): Promise<H2Client> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.removeListener('error', reject);
        s.setNoDelay(true);
        const c = new H2Client(s, options);
        if (options.paused === true) s.pause();
        c.write(Buffer.concat([CLIENT_PREFACE, frameBytes(FrameType.SETTINGS, 0, 0, settingsPayload(options.settings ?? []))]));
        resolve(c);
      });
      s.once('error', reject);
    });
  }

  get end(): EndKind {
    return this.#end;
  }

  /** Socket error code when the end was a reset ('ECONNRESET', 'EPIPE'). */
  get error(): string {
    return this.#error;
  }

  /** Date.now() when the connection ended; 0 while open. */
  get endedAt(): number {
    return this.#endedAt;
  }

  count(type: number): number {
    return this.counts.get(type) ?? 0;
  }

  /** The next odd stream id (1, 3, 5, …). */
  nextStreamId(): number {
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    return id;
  }

  /** Writes bytes; false when the socket buffered them (backpressure). Never throws on a dead socket. */
  write(data: Buffer): boolean {
    if (this.socket.destroyed) return false;
    this.sent += data.length;
    return this.socket.write(data);
  }

  /** Resolves once the socket's write buffer drained (or the socket is gone). */
  drained(): Promise<void> {
    if (this.socket.destroyed || this.socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  sendFrame(type: number, flags: number, streamId: number, payload?: Buffer): boolean {
    return this.write(frameBytes(type, flags, streamId, payload));
  }

  /** HEADERS with `block`; END_HEADERS unless `endHeaders: false`, END_STREAM when `endStream`. */
  sendHeaders(streamId: number, block: Buffer, options: { endStream?: boolean; endHeaders?: boolean } = {}): boolean {
    const flags = (options.endHeaders === false ? 0 : Flag.END_HEADERS) | (options.endStream === true ? Flag.END_STREAM : 0);
    return this.sendFrame(FrameType.HEADERS, flags, streamId, block);
  }

  sendContinuation(streamId: number, block: Buffer, endHeaders = false): boolean {
    return this.sendFrame(FrameType.CONTINUATION, endHeaders ? Flag.END_HEADERS : 0, streamId, block);
  }

  sendData(streamId: number, data: Buffer, endStream = false): boolean {
    return this.sendFrame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, data);
  }

  sendRst(streamId: number, errorCode: number = ErrorCode.CANCEL): boolean {
    return this.sendFrame(FrameType.RST_STREAM, 0, streamId, u32(errorCode));
  }

  sendSettings(settings: readonly (readonly [number, number])[] = [], ack = false): boolean {
    return this.sendFrame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, ack ? Buffer.alloc(0) : settingsPayload(settings));
  }

  sendPing(data: Buffer = Buffer.alloc(8), ack = false): boolean {
    return this.sendFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
  }

  sendWindowUpdate(streamId: number, increment: number): boolean {
    return this.sendFrame(FrameType.WINDOW_UPDATE, 0, streamId, u32(increment & 0x7fffffff));
  }

  sendGoaway(lastStreamId: number, errorCode: number = ErrorCode.NO_ERROR, debug = ''): boolean {
    return this.sendFrame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(lastStreamId), u32(errorCode), Buffer.from(debug)]));
  }

  /** Stops reading: the server's writes back up in the kernel buffers (as Envoy's flood tests do). */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  #onData(d: Buffer): void {
    this.received += d.length;
    let buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    while (buf.length >= 9) {
      const length = buf.readUIntBE(0, 3);
      if (buf.length < 9 + length) break;
      const f: Frame = {
        type: buf[3]!, flags: buf[4]!, streamId: buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(buf.subarray(9, 9 + length)),
      };
      buf = buf.subarray(9 + length);
      this.#onFrame(f);
    }
    this.#buf = buf;
    this.#wake();
  }

  #onFrame(f: Frame): void {
    this.counts.set(f.type, (this.counts.get(f.type) ?? 0) + 1);
    if (this.#keep) this.frames.push(f);
    if (f.type === FrameType.GOAWAY && f.payload.length >= 8) {
      this.goaway = {
        lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff,
        errorCode: f.payload.readUInt32BE(4),
        debug: f.payload.subarray(8).toString('latin1'),
      };
    } else if (f.type === FrameType.RST_STREAM && f.payload.length >= 4) {
      this.resets.set(f.streamId, f.payload.readUInt32BE(0));
    } else if (f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0 && this.#ackSettings) {
      this.sendSettings([], true);
    }
  }

  #ended(kind: 'fin' | 'reset'): void {
    if (this.#end === 'open') {
      this.#end = kind;
      this.#endedAt = Date.now();
    }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #tick(deadline: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(1, Math.min(50, deadline - Date.now())));
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Resolves with the first received frame (from index `from`) matching `pred`; throws on timeout or end. */
  async waitFrame(pred: (f: Frame) => boolean, timeoutMs = 3000, what = 'a frame', from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    let i = from;
    for (;;) {
      for (; i < this.frames.length; i++) if (pred(this.frames[i]!)) return this.frames[i]!;
      if (this.#end !== 'open') throw new Error(`connection ended (${this.#end}${this.#error ? ` ${this.#error}` : ''}) while waiting for ${what}`);
      if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
      await this.#tick(deadline);
    }
  }

  /** Resolves when `cond()` holds or the deadline passed; returns whether it held. */
  async until(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() >= deadline) return false;
      await this.#tick(deadline);
    }
    return true;
  }

  /** Waits until the server ended the connection (or `timeoutMs`); returns how (reading is resumed). */
  async waitEnd(timeoutMs = 3000): Promise<EndKind> {
    this.resumeReading();
    await this.until(() => this.#end !== 'open', timeoutMs);
    return this.#end;
  }

  /** A one-line summary for assertion messages. */
  describe(): string {
    const goaway = this.goaway === undefined ? 'no GOAWAY' : `GOAWAY(${errorName(this.goaway.errorCode)}, last=${this.goaway.lastStreamId}${this.goaway.debug ? `, ${JSON.stringify(this.goaway.debug)}` : ''})`;
    const types = [...this.counts].map(([t, n]) => `${Object.keys(FrameType).find((k) => FrameType[k as keyof typeof FrameType] === t) ?? t}×${n}`).join(' ');
    return `end=${this.#end}${this.#error ? `(${this.#error})` : ''}, ${goaway}, frames: ${types || 'none'}, sent ${this.sent} B, received ${this.received} B`;
  }

  close(): void {
    this.socket.destroy();
  }
}

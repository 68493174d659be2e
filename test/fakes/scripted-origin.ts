/**
 * Test fake for the HTTP/1 proxy tests: `ScriptedOrigin`, a raw-socket HTTP/1.1 origin that parses
 * requests with its own small parser (independent of Skiff's codec), records every connection and
 * request, and lets each test script the response bytes (well-formed, malformed, slow, none). Beside
 * it, a raw client (`RawClient`) that reads responses off the wire one by one, so tests can see
 * interim responses, framing headers, FIN versus RST, and anything sent after a response.
 *
 *   client ──RawClient──▶ Skiff ──▶ ScriptedOrigin ─ onHead(req, conn)    (before the body: 100-continue)
 *                                                   ─ onRequest(req, conn) (whole request: reply here)
 */
import { createHash, type Hash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type HeaderList = readonly (readonly [string, string])[];

/** First value of a header (case-insensitive name), or undefined. */
export function headerOf(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

export interface OriginRequest {
  readonly connId: number;
  /** 0-based index of this request on its connection. */
  readonly seqOnConn: number;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly rawHead: string;
  readonly headers: HeaderList;
  readonly chunked: boolean;
  /** The body (empty when the origin was started with `keepBody: false`). */
  body: Buffer;
  bodyBytes: number;
  bodySha256: string;
  trailers: HeaderList;
  /** Date.now() when the head was parsed. */
  readonly headAt: number;
}

export interface OriginConnection {
  readonly id: number;
  readonly socket: Socket;
  readonly openedAt: number;
  requests: number;
  /** Date.now() when the peer (Skiff) sent FIN or the socket closed; 0 while open. */
  peerEndedAt: number;
  closed: boolean;
  /** Stop parsing: everything after this point is raw (an upgraded tunnel). */
  raw: boolean;
}

export interface ScriptedOriginOptions {
  /** A request head arrived; its body has not been read yet. */
  onHead?(req: OriginRequest, conn: OriginConnection): void;
  /** A whole request arrived. Default: `200` with body `ok`. */
  onRequest?(req: OriginRequest, conn: OriginConnection): void;
  onConnection?(conn: OriginConnection): void;
  /** Keep request bodies in memory (default true); otherwise only counted and hashed. */
  keepBody?: boolean;
}

/** Serialises a response; `body` given → content-length framing unless a header says otherwise. */
export function responseBytes(status: number, headers: readonly (readonly [string, string])[] = [], body?: Buffer | string, reason = 'X'): Buffer {
  const b = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [n, v] of headers) head += `${n}: ${v}\r\n`;
  if (b !== undefined && headerOf(headers, 'content-length') === undefined && headerOf(headers, 'transfer-encoding') === undefined) {
    head += `content-length: ${b.length}\r\n`;
  }
  head += '\r\n';
  return b === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), b]);
}

/** Chunked encoding of `parts` with optional trailers. */
export function chunkedBytes(parts: readonly Buffer[], trailers: HeaderList = []): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (p.length === 0) continue;
    out.push(Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n'));
  }
  let tail = '0\r\n';
  for (const [n, v] of trailers) tail += `${n}: ${v}\r\n`;
  out.push(Buffer.from(`${tail}\r\n`));
  return Buffer.concat(out);
}

const MAX_HEAD_BYTES = 1024 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

type ParseState = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers';

/** Incremental request parser for one origin connection. */
class RequestReader {
  #buf: Buffer = Buffer.alloc(0);
  #state: ParseState = 'head';
  #remaining = 0;
  #req: OriginRequest | undefined;
  #hash: Hash | undefined;
  #parts: Buffer[] = [];
  #trailerLines: [string, string][] = [];
  readonly #origin: ScriptedOrigin;
  readonly #conn: OriginConnection;

  constructor(origin: ScriptedOrigin, conn: OriginConnection) {
    this.#origin = origin;
    this.#conn = conn;
  }

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      if (this.#conn.raw || this.#conn.closed) return;
      if (!this.#step()) return;
    }
  }

  /** One parsing step; false when more bytes are needed. */
  #step(): boolean {
    const buf = this.#buf;
    switch (this.#state) {
      case 'head': {
        const end = buf.indexOf(CRLFCRLF);
        if (end < 0) {
          if (buf.length > MAX_HEAD_BYTES) this.#conn.socket.destroy();
          return false;
        }
        const rawHead = buf.subarray(0, end).toString('latin1');
        this.#buf = buf.subarray(end + 4);
        const lines = rawHead.split('\r\n');
        const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ');
        const headers: [string, string][] = [];
        for (const line of lines.slice(1)) {
          const c = line.indexOf(':');
          headers.push([line.slice(0, c), line.slice(c + 1).trim()]);
        }
        const te = headerOf(headers, 'transfer-encoding');
        const chunked = te !== undefined && /chunked\s*$/i.test(te);
        const cl = Number(headerOf(headers, 'content-length') ?? '0');
        const req: OriginRequest = {
          connId: this.#conn.id, seqOnConn: this.#conn.requests++, method, target, version, rawHead, headers, chunked,
          body: Buffer.alloc(0), bodyBytes: 0, bodySha256: '', trailers: [], headAt: Date.now(),
        };
        this.#req = req;
        this.#hash = createHash('sha256');
        this.#parts = [];
        this.#trailerLines = [];
        this.#origin.requests.push(req);
        this.#origin.notify();
        this.#origin.options.onHead?.(req, this.#conn);
        if (chunked) this.#state = 'chunk-size';
        else if (cl > 0) {
          this.#state = 'length';
          this.#remaining = cl;
        } else this.#finish();
        return true;
      }
      case 'length': {
        if (buf.length === 0) return false;
        const n = Math.min(buf.length, this.#remaining);
        this.#body(buf.subarray(0, n));
        this.#buf = buf.subarray(n);
        this.#remaining -= n;
        if (this.#remaining === 0) this.#finish();
        return true;
      }
      case 'chunk-size': {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return false;
        const size = parseInt(buf.subarray(0, eol).toString('latin1').split(';')[0] ?? '', 16);
        this.#buf = buf.subarray(eol + 2);
        if (!Number.isFinite(size)) {
          this.#conn.socket.destroy();
          return false;
        }
        if (size === 0) this.#state = 'trailers';
        else {
          this.#state = 'chunk-data';
          this.#remaining = size;
        }
        return true;
      }
      case 'chunk-data': {
        if (buf.length === 0) return false;
        const n = Math.min(buf.length, this.#remaining);
        this.#body(buf.subarray(0, n));
        this.#buf = buf.subarray(n);
        this.#remaining -= n;
        if (this.#remaining === 0) this.#state = 'chunk-crlf';
        return true;
      }
      case 'chunk-crlf': {
        if (buf.length < 2) return false;
        this.#buf = buf.subarray(2);
        this.#state = 'chunk-size';
        return true;
      }
      case 'trailers': {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return false;
        const line = buf.subarray(0, eol).toString('latin1');
        this.#buf = buf.subarray(eol + 2);
        if (line === '') this.#finish();
        else {
          const c = line.indexOf(':');
          this.#trailerLines.push([line.slice(0, c), line.slice(c + 1).trim()]);
        }
        return true;
      }
    }
  }

  #body(b: Buffer): void {
    const req = this.#req;
    if (!req) return;
    req.bodyBytes += b.length;
    this.#hash?.update(b);
    if (this.#origin.options.keepBody !== false) this.#parts.push(Buffer.from(b));
  }

  #finish(): void {
    const req = this.#req;
    this.#state = 'head';
    if (!req) return;
    req.body = Buffer.concat(this.#parts);
    req.bodySha256 = this.#hash?.digest('hex') ?? '';
    req.trailers = this.#trailerLines;
    this.#parts = [];
    this.#req = undefined;
    this.#origin.completed.push(req);
    this.#origin.notify();
    const onRequest = this.#origin.options.onRequest;
    if (onRequest) onRequest(req, this.#conn);
    else this.#conn.socket.write(responseBytes(200, [], 'ok'));
  }
}

/** A scripted raw HTTP/1.1 origin on 127.0.0.1, port 0. */
export class ScriptedOrigin {
  readonly options: ScriptedOriginOptions;
  readonly connections: OriginConnection[] = [];
  /** Every request whose head arrived, in arrival order. */
  readonly requests: OriginRequest[] = [];
  /** Every request whose body arrived in full. */
  readonly completed: OriginRequest[] = [];
  readonly #server: Server;
  #waiters: (() => void)[] = [];

  private constructor(options: ScriptedOriginOptions) {
    this.options = options;
    this.#server = createServer((socket) => {
      const conn: OriginConnection = { id: this.connections.length, socket, openedAt: Date.now(), requests: 0, peerEndedAt: 0, closed: false, raw: false };
      this.connections.push(conn);
      const reader = new RequestReader(this, conn);
      socket.on('data', (d: Buffer) => reader.push(d));
      socket.on('end', () => {
        if (conn.peerEndedAt === 0) conn.peerEndedAt = Date.now();
        this.notify();
        socket.end();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (conn.peerEndedAt === 0) conn.peerEndedAt = Date.now();
        conn.closed = true;
        this.notify();
      });
      options.onConnection?.(conn);
      this.notify();
    });
  }

  static async start(options: ScriptedOriginOptions = {}): Promise<ScriptedOrigin> {
    const o = new ScriptedOrigin(options);
    await new Promise<void>((resolve) => o.#server.listen(0, '127.0.0.1', resolve));
    return o;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `cond()` holds (checked on every origin event and every 20 ms). */
  async waitFor(cond: () => boolean, timeoutMs = 3000, what = 'origin condition'): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A TCP port with nothing listening on it (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface RawResponse {
  readonly version: string;
  readonly status: number;
  readonly rawHead: string;
  readonly headers: HeaderList;
  readonly body: Buffer;
  readonly trailers: HeaderList;
  /** Framing: how the body was delimited. */
  readonly framing: 'none' | 'length' | 'chunked' | 'close';
}

export type EndKind = 'open' | 'fin' | 'reset';

/**
 * A raw HTTP/1 client on one connection: `send` writes bytes as given; `read` parses the next
 * response (1xx included) with the framing rules of RFC 9112 §6.3. `noBody` marks a response to HEAD.
 */
export class RawClient {
  readonly socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #end: EndKind = 'open';
  #error = '';
  #waiters: (() => void)[] = [];
  /** Every byte received, for "nothing else arrived" checks. */
  received = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received += d.length;
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    socket.on('end', () => {
      if (this.#end === 'open') this.#end = 'fin';
      this.#wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#error = err.code ?? err.message;
      this.#end = 'reset';
      this.#wake();
    });
    socket.on('close', () => {
      if (this.#end === 'open') this.#end = 'fin';
      this.#wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => {
        s.removeListener('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  get end(): EndKind {
    return this.#end;
  }

  get error(): string {
    return this.#error;
  }

  /** Bytes received but not parsed yet. */
  get pending(): Buffer {
    return this.#buf;
  }

  send(data: string | Buffer): boolean {
    return this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #more(deadline: number, what: string): Promise<void> {
    if (this.#end !== 'open') throw new Error(`connection ended (${this.#end}${this.#error ? ` ${this.#error}` : ''}) while waiting for ${what}; unparsed ${JSON.stringify(this.#buf.toString('latin1').slice(0, 200))}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what}; unparsed ${JSON.stringify(this.#buf.toString('latin1').slice(0, 200))}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.min(left, 50));
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Waits until the peer ended the connection (or `timeoutMs`); returns how. */
  async waitEnd(timeoutMs = 3000): Promise<EndKind> {
    const deadline = Date.now() + timeoutMs;
    while (this.#end === 'open' && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now())));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.#end;
  }

  /** Reads the next response (interim ones too). Throws if it does not arrive complete in time. */
  async read(options: { noBody?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 3000);
    let headEnd: number;
    while ((headEnd = this.#buf.indexOf(CRLFCRLF)) < 0) await this.#more(deadline, 'a response head');
    const rawHead = this.#buf.subarray(0, headEnd).toString('latin1');
    const lines = rawHead.split('\r\n');
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const version = m[1] ?? '';
    const status = Number(m[2]);
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':');
      headers.push([line.slice(0, c), line.slice(c + 1).trim()]);
    }
    this.#buf = this.#buf.subarray(headEnd + 4);
    const te = headerOf(headers, 'transfer-encoding');
    const cl = headerOf(headers, 'content-length');
    if (options.noBody || (status >= 100 && status < 200) || status === 204 || status === 304) {
      return { version, status, rawHead, headers, body: Buffer.alloc(0), trailers: [], framing: 'none' };
    }
    if (te !== undefined) {
      const parts: Buffer[] = [];
      for (;;) {
        let eol: number;
        while ((eol = this.#buf.indexOf('\r\n')) < 0) await this.#more(deadline, 'a chunk size');
        const size = parseInt(this.#buf.subarray(0, eol).toString('latin1').split(';')[0] ?? '', 16);
        if (!Number.isFinite(size)) throw new Error(`bad chunk size line ${JSON.stringify(this.#buf.subarray(0, eol).toString('latin1'))}`);
        if (size === 0) {
          this.#buf = this.#buf.subarray(eol + 2);
          break;
        }
        while (this.#buf.length < eol + 2 + size + 2) await this.#more(deadline, 'chunk data');
        parts.push(Buffer.from(this.#buf.subarray(eol + 2, eol + 2 + size)));
        this.#buf = this.#buf.subarray(eol + 2 + size + 2);
      }
      const trailers: [string, string][] = [];
      for (;;) {
        let eol: number;
        while ((eol = this.#buf.indexOf('\r\n')) < 0) await this.#more(deadline, 'trailers');
        const line = this.#buf.subarray(0, eol).toString('latin1');
        this.#buf = this.#buf.subarray(eol + 2);
        if (line === '') break;
        const c = line.indexOf(':');
        trailers.push([line.slice(0, c), line.slice(c + 1).trim()]);
      }
      return { version, status, rawHead, headers, body: Buffer.concat(parts), trailers, framing: 'chunked' };
    }
    if (cl !== undefined) {
      const n = Number(cl);
      while (this.#buf.length < n) await this.#more(deadline, `a ${n}-byte body (have ${this.#buf.length})`);
      const body = Buffer.from(this.#buf.subarray(0, n));
      this.#buf = this.#buf.subarray(n);
      return { version, status, rawHead, headers, body, trailers: [], framing: 'length' };
    }
    // close-delimited
    while (this.#end === 'open') {
      if (Date.now() > deadline) throw new Error('timed out waiting for a close-delimited body');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const body = this.#buf;
    this.#buf = Buffer.alloc(0);
    return { version, status, rawHead, headers, body, trailers: [], framing: 'close' };
  }

  /** Reads responses until a final (non-1xx) one; returns the interim ones and the final one. */
  async readFinal(options: { noBody?: boolean; timeoutMs?: number } = {}): Promise<{ interim: RawResponse[]; final: RawResponse }> {
    const interim: RawResponse[] = [];
    for (;;) {
      const r = await this.read(options);
      if (r.status >= 200 || r.status === 101) return { interim, final: r };
      interim.push(r);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One request on a new connection; the final response, or throws. The connection is closed after. */
export async function rawRequest(port: number, request: string | Buffer, options: { noBody?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  const c = await RawClient.connect(port);
  try {
    c.send(request);
    return (await c.readFinal(options)).final;
  } finally {
    c.close();
  }
}

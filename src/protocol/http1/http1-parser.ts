/**
 * Protocol layer, HTTP/1 codec: the incremental HTTP/1.1 parser for both directions. `execute(chunk)`
 * consumes what it can from any split point, keeps partial state, and reports through one callbacks
 * object. Header sections are parsed in place when they sit inside one chunk; only a section split across
 * chunks is copied (into a small, growable per-parser buffer). Bodies are passed on as `subarray` views.
 *
 *   message  = head body?                              head: see head-parser.ts
 *   body     = Content-Length bytes | chunked | bytes until close (responses only)
 *   chunked  = *( chunk-size [ ";" ext… ] CRLF data CRLF ) "0" [ ";" ext… ] CRLF trailers CRLF
 *
 *   state:  HEAD ─▶ (BODY_LENGTH | CHUNK_* ─▶ TRAILERS | BODY_CLOSE) ─▶ complete ─▶ HEAD | UPGRADED
 *           any rule broken ─▶ ERROR (sticky; the caller replies `error.status` and closes)
 */
import { BodyFraming, ParseStatus, type Http1Callbacks, type Http1Error, type Http1Head } from './http1-types.js';
import { DEFAULT_HTTP1_LIMITS, type Http1Limits } from './http1-limits.js';
import { HEX, TOKEN } from './http1-chars.js';
import { Pending, http1Error, parseHead, parseTrailers } from './head-parser.js';

const CR = 0x0d, LF = 0x0a, SP = 0x20, HTAB = 0x09;
const S = {
  Head: 0, BodyLength: 1, ChunkSize: 2, ChunkExt: 3, ChunkSizeLf: 4, ChunkData: 5, ChunkDataCr: 6,
  ChunkDataLf: 7, Trailers: 8, BodyClose: 9, Upgraded: 10, Error: 11,
} as const;
type S = (typeof S)[keyof typeof S];
/** Chunk-extension grammar: *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ). */
const X = { BeforeName: 0, Name: 1, AfterName: 2, BeforeValue: 3, Value: 4, Quoted: 5, QuotedEsc: 6, AfterValue: 7, BeforeSemi: 8 } as const;
const MAX_CHUNK_SIZE = Number.MAX_SAFE_INTEGER;
const ACC_INITIAL_BYTES = 1024;
const ACC_KEEP_BYTES = 4096;

export type Http1ParserMode = 'request' | 'response';

export class Http1Parser {
  readonly #isRequest: boolean;
  readonly #cb: Http1Callbacks;
  readonly #limits: Http1Limits;
  #state: S = S.Head;
  #paused = false;
  #consumed = 0;
  #error: Http1Error | null = null;
  // header/trailer section split across chunks
  #acc: Buffer | null = null;
  #accLen = 0;
  #accScan = 0;
  // body
  #remaining = 0;
  #chunkDigits = 0;
  #extState: number = X.BeforeName;
  #extLen = 0;
  #upgradeAfter = false;
  // responses: what each outstanding request was (index queue, no shift()), and interim responses seen
  #pending: number[] = [];
  #pendingHead = 0;
  #interim = 0;
  #finalResponse = false;

  constructor(mode: Http1ParserMode, callbacks: Http1Callbacks, limits: Http1Limits = DEFAULT_HTTP1_LIMITS) {
    this.#isRequest = mode === 'request';
    this.#cb = callbacks;
    this.#limits = limits;
  }

  /** Bytes of the last `execute()` chunk consumed (all of it after `Ok`). The rest is the caller's. */
  get consumed(): number { return this.#consumed; }
  /** The rejection, once `execute()` or `finish()` returned `Error`. */
  get error(): Http1Error | null { return this.#error; }
  /** True between messages with no partial bytes held: a connection here may be reused or closed cleanly. */
  get isIdle(): boolean { return this.#state === S.Head && this.#accLen === 0; }
  /**
   * The raw bytes of a head begun but not complete (a hot upgrade moves them unparsed to the new
   * process); null when no head is in progress.
   */
  partialHead(): Buffer | null {
    return this.#state === S.Head && this.#accLen > 0 && this.#acc !== null ? Buffer.from(this.#acc.subarray(0, this.#accLen)) : null;
  }
  /** Responses still expected (response mode). */
  get pendingResponses(): number { return this.#pending.length - this.#pendingHead; }

  /** Stops `execute()` after the current event (pipelining backpressure). Re-feed the unconsumed rest after `resume()`. */
  pause(): void { this.#paused = true; }
  resume(): void { this.#paused = false; }

  /** Response mode: records the request a response will answer (call in request order, before its response). */
  expectResponse(method: string, upgradeRequested = false): void {
    this.#pending.push((method === 'HEAD' ? Pending.Head : 0) | (method === 'CONNECT' ? Pending.Connect : 0)
      | (upgradeRequested ? Pending.Upgrade : 0));
  }

  /** Back to the initial state (e.g. an upgrade the upstream refused: keep parsing HTTP on the same bytes). */
  reset(): void {
    this.#state = S.Head; this.#paused = false; this.#error = null; this.#accLen = 0; this.#accScan = 0;
    this.#upgradeAfter = false; this.#pending.length = 0; this.#pendingHead = 0; this.#interim = 0;
    this.#finalResponse = false; this.#remaining = 0; this.#chunkDigits = 0;
  }

  /** The peer closed its side. Completes a read-until-close body; anything else partial is truncation. */
  finish(): ParseStatus {
    switch (this.#state) {
      case S.Error: return ParseStatus.Error;
      case S.Upgraded: return ParseStatus.Upgraded;
      case S.BodyClose: this.#complete(); return ParseStatus.Ok;
      case S.Head: if (this.#accLen === 0) return ParseStatus.Ok;
    }
    return this.#fail('E_TRUNCATED', 400, 'connection closed before the message was complete');
  }

  /** Consumes bytes. Returns Ok (all consumed), Paused, Upgraded (rest is tunnel bytes) or Error. */
  execute(chunk: Buffer): ParseStatus {
    this.#consumed = 0;
    if (this.#state === S.Error) return ParseStatus.Error;
    if (this.#state === S.Upgraded) return ParseStatus.Upgraded;
    if (this.#paused) return ParseStatus.Paused;
    const n = chunk.length;
    let p = 0;
    while (p < n) {
      switch (this.#state) {
        case S.Head: case S.Trailers: {
          const q = this.#section(chunk, p);
          if (q < 0) { this.#consumed = -q - 1; return ParseStatus.Error; }
          p = q;
          break;
        }
        case S.BodyLength: {
          const take = Math.min(this.#remaining, n - p);
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = S.Head;
          this.#cb.onBody(chunk.subarray(p, p + take));
          p += take;
          if (this.#remaining === 0) this.#complete();
          break;
        }
        case S.BodyClose:
          this.#cb.onBody(p === 0 ? chunk : chunk.subarray(p));
          p = n;
          break;
        case S.ChunkData: {
          const take = Math.min(this.#remaining, n - p);
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = S.ChunkDataCr;
          this.#cb.onBody(chunk.subarray(p, p + take));
          p += take;
          break;
        }
        default: {
          const r = this.#chunkFraming(chunk[p]!);
          if (r !== null) { this.#consumed = p; return this.#failWith(r); }
          p++;
        }
      }
      const st = this.#state as S;
      if (st === S.Error) return ParseStatus.Error;
      if (st === S.Upgraded) { this.#consumed = p; return ParseStatus.Upgraded; }
      if (this.#paused) { this.#consumed = p; return ParseStatus.Paused; }
    }
    this.#consumed = n;
    return ParseStatus.Ok;
  }

  /** One byte of chunk-size line / chunk-data terminator. Returns an error or null. */
  #chunkFraming(c: number): Http1Error | null {
    switch (this.#state) {
      case S.ChunkSize: {
        const h = HEX[c]!;
        if (h !== 255) {
          const v = this.#remaining * 16 + h;
          if (v > MAX_CHUNK_SIZE) return this.#err('E_CHUNK_SIZE', 400, 'chunk size overflow');
          this.#remaining = v; this.#chunkDigits++;
          return null;
        }
        if (this.#chunkDigits === 0) return this.#err('E_CHUNK_SIZE', 400, 'invalid chunk size');
        if (c === 0x3b) { this.#state = S.ChunkExt; this.#extState = X.BeforeName; this.#extLen = 0; return null; }
        if (c === CR) { this.#state = S.ChunkSizeLf; return null; }
        if (c === SP || c === HTAB) { this.#state = S.ChunkExt; this.#extState = X.BeforeSemi; this.#extLen = 1; return null; }
        return this.#err('E_CHUNK_SIZE', 400, 'invalid chunk size');
      }
      case S.ChunkExt: return this.#chunkExt(c);
      case S.ChunkSizeLf:
        if (c !== LF) return this.#err('E_CHUNK', 400, 'chunk-size line not ended by CRLF');
        if (this.#remaining === 0) { this.#state = S.Trailers; this.#accLen = 0; this.#accScan = 0; }
        else this.#state = S.ChunkData;
        return null;
      case S.ChunkDataCr:
        if (c !== CR) return this.#err('E_CHUNK_DATA', 400, 'chunk data longer than its size');
        this.#state = S.ChunkDataLf;
        return null;
      default: // ChunkDataLf
        if (c !== LF) return this.#err('E_CHUNK_DATA', 400, 'chunk data not ended by CRLF');
        this.#state = S.ChunkSize; this.#remaining = 0; this.#chunkDigits = 0;
        return null;
    }
  }

  #chunkExt(c: number): Http1Error | null {
    if (++this.#extLen > this.#limits.maxChunkExtBytes) return this.#err('E_CHUNK_EXT_TOO_LONG', 413, 'chunk extensions too long');
    const ws = c === SP || c === HTAB;
    const tok = TOKEN[c] === 1;
    let next = -1;
    switch (this.#extState) {
      case X.BeforeName: next = ws ? X.BeforeName : tok ? X.Name : -1; break;
      case X.Name: case X.AfterName: case X.Value: case X.AfterValue: {
        const st = this.#extState;
        if (c === CR) { this.#state = S.ChunkSizeLf; return null; }
        if (c === 0x3b) next = X.BeforeName;
        else if (ws) next = st === X.Name ? X.AfterName : st === X.Value ? X.AfterValue : st;
        else if (tok && (st === X.Name || st === X.Value)) next = st;
        else if (c === 0x3d && (st === X.Name || st === X.AfterName)) next = X.BeforeValue;
        break;
      }
      case X.BeforeSemi: next = ws ? X.BeforeSemi : c === 0x3b ? X.BeforeName : -1; break;
      case X.BeforeValue: next = ws ? X.BeforeValue : c === 0x22 ? X.Quoted : tok ? X.Value : -1; break;
      case X.Quoted:
        next = c === 0x22 ? X.AfterValue : c === 0x5c ? X.QuotedEsc : (ws || (c >= 0x21 && c !== 0x7f)) ? X.Quoted : -1;
        break;
      default: next = ws || (c >= 0x21 && c !== 0x7f) ? X.Quoted : -1; // QuotedEsc
    }
    if (next < 0) return this.#err('E_CHUNK_EXT', 400, 'invalid chunk extension');
    this.#extState = next;
    return null;
  }

  /**
   * Locates the end of a header/trailer section starting at chunk[p]; parses it when complete.
   * Returns the new position, or -(position + 1) on error.
   */
  #section(chunk: Buffer, p: number): number {
    const max = this.#limits.maxHeaderBytes;
    if (this.#accLen === 0) {
      const end = findSectionEnd(chunk, p);
      if (end >= 0) {
        if (end - p > max) return -(p + 1) + this.#failNum('E_HEADER_SIZE', 431, 'header section too large');
        return this.#sectionDone(chunk, p, end) ? end : -(p + 1);
      }
      const rest = chunk.length - p;
      if (rest > max) return -(p + 1) + this.#failNum('E_HEADER_SIZE', 431, 'header section too large');
      this.#accScan = lastLineStart(chunk, p) - p;
      this.#accAppend(chunk, p, chunk.length);
      return chunk.length;
    }
    const old = this.#accLen;
    const take = Math.min(chunk.length - p, max - old);
    this.#accAppend(chunk, p, p + take);
    const acc = this.#acc!;
    const end = findSectionEnd(acc.subarray(0, this.#accLen), this.#accScan);
    if (end < 0) {
      if (this.#accLen >= max) return -(p + 1) + this.#failNum('E_HEADER_SIZE', 431, 'header section too large');
      this.#accScan = lastLineStart(acc.subarray(0, this.#accLen), this.#accScan);
      return p + take;
    }
    this.#accLen = 0;
    const ok = this.#sectionDone(acc, 0, end);
    if (acc.length > ACC_KEEP_BYTES) this.#acc = null; // a rare big head: don't keep its buffer per connection
    return ok ? p + (end - old) : -(p + 1);
  }

  #accAppend(src: Buffer, s: number, e: number): void {
    const need = this.#accLen + (e - s);
    let acc = this.#acc;
    if (acc === null || acc.length < need) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(need, ACC_INITIAL_BYTES, (acc?.length ?? 0) * 2), this.#limits.maxHeaderBytes));
      if (acc !== null) acc.copy(grown, 0, 0, this.#accLen);
      this.#acc = acc = grown;
    }
    src.copy(acc, this.#accLen, s, e);
    this.#accLen = need;
  }

  /** A whole section buf[s..e) is available. Returns false after recording an error. */
  #sectionDone(buf: Buffer, s: number, e: number): boolean {
    if (this.#state === S.Trailers) {
      const t = parseTrailers(buf, s, e, this.#isRequest, this.#limits);
      if (!Array.isArray(t)) { this.#failWith(t); return false; }
      this.#state = S.Head;
      if (t.length > 0) this.#cb.onTrailers(t);
      this.#complete();
      return true;
    }
    if (e - s === 2 && buf[s] === CR) return true; // an empty line before a message is ignored (RFC 9112 §2.2)
    let pending = 0;
    if (!this.#isRequest) {
      if (this.#pendingHead >= this.#pending.length) {
        this.#fail('E_UNSOLICITED_RESPONSE', 502, 'response bytes with no request outstanding');
        return false;
      }
      pending = this.#pending[this.#pendingHead]!;
    }
    const head = parseHead(buf, s, e, this.#isRequest, this.#limits, pending);
    if (!isHead(head)) { this.#failWith(head); return false; }
    const interim = !this.#isRequest && head.statusCode < 200 && head.statusCode !== 101;
    if (interim && ++this.#interim > this.#limits.maxInterimResponses) {
      this.#fail('E_TOO_MANY_INTERIM', 502, 'too many interim responses');
      return false;
    }
    this.#finalResponse = !this.#isRequest && !interim;
    this.#upgradeAfter = head.upgrade;
    switch (head.framing) {
      case BodyFraming.Length: this.#state = S.BodyLength; this.#remaining = head.contentLength; break;
      case BodyFraming.Chunked: this.#state = S.ChunkSize; this.#remaining = 0; this.#chunkDigits = 0; break;
      case BodyFraming.UntilClose: this.#state = S.BodyClose; break;
      default: this.#state = S.Head;
    }
    this.#cb.onMessageBegin();
    this.#cb.onHeaders(head);
    if (head.framing === BodyFraming.None) this.#complete();
    return true;
  }

  #complete(): void {
    if (this.#finalResponse) {
      this.#finalResponse = false;
      this.#interim = 0;
      if (++this.#pendingHead === this.#pending.length) { this.#pending.length = 0; this.#pendingHead = 0; }
    }
    this.#state = this.#upgradeAfter ? S.Upgraded : S.Head;
    this.#upgradeAfter = false;
    this.#cb.onMessageComplete();
  }

  #err(code: string, status: 400 | 413 | 431 | 501 | 505, reason: string): Http1Error {
    return http1Error(this.#isRequest, code, status, reason);
  }

  #fail(code: string, status: 400 | 413 | 431 | 501 | 502 | 505, reason: string): ParseStatus {
    return this.#failWith(http1Error(this.#isRequest, code, status, reason));
  }

  #failNum(code: string, status: 431, reason: string): number { this.#fail(code, status, reason); return 0; }

  #failWith(e: Http1Error): ParseStatus {
    this.#error = e;
    this.#state = S.Error;
    return ParseStatus.Error;
  }
}

function isHead(h: Http1Head | Http1Error): h is Http1Head {
  return (h as Http1Head).headers !== undefined;
}

/**
 * Index just past the blank line ending a section, scanning whole lines from `from` (a line start); -1 if not there yet. A line is blank when it is "\r\n" (or a bare "\n", which the section
 * parser then rejects). Bare LFs elsewhere are rejected by the section parser too.
 */
function findSectionEnd(buf: Buffer, from: number): number {
  let line = from;
  for (;;) {
    const lf = buf.indexOf(LF, line);
    if (lf < 0) return -1;
    if (lf === line || (lf === line + 1 && buf[line] === CR)) return lf + 1;
    line = lf + 1;
  }
}

/** Start of the last (incomplete) line in buf[from..]. */
function lastLineStart(buf: Buffer, from: number): number {
  const lf = buf.lastIndexOf(LF);
  return lf >= from ? lf + 1 : from;
}

/**
 * Extension (Dubbo codec helper): a minimal Hessian 2.0 reader. The Dubbo codec reads only what routing
 * needs from a request body (a few strings and the attachments map) and must step over every argument
 * value without building it, so this reader reads strings, ints, nulls and string→string maps, and SKIPS
 * any other value. It never throws: a failing call returns `undefined`/`false` and leaves the reason in
 * `error`. One instance may be reused (`reset` per body); the class-definition table lives per body.
 *
 * Grammar handled (http://hessian.caucho.com/doc/hessian-serialization.html), first byte → form:
 *
 *   x00-x1f  string, len 0-31          x30-x33 b0      string, len 0-1023      'S' b1 b0  final chunk
 *   'R' b1 b0 <utf8> string            non-final string chunk (lengths count UTF-16 units, CESU-8 data)
 *   x20-x2f  binary, len 0-15          x34-x37 b0      binary, len 0-1023      'B' b1 b0  final chunk
 *   'A' b1 b0 <data> binary            non-final binary chunk
 *   x80-xbf  int (-16..47)             xc0-xcf b0      int                     xd0-xd7 b1 b0   'I' b3..b0
 *   xd8-xef  long                      xf0-xff b0      long    x38-x3f b1 b0   x59 b3..b0      'L' b7..b0
 *   x5b x5c  double 0.0 / 1.0          x5d b0 | x5e b1 b0 | x5f b3..b0 (float / hessian.js int32 mills)
 *   'D' b7..b0 double                  x4a b7..b0 date (ms)            x4b b3..b0 date (minutes)
 *   'N' null   'T' 'F' booleans        'Q' int  ref to an earlier list/map/object
 *   'H' (k v)* 'Z'  untyped map        'M' type (k v)* 'Z'  typed map          (type ::= string | int)
 *   x55 type v* 'Z' | 'V' type int v* | x57 v* 'Z' | x58 int v* | x70-x77 type v* | x78-x7f v*   lists
 *   'C' string int string*  class definition (then a value)   'O' int v* | x60-x6f v*   object instance
 */

const EMPTY = Buffer.alloc(0);
/** Nesting limit for lists, maps and objects: a hostile body cannot exhaust the stack. */
export const HESSIAN2_MAX_DEPTH = 64;
/** Scratch for decoding non-ASCII string chunks as UTF-16LE (a chunk has at most 65535 units). */
const UTF16_SCRATCH = Buffer.allocUnsafe(0x10000 * 2);

export class Hessian2Reader {
  #buf: Buffer = EMPTY;
  #end = 0;
  /** Next byte to read. */
  pos = 0;
  /** Why the last failing call failed ('' until one fails). */
  error = '';
  /** Field count of each class definition seen in this body, by definition index. */
  #classFields: number[] = [];

  /** Reads `buf[start, end)` from `start`; forgets the previous body's class definitions. */
  reset(buf: Buffer, start: number, end: number): this {
    this.#buf = buf;
    this.pos = start;
    this.#end = end;
    this.error = '';
    this.#classFields.length = 0;
    return this;
  }

  /** Drops the reference to the last body (a shared reader must not keep a large read buffer alive). */
  release(): void {
    this.#buf = EMPTY;
    this.pos = 0;
    this.#end = 0;
    this.#classFields.length = 0;
  }

  get atEnd(): boolean {
    return this.pos >= this.#end;
  }

  /** The next tag byte, or -1 at the end. */
  peek(): number {
    return this.pos < this.#end ? this.#buf[this.pos]! : -1;
  }

  /** True when the next value is a string (any form, chunked included). */
  isString(): boolean {
    return isStringTag(this.peek());
  }

  /** True when the next value is an int (any compact form or 'I'). */
  isInt(): boolean {
    const t = this.peek();
    return t === 0x49 || (t >= 0x80 && t <= 0xd7);
  }

  /** Consumes a null ('N') if it is next. */
  readNull(): boolean {
    if (this.peek() !== 0x4e) return false;
    this.pos++;
    return true;
  }

  #fail(reason: string): false {
    if (this.error === '') this.error = reason;
    return false;
  }

  /** Reads a 32-bit int in any form; `undefined` if the next value is not an int or is truncated. */
  readInt(): number | undefined {
    const b = this.#buf;
    const p = this.pos;
    const t = this.peek();
    if (t >= 0x80 && t <= 0xbf) {
      this.pos = p + 1;
      return t - 0x90;
    }
    if (t >= 0xc0 && t <= 0xcf) {
      if (p + 2 > this.#end) return this.#failU('truncated int');
      this.pos = p + 2;
      return ((t - 0xc8) << 8) + b[p + 1]!;
    }
    if (t >= 0xd0 && t <= 0xd7) {
      if (p + 3 > this.#end) return this.#failU('truncated int');
      this.pos = p + 3;
      return ((t - 0xd4) << 16) + (b[p + 1]! << 8) + b[p + 2]!;
    }
    if (t === 0x49) {
      if (p + 5 > this.#end) return this.#failU('truncated int');
      this.pos = p + 5;
      return b.readInt32BE(p + 1);
    }
    return this.#failU(t < 0 ? 'expected an int, found the end' : `expected an int, found tag 0x${t.toString(16)}`);
  }

  #failU(reason: string): undefined {
    this.#fail(reason);
    return undefined;
  }

  /** Reads a string (all chunked forms); `undefined` if the next value is not a string or is malformed. */
  readString(): string | undefined {
    let out: string | undefined;
    for (;;) {
      const t = this.peek();
      const len = this.#stringChunkLength(t);
      if (len < 0) return this.#failU(t < 0 ? 'expected a string, found the end' : `expected a string, found tag 0x${t.toString(16)}`);
      const piece = this.#decodeUtf8(len);
      if (piece === undefined) return undefined;
      out = out === undefined ? piece : out + piece;
      if (t !== 0x52) return out; // 'R' = a non-final chunk, another string chunk follows
    }
  }

  /** Reads a string or a null: `null` for 'N', `undefined` on failure. */
  readStringOrNull(): string | null | undefined {
    if (this.readNull()) return null;
    return this.readString();
  }

  /**
   * Reads a map ('H', or 'M' with its type; a null counts as an empty map) and puts every entry whose key
   * and value are both strings into `into` (keys lower-cased when `lowerKeys`); other entries are skipped.
   */
  readStringMap(into: Map<string, string>, lowerKeys: boolean): boolean {
    const t = this.peek();
    if (t === 0x4e) {
      this.pos++;
      return true;
    }
    if (t === 0x4d) {
      this.pos++;
      if (!this.#skipType()) return false;
    } else if (t === 0x48) {
      this.pos++;
    } else {
      return this.#fail(t < 0 ? 'expected a map, found the end' : `expected a map, found tag 0x${t.toString(16)}`);
    }
    for (;;) {
      const k = this.peek();
      if (k === 0x5a) {
        this.pos++;
        return true;
      }
      if (k < 0) return this.#fail('truncated map');
      if (isStringTag(k)) {
        const key = this.readString();
        if (key === undefined) return false;
        if (this.isString()) {
          const value = this.readString();
          if (value === undefined) return false;
          into.set(lowerKeys ? key.toLowerCase() : key, value);
        } else if (!this.skip()) {
          return false;
        }
      } else if (!this.skip() || !this.skip()) {
        return false;
      }
    }
  }

  /** Steps over one value of any kind (a class definition before it included). */
  skip(): boolean {
    return this.#skip(0);
  }

  #skip(depth: number): boolean {
    if (depth > HESSIAN2_MAX_DEPTH) return this.#fail('values nested too deeply');
    const b = this.#buf;
    for (;;) {
      const p = this.pos;
      if (p >= this.#end) return this.#fail('truncated value');
      const t = b[p]!;
      if (t <= 0x1f || (t >= 0x30 && t <= 0x33) || t === 0x52 || t === 0x53) return this.#skipString();
      if (t >= 0x80) {
        if (t <= 0xd7) return this.readInt() !== undefined;
        if (t <= 0xef) return this.#advance(1); // long -8..15
        return this.#advance(2); // long, 1 extra byte
      }
      if (t >= 0x20 && t <= 0x2f) return this.#advance(1 + t - 0x20); // short binary
      if (t >= 0x34 && t <= 0x37) {
        if (p + 2 > this.#end) return this.#fail('truncated binary');
        return this.#advance(2 + ((t - 0x34) << 8) + b[p + 1]!);
      }
      if (t >= 0x38 && t <= 0x3f) return this.#advance(3); // long, 2 extra bytes
      if (t >= 0x60 && t <= 0x6f) {
        this.pos = p + 1;
        return this.#skipInstance(t - 0x60, depth);
      }
      if (t >= 0x70 && t <= 0x77) {
        this.pos = p + 1;
        return this.#skipType() && this.#skipValues(t - 0x70, depth);
      }
      if (t >= 0x78 && t <= 0x7f) {
        this.pos = p + 1;
        return this.#skipValues(t - 0x78, depth);
      }
      switch (t) {
        case 0x4e: // N
        case 0x54: // T
        case 0x46: // F
        case 0x5b: // double 0.0
        case 0x5c: // double 1.0
          return this.#advance(1);
        case 0x5d:
          return this.#advance(2);
        case 0x5e:
          return this.#advance(3);
        case 0x5f: // double as float (spec) or int32 mills (hessian.js): 4 bytes either way
        case 0x59: // long as int32
        case 0x4b: // date in minutes
          return this.#advance(5);
        case 0x44: // D
        case 0x4c: // L
        case 0x4a: // date in ms
          return this.#advance(9);
        case 0x49: // I
          return this.readInt() !== undefined;
        case 0x41: // A: binary, non-final chunk
        case 0x42: // B: binary, final chunk
          return this.#skipBinary();
        case 0x51: // Q: ref
          this.pos = p + 1;
          return this.readInt() !== undefined || this.#fail('bad ref');
        case 0x48: // H
          this.pos = p + 1;
          return this.#skipUntilZ(depth, true);
        case 0x4d: // M
          this.pos = p + 1;
          return this.#skipType() && this.#skipUntilZ(depth, true);
        case 0x55: // variable-length typed list
          this.pos = p + 1;
          return this.#skipType() && this.#skipUntilZ(depth, false);
        case 0x57: // variable-length untyped list
          this.pos = p + 1;
          return this.#skipUntilZ(depth, false);
        case 0x56: { // V: fixed-length typed list
          this.pos = p + 1;
          if (!this.#skipType()) return false;
          return this.#skipCounted(depth);
        }
        case 0x58: // fixed-length untyped list
          this.pos = p + 1;
          return this.#skipCounted(depth);
        case 0x4f: { // O: object instance, class index as an int
          this.pos = p + 1;
          const ref = this.readInt();
          if (ref === undefined) return false;
          return this.#skipInstance(ref, depth);
        }
        case 0x43: // C: class definition, then the value it precedes
          this.pos = p + 1;
          if (!this.#readClassDef()) return false;
          continue;
        default:
          return this.#fail(`unknown tag 0x${t.toString(16)}`);
      }
    }
  }

  #advance(n: number): boolean {
    if (this.pos + n > this.#end) return this.#fail('truncated value');
    this.pos += n;
    return true;
  }

  #skipCounted(depth: number): boolean {
    const n = this.readInt();
    if (n === undefined) return false;
    if (n < 0) return this.#fail('negative list length');
    return this.#skipValues(n, depth);
  }

  #skipValues(n: number, depth: number): boolean {
    // Each value takes at least one byte, so the loop is bounded by the body even for a huge declared n.
    for (let i = 0; i < n; i++) if (!this.#skip(depth + 1)) return false;
    return true;
  }

  /** Values (pairs, for maps) until 'Z'. */
  #skipUntilZ(depth: number, pairs: boolean): boolean {
    for (;;) {
      const t = this.peek();
      if (t === 0x5a) {
        this.pos++;
        return true;
      }
      if (t < 0) return this.#fail(pairs ? 'truncated map' : 'truncated list');
      if (!this.#skip(depth + 1)) return false;
      if (pairs && !this.#skip(depth + 1)) return false;
    }
  }

  #skipInstance(classIndex: number, depth: number): boolean {
    const fields = this.#classFields[classIndex];
    if (fields === undefined) return this.#fail(`object of undefined class ${classIndex}`);
    return this.#skipValues(fields, depth);
  }

  /** `type ::= string | int` (an int refers to an earlier type). */
  #skipType(): boolean {
    if (this.isString()) return this.#skipString();
    if (this.isInt()) return this.readInt() !== undefined;
    return this.#fail('bad type');
  }

  #readClassDef(): boolean {
    if (!this.#skipString()) return false;
    const n = this.readInt();
    if (n === undefined) return false;
    if (n < 0 || n > this.#end - this.pos) return this.#fail('bad class definition field count');
    for (let i = 0; i < n; i++) if (!this.#skipString()) return false;
    this.#classFields.push(n);
    return true;
  }

  #skipString(): boolean {
    for (;;) {
      const t = this.peek();
      const len = this.#stringChunkLength(t);
      if (len < 0) return this.#fail(t < 0 ? 'truncated string' : `expected a string, found tag 0x${t.toString(16)}`);
      if (this.#scanUtf8(len) < 0) return false;
      if (t !== 0x52) return true;
    }
  }

  #skipBinary(): boolean {
    const b = this.#buf;
    for (;;) {
      const p = this.pos;
      if (p >= this.#end) return this.#fail('truncated binary');
      const t = b[p]!;
      if (t >= 0x20 && t <= 0x2f) return this.#advance(1 + t - 0x20);
      if (t >= 0x34 && t <= 0x37) {
        if (p + 2 > this.#end) return this.#fail('truncated binary');
        return this.#advance(2 + ((t - 0x34) << 8) + b[p + 1]!);
      }
      if (t !== 0x41 && t !== 0x42) return this.#fail(`bad binary chunk tag 0x${t.toString(16)}`);
      if (p + 3 > this.#end) return this.#fail('truncated binary');
      if (!this.#advance(3 + b.readUInt16BE(p + 1))) return false;
      if (t === 0x42) return true;
    }
  }

  /**
   * Consumes a string chunk's header and returns its length in UTF-16 units; -1 (nothing consumed) if the
   * tag is not a string chunk or the header is truncated.
   */
  #stringChunkLength(t: number): number {
    const p = this.pos;
    if (t >= 0 && t <= 0x1f) {
      this.pos = p + 1;
      return t;
    }
    if (t >= 0x30 && t <= 0x33) {
      if (p + 2 > this.#end) return -1;
      this.pos = p + 2;
      return ((t - 0x30) << 8) + this.#buf[p + 1]!;
    }
    if (t === 0x52 || t === 0x53) {
      if (p + 3 > this.#end) return -1;
      this.pos = p + 3;
      return this.#buf.readUInt16BE(p + 1);
    }
    return -1;
  }

  /**
   * Steps over `units` UTF-16 units of (CESU-8 or UTF-8) data; returns the byte length, -1 on failure.
   * Leads 0x80-0xbf and 0xf8-0xff are refused; a 4-byte UTF-8 sequence counts as two units.
   */
  #scanUtf8(units: number): number {
    const b = this.#buf;
    const end = this.#end;
    const start = this.pos;
    let p = start;
    let n = units;
    while (n > 0) {
      if (p >= end) return this.#failN('truncated string');
      const c = b[p]!;
      if (c < 0x80) p += 1;
      else if (c < 0xc0) return this.#failN('bad UTF-8 lead byte');
      else if (c < 0xe0) p += 2;
      else if (c < 0xf0) p += 3;
      else if (c < 0xf8 && n >= 2) {
        p += 4;
        n--;
      } else return this.#failN('bad UTF-8 lead byte');
      n--;
    }
    if (p > end) return this.#failN('truncated string');
    this.pos = p;
    return p - start;
  }

  #failN(reason: string): -1 {
    this.#fail(reason);
    return -1;
  }

  #decodeUtf8(units: number): string | undefined {
    const start = this.pos;
    const bytes = this.#scanUtf8(units);
    if (bytes < 0) return undefined;
    const b = this.#buf;
    if (bytes === units) {
      // All ASCII (one byte per unit). Short ones (routing keys) are built directly: cheaper than Buffer#toString.
      if (bytes > 32) return b.toString('latin1', start, start + bytes);
      let str = '';
      for (let i = start; i < start + bytes; i++) str += String.fromCharCode(b[i]!);
      return str;
    }
    // Non-ASCII: decode unit by unit into UTF-16LE so lone surrogates (CESU-8 halves) survive as they are.
    const s = UTF16_SCRATCH;
    let o = 0;
    let p = start;
    const end = start + bytes;
    while (p < end) {
      const c = b[p]!;
      let u: number;
      if (c < 0x80) {
        u = c;
        p += 1;
      } else if (c < 0xe0) {
        u = ((c & 0x1f) << 6) | (b[p + 1]! & 0x3f);
        p += 2;
      } else if (c < 0xf0) {
        u = ((c & 0x0f) << 12) | ((b[p + 1]! & 0x3f) << 6) | (b[p + 2]! & 0x3f);
        p += 3;
      } else {
        const cp = ((c & 0x07) << 18) | ((b[p + 1]! & 0x3f) << 12) | ((b[p + 2]! & 0x3f) << 6) | (b[p + 3]! & 0x3f);
        p += 4;
        const v = (cp - 0x10000) & 0xfffff;
        const hi = 0xd800 | (v >> 10);
        s[o++] = hi & 0xff;
        s[o++] = hi >> 8;
        u = 0xdc00 | (v & 0x3ff);
      }
      s[o++] = u & 0xff;
      s[o++] = u >> 8;
    }
    return s.toString('utf16le', 0, o);
  }
}

function isStringTag(t: number): boolean {
  return (t >= 0 && t <= 0x1f) || (t >= 0x30 && t <= 0x33) || t === 0x52 || t === 0x53;
}

/**
 * Counts the arguments a JVM method descriptor's parameter list names (`Ljava/lang/String;I[J` → 3):
 * each primitive (Z B C S I J F D), each `L…;` and each array `[…` of them is one. -1 if malformed.
 */
export function countDescriptorArgs(desc: string): number {
  let n = 0;
  let i = 0;
  const len = desc.length;
  while (i < len) {
    let c = desc.charCodeAt(i);
    while (c === 0x5b /* [ */) {
      i++;
      if (i >= len) return -1;
      c = desc.charCodeAt(i);
    }
    if (c === 0x4c /* L */) {
      const semi = desc.indexOf(';', i + 1);
      if (semi <= i + 1) return -1;
      i = semi + 1;
    } else if (c === 0x5a || c === 0x42 || c === 0x43 || c === 0x53 || c === 0x49 || c === 0x4a || c === 0x46 || c === 0x44) {
      i++;
    } else {
      return -1;
    }
    n++;
  }
  return n;
}

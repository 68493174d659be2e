/**
 * Extension (Dubbo codec helper): the few Hessian 2.0 values Skiff writes itself — strings (local-reply
 * messages, request fields of test frames), nulls (heartbeat bodies), ints (response flags) and an untyped
 * string→string map (attachments of test frames). Strings are CESU-8 with lengths in UTF-16 units, in
 * chunks of at most 0x8000 units that never split a surrogate pair, as Java's Hessian2Output writes them.
 * Not on a hot path: local replies and heartbeats only.
 */

export class Hessian2Writer {
  #buf: Buffer;
  #len = 0;

  constructor(initialBytes = 64) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  #byte(b: number): void {
    this.#room(1);
    this.#buf[this.#len++] = b & 0xff;
  }

  writeNull(): this {
    this.#byte(0x4e);
    return this;
  }

  /** A 32-bit int in its most compact form. */
  writeInt(v: number): this {
    const i = v | 0;
    if (i >= -16 && i <= 47) {
      this.#byte(0x90 + i);
    } else if (i >= -2048 && i <= 2047) {
      this.#byte(0xc8 + (i >> 8));
      this.#byte(i);
    } else if (i >= -262144 && i <= 262143) {
      this.#byte(0xd4 + (i >> 16));
      this.#byte(i >> 8);
      this.#byte(i);
    } else {
      this.#room(5);
      this.#buf[this.#len] = 0x49;
      this.#buf.writeInt32BE(i, this.#len + 1);
      this.#len += 5;
    }
    return this;
  }

  writeString(s: string): this {
    let off = 0;
    let left = s.length;
    while (left > 0x8000) {
      let n = 0x8000;
      const last = s.charCodeAt(off + n - 1);
      if (last >= 0xd800 && last <= 0xdbff) n--; // never end a chunk on a high surrogate
      this.#byte(0x52);
      this.#byte(n >> 8);
      this.#byte(n);
      this.#chars(s, off, off + n);
      off += n;
      left -= n;
    }
    if (left <= 31) {
      this.#byte(left);
    } else if (left <= 1023) {
      this.#byte(0x30 + (left >> 8));
      this.#byte(left);
    } else {
      this.#byte(0x53);
      this.#byte(left >> 8);
      this.#byte(left);
    }
    this.#chars(s, off, s.length);
    return this;
  }

  /** `null` writes 'N'. */
  writeStringOrNull(s: string | null): this {
    return s === null ? this.writeNull() : this.writeString(s);
  }

  /** An untyped map ('H' … 'Z') of string keys and values, in the given order. */
  writeStringMap(entries: Iterable<readonly [string, string]>): this {
    this.#byte(0x48);
    for (const [k, v] of entries) this.writeString(k).writeString(v);
    this.#byte(0x5a);
    return this;
  }

  /** Appends bytes that are already Hessian-encoded (argument values produced elsewhere). */
  writeRaw(bytes: Uint8Array): this {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  /** CESU-8: every UTF-16 unit (surrogate halves included) as 1, 2 or 3 bytes. */
  #chars(s: string, from: number, to: number): void {
    this.#room((to - from) * 3);
    const b = this.#buf;
    let o = this.#len;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        b[o++] = c;
      } else if (c < 0x800) {
        b[o++] = 0xc0 | (c >> 6);
        b[o++] = 0x80 | (c & 0x3f);
      } else {
        b[o++] = 0xe0 | (c >> 12);
        b[o++] = 0x80 | ((c >> 6) & 0x3f);
        b[o++] = 0x80 | (c & 0x3f);
      }
    }
    this.#len = o;
  }

  get length(): number {
    return this.#len;
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#len));
  }
}

/** One Hessian string value (convenience for local replies). */
export function hessian2String(s: string): Buffer {
  return new Hessian2Writer(s.length + 3).writeString(s).toBuffer();
}

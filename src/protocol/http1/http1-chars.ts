/**
 * Protocol layer, HTTP/1 codec: byte classes of RFC 9110/9112 as 256-entry tables, built once, so
 * validation is one indexed load per byte.
 */

const table = (pred: (c: number) => boolean): Uint8Array => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
};

/** tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA */
export const TOKEN = table((c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
  || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));

/** field-vchar / SP / HTAB / obs-text: everything but CTLs (except HTAB) and DEL. */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));

/** request-target bytes: visible ASCII except '#' (fragments are never sent). */
export const TARGET = table((c) => c > 0x20 && c < 0x7f && c !== 0x23);

/** reason-phrase: HTAB / SP / VCHAR / obs-text. */
export const REASON = FIELD_VALUE;

/** Host / authority bytes: unreserved, sub-delims, pct-encoded, ':' and IP-literal brackets. */
export const HOST = table((c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
  || "-._~!$&'()*+,;=%:[]".includes(String.fromCharCode(c)));

/** Hex digit value, or 255. */
export const HEX = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) { t[0x41 + c] = 10 + c; t[0x61 + c] = 10 + c; }
  return t;
})();

/** Validates a header value string (for headers a proxy adds itself before encoding). */
export function isValidFieldValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) { const c = v.charCodeAt(i); if (c > 0xff || FIELD_VALUE[c] !== 1) return false; }
  return true;
}

/** Validates a header name string (a non-empty token). */
export function isValidFieldName(n: string): boolean {
  if (n.length === 0) return false;
  for (let i = 0; i < n.length; i++) { const c = n.charCodeAt(i); if (c > 0xff || TOKEN[c] !== 1) return false; }
  return true;
}

/** ASCII-lowercase equality of buf[s..e) with a lowercase literal, without allocating. */
export function bufEqualsLower(buf: Buffer, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = buf[s + i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** ASCII-lowercase equality of a string with a lowercase literal. */
export function strEqualsLower(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

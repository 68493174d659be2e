/**
 * Protocol layer, HTTP/1 codec: request path normalisation applied before route matching, so a
 * denied path cannot be reached by another spelling (reliability.md §3.1 "Paths"). In order:
 * percent-encoded unreserved characters are decoded (`%41` → `A`, `%2e` → `.`), other escapes are kept
 * with upper-case hex (`%2f` → `%2F`, never decoded to a separator); repeated slashes merge; dot segments
 * are removed (RFC 3986 §5.2.4). The query string is untouched. An invalid escape is an error.
 */
import { HEX } from './http1-chars.js';

export type NormalizePathResult = { ok: true; path: string } | { ok: false; code: 'E_PATH'; status: 400; reason: string };

export interface NormalizePathOptions {
  /** Merge `//` into `/` (Envoy `merge_slashes`). Default true. */
  mergeSlashes?: boolean;
}

const isUnreserved = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
  || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
const HEXU = '0123456789ABCDEF';

/** Normalises an origin-form `path[?query]`. Returns the input string itself when it is already normal. */
export function normalizePath(target: string, options?: NormalizePathOptions): NormalizePathResult {
  const merge = options?.mergeSlashes !== false;
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path.charCodeAt(0) !== 0x2f) return { ok: false, code: 'E_PATH', status: 400, reason: 'path does not start with /' };
  // Fast path: nothing to decode, no dot segment, no double slash.
  if (path.indexOf('%') < 0 && path.indexOf('/.') < 0 && (!merge || path.indexOf('//') < 0)) return { ok: true, path: target };

  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c !== 0x25) { decoded += path[i]; continue; }
    const h = HEX[path.charCodeAt(i + 1) & 0xff]!, l = HEX[path.charCodeAt(i + 2) & 0xff]!;
    if (i + 2 >= path.length || h === 255 || l === 255) return { ok: false, code: 'E_PATH', status: 400, reason: 'invalid percent-encoding' };
    const v = h * 16 + l;
    decoded += isUnreserved(v) ? String.fromCharCode(v) : '%' + HEXU[h] + HEXU[l];
    i += 2;
  }
  const segs = decoded.split('/');
  const out: string[] = [];
  const last = segs.length - 1;
  for (let i = 1; i <= last; i++) {
    const s = segs[i]!;
    if (s === '.') { if (i === last) out.push(''); continue; }
    if (s === '..') { out.pop(); if (i === last) out.push(''); continue; }
    if (s === '' && merge && i !== last) continue;
    out.push(s);
  }
  let result = '/' + out.join('/');
  if (merge) result = result.replace(/\/{2,}/g, '/');
  return { ok: true, path: q < 0 ? result : result + target.slice(q) };
}

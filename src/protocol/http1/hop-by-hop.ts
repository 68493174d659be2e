/**
 * Protocol layer, HTTP/1: removes hop-by-hop fields (RFC 9110 §7.6.1) from a flat
 * [name, value, …] header array before a message is forwarded: the standard set plus every field
 * named in Connection. Names compare case-insensitively; the survivors keep their case and order.
 */
import { strEqualsLower } from './http1-chars.js';

function isStandard(name: string): boolean {
  // Most names are not hop-by-hop: reject them by length before comparing characters.
  switch (name.length) {
    case 2: return strEqualsLower(name, 'te');
    case 7: return strEqualsLower(name, 'trailer') || strEqualsLower(name, 'upgrade');
    case 10: return strEqualsLower(name, 'connection') || strEqualsLower(name, 'keep-alive');
    case 16: return strEqualsLower(name, 'proxy-connection');
    case 17: return strEqualsLower(name, 'transfer-encoding');
    default: return false;
  }
}

/**
 * Returns the headers without hop-by-hop fields. Returns the same array when nothing is removed, so the
 * common case allocates nothing. `keep` lists lowercase names to spare (e.g. 'upgrade' when tunnelling).
 */
export function stripHopByHop(headers: readonly string[], keep?: readonly string[]): string[] {
  let listed: string[] | null = null;
  let any = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    if (!isStandard(name)) continue;
    any = true;
    if (name.length === 10 && strEqualsLower(name, 'connection')) {
      const value = headers[i + 1]!;
      // The usual values name no other field: nothing more to strip.
      if (strEqualsLower(value, 'keep-alive') || strEqualsLower(value, 'close')) continue;
      for (const raw of value.split(',')) {
        const t = raw.trim().toLowerCase();
        if (t !== '' && t !== 'close' && !isStandard(t)) (listed ??= []).push(t);
      }
    }
  }
  if (!any) return headers as string[];
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    if (keep !== undefined && listIncludes(keep, name)) { out.push(name, headers[i + 1]!); continue; }
    if (isStandard(name) || (listed !== null && listIncludes(listed, name))) continue;
    out.push(name, headers[i + 1]!);
  }
  return out;
}

/** `name` (any case) is one of the lower-case `list` entries; no lower-cased copy is made. */
function listIncludes(list: readonly string[], name: string): boolean {
  for (let i = 0; i < list.length; i++) if (strEqualsLower(name, list[i]!)) return true;
  return false;
}

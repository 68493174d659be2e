/**
 * Protocol layer: a header map over a flat [name, value, name, value, …] array (the HTTP/1 codec's
 * representation), keeping each name's case and the fields' order. Lookups compare names
 * case-insensitively against a lower-case argument; `set` replaces the first field of that name (and
 * drops later ones) or appends; `delete` removes every field of that name. Implements the plug-in
 * `HeaderMap` and the router's `MutableHeaders`. Linear scans: header sections are short.
 */
import type { HeaderMap } from '../../api/protocol.js';
import { strEqualsLower } from '../http1/http1-chars.js';


export class FlatHeaders implements HeaderMap {
  /** The live array: [name, value, …]. Callers may read it; mutate through the methods. */
  list: string[];

  constructor(list: string[]) {
    this.list = list;
  }

  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (strEqualsLower(l[i]!, lower)) return l[i + 1];
    return undefined;
  }

  has(lower: string): boolean {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (strEqualsLower(l[i]!, lower)) return true;
    return false;
  }

  set(name: string, value: string): void {
    const lower = name.toLowerCase();
    const l = this.list;
    let found = -1;
    for (let i = 0; i < l.length; i += 2) {
      if (!strEqualsLower(l[i]!, lower)) continue;
      if (found < 0) { found = i; l[i + 1] = value; continue; }
      l.splice(i, 2);
      i -= 2;
    }
    if (found < 0) l.push(name, value);
  }

  /** Appends a field without looking for an existing one. */
  add(name: string, value: string): void {
    this.list.push(name, value);
  }

  delete(name: string): void {
    const lower = name.toLowerCase();
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) {
      if (!strEqualsLower(l[i]!, lower)) continue;
      l.splice(i, 2);
      i -= 2;
    }
  }

  forEach(fn: (value: string, name: string) => void): void {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) fn(l[i + 1]!, l[i]!);
  }
}

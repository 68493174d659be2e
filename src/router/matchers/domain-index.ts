/**
 * Router layer (matchers): virtual-host selection by authority, MOSN's order (routers_impl.go),
 * extended with `prefix*` domains (issue 3):
 *
 *   1. exact host + port        "api.example.com:8080"
 *   2. exact host, any port     "api.example.com"   (or "api.example.com:*")
 *   3. `*suffix` + port, longest suffix first;  4. `*suffix`, any port, longest first
 *   5. `prefix*` + port, longest prefix first;  6. `prefix*`, any port, longest first
 *   7. the default "*"
 *
 * Domains and the request host are lower-cased. A wildcard's `*` must cover at least one
 * character ("*.a.com" does not match "a.com"... nor ".a.com"). Exact domains are Map lookups.
 */

interface Wildcard<T> {
  readonly affix: string;
  readonly value: T;
}

export class DomainIndex<T> {
  readonly #exactWithPort = new Map<string, T>();
  readonly #exactAnyPort = new Map<string, T>();
  readonly #suffixWithPort = new Map<string, Wildcard<T>[]>();
  readonly #suffixAnyPort: Wildcard<T>[] = [];
  readonly #prefixWithPort = new Map<string, Wildcard<T>[]>();
  readonly #prefixAnyPort: Wildcard<T>[] = [];
  #default: T | undefined;
  #hasDefault = false;
  #onlyDefault = true;

  /**
   * Adds a domain; returns false when that domain is already taken (the caller reports it).
   * Control path only.
   */
  add(domain: string, value: T): boolean {
    const d = domain.toLowerCase();
    if (d === '*') {
      if (this.#hasDefault) return false;
      this.#default = value;
      this.#hasDefault = true;
      return true;
    }
    this.#onlyDefault = false;
    const { host, port } = splitDomain(d);
    if (host.startsWith('*') && host.length > 1) {
      return addWildcard(port === undefined ? this.#suffixAnyPort : listFor(this.#suffixWithPort, port), host.slice(1), value);
    }
    if (host.endsWith('*') && host.length > 1) {
      return addWildcard(port === undefined ? this.#prefixAnyPort : listFor(this.#prefixWithPort, port), host.slice(0, -1), value);
    }
    const map = port === undefined ? this.#exactAnyPort : this.#exactWithPort;
    const key = port === undefined ? host : `${host}:${port}`;
    if (map.has(key)) return false;
    map.set(key, value);
    return true;
  }

  /** Finds the virtual host for an authority (any case, optional port). Hot path. */
  find(authority: string): T | undefined {
    if (this.#onlyDefault) return this.#default;
    const lower = authority.toLowerCase();
    const colon = portColon(lower);
    const host = colon < 0 ? lower : lower.slice(0, colon);
    if (colon >= 0) {
      const v = this.#exactWithPort.get(lower);
      if (v !== undefined) return v;
    }
    const exact = this.#exactAnyPort.get(host);
    if (exact !== undefined) return exact;
    const port = colon < 0 ? undefined : lower.slice(colon + 1);
    let w = port === undefined ? undefined : findSuffix(this.#suffixWithPort.get(port), host);
    if (w !== undefined) return w;
    w = findSuffix(this.#suffixAnyPort, host);
    if (w !== undefined) return w;
    w = port === undefined ? undefined : findPrefix(this.#prefixWithPort.get(port), host);
    if (w !== undefined) return w;
    w = findPrefix(this.#prefixAnyPort, host);
    if (w !== undefined) return w;
    return this.#default;
  }
}

function listFor<T>(m: Map<string, Wildcard<T>[]>, port: string): Wildcard<T>[] {
  let list = m.get(port);
  if (list === undefined) m.set(port, (list = []));
  return list;
}

/** Inserts keeping the list sorted longest affix first (stable for equal lengths). */
function addWildcard<T>(list: Wildcard<T>[], affix: string, value: T): boolean {
  if (list.some((w) => w.affix === affix)) return false;
  let i = 0;
  while (i < list.length && list[i]!.affix.length >= affix.length) i++;
  list.splice(i, 0, { affix, value });
  return true;
}

function findSuffix<T>(list: Wildcard<T>[] | undefined, host: string): T | undefined {
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) {
    const w = list[i]!;
    if (host.length > w.affix.length && host.endsWith(w.affix)) return w.value;
  }
  return undefined;
}

function findPrefix<T>(list: Wildcard<T>[] | undefined, host: string): T | undefined {
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) {
    const w = list[i]!;
    if (host.length > w.affix.length && host.startsWith(w.affix)) return w.value;
  }
  return undefined;
}

/** Index of the colon before a port, or -1 ("[::1]:80" → 5; "[::1]" → -1; "a:b:c" (bare IPv6) → -1). */
function portColon(s: string): number {
  const i = s.lastIndexOf(':');
  if (i < 0) return -1;
  if (s.charCodeAt(0) === 0x5b /* [ */) return s.charCodeAt(i - 1) === 0x5d /* ] */ ? i : -1;
  return s.indexOf(':') === i ? i : -1;
}

/** "host:port" → parts; a `*` port or no port means any port. */
export function splitDomain(domain: string): { host: string; port: string | undefined } {
  const colon = portColon(domain);
  if (colon < 0) return { host: domain, port: undefined };
  const port = domain.slice(colon + 1);
  return { host: domain.slice(0, colon), port: port === '*' || port === '' ? undefined : port };
}

/**
 * API layer (plug-in SDK): protocol-codec contracts. Codecs (HTTP/1, HTTP/2, Bolt, Dubbo) arrive with
 * the protocol issues; this file fixes the names the registries and stream filters refer to.
 */

/** Case-insensitive header access shared by every protocol's headers. */
export interface HeaderMap {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
  delete(name: string): void;
  forEach(fn: (value: string, name: string) => void): void;
}

/** Result of peeking at the first bytes of a connection (protocol detection). */
export const DetectResult = { Matched: 0, NeedMoreData: 1, NoMatch: 2 } as const;
export type DetectResult = (typeof DetectResult)[keyof typeof DetectResult];

/** Registry entry for a protocol codec, keyed by MOSN's protocol name (`Http1`, `bolt`, …). */
export interface ProtocolCodecFactory {
  readonly name: string;
  detect?(head: Buffer): DetectResult;
}

/**
 * Router layer: the narrow views of a request the route table reads and writes. The HTTP/1 codec
 * (and later the RPC codecs) adapt their own header maps to these interfaces, so the route table
 * never depends on a protocol. All header names passed in or out are lower-case.
 */

/** Read-only view of a downstream request, as the route table needs it. Called on the hot path. */
export interface RouteRequest {
  /** Authority (`Host`/`:authority`), may carry a port; any case (the table lower-cases it). */
  readonly host: string;
  /** Normalised path, without the query string. */
  readonly path: string;
  readonly method: string;
  /** Request header by lower-case name; undefined when absent. */
  getHeader(lowerName: string): string | undefined;
  /** MOSN variable (§3.7) by name; undefined when the variable is unknown or unset. */
  getVariable(name: string): string | undefined;
}

/** The extra parts of a request a redirect needs (MOSN keeps the query, swaps scheme/host/path). */
export interface RedirectRequest {
  readonly host: string;
  readonly path: string;
  /** `http` or `https`: the scheme the downstream used. */
  readonly scheme: string;
  /** Raw query string without the leading `?`; empty when none. */
  readonly query: string;
}

/** Variables for `%name%` header values. */
export interface VariableSource {
  getVariable(name: string): string | undefined;
}

/** Minimal mutable header map, lower-case names. The codec adapts its own structure to this. */
export interface MutableHeaders {
  get(lowerName: string): string | undefined;
  set(lowerName: string, value: string): void;
  delete(lowerName: string): void;
}

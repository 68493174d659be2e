/**
 * Protocol layer, HTTP/1 codec: the parser's limits and policies. Plain data, resolved once at config
 * time (MOSN `extend_config.Http1.max_header_size` maps to `maxHeaderBytes`); the parser only reads it.
 */

/** What to do with a request header whose name contains `_` (Envoy `headers_with_underscores_action`). */
export type UnderscorePolicy = 'drop' | 'allow' | 'reject';

export interface Http1Limits {
  /** Whole header section (start line + fields + blank line), also the trailer section. Over → 431. */
  readonly maxHeaderBytes: number;
  /** Number of header fields (and of trailer fields). Over → 431. */
  readonly maxHeaderCount: number;
  /** Bytes of chunk extensions on one chunk-size line. Over → 413. */
  readonly maxChunkExtBytes: number;
  /** Tokens in the Connection header(s). Over → 400. */
  readonly maxConnectionTokens: number;
  /** Interim (1xx other than 101) responses before a final one. Over → error (502). */
  readonly maxInterimResponses: number;
  /** Request header names with `_`; responses are never filtered. */
  readonly underscores: UnderscorePolicy;
}

/** Envoy's edge defaults (60 KiB, 100 headers), which Skiff adopts when MOSN's config says nothing. */
export const DEFAULT_HTTP1_LIMITS: Http1Limits = Object.freeze({
  maxHeaderBytes: 60 * 1024,
  maxHeaderCount: 100,
  maxChunkExtBytes: 4096,
  maxConnectionTokens: 32,
  maxInterimResponses: 10,
  underscores: 'drop',
});

/** Fills the gaps of a partial limits object with the defaults (config time, not per message). */
export function resolveHttp1Limits(partial?: Partial<Http1Limits>): Http1Limits {
  return Object.freeze({ ...DEFAULT_HTTP1_LIMITS, ...partial });
}

/** The part of MOSN's `extend_config.Http1` this codec honours (already validated by the proxy filter's schema). */
export interface MosnHttp1ExtendConfig {
  /** Bytes; MOSN's read buffer for the header section. 0 or absent: keep Skiff's default (60 KiB). */
  readonly max_header_size?: number;
}

/** Maps MOSN's `extend_config.Http1` onto the limits (config time), keeping Skiff's defaults otherwise. */
export function http1LimitsFromMosn(extend: MosnHttp1ExtendConfig | undefined, overrides?: Partial<Http1Limits>): Http1Limits {
  const size = extend?.max_header_size;
  return resolveHttp1Limits({ ...(size !== undefined && size > 0 ? { maxHeaderBytes: size } : {}), ...overrides });
}

/**
 * Protocol layer, HTTP/1 codec: the types the parser reports through and the caller reads. The parser
 * never throws on input: every rejection is an `Http1Error` value with a stable code and the status the
 * caller replies with before closing (responses from an upstream always carry 502).
 */

/** Result of `Http1Parser.execute()`. After `Paused`/`Upgraded`/`Error`, `parser.consumed` says how far it read. */
export const ParseStatus = { Ok: 0, Paused: 1, Upgraded: 2, Error: 3 } as const;
export type ParseStatus = (typeof ParseStatus)[keyof typeof ParseStatus];

/** How the body of a message is delimited (decided once the head is parsed). */
export const BodyFraming = { None: 0, Length: 1, Chunked: 2, UntilClose: 3 } as const;
export type BodyFraming = (typeof BodyFraming)[keyof typeof BodyFraming];

export const TargetForm = { Origin: 0, Absolute: 1, Authority: 2, Asterisk: 3, None: 4 } as const;
export type TargetForm = (typeof TargetForm)[keyof typeof TargetForm];

export type Http1ErrorStatus = 400 | 413 | 431 | 501 | 502 | 505;

/** A rejection. `code` is stable (tests and stats key on it); `reason` is for logs and local replies. */
export interface Http1Error {
  readonly code: string;
  readonly status: Http1ErrorStatus;
  readonly reason: string;
}

/** One message head. Created once per message; `headers` is a flat [name, value, name, value, …] array. */
export interface Http1Head {
  /** Request method ('' on responses). Common methods are interned strings. */
  method: string;
  /** Raw request-target as received ('' on responses). */
  target: string;
  targetForm: TargetForm;
  /** Origin-form path + query; for absolute-form, the path part of the URI ('/' when empty). */
  path: string;
  /** URI authority of an absolute-form or authority-form (CONNECT) target, else ''. */
  authority: string;
  /** Value of the single Host header ('' when absent, only possible on HTTP/1.0). */
  host: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor: 0 | 1;
  /** Response status code (0 on requests). */
  statusCode: number;
  reason: string;
  /** Names keep their original case and order; values are OWS-trimmed, latin1. */
  headers: string[];
  framing: BodyFraming;
  /** Declared Content-Length, or -1. */
  contentLength: number;
  keepAlive: boolean;
  /** Request: Upgrade + Connection: upgrade, or CONNECT. Response: 101, or 2xx to CONNECT. */
  upgrade: boolean;
  /** Request carried `Expect: 100-continue`. */
  expectContinue: boolean;
}

/**
 * Callbacks, set once per parser (no per-call closures). They run synchronously inside `execute()`;
 * they may call `pause()` (execute returns `Paused` after the current event) but must not call `execute()`.
 */
export interface Http1Callbacks {
  /** A message head is complete and valid (called just before onHeaders; never for a rejected head). */
  onMessageBegin(): void;
  onHeaders(head: Http1Head): void;
  /** A view into the chunk passed to execute(); copy it if it must outlive the call. */
  onBody(body: Buffer): void;
  /** Trailer fields of a chunked message (flat array; only when there are some). */
  onTrailers(trailers: string[]): void;
  /** The message ended exactly at its declared end (or, for read-until-close, at `finish()`). */
  onMessageComplete(): void;
}

/**
 * Protocol layer, HTTP/1 codec: the public surface of this folder (what the stream layer and the proxy
 * filter import). Parser and encoder are independent of sockets; see http1-parser.ts for the wire format.
 */
export { Http1Parser, type Http1ParserMode } from './http1-parser.js';
export { BodyFraming, ParseStatus, TargetForm, type Http1Callbacks, type Http1Error, type Http1ErrorStatus, type Http1Head } from './http1-types.js';
export { DEFAULT_HTTP1_LIMITS, http1LimitsFromMosn, resolveHttp1Limits, type Http1Limits, type MosnHttp1ExtendConfig, type UnderscorePolicy } from './http1-limits.js';
export { CHUNK_END, Http1Encoder, encodeChunk, encodeChunkHeader, encodeLastChunk, encodeRequestHead, encodeResponseHead } from './http1-encoder.js';
export { stripHopByHop } from './hop-by-hop.js';
export { normalizePath, type NormalizePathOptions, type NormalizePathResult } from './normalize-path.js';
export { splitAbsoluteTarget, validAuthority } from './head-parser.js';
export { isValidFieldName, isValidFieldValue } from './http1-chars.js';

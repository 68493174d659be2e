/**
 * Protocol layer, HTTP/1 codec: parses one complete header section (start line + fields + blank
 * line) that the incremental `Http1Parser` has located, validates it strictly (RFC 9112, Envoy's
 * promises, reliability.md §3.1/§3.2) and decides the body framing. Pure function of its inputs.
 *
 *   request-line = method SP request-target SP HTTP-version CRLF
 *   status-line  = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF
 *   field-line   = field-name ":" OWS field-value OWS CRLF          (no obs-fold, no SP before ":")
 *   head         = start-line *( field-line ) CRLF
 */
import { BodyFraming, TargetForm, type Http1Error, type Http1ErrorStatus, type Http1Head } from './http1-types.js';
import { FIELD_VALUE, HOST, REASON, TARGET, TOKEN, bufEqualsLower, strEqualsLower } from './http1-chars.js';
import type { Http1Limits } from './http1-limits.js';

const CR = 0x0d, LF = 0x0a, SP = 0x20, HTAB = 0x09, COLON = 0x3a;
const MAX_CL_DIGITS = 15; // < 2^53: a Content-Length that JS numbers hold exactly

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];

/** Known transfer codings (RFC 9110 §18.7 registry minus the obsolete `identity`). Only `chunked` is supported. */
const KNOWN_CODINGS = ['chunked', 'gzip', 'deflate', 'compress', 'x-gzip', 'x-compress'];

/** Makes an error; an upstream's malformed response is always answered with 502 downstream. */
export function http1Error(isRequest: boolean, code: string, status: Http1ErrorStatus, reason: string): Http1Error {
  return { code, status: isRequest ? status : 502, reason };
}

const reqError = (code: string, status: Http1ErrorStatus, reason: string): Http1Error => http1Error(true, code, status, reason);
const resError = (code: string, status: Http1ErrorStatus, reason: string): Http1Error => http1Error(false, code, status, reason);

/** Buffer's latin1 slicer: public on every Buffer, faster than toString('latin1', …), missing from @types/node. */
type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };
const str = (buf: Buffer, s: number, e: number): string => (buf as Latin1).latin1Slice(s, e);

/** What the response parser knows about the request it answers: a bit set (0 = a plain request). */
export const Pending = { Head: 1, Connect: 2, Upgrade: 4 } as const;

/** Parses the head in buf[s..e) (e is just past the blank line's LF). Returns the head or the first error. */
export function parseHead(buf: Buffer, s: number, e: number, isRequest: boolean, limits: Http1Limits,
  pending: number): Http1Head | Http1Error {
  const err = isRequest ? reqError : resError;
  let lf = buf.indexOf(LF, s);
  if (lf < 0 || lf >= e) return err('E_HEAD', 400, 'unterminated head');
  if (lf === s || buf[lf - 1] !== CR) return err('E_BARE_LF', 400, 'line not ended by CRLF');
  const head: Http1Head = {
    method: '', target: '', targetForm: TargetForm.None, path: '', authority: '', host: '', versionMinor: 1,
    statusCode: 0, reason: '', headers: [], framing: BodyFraming.None, contentLength: -1, keepAlive: true,
    upgrade: false, expectContinue: false,
  };
  const startErr = isRequest ? parseRequestLine(buf, s, lf - 1, head) : parseStatusLine(buf, s, lf - 1, head);
  if (startErr !== null) return err(startErr[0], startErr[1], startErr[2]);

  // ── header fields ──
  let clSeen = false, hostSeen = false, teSeen = false, hasUpgrade = false;
  let connClose = false, connKeepAlive = false, connUpgrade = false, connTokens = 0;
  let teMalformed = false, teUnknown = false, teUnsupported = false, teChunkedCount = 0, teLastChunked = false;
  const headers = head.headers;
  let count = 0;
  let p = lf + 1;
  for (;;) {
    lf = buf.indexOf(LF, p);
    if (lf < 0 || lf >= e) return err('E_HEAD', 400, 'unterminated head');
    if (lf === p) return err('E_BARE_LF', 400, 'line not ended by CRLF');
    const lineEnd = lf - 1;
    if (buf[lineEnd] !== CR) return err('E_BARE_LF', 400, 'line not ended by CRLF');
    if (lineEnd === p) break; // blank line: end of head
    const first = buf[p]!;
    if (first === SP || first === HTAB) return err('E_OBS_FOLD', 400, 'obs-fold (line folding) is not accepted');
    let q = p, underscore = false;
    while (q < lineEnd && TOKEN[buf[q]!] === 1) { if (buf[q] === 0x5f) underscore = true; q++; }
    if (q === p) return err('E_HEADER_NAME', 400, 'invalid header name');
    if (q === lineEnd || buf[q] !== COLON) {
      const c = buf[q];
      return c === SP || c === HTAB ? err('E_HEADER_WS', 400, 'whitespace between header name and colon')
        : err('E_HEADER_NAME', 400, 'invalid character in header name');
    }
    const ns = p, ne = q;
    q++;
    while (q < lineEnd && (buf[q] === SP || buf[q] === HTAB)) q++;
    const vs = q;
    for (; q < lineEnd; q++) if (FIELD_VALUE[buf[q]!] !== 1) return err('E_HEADER_VALUE', 400, 'invalid character in header value');
    let ve = lineEnd;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    p = lf + 1;
    if (++count > limits.maxHeaderCount) return err('E_HEADER_COUNT', 431, `more than ${limits.maxHeaderCount} headers`);
    if (underscore && isRequest) {
      if (limits.underscores === 'reject') return err('E_HEADER_UNDERSCORE', 400, 'header name with underscore');
      if (limits.underscores === 'drop') continue;
    }
    const nameLen = ne - ns;
    if (nameLen === 14 && bufEqualsLower(buf, ns, ne, 'content-length')) {
      if (clSeen) return err('E_CL_DUPLICATE', 400, 'repeated Content-Length');
      clSeen = true;
      const n = ve - vs;
      if (n === 0 || n > MAX_CL_DIGITS) return err('E_CL_INVALID', 400, 'invalid Content-Length');
      let v = 0;
      for (let i = vs; i < ve; i++) {
        const d = buf[i]! - 0x30;
        if (d < 0 || d > 9) return err('E_CL_INVALID', 400, 'invalid Content-Length');
        v = v * 10 + d;
      }
      head.contentLength = v;
    } else if (nameLen === 17 && bufEqualsLower(buf, ns, ne, 'transfer-encoding')) {
      teSeen = true;
      // 1#transfer-coding, each element OWS-trimmed; an empty element is malformed here (gap N2).
      let a = vs;
      for (;;) {
        let b = a;
        while (b < ve && buf[b] !== 0x2c) b++;
        let ts = a, te = b;
        while (ts < te && (buf[ts] === SP || buf[ts] === HTAB)) ts++;
        while (te > ts && (buf[te - 1] === SP || buf[te - 1] === HTAB)) te--;
        if (ts === te) teMalformed = true;
        else {
          for (let i = ts; i < te; i++) if (TOKEN[buf[i]!] !== 1) { teMalformed = true; break; }
          const chunked = bufEqualsLower(buf, ts, te, 'chunked');
          if (chunked) teChunkedCount++;
          else if (!KNOWN_CODINGS.some((k) => bufEqualsLower(buf, ts, te, k))) teUnknown = true;
          else teUnsupported = true;
          teLastChunked = chunked;
        }
        if (b >= ve) break;
        a = b + 1;
      }
    } else if (nameLen === 4 && isRequest && bufEqualsLower(buf, ns, ne, 'host')) {
      if (hostSeen) return err('E_HOST_DUPLICATE', 400, 'repeated Host');
      hostSeen = true;
      head.host = str(buf, vs, ve);
      if (!validAuthority(head.host, false)) return err('E_HOST_INVALID', 400, 'invalid Host');
    } else if (nameLen === 10 && bufEqualsLower(buf, ns, ne, 'connection')) {
      let a = vs;
      while (a < ve) {
        let b = a;
        while (b < ve && buf[b] !== 0x2c) b++;
        let ts = a, te = b;
        while (ts < te && (buf[ts] === SP || buf[ts] === HTAB)) ts++;
        while (te > ts && (buf[te - 1] === SP || buf[te - 1] === HTAB)) te--;
        if (ts < te) {
          if (++connTokens > limits.maxConnectionTokens) return err('E_CONNECTION', 400, 'too many Connection tokens');
          if (bufEqualsLower(buf, ts, te, 'close')) connClose = true;
          else if (bufEqualsLower(buf, ts, te, 'keep-alive')) connKeepAlive = true;
          else if (bufEqualsLower(buf, ts, te, 'upgrade')) connUpgrade = true;
        }
        a = b + 1;
      }
    } else if (nameLen === 7 && bufEqualsLower(buf, ns, ne, 'upgrade')) {
      hasUpgrade = true;
    } else if (nameLen === 6 && isRequest && bufEqualsLower(buf, ns, ne, 'expect')) {
      if (bufEqualsLower(buf, vs, ve, '100-continue')) head.expectContinue = true;
    }
    headers.push(internName(buf, ns, ne, count), str(buf, vs, ve));
  }

  // ── framing (RFC 9112 §6) ──
  head.keepAlive = head.versionMinor === 1 ? !connClose : connKeepAlive && !connClose;
  if (teSeen) {
    if (clSeen) return err('E_CL_TE', 400, "both 'Content-Length' and 'Transfer-Encoding' are set");
    if (head.versionMinor === 0) return err('E_TE_HTTP10', 400, 'Transfer-Encoding in an HTTP/1.0 message');
    if (teMalformed) return err('E_TE_MALFORMED', 400, 'malformed Transfer-Encoding');
    if (teUnknown) return err('E_TE_UNKNOWN', 501, 'unknown transfer coding');
    if (!teLastChunked || teChunkedCount !== 1) return err('E_TE_NOT_CHUNKED', 400, 'chunked is not the final transfer coding');
    if (teUnsupported) return err('E_TE_UNSUPPORTED', 501, 'unsupported transfer encoding');
  }
  if (isRequest) {
    if (head.versionMinor === 1 && !hostSeen) return err('E_HOST_MISSING', 400, 'missing Host');
    if (head.targetForm === TargetForm.Absolute && hostSeen && !strEqualsLower(head.host, head.authority.toLowerCase())) {
      return err('E_HOST_MISMATCH', 400, 'Host does not match the absolute-form authority');
    }
    if (head.method === 'CONNECT') {
      if (teSeen) return err('E_TE_UNSUPPORTED', 501, 'Transfer-Encoding on CONNECT');
      head.upgrade = true;
      return head;
    }
    head.upgrade = hasUpgrade && connUpgrade;
    if (teSeen) head.framing = BodyFraming.Chunked;
    else if (head.contentLength > 0) head.framing = BodyFraming.Length;
    return head;
  }
  const status = head.statusCode;
  if (status < 200) {
    if (status === 101) {
      if ((pending & Pending.Upgrade) === 0) return err('E_UNEXPECTED_101', 502, '101 to a request without Upgrade');
      head.upgrade = true;
    }
    return head; // interim responses have no body
  }
  const toConnect = (pending & Pending.Connect) !== 0 && status < 300;
  if ((pending & Pending.Head) !== 0 || toConnect) {
    head.upgrade = toConnect;
    return head;
  }
  if (status === 204 || status === 304) return head;
  if (teSeen) head.framing = BodyFraming.Chunked;
  else if (clSeen) head.framing = head.contentLength > 0 ? BodyFraming.Length : BodyFraming.None;
  else { head.framing = BodyFraming.UntilClose; head.keepAlive = false; }
  return head;
}

type LineError = [code: string, status: Http1ErrorStatus, reason: string];

/** HTTP-version at buf[s..s+8): returns minor (0/1), -1 for a well-formed other version (505), -2 when malformed. */
function parseVersion(buf: Buffer, s: number, e: number): number {
  if (e - s !== 8 || buf[s] !== 0x48 || buf[s + 1] !== 0x54 || buf[s + 2] !== 0x54 || buf[s + 3] !== 0x50
    || buf[s + 4] !== 0x2f || buf[s + 6] !== 0x2e) return -2;
  const major = buf[s + 5]! - 0x30, minor = buf[s + 7]! - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return -2;
  return major === 1 && minor <= 1 ? minor : -1;
}

function parseRequestLine(buf: Buffer, s: number, e: number, head: Http1Head): LineError | null {
  let p = s;
  while (p < e && TOKEN[buf[p]!] === 1) p++;
  if (p === s || p >= e || buf[p] !== SP) return ['E_REQUEST_LINE', 400, 'invalid method or request line'];
  head.method = internMethod(buf, s, p);
  const ts = ++p;
  while (p < e && TARGET[buf[p]!] === 1) p++;
  if (p === ts || p >= e || buf[p] !== SP) {
    return p === e && p > ts ? ['E_REQUEST_LINE', 400, 'HTTP/0.9 or missing version'] : ['E_TARGET', 400, 'invalid request-target'];
  }
  head.target = str(buf, ts, p);
  const v = parseVersion(buf, p + 1, e);
  if (v === -1) return ['E_VERSION', 505, 'HTTP version not supported'];
  if (v < 0) return ['E_REQUEST_LINE', 400, 'invalid HTTP version'];
  head.versionMinor = v as 0 | 1;
  return classifyTarget(head);
}

function parseStatusLine(buf: Buffer, s: number, e: number, head: Http1Head): LineError | null {
  const v = parseVersion(buf, s, Math.min(e, s + 8));
  if (v === -1) return ['E_VERSION', 505, 'HTTP version not supported'];
  if (v < 0) return ['E_STATUS_LINE', 400, 'invalid status line'];
  head.versionMinor = v as 0 | 1;
  let p = s + 8;
  if (buf[p] !== SP || e - p < 4) return ['E_STATUS_LINE', 400, 'invalid status line'];
  let code = 0;
  for (let i = 1; i <= 3; i++) {
    const d = buf[p + i]! - 0x30;
    if (d < 0 || d > 9) return ['E_STATUS_LINE', 400, 'invalid status code'];
    code = code * 10 + d;
  }
  if (code < 100) return ['E_STATUS_LINE', 400, 'invalid status code'];
  head.statusCode = code;
  p += 4;
  if (p < e) {
    if (buf[p] !== SP) return ['E_STATUS_LINE', 400, 'invalid status line'];
    for (let i = p + 1; i < e; i++) if (REASON[buf[i]!] !== 1) return ['E_STATUS_LINE', 400, 'invalid reason phrase'];
    head.reason = str(buf, p + 1, e);
  }
  return null;
}

/**
 * Header names repeat message after message in the same order, so the name last seen at each position is
 * reused when the bytes match exactly (case kept): no string allocated for most names. Module-wide, a
 * pure cache (wrong guesses only cost a comparison).
 */
const NAME_CACHE: string[] = [];
function internName(buf: Buffer, s: number, e: number, slot: number): string {
  const cached = NAME_CACHE[slot];
  if (cached !== undefined && cached.length === e - s) {
    let i = 0;
    while (i < cached.length && buf[s + i] === cached.charCodeAt(i)) i++;
    if (i === cached.length) return cached;
  }
  const name = str(buf, s, e);
  if (slot < 128) NAME_CACHE[slot] = name;
  return name;
}

function internMethod(buf: Buffer, s: number, e: number): string {
  for (const m of METHODS) {
    if (m.length !== e - s) continue;
    let i = 0;
    while (i < m.length && buf[s + i] === m.charCodeAt(i)) i++;
    if (i === m.length) return m;
  }
  return str(buf, s, e);
}

/** Sets targetForm/path/authority from head.target and head.method (RFC 9112 §3.2). */
function classifyTarget(head: Http1Head): LineError | null {
  const t = head.target;
  if (t.charCodeAt(0) === 0x2f) { head.targetForm = TargetForm.Origin; head.path = t; return null; }
  if (t === '*') {
    if (head.method !== 'OPTIONS') return ['E_TARGET', 400, 'asterisk-form on a method other than OPTIONS'];
    head.targetForm = TargetForm.Asterisk; head.path = '*'; return null;
  }
  if (head.method === 'CONNECT') {
    if (!validAuthority(t, true)) return ['E_TARGET', 400, 'invalid authority-form target'];
    head.targetForm = TargetForm.Authority; head.authority = t; return null;
  }
  const split = splitAbsoluteTarget(t);
  if (split === null) return ['E_TARGET', 400, 'invalid request-target'];
  head.targetForm = TargetForm.Absolute; head.authority = split.authority; head.path = split.path;
  return null;
}

/** Splits an absolute-form `http(s)://authority/path?query` target; null when invalid (userinfo, bad port…). */
export function splitAbsoluteTarget(t: string): { scheme: string; authority: string; path: string } | null {
  const colon = t.indexOf('://');
  if (colon < 0) return null;
  const scheme = t.slice(0, colon).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return null;
  const as = colon + 3;
  let ae = as;
  while (ae < t.length && t.charCodeAt(ae) !== 0x2f && t.charCodeAt(ae) !== 0x3f) ae++;
  const authority = t.slice(as, ae);
  if (!validAuthority(authority, false)) return null;
  const rest = t.slice(ae);
  return { scheme, authority, path: rest === '' ? '/' : rest.charCodeAt(0) === 0x3f ? '/' + rest : rest };
}

/** uri-host [ ":" port ] with reg-name/IPv4 or [IP-literal]; no userinfo; port 0–65535, non-empty if present. */
export function validAuthority(a: string, requirePort: boolean): boolean {
  if (a.length === 0 || a.length > 1024) return false;
  let hostEnd: number;
  if (a.charCodeAt(0) === 0x5b) {
    hostEnd = a.indexOf(']');
    if (hostEnd < 2) return false;
    for (let i = 1; i < hostEnd; i++) {
      const c = a.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === 0x2e)) return false;
    }
    hostEnd++;
  } else {
    hostEnd = a.indexOf(':');
    if (hostEnd < 0) hostEnd = a.length;
    if (hostEnd === 0) return false;
    for (let i = 0; i < hostEnd; i++) {
      const c = a.charCodeAt(i);
      if (c > 0xff || HOST[c] !== 1 || c === 0x5b || c === 0x5d) return false;
    }
  }
  if (hostEnd === a.length) return !requirePort;
  if (a.charCodeAt(hostEnd) !== 0x3a) return false;
  const port = a.slice(hostEnd + 1);
  if (port.length === 0 || port.length > 5) return false;
  let v = 0;
  for (let i = 0; i < port.length; i++) {
    const d = port.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  return v <= 65535;
}

/** Parses a trailer section buf[s..e) (field lines + blank line) into a flat [name, value, …] array. */
export function parseTrailers(buf: Buffer, s: number, e: number, isRequest: boolean, limits: Http1Limits): string[] | Http1Error {
  const out: string[] = [];
  let p = s;
  for (;;) {
    const lf = buf.indexOf(LF, p);
    if (lf < 0 || lf >= e) return http1Error(isRequest, 'E_TRAILER', 400, 'unterminated trailers');
    const lineEnd = lf - 1;
    if (lf === p || buf[lineEnd] !== CR) return http1Error(isRequest, 'E_BARE_LF', 400, 'line not ended by CRLF');
    if (lineEnd === p) return out;
    if (buf[p] === SP || buf[p] === HTAB) return http1Error(isRequest, 'E_OBS_FOLD', 400, 'obs-fold in trailers');
    let q = p;
    while (q < lineEnd && TOKEN[buf[q]!] === 1) q++;
    if (q === p || q === lineEnd || buf[q] !== COLON) return http1Error(isRequest, 'E_HEADER_NAME', 400, 'invalid trailer name');
    const ne = q++;
    while (q < lineEnd && (buf[q] === SP || buf[q] === HTAB)) q++;
    const vs = q;
    for (; q < lineEnd; q++) if (FIELD_VALUE[buf[q]!] !== 1) return http1Error(isRequest, 'E_HEADER_VALUE', 400, 'invalid trailer value');
    let ve = lineEnd;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    if (out.length / 2 >= limits.maxHeaderCount) return http1Error(isRequest, 'E_HEADER_COUNT', 431, 'too many trailers');
    out.push(str(buf, p, ne), str(buf, vs, ve));
    p = lf + 1;
  }
}

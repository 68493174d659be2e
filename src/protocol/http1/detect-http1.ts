/**
 * Protocol layer, HTTP/1: protocol detection from the first bytes (MOSN: the first 3–7 bytes are an
 * HTTP method). A request line starts with a method token of upper-case letters and a space.
 */
import { DetectResult } from '../../api/protocol.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'PATCH', 'LINK', 'UNLINK'];

export function detectHttp1(head: Buffer): DetectResult {
  let i = 0;
  for (; i < head.length && i < 8; i++) {
    const c = head[i]!;
    if (c === 0x20) break;
    if (c < 0x41 || c > 0x5a) return DetectResult.NoMatch;
  }
  if (i === head.length) return i < 8 ? DetectResult.NeedMoreData : DetectResult.NoMatch;
  if (head[i] !== 0x20) return DetectResult.NoMatch;
  const method = head.toString('latin1', 0, i);
  return METHODS.includes(method) ? DetectResult.Matched : DetectResult.NoMatch;
}

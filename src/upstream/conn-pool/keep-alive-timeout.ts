/**
 * Upstream layer, connection pool helper: reads the `timeout=` parameter of an HTTP/1 `Keep-Alive`
 * response header (RFC 9112 §9.3 leaves the header informal; the de-facto syntax is
 * `Keep-Alive: timeout=5, max=100`). The pool closes an idle connection before that many seconds
 * pass, so it never hands out a connection the upstream is about to close (keep-alive race).
 */

/**
 * Returns the `timeout` parameter in milliseconds, or `undefined` when the value has none or it is
 * malformed. Case-insensitive, tolerant of spaces, commas or semicolons between parameters and a
 * quoted value; a negative or non-integer value is rejected rather than guessed.
 */
export function parseKeepAliveTimeoutMs(headerValue: string | undefined): number | undefined {
  if (headerValue === undefined) return undefined;
  for (const part of headerValue.split(/[,;]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() !== 'timeout') continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).trim();
    if (!/^\d{1,9}$/.test(value)) return undefined;
    return Number(value) * 1000;
  }
  return undefined;
}

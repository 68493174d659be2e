/**
 * Protocol layer, HTTP/1: the IMF-fixdate for `Date` on responses Skiff generates itself (RFC 9110
 * §6.6.1: a server with a clock sends one). Formatted at most once per second.
 */
let cachedSecond = -1;
let cached = '';

export function httpDate(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cached = new Date(second * 1000).toUTCString();
  }
  return cached;
}

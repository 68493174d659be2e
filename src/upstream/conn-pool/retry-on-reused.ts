/**
 * Upstream layer, connection pool helper: the keep-alive race retry rule (issue 3 item 5,
 * reliability §3.7). An upstream may close an idle keep-alive connection at the very moment Skiff
 * writes a request on it; the request then fails with a reset or EOF before any response byte.
 * That failure says nothing about the request, so it is retried once on a NEW connection, but only
 * when replaying it is safe.
 */

/**
 * True when a request that failed (reset / EOF / write error) should be retried once on a new
 * connection: it ran on a reused connection, no byte of the response had arrived, and the request
 * is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or marked so by the caller). The caller
 * retries at most once and always on a fresh connection (`reused` false there, so this returns false
 * for the retry itself).
 */
export function isRetryableOnReused(reused: boolean, bytesOfResponseReceived: number, idempotent: boolean): boolean {
  return reused && bytesOfResponseReceived === 0 && idempotent;
}

const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** RFC 9110 §9.2.2 idempotent methods (method names are case-sensitive). */
export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method);
}

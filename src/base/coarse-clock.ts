/**
 * Base: a clock read once per event-loop turn. `Date.now()` costs ~60 ns here (kvm-clock); the hot
 * paths read the time several times per request (connection activity, keepalive activity, stream
 * start), and within one turn of the loop — one batch of reads — the same value serves them all.
 * The first read in a turn takes the real time and schedules its own expiry (one setImmediate per
 * turn that reads the clock); idle processes pay nothing.
 */
let cached = 0;
let valid = false;

function expire(): void {
  valid = false;
}

/** Milliseconds since the epoch, as of the start of this event-loop turn's first read. */
export function coarseNow(): number {
  if (valid) return cached;
  cached = Date.now();
  valid = true;
  setImmediate(expire);
  return cached;
}

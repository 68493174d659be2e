/**
 * Proxy layer: one coarse clock for every stream's deadlines (route timeout, stream idle timeout) on
 * a listener's proxy, instead of a `setTimeout`/`clearTimeout` pair per request. Streams register
 * while they have a deadline; a single unref'd interval (RESOLUTION_MS) calls `onDeadline(now)` on
 * the ones whose `nextDeadlineMs` passed, and stops itself when no stream is registered. Deadlines
 * therefore fire up to RESOLUTION_MS late, never early.
 */
export const DEADLINE_RESOLUTION_MS = 25;

export interface DeadlineClient {
  /** Absolute time (ms) at or after which `onDeadline` should run; 0 = nothing due. */
  nextDeadlineMs: number;
  onDeadline(nowMs: number): void;
}

export class StreamDeadlines {
  readonly #clients = new Set<DeadlineClient>();
  #timer: NodeJS.Timeout | undefined;

  add(c: DeadlineClient): void {
    this.#clients.add(c);
    if (this.#timer === undefined) {
      this.#timer = setInterval(tick, DEADLINE_RESOLUTION_MS, this);
      this.#timer.unref();
    }
  }

  delete(c: DeadlineClient): void {
    this.#clients.delete(c);
  }

  get size(): number { return this.#clients.size; }

  /** @internal */
  tick(): void {
    if (this.#clients.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = Date.now();
    for (const c of this.#clients) {
      const at = c.nextDeadlineMs;
      if (at !== 0 && at <= now) c.onDeadline(now);
    }
  }
}

function tick(d: StreamDeadlines): void {
  d.tick();
}

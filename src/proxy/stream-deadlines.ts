/**
 * Proxy layer: one coarse clock for every stream's deadlines (route timeout, stream idle timeout) on
 * a listener's proxy, instead of a `setTimeout`/`clearTimeout` pair per request. Streams register
 * while they have a deadline; a single unref'd interval (DEADLINE_RESOLUTION_MS) calls
 * `onDeadline(now)` on the ones whose `nextDeadlineMs` passed, and stops itself when no stream is
 * registered. Deadlines therefore fire up to DEADLINE_RESOLUTION_MS late, never early.
 *
 * The registry is an intrusive doubly linked list (the links live on the streams): add and remove
 * are a few pointer writes, with no hashing or allocation per request.
 */
export const DEADLINE_RESOLUTION_MS = 25;

export interface DeadlineClient {
  /** Absolute time (ms) at or after which `onDeadline` should run; 0 = nothing due. */
  nextDeadlineMs: number;
  onDeadline(nowMs: number): void;
  /** List links, owned by StreamDeadlines. */
  dlPrev: DeadlineClient | null;
  dlNext: DeadlineClient | null;
  dlLinked: boolean;
}

export class StreamDeadlines {
  #head: DeadlineClient | null = null;
  #size = 0;
  #timer: NodeJS.Timeout | undefined;

  add(c: DeadlineClient): void {
    if (c.dlLinked) return;
    c.dlLinked = true;
    c.dlPrev = null;
    c.dlNext = this.#head;
    if (this.#head !== null) this.#head.dlPrev = c;
    this.#head = c;
    this.#size++;
    if (this.#timer === undefined) {
      this.#timer = setInterval(tick, DEADLINE_RESOLUTION_MS, this);
      this.#timer.unref();
    }
  }

  delete(c: DeadlineClient): void {
    if (!c.dlLinked) return;
    c.dlLinked = false;
    if (c.dlPrev !== null) c.dlPrev.dlNext = c.dlNext;
    else this.#head = c.dlNext;
    if (c.dlNext !== null) c.dlNext.dlPrev = c.dlPrev;
    c.dlPrev = c.dlNext = null;
    this.#size--;
  }

  get size(): number { return this.#size; }

  /** @internal */
  tick(): void {
    if (this.#size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = Date.now();
    let c = this.#head;
    while (c !== null) {
      const next = c.dlNext; // onDeadline may unlink c
      const at = c.nextDeadlineMs;
      if (at !== 0 && at <= now) c.onDeadline(now);
      c = next;
    }
  }
}

function tick(d: StreamDeadlines): void {
  d.tick();
}

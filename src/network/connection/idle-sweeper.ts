/**
 * Network layer: one coarse clock for every connection's idle timeout, instead of a `Timeout` object
 * per connection refreshed on every read and write (120 B of heap per idle connection and a timer-list
 * re-insert per I/O). Connections with an idle timeout register here and stamp `lastActivityMs` on
 * I/O; a single unref'd interval (IDLE_RESOLUTION_MS) closes the ones quiet for their timeout, and
 * stops itself when none is registered. An idle close fires up to IDLE_RESOLUTION_MS late, never early.
 */
export const IDLE_RESOLUTION_MS = 50;

export interface IdleTracked {
  readonly idleTimeoutMs: number;
  readonly lastActivityMs: number;
  onIdleExpired(): void;
}

class IdleSweeper {
  readonly #tracked = new Set<IdleTracked>();
  #timer: NodeJS.Timeout | undefined;

  add(c: IdleTracked): void {
    this.#tracked.add(c);
    if (this.#timer === undefined) {
      this.#timer = setInterval(sweep, IDLE_RESOLUTION_MS);
      this.#timer.unref();
    }
  }

  delete(c: IdleTracked): void {
    this.#tracked.delete(c);
  }

  sweep(): void {
    if (this.#tracked.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = Date.now();
    for (const c of this.#tracked) {
      if (now - c.lastActivityMs >= c.idleTimeoutMs) c.onIdleExpired();
    }
  }
}

/** The process's idle clock (connections of every listener and cluster share it). */
export const idleSweeper = new IdleSweeper();

function sweep(): void {
  idleSweeper.sweep();
}

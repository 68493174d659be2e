/**
 * Stream layer, XProtocol: heartbeats on an idle upstream connection (MOSN keepalive.go, issue 4
 * item 6), as a small state machine over an injected clock so its timing is testable:
 *
 *   idle for `period` ─▶ send heartbeat ─▶ answered within `timeoutMs`: success ─▶ period += step (≤ max)
 *                                      └▶ not answered: failure ─▶ period = base; `maxFailures` in a row ─▶ close
 *   any business traffic ─▶ the idle clock restarts (that period's heartbeat is not needed)
 *
 * Backoff (Skiff's default) grows the period by `stepMs` per success up to `maxIntervalMs`; with
 * `backoff: false` the period stays at MOSN's fixed 15 s.
 *
 * Idle-free (MOSN idlefree.go): a connection that carried nothing but these heartbeats for
 * `idleFreeMs` (the cluster's idle timeout, default 90 s) is closed instead of probed again.
 */

import { coarseNow } from '../../base/coarse-clock.js';

export interface KeepAliveClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: KeepAliveClock = {
  now: coarseNow,
  setTimer: (fn, ms) => { const t = setTimeout(fn, ms); t.unref(); return t; },
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface KeepAliveOptions {
  /** First (and MOSN's fixed) idle period before a heartbeat. Default 15 s. */
  readonly intervalMs: number;
  /** A heartbeat unanswered this long has failed. Default 1 s. */
  readonly timeoutMs: number;
  /** Consecutive failures that close the connection. Default 6. */
  readonly maxFailures: number;
  /** Grow the period while heartbeats succeed. Default true. */
  readonly backoff: boolean;
  readonly stepMs: number;
  readonly maxIntervalMs: number;
  /** Close after this long without business traffic (only heartbeats); 0 = never. Default 90 s. */
  readonly idleFreeMs: number;
}

export const DEFAULT_IDLE_FREE_MS = 90_000;

export const DEFAULT_KEEPALIVE: KeepAliveOptions = Object.freeze({
  intervalMs: 15_000, timeoutMs: 1_000, maxFailures: 6, backoff: true, stepMs: 15_000, maxIntervalMs: 90_000, idleFreeMs: DEFAULT_IDLE_FREE_MS,
});

/** What the keepalive drives. */
export interface KeepAliveTarget {
  /** Sends one heartbeat; false when the connection cannot (closed, GoAway, no heartbeat in the codec). */
  sendHeartbeat(): boolean;
  close(reason: string): void;
}

export class XKeepAlive {
  readonly #target: KeepAliveTarget;
  readonly #opts: KeepAliveOptions;
  readonly #clock: KeepAliveClock;
  #periodMs: number;
  #lastActivityMs: number;
  /** Last request or response (heartbeats excluded): idle-free counts from here. */
  #lastBusinessMs: number;
  #timer: unknown;
  #awaiting = false;
  #failures = 0;
  #stopped = false;
  /** Heartbeats sent / answered / failed (tests, stats). */
  sent = 0;
  answered = 0;
  failed = 0;

  constructor(target: KeepAliveTarget, opts: KeepAliveOptions = DEFAULT_KEEPALIVE, clock: KeepAliveClock = realClock) {
    this.#target = target;
    this.#opts = opts;
    this.#clock = clock;
    this.#periodMs = opts.intervalMs;
    this.#lastActivityMs = clock.now();
    this.#lastBusinessMs = this.#lastActivityMs;
    this.#armIdle(opts.intervalMs);
  }

  get periodMs(): number { return this.#periodMs; }

  /** Business traffic on the connection: this period needs no heartbeat. */
  onActivity(): void {
    const now = this.#clock.now();
    this.#lastActivityMs = now;
    this.#lastBusinessMs = now;
  }

  onHeartbeatResponse(): void {
    if (!this.#awaiting || this.#stopped) return;
    this.#awaiting = false;
    this.answered++;
    this.#failures = 0;
    if (this.#opts.backoff) this.#periodMs = Math.min(this.#periodMs + this.#opts.stepMs, this.#opts.maxIntervalMs);
    this.#lastActivityMs = this.#clock.now();
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#armIdle(this.#periodMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimer(() => this.#fire(), ms);
  }

  /** Waits `ms` of quiet, or less when the idle-free deadline comes first. */
  #armIdle(ms: number): void {
    const free = this.#opts.idleFreeMs;
    if (free > 0) ms = Math.max(0, Math.min(ms, this.#lastBusinessMs + free - this.#clock.now()));
    this.#arm(ms);
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = this.#clock.now();
    if (this.#awaiting) {
      // The heartbeat went unanswered.
      this.#awaiting = false;
      this.failed++;
      this.#failures++;
      this.#periodMs = this.#opts.intervalMs;
      if (this.#failures >= this.#opts.maxFailures) {
        this.stop();
        this.#target.close('heartbeat_failed');
        return;
      }
      this.#lastActivityMs = now;
      this.#armIdle(this.#periodMs);
      return;
    }
    const free = this.#opts.idleFreeMs;
    if (free > 0 && now - this.#lastBusinessMs >= free) {
      this.stop();
      this.#target.close('idle_free');
      return;
    }
    const quietMs = now - this.#lastActivityMs;
    if (quietMs < this.#periodMs) {
      // Traffic during the period replaced its heartbeat: wait out the rest of a fresh period.
      this.#armIdle(this.#periodMs - quietMs);
      return;
    }
    if (!this.#target.sendHeartbeat()) { this.stop(); return; }
    this.sent++;
    this.#awaiting = true;
    this.#arm(this.#opts.timeoutMs);
  }
}

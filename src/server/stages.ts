/**
 * Server layer: the process stages, numbered as MOSN's stage manager numbers them (so
 * `/api/v1/states` and monitoring written for MOSN read the same values), and the StageManager that
 * moves through them, notifies observers, and publishes the `meta` gauge `mosn_state_code`.
 *
 *   Nil → ParamsParsed → Initing → PreStart → Starting → AfterStart → Running
 *     Running → BeforeStop → GracefulStopping → Stopping → AfterStop → Stopped   (SIGTERM)
 *     Running → Stopping → AfterStop → Stopped                                    (SIGINT/SIGQUIT)
 */
import type { Gauge, Stats } from '../api/observability.js';

export const Stage = {
  Nil: 0,
  ParamsParsed: 1,
  Initing: 2,
  PreStart: 3,
  Starting: 4,
  AfterStart: 5,
  Running: 6,
  BeforeStop: 7,
  GracefulStopping: 8,
  Stopping: 9,
  AfterStop: 10,
  Stopped: 11,
  StartingNewServer: 12,
  Upgrading: 13,
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

const NAMES = Object.fromEntries(Object.entries(Stage).map(([k, v]) => [v, k])) as Record<Stage, string>;

export function stageName(stage: Stage): string {
  return NAMES[stage];
}

export type StageListener = (next: Stage, prev: Stage) => void;

export class StageManager {
  #stage: Stage = Stage.Nil;
  readonly #listeners: StageListener[] = [];
  readonly #gauge: Gauge | undefined;

  constructor(stats?: Stats) {
    this.#gauge = stats?.scope('meta', { mosn: 'info' }).gauge('mosn_state_code');
    this.#gauge?.set(Stage.Nil);
  }

  get stage(): Stage {
    return this.#stage;
  }

  onChange(listener: StageListener): void {
    this.#listeners.push(listener);
  }

  /** Moves to `next` (a no-op if already there); observers run synchronously and must not throw. */
  set(next: Stage): void {
    const prev = this.#stage;
    if (prev === next) return;
    this.#stage = next;
    this.#gauge?.set(next);
    for (const l of this.#listeners) {
      try {
        l(next, prev);
      } catch {
        /* an observer's bug must not stop a stage change (e.g. during shutdown) */
      }
    }
  }

  /** True from BeforeStop on (stopping or stopped). */
  get stopping(): boolean {
    return this.#stage >= Stage.BeforeStop && this.#stage <= Stage.Stopped;
  }
}

/**
 * API layer (plug-in SDK): what plug-ins see of logging, stats and access logs. Implementations live
 * in src/observability/ and are handed in by the composition root, so plug-ins never import it.
 */

/** A pino-compatible subset. Log calls with an object first format lazily (pino does). */
export interface Logger {
  error(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  isLevelEnabled(level: string): boolean;
  child(bindings: Record<string, unknown>): Logger;
}

/** A monotonically increasing counter, resolved once at config time and bumped on the hot path. */
export interface Counter {
  inc(n?: number): void;
  readonly value: number;
}

export interface Gauge {
  inc(n?: number): void;
  dec(n?: number): void;
  set(v: number): void;
  readonly value: number;
}

/** One metric family member: MOSN's `type` + labels (e.g. `downstream`, `{listener: "l1"}`). */
export interface StatsScope {
  counter(key: string): Counter;
  gauge(key: string): Gauge;
}

export interface Stats {
  /** Returns the same scope for the same type and labels (cheap to call at config time). */
  scope(type: string, labels: Readonly<Record<string, string>>): StatsScope;
}

/** Looks up a MOSN variable (`%bytes_sent%` → `bytes_sent`) for an access-log line. */
export type VariableGetter = (name: string) => string | undefined;

/** One listener's access logs. `enabled` is false when none is configured: skip building the getter. */
export interface AccessLogSink {
  readonly enabled: boolean;
  log(vars: VariableGetter): void;
}

/**
 * Admin layer: what the admin API needs from the running process. The admin layer may not import
 * src/server/, so the server implements this interface and hands it in (dependency inversion).
 */
import type { LoggerRegistry, StatsSnapshot } from '../observability/index.js';

/** What an applied live update changed, by resource name. */
export interface ResourceNames {
  readonly listeners: readonly string[];
  readonly clusters: readonly string[];
  readonly routers: readonly string[];
}

/** The reply of a successful live update: the new config version and what changed. */
export interface ApplySummary {
  readonly version: number;
  readonly added: ResourceNames;
  readonly updated: ResourceNames;
  readonly removed: ResourceNames;
}

/** One worker process of a multi-process Skiff (`GET /api/v1/workers`). */
export interface WorkerRow {
  /** Slot 0 … N-1. */
  readonly index: number;
  readonly pid: number | undefined;
  /** `starting`, `running`, `draining`, `restarting`, `stopped`. */
  readonly state: string;
  /** How many times this slot's worker was replaced after dying. */
  readonly restarts: number;
}

export interface AdminContext {
  /** Skiff's version (`0.1.0`). */
  readonly version: string;
  readonly pid: number;
  /** MOSN stage number (6 = Running). */
  stage(): number;
  /** True once every listener is bound and the config applied, until stopping starts. */
  ready(): boolean;
  /** True while the process drains (graceful stop): /health answers 503. */
  draining(): boolean;
  /** MOSN's stats JSON, optionally one metric type (a multi-process Skiff asks its workers: a promise). */
  statsSnapshot(type?: string): StatsSnapshot | Promise<StatsSnapshot>;
  /** The running config's normalised document (not yet redacted) and its version. */
  configDocument(): Readonly<Record<string, unknown>>;
  configVersion(): number;
  /**
   * Validates `raw` as a whole new config document, diffs it with the running one and applies it.
   * Rejects with a SkiffError/ConfigError whose message is the reason; then nothing changed.
   */
  applyDocument(raw: unknown): Promise<ApplySummary>;
  readonly loggers: LoggerRegistry;
  /** Starts the graceful stop SIGTERM starts (drain up to graceful_timeout, then exit 0). */
  gracefulStop(): void;
  /** Hot upgrade progress (`GET /api/v1/upgrade`); absent where there is none (a worker). */
  upgradeStatus?(): unknown;
  /** The worker processes (`processor > 1`); absent in a single-process Skiff, which is its own one worker. */
  workers?(): readonly WorkerRow[];
}

/**
 * Server layer (workers): every IPC message between the controller and its worker processes, in
 * one place. The channel is Node's `fork` IPC (JSON). Requests the controller awaits carry an `id`;
 * the worker's reply repeats it, so `WorkerPool.request` can collect exactly one reply per worker.
 *
 *   controller                                   worker (N of them)
 *   ──────────                                   ──────
 *   fork(main.js __worker, fds 4…)  ─────────▶   (boots, waits)
 *   start {document, listenerFds…}  ─────────▶   Server.start(…, listenerFds, admin: false)
 *                                   ◀─────────   ready | failed {error}
 *   apply {id, document}            ─────────▶   applyDocument → applied {id, summary} | apply-failed {id, error}
 *   stats {id, statType?}           ─────────▶   stats-reply {id, snapshot}
 *   log-level {id, path, level}     ─────────▶   log-level-set {id, ok}
 *   reopen-logs                     ─────────▶   (SIGUSR1 forwarded)
 *   stop {graceful}                 ─────────▶   drain (or close now), exit 0
 */
import type { ApplySummary } from '../../admin/index.js';
import type { StatsSnapshot } from '../../observability/index.js';

/** The first message a worker gets: everything it needs to start the same config on the inherited fds. */
export interface StartMessage {
  readonly type: 'start';
  /** The normalised config document the controller validated. */
  readonly document: Readonly<Record<string, unknown>>;
  readonly baseDir: string;
  readonly configPath: string | undefined;
  readonly strict: boolean;
  /** Listener name → the fd number of its listening socket in the worker (4, 5, …). */
  readonly listenerFds: Readonly<Record<string, number>>;
  /** The worker's slot index (0 … N-1), shown in its logs. */
  readonly worker: number;
}

export interface ApplyMessage {
  readonly type: 'apply';
  readonly id: number;
  readonly document: Readonly<Record<string, unknown>>;
}

export interface StatsMessage {
  readonly type: 'stats';
  readonly id: number;
  /** One metric type (`downstream`…), or all. */
  readonly statType?: string;
}

export interface LogLevelMessage {
  readonly type: 'log-level';
  readonly id: number;
  /** Logger name ('' = the process logger). */
  readonly path: string;
  readonly level: string;
}

export interface StopMessage {
  readonly type: 'stop';
  /** true: drain up to graceful_timeout (SIGTERM); false: close now (SIGINT). */
  readonly graceful: boolean;
}

export interface ReopenLogsMessage {
  readonly type: 'reopen-logs';
}

/** Controller → worker. Extra types (hot upgrade) go through `WorkerPool.request` and `onControllerMessage`. */
export type ControllerMessage = StartMessage | ApplyMessage | StatsMessage | LogLevelMessage | StopMessage | ReopenLogsMessage;

export interface ReadyMessage {
  readonly type: 'ready';
  readonly pid: number;
}

export interface FailedMessage {
  readonly type: 'failed';
  readonly error: string;
}

export interface AppliedMessage {
  readonly type: 'applied';
  readonly id: number;
  readonly summary: ApplySummary;
}

export interface ApplyFailedMessage {
  readonly type: 'apply-failed';
  readonly id: number;
  readonly error: string;
}

export interface StatsReplyMessage {
  readonly type: 'stats-reply';
  readonly id: number;
  readonly snapshot: StatsSnapshot;
}

export interface LogLevelSetMessage {
  readonly type: 'log-level-set';
  readonly id: number;
  readonly ok: boolean;
}

/** A reply to a request type the worker has no handler for. */
export interface UnknownRequestMessage {
  readonly type: 'unknown-request';
  readonly id: number;
  readonly request: string;
}

/** Worker → controller. */
export type WorkerMessage =
  | ReadyMessage
  | FailedMessage
  | AppliedMessage
  | ApplyFailedMessage
  | StatsReplyMessage
  | LogLevelSetMessage
  | UnknownRequestMessage;

/** A request: any message with an `id` the receiver must answer with one message carrying the same `id`. */
export interface RequestEnvelope {
  readonly type: string;
  readonly id: number;
  readonly [key: string]: unknown;
}

/** A reply: `id` repeats the request's. */
export interface ReplyEnvelope {
  readonly type: string;
  readonly id: number;
  readonly [key: string]: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True for any IPC value shaped as a message (`{type: string, …}`); anything else is ignored. */
export function isMessage(v: unknown): v is { readonly type: string; readonly id?: unknown; readonly [key: string]: unknown } {
  return isObject(v) && typeof v['type'] === 'string';
}

/** The first fd number a worker's listening sockets get (0-2 stdio, 3 the IPC channel). */
export const FIRST_LISTENER_FD = 4;

/** The hidden CLI command a worker process runs (`main.js __worker`). */
export const WORKER_COMMAND = '__worker';

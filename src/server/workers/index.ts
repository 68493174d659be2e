/**
 * Server layer (workers): the multi-process mode's public surface. `processor` (or `--workers`)
 * N > 1 → one controller (sockets, admin, config, signals) and N worker processes (the data plane).
 */
import { availableParallelism } from 'node:os';
export { Controller, type ControllerOptions } from './controller.js';
export { WorkerPool, type WorkerInfo, type WorkerGeneration, type WorkerState } from './worker-pool.js';
export { runWorker, onControllerMessage, type ControllerMessageHandler } from './worker-main.js';
export { mergeStatsSnapshots } from './stats-merge.js';
export { WORKER_COMMAND } from './messages.js';
export type * from './messages.js';

/** How many workers: `--workers` wins over `servers[0].processor`; `auto` = the cores Node may use. */
export function workerCount(processor: number | 'auto', override: number | 'auto' | undefined): number {
  const n = override ?? processor;
  return n === 'auto' ? availableParallelism() : Math.max(1, Math.floor(n));
}

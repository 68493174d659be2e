/**
 * Admin handler `/api/v1/workers` (Skiff): the worker processes, `[{index, pid, state, restarts}]`.
 * A single-process Skiff (`processor: 1`) lists itself as worker 0.
 */
import { json, type AdminHandler } from '../admin-handler.js';

export const workersHandler: AdminHandler = {
  path: '/api/v1/workers',
  mutating: false,
  description: 'worker processes as [{index, pid, state, restarts}] (processor > 1: the controller\'s workers)',
  handle(_req, ctx) {
    if (ctx.workers) return json(200, ctx.workers());
    const state = ctx.draining() ? 'draining' : ctx.ready() ? 'running' : 'starting';
    return json(200, [{ index: 0, pid: ctx.pid, state, restarts: 0 }]);
  },
};

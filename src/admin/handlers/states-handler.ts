/** Admin handler `/api/v1/states`: `pid=<pid>&state=<n>` with MOSN's stage numbers (6 = Running). */
import { text, type AdminHandler } from '../admin-handler.js';

export const statesHandler: AdminHandler = {
  path: '/api/v1/states',
  mutating: false,
  description: 'process stage as pid=<pid>&state=<n> (MOSN stage numbers)',
  handle: (_req, ctx) => text(200, `pid=${ctx.pid}&state=${ctx.stage()}`),
};

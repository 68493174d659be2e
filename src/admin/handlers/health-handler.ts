/** Admin handler `/health`: 200 while the process serves, 503 once it drains (graceful stop). */
import { text, type AdminHandler } from '../admin-handler.js';

export const healthHandler: AdminHandler = {
  path: '/health',
  mutating: false,
  description: '200 while serving, 503 while draining',
  handle: (_req, ctx) => (ctx.draining() ? text(503, 'draining') : text(200, 'ok')),
};

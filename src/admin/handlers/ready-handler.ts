/** Admin handler `/ready`: 200 once every listener is bound and the config applied; 503 before and while stopping. */
import { text, type AdminHandler } from '../admin-handler.js';

export const readyHandler: AdminHandler = {
  path: '/ready',
  mutating: false,
  description: '200 when serving with every listener bound, else 503',
  handle: (_req, ctx) => (ctx.ready() ? text(200, 'ready') : text(503, 'not ready')),
};

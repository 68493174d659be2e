/** Admin handler `/api/v1/version`: `skiff version: <v>` (MOSN prints `mosn version: <v>`). */
import { text, type AdminHandler } from '../admin-handler.js';

export const versionHandler: AdminHandler = {
  path: '/api/v1/version',
  mutating: false,
  description: 'Skiff version',
  handle: (_req, ctx) => text(200, `skiff version: ${ctx.version}`),
};

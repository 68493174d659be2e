/**
 * Admin handler `/api/v1/upgrade` (GET): the hot upgrade as this process sees it — `state` (`none`,
 * `taking_over`, `handing_over`, `complete`, `failed`), the other process's pid (`from` / `to`),
 * listening sockets inherited, connections migrated / drained / closed, start time and duration.
 */
import { json, type AdminHandler } from '../admin-handler.js';

export const upgradeHandler: AdminHandler = {
  path: '/api/v1/upgrade',
  mutating: false,
  description: 'hot upgrade progress: state, listeners inherited, connections migrated/drained/closed, time taken',
  handle: (_req, ctx) => json(200, ctx.upgradeStatus?.() ?? { state: 'none' }),
};

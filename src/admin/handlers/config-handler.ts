/**
 * Admin handler `/api/v1/config` (Skiff): POST a whole new MOSN config document. Skiff validates it,
 * diffs it with the running config and applies adds, updates and removes without dropping
 * established connections. Reply `{version, added, updated, removed}`, or 400 `{error}` and the old
 * config keeps serving. This is the seam xDS will use.
 */
import { json, type AdminHandler } from '../admin-handler.js';
import { jsonRejection } from '../handler-errors.js';

export const configHandler: AdminHandler = {
  path: '/api/v1/config',
  mutating: true,
  description: 'apply a whole new config document (diff + live update)',
  async handle(req, ctx) {
    try {
      return json(200, await ctx.applyDocument(req.body));
    } catch (err) {
      return jsonRejection(err);
    }
  },
};

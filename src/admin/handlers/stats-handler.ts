/** Admin handler `/api/v1/stats`: MOSN's stats JSON `{type: {labels: {metric: "value"}}}`; `?key=<type>` filters. */
import { json, type AdminHandler } from '../admin-handler.js';

export const statsHandler: AdminHandler = {
  path: '/api/v1/stats',
  mutating: false,
  description: 'metrics as JSON (?key=<type> for one type: downstream, upstream, meta)',
  async handle(req, ctx) {
    const key = req.url.searchParams.get('key');
    // With worker processes the snapshot is the sum over workers, gathered over IPC.
    return json(200, await ctx.statsSnapshot(key === null || key === '' ? undefined : key));
  },
};

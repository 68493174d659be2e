/**
 * Admin handler `/debug/update_config`: MOSN's partial update `{type: "listener"|"router"|"cluster",
 * config: {…} | [{…}]}` adds or replaces resources by name in a copy of the running document, which
 * is then validated and applied like a whole document. Reply `success`, or 400 with the reason.
 */
import { applyPartialUpdate } from '../../config/index.js';
import { text, type AdminHandler } from '../admin-handler.js';
import { textRejection } from '../handler-errors.js';

type PartialUpdate = Parameters<typeof applyPartialUpdate>[1];

export const updateConfigHandler: AdminHandler = {
  path: '/debug/update_config',
  mutating: true,
  description: 'MOSN partial update {type, config}',
  async handle(req, ctx) {
    const body = req.body as { type?: unknown; config?: unknown } | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof body.type !== 'string' || body.config === undefined) {
      return text(400, 'invalid request: body must be {"type": "listener"|"router"|"cluster", "config": …}');
    }
    try {
      const next = applyPartialUpdate(ctx.configDocument() as Record<string, unknown>, body as PartialUpdate);
      await ctx.applyDocument(next);
      return text(200, 'success');
    } catch (err) {
      return textRejection(err);
    }
  },
};

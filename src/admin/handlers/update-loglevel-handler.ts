/**
 * Admin handler `/api/v1/update_loglevel`: MOSN's body `{"log_path": "<logger>", "log_level": "DEBUG"}`.
 * An absent or empty `log_path` means the process logger.
 */
import { parseLogLevel } from '../../observability/index.js';
import { text, type AdminHandler } from '../admin-handler.js';

export const updateLogLevelHandler: AdminHandler = {
  path: '/api/v1/update_loglevel',
  mutating: true,
  description: 'set a logger level: {"log_path": "<logger>", "log_level": "DEBUG"}',
  handle(req, ctx) {
    const body = req.body as { log_path?: unknown; log_level?: unknown } | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return text(400, 'body must be {"log_path": …, "log_level": …}');
    const path = body.log_path ?? '';
    if (typeof path !== 'string') return text(400, 'log_path must be a string');
    const level = typeof body.log_level === 'string' ? parseLogLevel(body.log_level) : undefined;
    if (level === undefined) return text(400, `invalid log_level ${JSON.stringify(body.log_level)} (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)`);
    if (!ctx.loggers.setLevel(path, level)) return text(400, `no logger "${path}" (known: ${ctx.loggers.names().join(', ')})`);
    return text(200, 'update logger level success');
  },
};

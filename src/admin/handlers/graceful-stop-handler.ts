/**
 * Admin handler `/api/v1/graceful_stop` (POST): the graceful stop SIGTERM starts — stop accepting, GOAWAY
 * (HTTP/2, and Bolt when enabled), idle keep-alive connections closed, in-flight requests finish up to
 * `graceful_timeout`, exit 0. For a Kubernetes preStop hook (`curl -X POST -H 'Content-Type:
 * application/json' -d '{}' http://127.0.0.1:34901/api/v1/graceful_stop`). Answers before the drain starts.
 */
import { text, type AdminHandler } from '../admin-handler.js';

export const gracefulStopHandler: AdminHandler = {
  path: '/api/v1/graceful_stop',
  mutating: true,
  description: 'graceful stop, as SIGTERM: drain up to graceful_timeout, then exit 0 (preStop hook)',
  handle(_req, ctx) {
    if (ctx.draining()) return text(200, 'already draining');
    setImmediate(() => ctx.gracefulStop());
    return text(202, 'graceful stop started');
  },
};

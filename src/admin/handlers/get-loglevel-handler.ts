/** Admin handler `/api/v1/get_loglevel`: `{ "<logger>": "<LEVEL>" }`, loggers named by output path as MOSN. */
import { json, type AdminHandler } from '../admin-handler.js';

export const getLogLevelHandler: AdminHandler = {
  path: '/api/v1/get_loglevel',
  mutating: false,
  description: 'log level of each logger',
  handle: (_req, ctx) => json(200, ctx.loggers.levels()),
};

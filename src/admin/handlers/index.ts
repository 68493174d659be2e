/** Admin layer: every built-in admin endpoint, in the order `/` lists them. */
import type { AdminHandler } from '../admin-handler.js';
import { configDumpHandler } from './config-dump-handler.js';
import { configHandler } from './config-handler.js';
import { getLogLevelHandler } from './get-loglevel-handler.js';
import { gracefulStopHandler } from './graceful-stop-handler.js';
import { healthHandler } from './health-handler.js';
import { createIndexHandler } from './index-handler.js';
import { readyHandler } from './ready-handler.js';
import { statesHandler } from './states-handler.js';
import { statsHandler } from './stats-handler.js';
import { updateConfigHandler } from './update-config-handler.js';
import { updateLogLevelHandler } from './update-loglevel-handler.js';
import { versionHandler } from './version-handler.js';
import { upgradeHandler } from './upgrade-handler.js';
import { workersHandler } from './workers-handler.js';

export function builtinAdminHandlers(): AdminHandler[] {
  const handlers: AdminHandler[] = [];
  handlers.push(
    createIndexHandler(() => handlers),
    versionHandler,
    configDumpHandler,
    statsHandler,
    statesHandler,
    workersHandler,
    getLogLevelHandler,
    updateLogLevelHandler,
    readyHandler,
    healthHandler,
    configHandler,
    updateConfigHandler,
    gracefulStopHandler,
    upgradeHandler,
  );
  return handlers;
}

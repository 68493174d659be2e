/**
 * Server layer: the server seen through the admin layer's `AdminContext` (admin may not import
 * server/, so the server hands this adapter in).
 */
import type { AdminContext } from '../admin/index.js';
import type { Server } from './server.js';

export function createAdminContext(server: Server): AdminContext {
  return {
    version: server.version,
    pid: process.pid,
    loggers: server.loggers,
    stage: () => server.stages.stage,
    ready: () => server.ready,
    draining: () => server.draining,
    statsSnapshot: (type) => server.stats.snapshot(type),
    configDocument: () => server.document,
    configVersion: () => server.configVersion,
    applyDocument: (raw) => server.applyDocument(raw),
    gracefulStop: () => server.requestGracefulStop(),
    upgradeStatus: () => server.upgradeStatus,
  };
}
